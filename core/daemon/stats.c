/* stats.c - routes of the [stats] listener (stats.h). */
#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "control.h"
#include "log.h"
#include "stats_http.h"
#include "stats_page.h"

struct stats {
	struct stats_sources src;
	struct control *ctl;
	struct stats_http *http;
	size_t metrics_len; /* the last /metrics, to size the next */
};

/* m's text handed to r (or 500 when m ran out of memory). */
static void reply_text(struct stats_reply *r, struct mtext *m, const char *type)
{
	if (m->oom || !m->buf) {
		mtext_free(m);
		return; /* status 0: the responder answers 500 */
	}
	*r = (struct stats_reply){
		.status = 200, .type = type, .body = m->buf, .len = m->len, .cap = m->cap
	};
}

static json_t *call(struct stats *s, const char *cmd)
{
	char word[16];
	char *argv[1] = { word };

	snprintf(word, sizeof(word), "%s", cmd);
	return control_call(s->ctl, 1, argv);
}

static void route_status(struct stats *s, struct stats_reply *r)
{
	json_t *status = call(s, "status");
	char *text = status ? control_encode(status) : NULL;

	json_decref(status);
	if (!text)
		return;
	*r = (struct stats_reply){
		.status = 200, .type = "application/json", .body = text, .len = strlen(text)
	};
	/* The same line andromedactl receives: with its newline. */
	if ((r->body = realloc(text, r->len + 1)))
		r->body[r->len++] = '\n';
	else
		r->body = text;
}

static void route_page(struct stats *s, struct stats_reply *r)
{
	json_t *status = call(s, "status"), *journal = call(s, "journal");
	struct mtext m;

	mtext_init(&m);
	if (status)
		stats_page_render(status, journal, &m);
	json_decref(status);
	json_decref(journal);
	reply_text(r, &m, "text/html; charset=utf-8");
}

static void route(void *arg, const char *path, struct stats_reply *r)
{
	struct stats *s = arg;
	struct mtext m;

	if (!strcmp(path, "/metrics")) {
		struct timespec t0, t1;
		size_t cap;
		char *buf = stats_http_take_buffer(s->http, &cap);

		clock_gettime(CLOCK_MONOTONIC, &t0);
		/* The last reply's buffer, already in memory, and room for
		 * about as much as last time: no realloc chain, no fresh pages
		 * to fault in per scrape (1.6 MB with 1,000 servers). */
		mtext_init_buf(&m, buf, cap);
		mtext_reserve(&m, s->metrics_len + s->metrics_len / 8);
		stats_metrics_render(&s->src, &m);
		s->metrics_len = m.len;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s->src.last_scrape_us = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
						   (t1.tv_nsec - t0.tv_nsec) / 1000);
		reply_text(r, &m, "text/plain; version=0.0.4; charset=utf-8");
	} else if (!strcmp(path, "/status.json")) {
		route_status(s, r);
	} else if (!strcmp(path, "/")) {
		route_page(s, r);
	} else {
		static const char nf[] = "404 not found: try /, /metrics or /status.json\n";

		*r = (struct stats_reply){ .status = 404, .type = "text/plain; charset=utf-8" };
		if ((r->body = malloc(sizeof(nf) - 1))) {
			memcpy(r->body, nf, sizeof(nf) - 1);
			r->len = sizeof(nf) - 1;
		}
	}
}

int stats_load_auth(const char *path, char *out, size_t cap, char *why, size_t whylen)
{
	char line[512];
	struct stat st;
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return err;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0007))
		err = -EPERM; /* a password others can read protects nothing */
	else if (!fgets(line, sizeof(line), f))
		err = -EINVAL;
	fclose(f);
	if (!err) {
		line[strcspn(line, "\r\n")] = '\0';
		err = stats_http_auth_value(line, out, cap);
	}
	if (err == -EPERM)
		snprintf(why, whylen, "%s: readable by others (chmod o-rwx)", path);
	else if (err)
		snprintf(why, whylen, "%s: the first line must be user:password", path);
	return err;
}

int stats_open(struct stats **out, struct loop *loop, const struct stats_sources *src,
	       struct control *ctl)
{
	const struct config *cfg = src->cfg;
	struct stats *s;
	char auth[512], why[PATH_MAX + 64];
	int err;

	if (cfg->stats.auth_file[0] &&
	    (err = stats_load_auth(cfg->stats.auth_file, auth, sizeof(auth), why, sizeof(why))) <
		    0) {
		log_errno(err, "[stats] auth_file %s", why);
		return err;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	s->src = *src;
	s->ctl = ctl;
	if ((err = stats_http_open(&s->http, loop, &cfg->stats.listen,
				   cfg->stats.auth_file[0] ? auth : NULL, route, s)) < 0) {
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

void stats_close(struct stats *s)
{
	if (!s)
		return;
	stats_http_close(s->http);
	free(s);
}
