/* txn.c - one request (mode http) or connection (mode tcp) through its
 * server: round-robin dispatch, the per-server queue (the seed's cola),
 * retries, and re-dispatch when a server fails.
 *
 *   READING --head--> dispatch --slot free--> CONNECTING --> SENDING
 *                      |  |                                    |
 *                      |  +--full--> QUEUED --slot--+          v
 *                      |               |            |       WAITING --> RESPONDING --> done
 *                      |           queue_timeout    +--> CONNECTING
 *                      |             -> 503
 *                      +--no server--> QUEUED in px->waiting --a server comes back--> dispatch
 *                                        (queue_timeout -> 503)
 *   Any backend failure before the client saw a byte goes back to
 *   dispatch (another server) when the request can be replayed safely.
 *
 * Below the protocols (txn_http.c, tunnel.c), above the backend
 * connections (bconn.c): what it says to the protocol goes through the
 * client's operations (cl->ops), what bconn.c says to it through
 * txn_bconn_cb. */
#include "txn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bconn.h"
#include "lb.h"
#include "log.h"
#include "redispatch.h"
#include "txn_log.h"

static void txn_timeout(struct loop *loop, struct loop_timer *tm);
static void txn_slot_handoff(struct proxy *px, struct server *srv);

const char *txn_state_name(enum txn_state s)
{
	static const char *const names[] = {
		[TXN_READING] = "reading",       [TXN_QUEUED] = "queued",
		[TXN_CONNECTING] = "connecting", [TXN_SENDING] = "sending",
		[TXN_WAITING] = "waiting",       [TXN_RESPONDING] = "responding",
		[TXN_TUNNEL] = "tunnel",
	};
	return names[s];
}

/* "%08x%08x" of prefix and the low 32 bits of the id, without printf
 * (this runs for every request). */
static void txn_format_id(char *out, uint32_t prefix, uint64_t id)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 8; i++)
		out[i] = hex[(prefix >> (28 - 4 * i)) & 0xf];
	for (int i = 0; i < 8; i++)
		out[8 + i] = hex[(id >> (28 - 4 * i)) & 0xf];
	out[16] = 0;
}

struct txn *txn_new(struct client *cl)
{
	struct proxy *px = cl->px;
	struct txn *t = px->free_txns;

	if (t) {
		px->free_txns = t->next_free;
		px->nfree_txns--;
	} else if (!(t = malloc(sizeof(*t)))) {
		return NULL;
	}
	/* The two http_msg are set up by http_msg_init() below; clear the rest. */
	memset(t, 0, offsetof(struct txn, req));
	memset((char *)t + offsetof(struct txn, rq), 0,
	       offsetof(struct txn, rsp) - offsetof(struct txn, rq));
	memset((char *)t + offsetof(struct txn, rs), 0, sizeof(*t) - offsetof(struct txn, rs));
	t->id = ++px->next_txn_id;
	txn_format_id(t->id_text, px->id_prefix, t->id);
	t->px = px;
	t->cl = cl;
	t->state = TXN_READING;
	t->start_ms = loop_now_ms(px->loop);
	t->retries_left = px->cfg->backend.retries;
	loop_timer_init(&t->timer, txn_timeout, t);
	list_init(&t->qlink);
	http_msg_init(&t->req, HTTP_MSG_REQUEST, &px->limits);
	http_msg_init(&t->rsp, HTTP_MSG_RESPONSE,
		      &(struct http_limits){ .max_head = px->bufs.size });
	list_add_tail(&px->txns, &t->link);
	px->stats.active++;
	cl->txn = t;
	return t;
}

/* Server slots (maxconn) are shared by the proxy threads: srv->inflight
 * counts the slots in use on all of them, each thread queues its own
 * requests in srv->th[tid], and a slot that frees up while requests wait
 * is handed to the thread whose head request has waited longest instead
 * of being released (so newcomers never overtake a queue).  th[].head_ms
 * (0 = empty queue) is what the other threads read. */
