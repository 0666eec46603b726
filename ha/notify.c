/* notify.c - the ordered notify calls of one instance (see notify.h). */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "child.h"

extern char **environ;

#define NOTIFY_NVARS 10 /* ANDROMEDA_* variables we set */

struct notify {
	struct loop *loop;
	char script[512];
	uint32_t timeout_ms;
	char instance[64];
	char node[64];
	char vips[512];
	char interface[32];
	unsigned vrid;
	struct notify_queue q;
	struct child *running;
	struct notify_event cur; /* the running call's */
	struct notify_stats stats;
};

/* ---- the queue ---- */

size_t notify_queue_push(struct notify_queue *q, const struct notify_event *ev)
{
	struct notify_event e = *ev;
	size_t dropped = 0;

	if (q->n == NOTIFY_QUEUE_MAX) {
		/* What the script saw last is the role before the oldest. */
		memcpy(e.prev, q->ev[q->head].prev, sizeof(e.prev));
		dropped = q->n;
		q->n = 0;
	}
	q->ev[(q->head + q->n) % NOTIFY_QUEUE_MAX] = e;
	q->n++;
	return dropped;
}

bool notify_queue_pop(struct notify_queue *q, struct notify_event *out)
{
	if (!q->n)
		return false;
	*out = q->ev[q->head];
	q->head = (q->head + 1) % NOTIFY_QUEUE_MAX;
	q->n--;
	return true;
}

/* ---- the calls ---- */

static int copy(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		return -EINVAL;
	memcpy(dst, src ? src : "", n + 1);
	return 0;
}

int notify_create(struct notify **out, struct loop *loop, const struct notify_params *p)
{
	struct notify *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->loop = loop;
	n->timeout_ms = p->timeout_ms;
	n->vrid = p->vrid;
	if (copy(n->script, sizeof(n->script), p->script) ||
	    copy(n->instance, sizeof(n->instance), p->instance) ||
	    copy(n->node, sizeof(n->node), p->node) || copy(n->vips, sizeof(n->vips), p->vips) ||
	    copy(n->interface, sizeof(n->interface), p->interface)) {
		free(n);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

static void start_next(struct notify *n);

static void call_done(void *arg, const struct child_result *r)
{
	struct notify *n = arg;
	char how[128];

	n->running = NULL;
	if (!child_ok(r)) {
		n->stats.failures++;
		n->stats.timeouts += r->how == CHILD_TIMEOUT;
		log_warnx("notify %s %s %u: %s: %s", n->instance, n->cur.role, n->cur.priority,
			  n->script, child_result_str(r, how, sizeof(how)));
	}
	start_next(n);
}

/* The variables a script can read besides its arguments (docs/vrrp.md). */
static void env_vars(const struct notify *n, const struct notify_event *e,
		     char v[NOTIFY_NVARS][640])
{
	snprintf(v[0], 640, "ANDROMEDA_INSTANCE=%s", n->instance);
	snprintf(v[1], 640, "ANDROMEDA_ROLE=%s", e->role);
	snprintf(v[2], 640, "ANDROMEDA_PREV_ROLE=%s", e->prev);
	snprintf(v[3], 640, "ANDROMEDA_PRIORITY=%u", e->priority);
	snprintf(v[4], 640, "ANDROMEDA_BASE_PRIORITY=%u", e->base_priority);
	snprintf(v[5], 640, "ANDROMEDA_NODE=%s", n->node);
	snprintf(v[6], 640, "ANDROMEDA_VIPS=%s", n->vips);
	snprintf(v[7], 640, "ANDROMEDA_INTERFACE=%s", n->interface);
	snprintf(v[8], 640, "ANDROMEDA_VRID=%u", n->vrid);
	snprintf(v[9], 640, "ANDROMEDA_REASON=%s", e->reason);
}

/* Our environment without ANDROMEDA_* (a stale one must not shadow ours),
 * then ours.  Returns a malloc'ed array, NULL on ENOMEM. */
static char **env_build(char v[NOTIFY_NVARS][640])
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + NOTIFY_NVARS + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "ANDROMEDA_", 10) != 0)
			env[k++] = environ[i];
	for (size_t i = 0; i < NOTIFY_NVARS; i++)
		env[k++] = v[i];
	return env;
}

static void start_next(struct notify *n)
{
	char prio[16], vars[NOTIFY_NVARS][640];
	char *argv[5];
	char **env;

	if (n->running || !notify_queue_pop(&n->q, &n->cur))
		return;
	snprintf(prio, sizeof(prio), "%u", n->cur.priority);
	argv[0] = n->script;
	argv[1] = n->instance;
	argv[2] = n->cur.role;
	argv[3] = prio;
	argv[4] = NULL;
	env_vars(n, &n->cur, vars);
	if (!(env = env_build(vars))) {
		struct child_result r = { .how = CHILD_ERROR, .code = -ENOMEM };

		call_done(n, &r);
		return;
	}
	n->stats.calls++;
	/* On a start failure call_done() already ran (and started the next). */
	child_start(n->loop, argv, env, n->timeout_ms, call_done, n, &n->running);
	free(env);
}

void notify_push(struct notify *n, const struct notify_event *ev)
{
	size_t dropped;

	if (!n->script[0])
		return;
	dropped = notify_queue_push(&n->q, ev);
	if (dropped) {
		n->stats.dropped += dropped;
		log_warnx("notify %s: %zu calls still queued behind a slow script: dropped, "
			  "running %s next",
			  n->instance, dropped, ev->role);
	}
	start_next(n);
}

bool notify_busy(const struct notify *n) { return n->running || n->q.n; }

void notify_flush(struct notify *n)
{
	while (n->running)
		child_wait(n->running); /* its done starts the next one */
}

void notify_destroy(struct notify *n)
{
	if (!n)
		return;
	if (n->running)
		child_kill(n->running);
	free(n);
}

const struct notify_stats *notify_get_stats(const struct notify *n) { return &n->stats; }
