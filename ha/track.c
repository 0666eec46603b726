/* track.c - tracked interfaces and scripts of one instance (see track.h). */
#include "track.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "child.h"

#define TRACK_MAX_ARGS 16

struct track;

struct item {
	struct track *t;
	bool is_interface;
	char name[64];
	int weight;
	struct track_fr fr;
	const struct cfg_track *ct; /* scripts */
	struct loop_timer timer;    /* scripts: the next run */
	struct child *running;
	uint64_t runs, failures;
	char last[96];
};

struct track {
	struct loop *loop;
	unsigned base;
	track_changed_fn changed;
	void *arg;
	struct item items[TRACK_MAX_ITEMS];
	size_t n;
};

extern char **environ;

/* ---- pure ---- */

unsigned track_effective_priority(unsigned base, int sum)
{
	long p = (long)base + sum;

	if (base >= 255)
		return base;
	return p < 1 ? 1u : p > 254 ? 254u : (unsigned)p;
}

bool track_fr_feed(struct track_fr *fr, bool ok, unsigned fall, unsigned rise)
{
	if (ok == fr->up) {
		fr->count = 0;
		return false;
	}
	if (++fr->count < (fr->up ? fall : rise))
		return false;
	fr->up = ok;
	fr->count = 0;
	return true;
}

int track_weight_applied(int weight, bool up)
{
	if (weight < 0)
		return up ? 0 : weight;
	return up ? weight : 0;
}

/* ---- the instance's view ---- */

unsigned track_priority_of(const struct track *t, unsigned base)
{
	int sum = 0;

	for (size_t i = 0; i < t->n; i++)
		sum += track_weight_applied(t->items[i].weight, t->items[i].fr.up);
	return track_effective_priority(base, sum);
}

unsigned track_priority(const struct track *t) { return track_priority_of(t, t->base); }

bool track_fault(const struct track *t, const char **why)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->items[i].weight == 0 && !t->items[i].fr.up) {
			if (why)
				*why = t->items[i].name;
			return true;
		}
	return false;
}

size_t track_get(const struct track *t, struct track_item_status *out, size_t max)
{
	size_t n = t->n < max ? t->n : max;

	for (size_t i = 0; i < n; i++) {
		const struct item *it = &t->items[i];

		out[i] = (struct track_item_status){ .is_interface = it->is_interface,
						     .up = it->fr.up,
						     .weight = it->weight,
						     .runs = it->runs,
						     .failures = it->failures };
		snprintf(out[i].name, sizeof(out[i].name), "%s", it->name);
		snprintf(out[i].last, sizeof(out[i].last), "%s", it->last);
		if (it->ct) {
			out[i].fall = it->ct->fall;
			out[i].rise = it->ct->rise;
		}
	}
	return n;
}

static void verdict_changed(struct item *it, const char *detail)
{
	char why[192]; /* up to 183: "track_interface" NAME(63) state (detail(95)) */

	snprintf(why, sizeof(why), "%s %s %s (%s)", it->is_interface ? "track_interface" : "track",
		 it->name, it->fr.up ? "up" : "down", detail);
	if (it->fr.up)
		log_info("%s", why);
	else
		log_warnx("%s", why);
	it->t->changed(it->t->arg, why);
}

void track_link(struct track *t, const char *ifname, bool carrier, const char *why)
{
	for (size_t i = 0; i < t->n; i++) {
		struct item *it = &t->items[i];

		if (!it->is_interface || strcmp(it->name, ifname) != 0 || it->fr.up == carrier)
			continue;
		it->fr.up = carrier;
		it->fr.count = 0;
		verdict_changed(it, why);
	}
}

/* ---- scripts ---- */

static void script_done(void *arg, const struct child_result *r)
{
	struct item *it = arg;
	const struct cfg_track *ct = it->ct;
	uint64_t elapsed = r->ms < ct->interval_ms ? r->ms : ct->interval_ms;

	it->running = NULL;
	it->runs++;
	it->failures += !child_ok(r);
	child_result_str(r, it->last, sizeof(it->last));
	if (r->how == CHILD_ERROR || r->how == CHILD_TIMEOUT)
		log_warnx("track %s: %s: %s", it->name, ct->script, it->last);
	/* The next run one interval after this one started. */
	loop_timer_arm(it->t->loop, &it->timer, ct->interval_ms - elapsed);
	if (track_fr_feed(&it->fr, child_ok(r), ct->fall, ct->rise))
		verdict_changed(it, it->last);
}

/* "path arg arg": split on blanks into argv (no quoting, no shell). */
static void script_run(struct loop *loop, struct loop_timer *timer)
{
	struct item *it = timer->arg;
	char copy[CFG_SCRIPT_MAX], *argv[TRACK_MAX_ARGS + 1], *save = NULL;
	size_t n = 0;

	snprintf(copy, sizeof(copy), "%s", it->ct->script);
	for (char *tok = strtok_r(copy, " \t", &save); tok && n < TRACK_MAX_ARGS;
	     tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	argv[n] = NULL;
	if (n)
		child_start(loop, argv, environ, it->ct->timeout_ms, script_done, it,
			    &it->running);
}

/* ---- life cycle ---- */

static struct item *item_add(struct track *t, const char *name, int weight)
{
	struct item *it = &t->items[t->n++];

	it->t = t;
	it->weight = weight;
	it->fr.up = true;
	snprintf(it->name, sizeof(it->name), "%s", name);
	return it;
}

int track_create(struct track **out, struct loop *loop, const struct config *cfg, unsigned base,
		 track_changed_fn changed, void *arg)
{
	struct track *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	*t = (struct track){ .loop = loop, .base = base, .changed = changed, .arg = arg };
	for (size_t i = 0; i < cfg->ha.ntrack_ifs && t->n < TRACK_MAX_ITEMS; i++)
		item_add(t, cfg->ha.track_if[i].ifname, cfg->ha.track_if[i].weight)->is_interface =
			true;
	for (size_t i = 0; i < cfg->ntracks && t->n < TRACK_MAX_ITEMS; i++) {
		struct item *it = item_add(t, cfg->tracks[i].name, cfg->tracks[i].weight);

		it->ct = &cfg->tracks[i];
		loop_timer_init(&it->timer, script_run, it);
		loop_timer_arm(loop, &it->timer, 0); /* first run at once */
	}
	*out = t;
	return 0;
}

void track_destroy(struct track *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		if (!t->items[i].ct)
			continue;
		loop_timer_cancel(t->loop, &t->items[i].timer);
		if (t->items[i].running)
			child_kill(t->items[i].running);
	}
	free(t);
}
