/* txn_log.c - a txn's access-log record (txn_log.h).
 *
 * The termination state follows HAProxy's (docs/observability.md): two
 * characters, who ended the txn and in which phase.  Who is set where the
 * txn is ended (txn_ended); a txn freed with no cause set either completed
 * ("--") or lost its client ('C').  The phase is the txn's state at the
 * end unless the setter named one. */
#include "txn_log.h"

#include <string.h>
#include <time.h>

#include "alog.h"

_Static_assert(TXN_LOG_PATH_MAX == ALOG_PATH_MAX, "the txn keeps what the log shows");

void txn_log_server(struct txn *t, const struct server *srv)
{
	t->log.dispatched = true;
	if (t->px->alog)
		memcpy(t->log.server, srv->name, sizeof(t->log.server));
}

void txn_log_request(struct txn *t, const char *head)
{
	struct http_span m = t->req.method_text, u = t->req.uri;
	uint32_t n = u.len < TXN_LOG_PATH_MAX - 1 ? u.len : TXN_LOG_PATH_MAX - 1;

	if (m.len < sizeof(t->log.method)) {
		memcpy(t->log.method, head + m.off, m.len);
		t->log.method[m.len] = 0;
	}
	memcpy(t->log.path, head + u.off, n);
	t->log.path[n] = 0;
	t->log.path_cut = n < u.len;
}

static char phase_of(enum txn_state s)
{
	static const char p[] = {
		[TXN_READING] = 'R', [TXN_QUEUED] = 'Q',  [TXN_CONNECTING] = 'C',
		[TXN_SENDING] = 'H', [TXN_WAITING] = 'H', [TXN_RESPONDING] = 'D',
		[TXN_TUNNEL] = 'D',
	};
	return p[s];
}

static int32_t since(uint64_t from, uint64_t to)
{
	return from && to >= from ? (int32_t)(to - from) : -1;
}

void txn_log_term(const struct txn *t, char out[3])
{
	char who = t->log.who, phase = t->log.phase;

	if (!who)
		who = t->log.done ? '-' : 'C';
	if (!phase && !t->log.who && t->log.done)
		phase = '-';
	else if (!phase)
		phase = phase_of(t->state);
	out[0] = who;
	out[1] = phase;
	out[2] = 0;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void txn_log_end(struct txn *t)
{
	struct proxy *px = t->px;
	uint64_t now = loop_now_ms(px->loop);
	struct alog_rec r;

	memset(&r, 0, offsetof(struct alog_rec, method));
	r.start_ms = wall_ms() - (now - t->start_ms);
	if (t->cl)
		memcpy(r.client, t->cl->addr_text, sizeof(r.client));
	memcpy(r.id, t->id_text, sizeof(r.id));
	memcpy(r.server, t->log.server, sizeof(r.server));
	memcpy(r.method, t->log.method, sizeof(r.method));
	memcpy(r.path, t->log.path, sizeof(r.path));
	r.path_cut = t->log.path_cut;
	r.tcp = px->cfg->frontend.mode == MODE_TCP;
	r.status = t->log.status ? t->log.status : t->rsp_head_done ? t->rsp.status : 0;
	r.bytes_in = t->log.bytes_in;
	r.bytes_out = t->log.bytes_out;
	r.queue_ms = t->log.dispatched ? (int32_t)t->log.queue_ms : -1;
	r.connect_ms = t->log.connected_ms >= t->log.connect_start_ms
			       ? since(t->log.connect_start_ms, t->log.connected_ms)
			       : -1;
	r.first_byte_ms = since(t->start_ms, t->log.first_byte_ms);
	r.total_ms = since(t->start_ms, now);
	/* A reload may have lowered retries since the txn began. */
	r.retries = px->cfg->backend.retries > t->retries_left
			    ? px->cfg->backend.retries - t->retries_left
			    : 0;
	r.redispatches = r.retries + t->log.redispatches;
	txn_log_term(t, r.term);
	alog_push(px->alog, px->tid, &r);
}
