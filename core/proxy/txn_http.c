/* txn_http.c - HTTP/1.1 over a txn: read and rewrite the request, stream
 * its body to the backend, read and rewrite the response, stream it back.
 *
 * Memory stays bounded: the client's bytes sit in cl->in, what goes to the
 * backend in t->rq, what comes back in t->rs; each is one pooled buffer and
 * reading stops while the next hop has not drained it.
 *
 * The top of the transaction layers: it drives txn.c (dispatch, retries),
 * client.c and bconn.c by name, and is driven by them through its
 * operations, txn_http_ops.  An accepted Upgrade hands the connection to
 * tunnel.c (tunnel_start), which swaps in the tunnel's operations. */
#include "txn_http.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "bconn.h"
#include "client.h"
#include "handoff.h"
#include "http_rewrite.h"
#include "log.h"
#include "tunnel.h"
#include "txn.h"
#include "txn_log.h"

static void response_flush(struct txn *t);
static void backend_send(struct txn *t);
static void txn_http_process(struct client *cl);

/* Still the same request on a live client?  (Txn memory is recycled, so
 * the pointer alone does not say; the id does.) */
static bool request_alive(const struct txn *t, const struct client *cl, uint64_t id)
{
	return cl->fd >= 0 && cl->txn == t && t->id == id;
}

/* Request bytes are waiting to go to a connected backend. */
static bool request_unsent(const struct txn *t)
{
	return t->bc && t->bc->connected && t->rq && t->rq_sent < buf_len(t->rq);
}

/* Free space in b once compacted. */
static uint32_t buf_space(const struct buf_pool *bp, const struct buf *b)
{
	return bp->size - buf_len(b);
}

/* ---- our own answers ---- */

/* Answer status (4xx, 5xx) ourselves and close: cl->txn is freed and the
 * client gets a lingering close (client_send_and_close).  A response
 * already started cannot be replaced: the connection is cut. */
static void txn_http_error(struct client *cl, unsigned status)
{
	struct proxy *px = cl->px;
	struct txn *t = cl->txn;
	int n;

	if (cl->fd < 0)
		return;
	if (t && t->rsp_started) {
		px->stats.aborted++;
		client_close(cl);
		return;
	}
	/* 408: the client was too slow; 4xx: we refused the request; a 5xx
	 * not set by txn.c: we lacked a resource (a buffer). */
	txn_ended(t, (char)(status == 408 ? 'c' : status < 500 ? 'P' : 'R'), 0);
	if (status >= 500)
		px->stats.errors_5xx++;
	else
		px->stats.errors_4xx++;
	px->stats.responses_by_class[status / 100 < 6 ? status / 100 : 0]++;
	if (!cl->out && !(cl->out = buf_get(&px->bufs))) {
		client_close(cl);
		return;
	}
	n = http_error_response(status, px->cfg->frontend.via ? px->cfg->node.name : NULL,
				t ? t->id_text : NULL, buf_end(cl->out),
				buf_room(&px->bufs, cl->out));
	if (n > 0)
		cl->out->tail += (uint32_t)n;
	if (t) {
		t->log.status = status;
		t->log.bytes_out += n > 0 ? (uint64_t)n : 0;
		txn_free(t);
	}
	cl->txn = NULL;
	client_send_and_close(cl);
}

/* ---- request ---- */

static void update_client_mask(struct client *cl)
{
	struct txn *t = cl->txn;
	unsigned mask = 0;

	/* Read while: the head is coming; the body is coming and there is room
	 * for it; or the answer is being prepared (a pipelined request waits in
	 * cl->in, a client that leaves is seen at once, and the interest does
	 * not flip twice per request: one epoll_ctl less). */
	if (!t || t->state == TXN_READING ||
	    (!t->req_done && t->rq && (buf_space(&cl->px->bufs, t->rq) || t->rq_sent)) ||
	    (t->req_done && (!cl->in || buf_space(&cl->px->bufs, cl->in))))
		mask = LOOP_READ;
	if (cl->read_eof)
		mask = 0;
	if (t && (t->rh || t->rs_ready))
		mask |= LOOP_WRITE;
	client_want(cl, mask);
}

