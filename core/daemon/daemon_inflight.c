/* daemon_inflight.c - requests in flight into sync, and into the journal
 * at a takeover (daemon_inflight.h). */
#include "daemon_inflight.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon_journal.h"
#include "loop.h"
#include "proxy_stats.h"
#include "ha.h"
#include "sync.h"
#include "sync_inflight.h"
#include "vrrp.h"
#include "workers.h"

/* A list older than this at takeover is not about this takeover. */
#define TAKEOVER_MAX_AGE_MS 5000

struct dinflight {
	struct loop *loop;
	struct workers *ws;
	struct ha *ha;
	struct sync *sync;
	struct loop_timer timer;
	struct sync_inflight list; /* reused: about 8 KiB */
};

/* A request the server may have seen: assigned, and no longer queued. */
static void add_route(const struct proxy_route *r, void *arg)
{
	struct sync_inflight *l = arg;
	struct sync_inflight_req *q;

	if (!r->server || !r->request_id || !strcmp(r->state, "queued"))
		return;
	l->total++;
	if (l->n == SYNC_INFLIGHT_MAX)
		return;
	q = &l->req[l->n++];
	snprintf(q->server, sizeof(q->server), "%s", r->server);
	snprintf(q->id, sizeof(q->id), "%s", r->request_id);
}

static void list_now(struct loop *loop, struct loop_timer *t)
{
	struct dinflight *di = t->arg;

	if (ha_state(di->ha) == VRRP_MASTER) {
		di->list.at_ms = clock_wall_ms();
		di->list.total = 0;
		di->list.n = 0;
		workers_for_each_route(di->ws, add_route, &di->list);
		sync_inflight_publish(di->sync, &di->list);
	}
	loop_timer_arm(loop, t, SYNC_INFLIGHT_PERIOD_MS);
}

int dinflight_open(struct dinflight **out, struct loop *loop, struct workers *ws, struct ha *ha,
		   struct sync *sync)
{
	struct dinflight *di = calloc(1, sizeof(*di));

	if (!di)
		return -ENOMEM;
	di->loop = loop;
	di->ws = ws;
	di->ha = ha;
	di->sync = sync;
	loop_timer_init(&di->timer, list_now, di);
	loop_timer_arm(loop, &di->timer, SYNC_INFLIGHT_PERIOD_MS);
	*out = di;
	return 0;
}

void dinflight_close(struct dinflight *di)
{
	if (!di)
		return;
	loop_timer_cancel(di->loop, &di->timer);
	free(di);
}

/* One server's ids, as many records as the detail field needs. */
static void journal_server(struct djournal *dj, const struct sync_inflight *l, const char *srv,
			   const char *head)
{
	char ids[JOURNAL_DETAIL_MAX + 1];
	size_t room = JOURNAL_DETAIL_MAX - strlen(head) - 8, used = 0;

	ids[0] = '\0';
	for (unsigned i = 0; i < l->n; i++) {
		size_t il = strlen(l->req[i].id);

		if (strcmp(l->req[i].server, srv))
			continue;
		if (used && used + 1 + il > room) {
			djournal_note(dj, JR_INFLIGHT, "%s %s: %s", head, srv, ids);
			used = 0;
		}
		used += (size_t)snprintf(ids + used, sizeof(ids) - used, "%s%s", used ? " " : "",
					 l->req[i].id);
	}
	if (used)
		djournal_note(dj, JR_INFLIGHT, "%s %s: %s", head, srv, ids);
}

static bool seen_before(const struct sync_inflight *l, unsigned i)
{
	for (unsigned j = 0; j < i; j++)
		if (!strcmp(l->req[j].server, l->req[i].server))
			return true;
	return false;
}

void dinflight_takeover(struct dinflight *di, struct djournal *dj)
{
	struct sync_inflight *l;
	struct in_addr from;
	uint64_t age;
	char head[96];

	if (!di || sync_inflight_take(di->sync, &di->list, &from, &age) < 0 ||
	    age > TAKEOVER_MAX_AGE_MS)
		return;
	l = &di->list;
	snprintf(head, sizeof(head), "on %s (list received %llu ms before the takeover), at",
		 inet_ntoa(from), (unsigned long long)age);
	if (!l->total)
		djournal_note(dj, JR_INFLIGHT,
			      "none in flight on %s (list received %llu ms before the takeover)",
			      inet_ntoa(from), (unsigned long long)age);
	for (unsigned i = 0; i < l->n; i++)
		if (!seen_before(l, i))
			journal_server(dj, l, l->req[i].server, head);
	if (l->total > l->n)
		djournal_note(dj, JR_INFLIGHT, "%u more in flight on %s, not replicated",
			      (unsigned)(l->total - l->n), inet_ntoa(from));
}
