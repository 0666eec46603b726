/* daemon_journal.c - pool and role changes into the journal, and back. */
#include "daemon_journal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "pool.h"

struct djournal {
	struct journal *j;
	struct loop *loop;
	const struct config *cfg;
	struct pool *pool;
	bool restoring;
	struct log_limit append_limit;
};

static void append(struct djournal *dj, struct journal_rec *r)
{
	int err = journal_append(dj->j, r);

	if (err < 0 &&
	    log_limit_ok(&dj->append_limit, loop_now_ms(dj->loop), LOG_LIMIT_LONG_MS, NULL))
		log_errno(err, "journal: cannot append a %s record", journal_type_name(r->type));
}

static enum journal_type removal_type(const struct djournal *dj, const struct server *srv)
{
	return srv->expires_ms && loop_now_ms(dj->loop) > srv->expires_ms ? JR_SERVER_EXPIRED
									  : JR_SERVER_WITHDRAWN;
}

static void pool_event(struct pool *pool, struct server *srv, enum pool_event ev, void *arg)
{
	struct djournal *dj = arg;
	struct journal_rec r;
	enum journal_type t;

	if (dj->restoring)
		return;
	switch (ev) {
	case POOL_SERVER_ADDED:
		if (srv->source == SRV_STATIC)
			return; /* from the configuration, not news */
		t = JR_SERVER_REGISTERED;
		break;
	case POOL_SERVER_REMOVED:
		t = removal_type(dj, srv);
		break;
	case POOL_SERVER_UP:
		t = JR_SERVER_UP;
		break;
	case POOL_SERVER_DOWN:
		t = JR_SERVER_DOWN;
		break;
	case POOL_SERVER_DRAIN:
		t = srv->drain ? JR_SERVER_DRAINED : JR_SERVER_ENABLED;
		break;
	default:
		t = JR_SERVER_UPDATED;
		break;
	}
	if (journal_rec_init(&r, t, srv->name, NULL) < 0 ||
	    journal_server_from(&r.srv, srv, loop_now_ms(dj->loop)) < 0)
		return;
	append(dj, &r);
}

void djournal_note(struct djournal *dj, enum journal_type type, const char *fmt, ...)
{
	struct journal_rec r;
	char detail[JOURNAL_DETAIL_MAX + 1];
	va_list ap;

	if (!dj)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (journal_rec_init(&r, type, NULL, detail) == 0)
		append(dj, &r);
}

/* The state a compaction keeps: every server in the pool. */
static int state_source(struct journal_server *out, size_t cap, void *arg)
{
	struct djournal *dj = arg;
	struct server *srv;
	size_t n = 0;

	for (srv = pool_first(dj->pool); srv && n < cap; srv = pool_next(dj->pool, srv))
		if (journal_server_from(&out[n], srv, loop_now_ms(dj->loop)) == 0)
			n++;
	return (int)n;
}

static void restore_one(struct djournal *dj, const struct journal_server *js)
{
	struct server *srv = pool_server_find(dj->pool, js->name);
	struct cfg_endpoint ep;
	int err = 0;

	if (js->v6)
		cfg_endpoint_set(&ep, AF_INET6, &js->addr6, js->port);
	else
		cfg_endpoint_set(&ep, AF_INET, &js->addr, js->port);
	if (!srv && js->source == SRV_REGISTERED) {
		srv = pool_server_add(dj->pool, js->name, &ep, js->weight, SRV_REGISTERED, &err);
		if (!srv) {
			log_errno(err, "journal: cannot restore server %s", js->name);
			return;
		}
		srv->expires_ms =
			js->expires_in_ms ? loop_now_ms(dj->loop) + js->expires_in_ms : 0;
	}
	if (!srv)
		return;
	pool_server_set_drain(dj->pool, srv, js->drain);
	/* A weight set at runtime (andromedactl weight) outlives a restart;
	 * a reload applies the file's again. */
	if (js->weight)
		pool_server_set_weight(dj->pool, srv, js->weight);
}

static int restore(struct djournal *dj)
{
	struct journal_server *state = calloc(JOURNAL_STATE_MAX, sizeof(*state));
	size_t n = 0, registered = 0;
	int err;

	if (!state)
		return -ENOMEM;
	/* Re-announcements are not journaled (only changes are), so a recorded
	 * lease is older than the agent's last announcement: every restored
	 * registration gets its lease again from now (now_ms 0 = no expiry
	 * here); an agent that is gone still expires, a lease later. */
	err = journal_rebuild(dj->j, 0, state, JOURNAL_STATE_MAX, &n);
	dj->restoring = true;
	for (size_t i = 0; !err && i < n; i++) {
		restore_one(dj, &state[i]);
		registered += state[i].source == SRV_REGISTERED;
	}
	dj->restoring = false;
	free(state);
	if (err)
		log_errno(err, "journal: cannot rebuild the pool");
	else if (registered)
		log_info("journal: restored %zu registered server(s) from %s", registered,
			 dj->cfg->node.state_dir);
	return err;
}

int djournal_open(struct djournal **out, struct loop *loop, const struct config *cfg,
		  struct pool *pool)
{
	struct djournal *dj = calloc(1, sizeof(*dj));
	int err;

	if (!dj)
		return -ENOMEM;
	*dj = (struct djournal){ .loop = loop, .cfg = cfg, .pool = pool };
	if (mkdir(cfg->node.state_dir, 0750) < 0 && errno != EEXIST)
		log_warn("journal: cannot create %s", cfg->node.state_dir);
	if ((err = journal_open(&dj->j, cfg->node.state_dir)) < 0) {
		log_errno(err, "journal: cannot open %s/%s", cfg->node.state_dir, JOURNAL_FILE);
		free(dj);
		return err;
	}
	journal_set_state_source(dj->j, state_source, dj);
	if ((err = restore(dj)) < 0 || (err = pool_add_observer(pool, pool_event, dj)) < 0) {
		djournal_close(dj);
		return err;
	}
	djournal_note(dj, JR_STARTED, "andromeda %s, node %s", ANDROMEDA_VERSION, cfg->node.name);
	*out = dj;
	return 0;
}

void djournal_close(struct djournal *dj)
{
	if (!dj)
		return;
	if (dj->pool)
		pool_remove_observer(dj->pool, dj);
	journal_close(dj->j);
	free(dj);
}

int djournal_read(struct djournal *dj, uint64_t since, struct journal_rec *out, size_t max,
		  size_t *n)
{
	return journal_read(dj->j, since, out, max, n, NULL);
}