/* Move request body bytes from cl->in to t->rq, as much as fits. */
static int request_body_move(struct txn *t)
{
	struct proxy *px = t->px;
	struct client *cl = t->cl;

	while (!t->req_done && cl->in && buf_len(cl->in)) {
		uint32_t room = buf_space(&px->bufs, t->rq);
		size_t used = 0;
		int r;

		if (!room && t->rq_sent) {
			/* Drop what the backend already has: the request can no
			 * longer be replayed elsewhere. */
			buf_consume(t->rq, t->rq_sent);
			t->rq_sent = 0;
			t->rq_replayable = false;
			room = buf_space(&px->bufs, t->rq);
		}
		if (!room)
			break;
		r = http_msg_body(&t->req, buf_start(cl->in),
				  room < buf_len(cl->in) ? room : buf_len(cl->in), &used);
		if (r == HTTP_ERROR)
			return -(int)t->req.status;
		buf_append(&px->bufs, t->rq, buf_start(cl->in), used);
		buf_consume(cl->in, (uint32_t)used);
		t->log.bytes_in += used;
		if (r == HTTP_MSG_DONE)
			t->req_done = true;
	}
	if (t->req_done)
		client_arm_timeout(cl, 0); /* the backend's turn: server_timeout */
	return 0;
}

static void request_id(struct txn *t, const char *head)
{
	char id[sizeof(t->id_text)];

	if (http_client_request_id(&t->req, head, id, sizeof(id)))
		memcpy(t->id_text, id, sizeof(id));
}

/* The head is complete (used bytes of cl->in): rewrite it into t->rq. */
static void request_head_done(struct txn *t, size_t used)
{
	struct proxy *px = t->px;
	struct client *cl = t->cl;
	const char *head = buf_start(cl->in);
	struct rewrite_req rw = { .client_ip = px->cfg->frontend.xff ? cl->ip : NULL,
				  .https = cl->ssl != NULL,
				  .request_id = t->id_text,
				  .upgrade = t->req.upgrade,
				  .via_name = px->cfg->frontend.via ? px->cfg->node.name : NULL };
	uint64_t id;
	int n, err;

	request_id(t, head);
	t->log.bytes_in += used;
	if (px->alog)
		txn_log_request(t, head);
	t->idempotent = http_method_idempotent(t->req.method);
	if (!(t->rq = buf_get(&px->bufs))) {
		txn_http_error(cl, 503);
		return;
	}
	n = http_rewrite_request(&t->req, head, &rw, buf_end(t->rq), buf_room(&px->bufs, t->rq));
	if (n < 0) {
		txn_http_error(cl, 431);
		return;
	}
	t->rq->tail += (uint32_t)n;
	t->rq_replayable = true;
	buf_consume(cl->in, (uint32_t)used);
	if (t->req.method == HTTP_M_HEAD)
		http_msg_expect_no_body(&t->rsp);
	if (!http_msg_has_body(&t->req))
		t->req_done = true;
	else
		client_arm_timeout(cl, px->cfg->frontend.client_timeout_ms);
	if ((err = request_body_move(t)) < 0) {
		txn_http_error(cl, (unsigned)-err);
		return;
	}
	id = t->id;
	txn_dispatch(t, NULL);
	if (request_alive(t, cl, id))
		update_client_mask(cl);
}

static void request_head(struct client *cl, struct txn *t)
{
	struct proxy *px = cl->px;
	size_t used = 0;
	int r;

	if (!cl->head_started) {
		cl->head_started = true;
		client_arm_timeout(cl, px->cfg->frontend.header_timeout_ms);
		buf_compact(cl->in);
	}
	r = http_msg_head(&t->req, buf_start(cl->in), buf_len(cl->in), &used);
	if (r == HTTP_ERROR) {
		txn_http_error(cl, t->req.status);
		return;
	}
	if (r == HTTP_NEED_MORE) {
		if (!buf_room(&px->bufs, cl->in))
			txn_http_error(cl, 431);
		return;
	}
	request_head_done(t, used);
}