#define AT_LOAD(p)     __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define AT_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

static bool slot_take(struct server *srv)
{
	unsigned cur = AT_LOAD(&srv->inflight);

	while (cur < AT_LOAD(&srv->maxconn))
		if (__atomic_compare_exchange_n(&srv->inflight, &cur, cur + 1, false,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return true;
	return false;
}

/* The thread whose queue head has waited longest for srv, or -1. */
static int oldest_waiter(const struct server *srv)
{
	int best = -1;
	uint64_t best_ms = 0;

	for (unsigned i = 0; i < srv->nthreads; i++) {
		uint64_t h = AT_LOAD(&srv->th[i].head_ms);

		if (h && (best < 0 || h < best_ms)) {
			best = (int)i;
			best_ms = h;
		}
	}
	return best;
}

static void queue_changed(struct server_thread *th)
{
	AT_STORE(&th->head_ms, list_empty(&th->queue)
				       ? 0
				       : list_entry(th->queue.next, struct txn, qlink)->queued_ms);
}

static void queue_push(struct txn *t)
{
	struct server_thread *th = &t->srv->th[t->px->tid];

	/* Never 0 (the "empty" mark): the monotonic clock is well past it. */
	t->queued_ms = loop_now_ms(t->px->loop) | 1;
	list_add_tail(&th->queue, &t->qlink);
	AT_STORE(&th->queued, th->queued + 1);
	queue_changed(th);
}

static void txn_unqueue(struct txn *t)
{
	struct server_thread *th;

	if (!list_linked(&t->qlink))
		return;
	if (!t->srv) {
		list_del(&t->qlink); /* in px->waiting */
		return;
	}
	th = &t->srv->th[t->px->tid];
	t->log.queue_ms += loop_now_ms(t->px->loop) - t->queued_ms;
	list_del(&t->qlink);
	AT_STORE(&th->queued, th->queued - 1);
	queue_changed(th);
}

void txn_free(struct txn *t)
{
	struct proxy *px = t->px;

	loop_timer_cancel(px->loop, &t->timer);
	txn_unqueue(t);
	if (px->alog)
		txn_log_end(t);
	txn_release_server(t, false);
	if (t->failed_on)
		server_put(t->failed_on);
	buf_put(&px->bufs, t->rq);
	buf_put(&px->bufs, t->rs);
	buf_put(&px->bufs, t->rh);
	list_del(&t->link);
	px->stats.active--;
	if (t->cl && t->cl->txn == t)
		t->cl->txn = NULL;
	t->id = 0;
	t->next_free = px->free_txns;
	px->free_txns = t;
	px->nfree_txns++;
}

void txn_reap_all(struct proxy *px)
{
	while (px->free_txns) {
		struct txn *t = px->free_txns;

		px->free_txns = t->next_free;
		free(t);
	}
	px->nfree_txns = 0;
}

void txn_release_server(struct txn *t, bool reuse_conn)
{
	struct server *srv = t->srv;

	if (t->bc) {
		bconn_release(t->bc, reuse_conn);
		t->bc = NULL;
	}
	if (!srv)
		return;
	t->srv = NULL;
	if (t->counted_inflight) {
		t->counted_inflight = false;
		txn_slot_handoff(t->px, srv);
	}
	server_put(srv);
}

/* The backend is connected (or was reused): the protocol starts sending. */
static void txn_connected(struct txn *t) { t->cl->ops->backend_connected(t); }

static void txn_connect_failed(struct txn *t, enum server_fail why)
{
	txn_backend_failed(t, why, true);
}

/* Backend events go to the client's protocol of the moment: HTTP's, or
 * the tunnel's after an Upgrade. */
static void txn_backend_io(struct txn *t, unsigned events) { t->cl->ops->backend_io(t, events); }

static const struct bconn_cb txn_bconn_cb = {
	.connected = txn_connected,
	.failed = txn_connect_failed,
	.io = txn_backend_io,
};

/* A connect that failed before leaving this host: out of descriptors,
 * memory or local ports.  The request may go elsewhere; the server is not
 * blamed (docs/health-checks.md). */
static bool local_error(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM ||
	       err == -EADDRNOTAVAIL || err == -EAGAIN;
}

/* Start t on t->srv with a slot it already holds. */
static void txn_start(struct txn *t)
{
	int r;

	t->counted_inflight = true;
	t->state = TXN_CONNECTING;
	r = bconn_attach(t, t->cl->ops->reuse_backend, &txn_bconn_cb);
	if (r < 0)
		txn_backend_failed(t, FAIL_CONNECT, !local_error(r));
	else if (r > 0)
		txn_connected(t);
}

/* Hand one slot of srv to thread tid (not px's own); a slot that cannot
 * be sent is freed (its waiter times out). */
static void slot_post(struct proxy *px, unsigned tid, struct server *srv)
{
	if (!px->msgs || !px->msgs->slot(px->msgs_arg, tid, srv))
		__atomic_sub_fetch(&srv->inflight, 1, __ATOMIC_SEQ_CST);
}

void txn_slot_received(struct proxy *px, struct server *srv)
{
	struct list *q = &srv->th[px->tid].queue;
	struct txn *t;

	if (list_empty(q)) {
		/* It timed out or was moved meanwhile: pass the slot on. */
		txn_slot_handoff(px, srv);
		return;
	}
	t = list_entry(q->next, struct txn, qlink);
	txn_unqueue(t);
	loop_timer_cancel(px->loop, &t->timer);
	txn_start(t);
}

/* This thread holds one of srv's maxconn slots and no longer needs it:
 * give it to the request that has waited longest on any thread (here, or
 * by message), or free it. */
static void txn_slot_handoff(struct proxy *px, struct server *srv)
{
	for (;;) {
		int tid = oldest_waiter(srv);

		/* A lowered maxconn (reload) takes effect as slots come back. */
		if (tid >= 0 && AT_LOAD(&srv->inflight) <= AT_LOAD(&srv->maxconn)) {
			if ((unsigned)tid == px->tid)
				txn_slot_received(px, srv);
			else
				slot_post(px, (unsigned)tid, srv);
			return;
		}
		__atomic_sub_fetch(&srv->inflight, 1, __ATOMIC_SEQ_CST);
		/* A thread that found no free slot may have queued between
		 * the look above and the release: take the slot back for it.
		 * (It re-checks after queueing, so one of us sees the other.) */
		if (oldest_waiter(srv) < 0 || !slot_take(srv))
			return;
	}
}

/* No server can take t (none in rotation and none for panic mode either:
 * all drained, or registered and not checked yet): wait up to
 * queue_timeout for one to come back (txn_pool_event) instead of failing
 * at once. */
static void txn_wait_for_server(struct txn *t)
{
	struct proxy *px = t->px;

	/* Woken and back again: the deadline stays the first one's. */
	if (!t->wait_since_ms) {
		t->wait_since_ms = loop_now_ms(px->loop) | 1;
		px->stats.queued++;
	}
	t->state = TXN_QUEUED;
	list_add_tail(&px->waiting, &t->qlink);
	loop_timer_arm_at(px->loop, &t->timer,
			  t->wait_since_ms + px->cfg->backend.queue_timeout_ms);
}

/* A server came back (or was added, or enabled): the waiting requests go
 * to dispatch again, oldest first. */
static void txn_wake_waiting(struct proxy *px)
{
	struct list moved;
	struct list *e;

	if (list_empty(&px->waiting))
		return;
	/* Off the list first: a dispatch that finds no server puts its txn
	 * back on px->waiting, which must not be this walk's list. */
	list_init(&moved);
	while ((e = list_pop_head(&px->waiting)))
		list_add_tail(&moved, e);
	while ((e = list_pop_head(&moved))) {
		struct txn *t = list_entry(e, struct txn, qlink);

		loop_timer_cancel(px->loop, &t->timer);
		txn_dispatch(t, t->failed_on);
	}
}

void txn_dispatch(struct txn *t, struct server *exclude)
{
	struct proxy *px = t->px;
	struct lb_key key = { .client = (const struct sockaddr *)&t->cl->peer };
	/* Referenced under the pool lock: taken after it, the main thread
	 * could have removed and freed the server in between. */
	struct server *srv = pool_next_server_get(px->pool, exclude, &key);

	/* The excluded server is still better than nothing if it is the
	 * only one left in rotation. */
	if (!srv && exclude)
		srv = pool_next_server_get(px->pool, NULL, &key);
	if (!srv) {
		txn_wait_for_server(t);
		return;
	}
	t->srv = srv;
	txn_log_server(t, srv);
	server_count(&srv->th[px->tid].requests, 1);
	px->stats.requests++;
	if (oldest_waiter(srv) < 0 && slot_take(srv)) {
		txn_start(t);
		return;
	}
	t->state = TXN_QUEUED;
	queue_push(t);
	px->stats.queued++;
	loop_timer_arm(px->loop, &t->timer, px->cfg->backend.queue_timeout_ms);
	/* A slot freed since the look above goes to the longest waiter. */
	if (slot_take(srv))
		txn_slot_handoff(px, srv);
}

static bool txn_can_retry(const struct txn *t, bool nothing_sent)
{
	struct redispatch_facts f = {
		.nothing_sent = nothing_sent,
		.idempotent = t->idempotent,
		.replayable = t->rq_replayable,
		.response_started = t->rsp_started,
		.tcp_mode = t->px->cfg->frontend.mode == MODE_TCP,
		.retries_left = t->retries_left,
	};
	return redispatch_allowed(&f);
}

/* Forget what the failed attempt received or sent. */
static void txn_rewind(struct txn *t)
{
	struct proxy *px = t->px;

	t->rq_sent = 0;
	buf_put(&px->bufs, t->rs);
	buf_put(&px->bufs, t->rh);
	t->rs = t->rh = NULL;
	t->rs_ready = 0;
	t->rsp_head_done = t->rsp_done = t->bc_reusable = false;
	http_msg_reset(&t->rsp);
	if (t->req.method == HTTP_M_HEAD)
		http_msg_expect_no_body(&t->rsp);
}

void txn_backend_failed(struct txn *t, enum server_fail why, bool count_failure)
{
	struct proxy *px = t->px;
	struct server *srv = t->srv;
	bool nothing_sent = t->state == TXN_CONNECTING || t->state == TXN_QUEUED;

	loop_timer_cancel(px->loop, &t->timer);
	server_get(srv);
	/* Leave the server first: the failure report below may take it out
	 * of rotation, and that re-dispatches whatever is still on it. */
	txn_release_server(t, false);
	if (count_failure)
		txn_report_failed(px, srv, why);
	if (t->cl && t->cl->txn == t && txn_can_retry(t, nothing_sent)) {
		t->retries_left--;
		px->stats.redispatched++;
		server_count(&srv->th[px->tid].retries, 1);
		server_count(&srv->th[px->tid].redispatched, 1);
		if (t->failed_on)
			server_put(t->failed_on);
		t->failed_on = srv;
		txn_rewind(t);
		txn_dispatch(t, srv);
		return;
	}
	server_put(srv);
	txn_ended(t, why == FAIL_CONNECT_TMO || why == FAIL_RESPONSE_TMO ? 's' : 'S', 0);
	txn_fail(t, redispatch_status(why));
}

void txn_fail(struct txn *t, unsigned status)
{
	struct client *cl = t->cl;

	if (cl && cl->txn == t)
		cl->ops->fail(cl, status); /* frees t */
	else
		txn_free(t);
}

static void txn_timeout(struct loop *loop, struct loop_timer *tm)
{
	struct txn *t = tm->arg;

	if (t->state == TXN_QUEUED) {
		txn_unqueue(t);
		txn_ended(t, 's', 'Q');
		txn_fail(t, 503);
		return;
	}
	/* The other states' timers (server_timeout) are the protocol's. */
	if (t->cl->ops->timeout)
		t->cl->ops->timeout(t);
}

/* The server left rotation: move its queue to the others; and if it is
 * down (not just draining), move or fail what is in flight on it. */
static bool txn_evacuate_one(struct proxy *px, struct server *srv, bool down)
{
	struct list *pos;

	list_for_each (pos, &px->txns) {
		struct txn *t = list_entry(pos, struct txn, link);

		if (t->srv != srv)
			continue;
		if (t->state == TXN_QUEUED) {
			txn_unqueue(t);
			loop_timer_cancel(px->loop, &t->timer);
			t->srv = NULL;
			server_count(&srv->th[px->tid].redispatched, 1);
			server_put(srv);
			px->stats.redispatched++;
			t->log.redispatches++;
			txn_dispatch(t, srv);
			return true;
		}
		if (!down || t->rsp_head_done || t->state == TXN_TUNNEL)
			continue;
		/* In flight, no response yet: replay it elsewhere if that is
		 * safe; a non-idempotent request already sent gets 502. */
		txn_backend_failed(t, FAIL_CHECK, false);
		return true;
	}
	return false;
}

void txn_pool_event(struct pool *pool, struct server *srv, enum pool_event ev, void *arg)
{
	struct proxy *px = arg;
	bool down = ev == POOL_SERVER_DOWN || ev == POOL_SERVER_REMOVED;
	bool draining;

	if (!down) {
		/* Up, added, enabled: requests waiting for any server may go. */
		txn_wake_waiting(px);
	}
	/* On proxy threads this runs from a message: drain is the main
	 * thread's to write, and may have changed since. */
	draining = ev == POOL_SERVER_DRAIN && __atomic_load_n(&srv->drain, __ATOMIC_RELAXED);
	if (!down && !draining)
		return;
	/* In panic mode a server that went DOWN still takes requests: what
	 * is in flight on it stays (a POST there would otherwise get 502). */
	if (ev == POOL_SERVER_DOWN && pool_in_panic(pool))
		down = false;
	if (down)
		bconn_close_idle(px, srv);
	/* Restart the scan after each change: handling one txn can free
	 * others (a failed re-dispatch), so no iterator survives it. */
	while (txn_evacuate_one(px, srv, down))
		;
}

/* --- outcomes for the pool ----------------------------------------------- */

void txn_report_failed(struct proxy *px, struct server *srv, enum server_fail why)
{
	if (px->tid == 0 || !px->msgs) {
		pool_server_failed(px->pool, srv, why);
		return;
	}
	/* The main thread may not have counted it yet when this thread's
	 * next request succeeds: remember it, so that success is sent. */
	srv->th[px->tid].req_failed = true;
	px->msgs->failed(px->msgs_arg, srv, why);
}

void txn_report_ok(struct proxy *px, struct server *srv)
{
	struct server_thread *th;

	/* Read by the health checks: a server answering requests is alive. */
	server_count(&srv->th[px->tid].answered, 1);
	if (px->tid == 0 || !px->msgs) {
		pool_server_ok(px->pool, srv, false);
		return;
	}
	/* A success only matters to the pool when it ends a run of failed
	 * requests or, without health checks, counts toward rise: one
	 * message per request would cost more than the request. */
	th = &srv->th[px->tid];
	if (!th->req_failed && !__atomic_load_n(&srv->consecutive_req_fail, __ATOMIC_RELAXED) &&
	    (px->cfg->backend.health_interval_ms || !server_is_down(srv)))
		return;
	/* Same mailbox as the failure: the main thread counts them in order. */
	if (px->msgs->ok(px->msgs_arg, srv))
		th->req_failed = false;
}