static void txn_http_process(struct client *cl)
{
	struct txn *t = cl->txn;
	uint64_t id;
	int err;

	if (!cl->in || !buf_len(cl->in))
		return;
	if (!t && !(t = txn_new(cl))) {
		client_close(cl);
		return;
	}
	if (t->state == TXN_READING) {
		request_head(cl, t);
		return;
	}
	if (t->req_done)
		return;
	if ((err = request_body_move(t)) < 0) {
		txn_http_error(cl, (unsigned)-err);
		return;
	}
	id = t->id;
	if (request_unsent(t) && t->state != TXN_CONNECTING)
		backend_send(t);
	if (request_alive(t, cl, id))
		update_client_mask(cl);
}

static void on_read_eof(struct client *cl)
{
	struct txn *t = cl->txn;

	/* A client that half-closes after a whole request (printf | nc) still
	 * gets its answer; one that leaves mid-request is closed, and the
	 * backend connection goes with it (never reused half-way). */
	if (t && t->state != TXN_READING && t->req_done) {
		cl->read_eof = true;
		cl->close_after = true;
		update_client_mask(cl);
		return;
	}
	client_close(cl);
}

static void txn_http_readable(struct client *cl)
{
	struct proxy *px = cl->px;
	ssize_t n;

	if (!cl->in && !(cl->in = buf_get(&px->bufs))) {
		client_close(cl);
		return;
	}
	if (!buf_room(&px->bufs, cl->in)) {
		buf_compact(cl->in);
		if (!buf_room(&px->bufs, cl->in)) {
			update_client_mask(cl); /* full: wait for the backend */
			return;
		}
	}
	n = client_recv(cl, buf_end(cl->in), buf_room(&px->bufs, cl->in));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		on_read_eof(cl);
		return;
	}
	cl->in->tail += (uint32_t)n;
	px->stats.bytes_in += (uint64_t)n;
	if (cl->txn && cl->txn->state != TXN_READING && !cl->txn->req_done)
		client_arm_timeout(cl, px->cfg->frontend.client_timeout_ms); /* body progress */
	txn_http_process(cl);
}

/* ---- to the backend ---- */

static void txn_http_connected(struct txn *t)
{
	t->log.connected_ms = loop_now_ms(t->px->loop);
	t->state = TXN_SENDING;
	backend_send(t); /* asks for LOOP_WRITE only if the socket is full */
}

static void backend_send(struct txn *t)
{
	struct proxy *px = t->px;
	struct bconn *bc = t->bc;
	struct client *cl = t->cl;
	uint64_t id;

	while (t->rq_sent < buf_len(t->rq)) {
		ssize_t n =
			bconn_send(bc, buf_start(t->rq) + t->rq_sent, buf_len(t->rq) - t->rq_sent);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			bconn_want(bc, LOOP_READ | LOOP_WRITE);
			return;
		}
		if (n < 0) {
			txn_backend_failed(t, FAIL_PROTOCOL, !bc->reused);
			return;
		}
		t->rq_sent += (uint32_t)n;
		server_count(&t->srv->th[px->tid].bytes_in, (uint64_t)n);
	}
	bconn_want(bc, LOOP_READ);
	if (t->req_done) {
		if (t->state == TXN_SENDING) {
			t->state = TXN_WAITING;
			loop_timer_arm(px->loop, &t->timer, px->cfg->backend.server_timeout_ms);
		}
		return;
	}
	/* More body to come from the client: make room and ask for it. */
	if (t->rq_sent && !t->rq_replayable) {
		buf_consume(t->rq, t->rq_sent);
		t->rq_sent = 0;
	}
	id = t->id;
	txn_http_process(cl);
	if (request_alive(t, cl, id))
		update_client_mask(cl);
}

/* ---- response ---- */

/* A restart (handoff.h): a plain client stays alive across the stop, to
 * be handed to the next process between two requests. */
static bool handing_over(const struct client *cl)
{
	return cl->px->handoff && !cl->ssl && !cl->close_after;
}

/* The response is complete: wait for the next request on the connection
 * (one may already be waiting in cl->in), or close. */
static void txn_http_done(struct client *cl, bool keep_alive)
{
	struct proxy *px = cl->px;

	if (cl->txn)
		txn_free(cl->txn);
	cl->txn = NULL;
	cl->head_started = false;
	/* A restart: between two requests, the next process serves it (a
	 * pipelined request already read is answered here first). */
	if (keep_alive && handing_over(cl) && handoff_client_idle(cl)) {
		handoff_client(cl);
		return;
	}
	if (!keep_alive || (px->stopping && !handing_over(cl)) || cl->close_after) {
		client_finish(cl);
		return;
	}
	cl->nrequests++;
	client_want(cl, LOOP_READ);
	client_arm_timeout(cl, px->cfg->frontend.keepalive_timeout_ms);
	if (cl->in && buf_len(cl->in))
		txn_http_process(cl);
	else if (cl->in) {
		buf_put(&px->bufs, cl->in);
		cl->in = NULL;
	}
}

static void response_finish(struct txn *t)
{
	struct client *cl = t->cl;
	bool keep_alive =
		t->req.keep_alive && t->rsp.keep_alive && !t->rsp.body_until_eof && t->req_done;
	bool reuse = t->bc_reusable && t->req_done && t->rq_sent == buf_len(t->rq) &&
		     (!t->rs || buf_len(t->rs) == 0);

	t->log.done = true;

	t->px->stats.responses++;
	t->px->stats.responses_by_class[t->rsp.status / 100 < 6 ? t->rsp.status / 100 : 0]++;
	server_count_response(t->srv, t->px->tid, t->rsp.status,
			      loop_now_ms(t->px->loop) - t->start_ms);
	/* A success only once the whole response arrived: a server that
	 * answers heads and then breaks mid-body must still reach `fall`. */
	txn_report_ok(t->px, t->srv);
	txn_release_server(t, reuse);
	txn_http_done(cl, keep_alive);
}

static int response_head(struct txn *t)
{
	struct proxy *px = t->px;
	struct rewrite_rsp rw;
	size_t used = 0;
	int r = http_msg_head(&t->rsp, buf_start(t->rs), buf_len(t->rs), &used);
	int n;

	if (r != HTTP_HEAD_DONE)
		return r;
	rw = (struct rewrite_rsp){
		.via_name = px->cfg->frontend.via ? px->cfg->node.name : NULL,
		.request_id = t->id_text,
		.keep_alive = t->req.keep_alive && t->rsp.keep_alive && !t->rsp.body_until_eof &&
			      !t->cl->close_after && (!px->stopping || handing_over(t->cl)),
		.client_http10 = t->req.version_minor == 0,
		.upgrade = t->rsp.status == 101,
	};
	/* rh may still hold a 1xx head not yet sent: append. */
	if (!t->rh && !(t->rh = buf_get(&px->bufs)))
		return HTTP_ERROR;
	buf_compact(t->rh);
	n = http_rewrite_response(&t->rsp, buf_start(t->rs), &rw, buf_end(t->rh),
				  buf_room(&px->bufs, t->rh));
	if (n < 0)
		return HTTP_ERROR;
	t->rh->tail += (uint32_t)n;
	buf_consume(t->rs, (uint32_t)used);
	t->rsp_head_done = true;
	t->bc_reusable = t->rsp.keep_alive && !t->rsp.body_until_eof;
	if (!rw.keep_alive)
		t->cl->close_after = true;
	return HTTP_HEAD_DONE;
}

/* Parse what arrived from the backend and forward it. */
static void response_process(struct txn *t)
{
	struct client *cl = t->cl;

	while (!t->rsp_head_done) {
		int r = response_head(t);

		if (r == HTTP_NEED_MORE) {
			if (!buf_room(&t->px->bufs, t->rs))
				txn_backend_failed(t, FAIL_PROTOCOL, true); /* head too large */
			else if (t->rh)
				response_flush(t); /* a 1xx head */
			return;
		}
		if (r == HTTP_ERROR) {
			txn_backend_failed(t, FAIL_PROTOCOL, true);
			return;
		}
		if (t->rsp.status == 101) {
			txn_report_ok(t->px, t->srv);
			tunnel_start(t);
			return;
		}
		if (t->rsp.status >= 100 && t->rsp.status < 200) {
			/* 100 Continue and friends go out as they are; the
			 * final response follows on the same connection. */
			t->rsp_head_done = false;
			http_msg_reset(&t->rsp);
			if (t->req.method == HTTP_M_HEAD)
				http_msg_expect_no_body(&t->rsp);
			continue;
		}
		t->state = TXN_RESPONDING;
		loop_timer_arm(t->px->loop, &t->timer, t->px->cfg->backend.server_timeout_ms);
		if (!http_msg_has_body(&t->rsp))
			t->rsp_done = true;
	}
	while (!t->rsp_done && t->rs_ready < buf_len(t->rs)) {
		size_t used = 0;
		int r = http_msg_body(&t->rsp, buf_start(t->rs) + t->rs_ready,
				      buf_len(t->rs) - t->rs_ready, &used);

		if (r == HTTP_ERROR) {
			txn_report_failed(t->px, t->srv, FAIL_PROTOCOL);
			t->px->stats.aborted++;
			txn_ended(t, 'S', 0);
			client_close(cl);
			return;
		}
		t->rs_ready += (uint32_t)used;
		if (r == HTTP_MSG_DONE)
			t->rsp_done = true;
	}
	if (t->rsp_done && t->rs_ready < buf_len(t->rs))
		t->bc_reusable = false; /* bytes after the response: not a clean connection */
	response_flush(t);
}

static void backend_eof(struct txn *t, int err)
{
	struct bconn *bc = t->bc;
	bool nothing = !t->rsp_head_done && (!t->rs || !buf_len(t->rs));

	if (t->rsp_head_done && t->rsp.body_until_eof && !err) {
		if (http_msg_eof(&t->rsp) == HTTP_MSG_DONE) {
			t->rsp_done = true;
			t->bc_reusable = false;
			response_flush(t);
			return;
		}
	}
	if (t->rsp_started || t->rsp_head_done) {
		txn_report_failed(t->px, t->srv, FAIL_PROTOCOL);
		t->px->stats.aborted++;
		txn_ended(t, 'S', 0);
		client_close(t->cl);
		return;
	}
	/* A reused keep-alive connection closed before any byte: the server
	 * timed it out as we sent; not the server's fault. */
	txn_backend_failed(t, FAIL_PROTOCOL, !(nothing && bc->reused));
}

static void backend_recv(struct txn *t)
{
	struct proxy *px = t->px;
	ssize_t n;

	if (!t->rs && !(t->rs = buf_get(&px->bufs))) {
		txn_fail(t, 503);
		return;
	}
	if (!buf_room(&px->bufs, t->rs)) {
		buf_compact(t->rs);
		if (!buf_room(&px->bufs, t->rs)) {
			if (!t->rsp_head_done)
				txn_backend_failed(t, FAIL_PROTOCOL, true);
			else
				bconn_want(t->bc, request_unsent(t) ? LOOP_WRITE : 0);
			return;
		}
	}
	n = bconn_recv(t->bc, buf_end(t->rs), buf_room(&px->bufs, t->rs));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		backend_eof(t, n < 0 ? errno : 0);
		return;
	}
	t->rs->tail += (uint32_t)n;
	if (!t->log.first_byte_ms)
		t->log.first_byte_ms = loop_now_ms(px->loop);
	server_count(&t->srv->th[px->tid].bytes_out, (uint64_t)n);
	loop_timer_arm(px->loop, &t->timer, px->cfg->backend.server_timeout_ms);
	response_process(t);
}

static void txn_http_backend_io(struct txn *t, unsigned events)
{
	struct client *cl = t->cl;
	struct bconn *bc = t->bc;
	uint64_t id = t->id;

	if ((events & LOOP_WRITE) && request_unsent(t)) {
		backend_send(t);
		if (!request_alive(t, cl, id) || t->bc != bc)
			return;
	}
	if (events & LOOP_READ)
		backend_recv(t);
}

/* ---- to the client ---- */

static void response_flush(struct txn *t)
{
	struct client *cl = t->cl;
	struct iovec iov[2];
	int cnt = 0;
	ssize_t n;

	if (t->rh && buf_len(t->rh))
		iov[cnt++] = (struct iovec){ buf_start(t->rh), buf_len(t->rh) };
	if (t->rs_ready)
		iov[cnt++] = (struct iovec){ buf_start(t->rs), t->rs_ready };
	if (cnt) {
		n = client_sendv(cl, iov, cnt);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			t->px->stats.aborted++;
			client_close(cl);
			return;
		}
		if (n > 0) {
			uint32_t m = t->rh ? buf_len(t->rh) : 0;

			t->px->stats.bytes_out += (uint64_t)n;
			t->log.bytes_out += (uint64_t)n;
			t->rsp_started = true;
			client_arm_timeout(cl, t->px->cfg->frontend.client_timeout_ms);
			if (t->rh) {
				buf_consume(t->rh, (uint32_t)n < m ? (uint32_t)n : m);
				n -= n < m ? n : m;
			}
			buf_consume(t->rs, (uint32_t)n);
			t->rs_ready -= (uint32_t)n;
		}
	}
	if (t->rh && !buf_len(t->rh)) {
		buf_put(&t->px->bufs, t->rh);
		t->rh = NULL;
	}
	if (!t->rh && !t->rs_ready && t->rsp_done) {
		response_finish(t);
		return;
	}
	update_client_mask(cl);
	if (t->bc)
		bconn_want(t->bc,
			   (request_unsent(t) ? LOOP_WRITE : 0) |
				   (!t->rs || buf_space(&t->px->bufs, t->rs) ? LOOP_READ : 0));
}

static void txn_http_writable(struct client *cl)
{
	struct txn *t = cl->txn;

	if (t && (t->rh || t->rs_ready))
		response_flush(t);
	else
		update_client_mask(cl);
}

/* ---- the operations ---- */

static void txn_http_start(struct client *cl)
{
	client_arm_timeout(cl, cl->px->cfg->frontend.header_timeout_ms);
}

static void txn_http_client_io(struct client *cl, unsigned events)
{
	if (events & LOOP_WRITE) {
		txn_http_writable(cl);
		if (cl->fd < 0)
			return;
	}
	if (events & LOOP_READ)
		txn_http_readable(cl);
}

static void txn_http_client_timeout(struct client *cl)
{
	struct txn *t = cl->txn;

	if (t && t->state == TXN_READING && cl->head_started) {
		txn_http_error(cl, 408);
		return;
	}
	if (t && !t->req_done && !t->rsp_started) {
		/* slow body upload */
		txn_http_error(cl, 408);
		return;
	}
	txn_ended(t, 'c', 0);
	client_close(cl); /* idle (keep-alive, nothing sent), or not reading */
}

/* server_timeout, armed once the request is sent and at each response byte. */
static void txn_http_timeout(struct txn *t)
{
	switch (t->state) {
	case TXN_SENDING:
	case TXN_WAITING:
		txn_backend_failed(t, FAIL_RESPONSE_TMO, true);
		break;
	case TXN_RESPONDING:
		/* The client already has part of the answer: cut it. */
		txn_report_failed(t->px, t->srv, FAIL_RESPONSE_TMO);
		t->px->stats.aborted++;
		txn_ended(t, 's', 0);
		client_close(t->cl);
		break;
	default:
		break;
	}
}

const struct txn_ops txn_http_ops = {
	.start = txn_http_start,
	.client_io = txn_http_client_io,
	.client_timeout = txn_http_client_timeout,
	.fail = txn_http_error,
	.backend_connected = txn_http_connected,
	.backend_io = txn_http_backend_io,
	.timeout = txn_http_timeout,
	.reuse_backend = true,
};
