/* tunnel.c - relay bytes both ways between a client and its backend:
 * whole connections in mode tcp, and HTTP connections after a 101
 * Switching Protocols (WebSocket).  One buffer per direction; reading a
 * side stops while the other side has not taken the bytes.  A half-close
 * is passed on (shutdown(SHUT_WR)) once the buffered bytes are out.
 *
 * A tunnel's client timer is its inactivity timeout; it arms no txn timer. */
#include "tunnel.h"

#include <errno.h>
#include <sys/socket.h>

#include "bconn.h"
#include "client.h"
#include "log.h"
#include "txn.h"

static uint32_t tunnel_timeout(const struct proxy *px)
{
	uint32_t a = px->cfg->frontend.client_timeout_ms, b = px->cfg->backend.server_timeout_ms;

	return a > b ? a : b;
}

/* Send what b holds to the backend (fd; cl NULL), or to the client cl
 * (fd is its socket; through its transport: TLS on a TLS listener).  Returns 0, or -1 when the
 * peer is gone. */
static int pump_out(struct client *cl, int fd, struct buf *b, uint64_t *counter)
{
	while (b && buf_len(b)) {
		ssize_t n = cl ? client_send(cl, buf_start(b), buf_len(b))
			       : send(fd, buf_start(b), buf_len(b), MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		buf_consume(b, (uint32_t)n);
		server_count(counter, (uint64_t)n);
	}
	return 0;
}

/* Read from the backend (fd; cl NULL) or the client cl (fd its socket) into *b (allocated on
 * demand).  Returns bytes read, 0 at EOF, -EAGAIN when nothing is there,
 * -1 on error. */
static ssize_t pump_in(struct proxy *px, struct client *cl, int fd, struct buf **b)
{
	ssize_t n;

	if (!*b && !(*b = buf_get(&px->bufs)))
		return -1;
	buf_compact(*b);
	if (!buf_room(&px->bufs, *b))
		return -EAGAIN;
	n = cl ? client_recv(cl, buf_end(*b), buf_room(&px->bufs, *b))
	       : recv(fd, buf_end(*b), buf_room(&px->bufs, *b), 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -1;
	(*b)->tail += (uint32_t)n;
	return n;
}

/* pump_out and pump_in towards the server: through bconn (TLS or not). */
static int pump_to_server(struct txn *t)
{
	struct buf *b = t->cl->in;

	while (b && buf_len(b)) {
		ssize_t n = bconn_send(t->bc, buf_start(b), buf_len(b));

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		buf_consume(b, (uint32_t)n);
		server_count(&t->srv->th[t->px->tid].bytes_in, (uint64_t)n);
	}
	return 0;
}

static ssize_t pump_from_server(struct txn *t)
{
	struct buf **b = &t->rs;
	ssize_t n;

	if (!*b && !(*b = buf_get(&t->px->bufs)))
		return -1;
	buf_compact(*b);
	if (!buf_room(&t->px->bufs, *b))
		return -EAGAIN;
	n = bconn_recv(t->bc, buf_end(*b), buf_room(&t->px->bufs, *b));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -1;
	(*b)->tail += (uint32_t)n;
	return n;
}

static bool has_data(const struct buf *b) { return b && buf_len(b); }

static void tunnel_end(struct txn *t)
{
	struct client *cl = t->cl;

	txn_release_server(t, false);
	client_close(cl);
}

/* Pass half-closes on, update interest, finish when both sides are done. */
static void tunnel_update(struct txn *t)
{
	struct proxy *px = t->px;
	struct client *cl = t->cl;
	unsigned cmask = 0, smask = 0;

	if (t->cl_eof && !has_data(cl->in) && !t->srv_shut) {
		bconn_shutdown_write(t->bc);
		t->srv_shut = true;
	}
	if (t->srv_eof && !has_data(t->rh) && !has_data(t->rs) && !t->cl_shut) {
		client_shutdown(cl);
		t->cl_shut = true;
	}
	if (t->cl_shut && t->srv_shut) {
		t->log.done = true;
		tunnel_end(t);
		return;
	}
	if (!t->cl_eof && (!cl->in || buf_len(cl->in) < px->bufs.size))
		cmask |= LOOP_READ;
	if (has_data(t->rh) || has_data(t->rs))
		cmask |= LOOP_WRITE;
	if (!t->srv_eof && (!t->rs || buf_len(t->rs) < px->bufs.size))
		smask |= LOOP_READ;
	if (has_data(cl->in))
		smask |= LOOP_WRITE;
	client_want(cl, cmask);
	bconn_want(t->bc, smask);
}

/* who: 'C' the client's side failed, 'S' the server's. */
static void tunnel_broken(struct txn *t, char who)
{
	txn_ended(t, who, 'D');
	t->px->stats.aborted++;
	tunnel_end(t);
}

static int flush_to_client(struct txn *t)
{
	struct client *cl = t->cl;
	uint64_t *sent = &t->srv->th[t->px->tid].bytes_out, before = *sent;
	int rc = 0;

	if (pump_out(cl, cl->fd, t->rh, sent) < 0 || pump_out(cl, cl->fd, t->rs, sent) < 0)
		rc = -1;
	t->px->stats.bytes_out += *sent - before; /* the frontend's count too */
	t->log.bytes_out += *sent - before;
	return rc;
}

/* Called in state TXN_TUNNEL only: until then the client is watched for
 * nothing (tunnel_accept). */
static void tunnel_client_io(struct client *cl, unsigned events)
{
	struct txn *t = cl->txn;

	client_arm_timeout(cl, tunnel_timeout(t->px));
	if ((events & LOOP_WRITE) && flush_to_client(t) < 0)
		return tunnel_broken(t, 'C');
	if (events & LOOP_READ) {
		ssize_t n = pump_in(t->px, cl, cl->fd, &cl->in);

		if (n == -1)
			return tunnel_broken(t, 'C');
		if (n == 0)
			t->cl_eof = true;
		else if (n > 0) {
			t->px->stats.bytes_in += (uint64_t)n;
			t->log.bytes_in += (uint64_t)n;
		}
		if (pump_to_server(t) < 0)
			return tunnel_broken(t, 'S');
	}
	tunnel_update(t);
}

static void tunnel_backend_io(struct txn *t, unsigned events)
{
	struct client *cl = t->cl;

	client_arm_timeout(cl, tunnel_timeout(t->px));
	if ((events & LOOP_WRITE) && pump_to_server(t) < 0)
		return tunnel_broken(t, 'S');
	if (events & LOOP_READ) {
		ssize_t n = pump_from_server(t);

		if (n == -1)
			return tunnel_broken(t, 'S');
		if (n == 0)
			t->srv_eof = true;
		else if (n > 0 && !t->log.first_byte_ms)
			t->log.first_byte_ms = loop_now_ms(t->px->loop);
		if (flush_to_client(t) < 0)
			return tunnel_broken(t, 'C');
	}
	tunnel_update(t);
}

void tunnel_start(struct txn *t)
{
	struct client *cl = t->cl;

	cl->ops = &tunnel_ops;
	if (t->log.connected_ms < t->log.connect_start_ms) /* mode tcp: just connected */
		t->log.connected_ms = loop_now_ms(t->px->loop);
	t->state = TXN_TUNNEL;
	t->rs_ready = 0;
	loop_timer_cancel(t->px->loop, &t->timer);
	client_arm_timeout(cl, tunnel_timeout(t->px));
	/* Whatever is buffered (the 101 head, early bytes) goes out first. */
	if (flush_to_client(t) < 0)
		return tunnel_broken(t, 'C');
	if (pump_to_server(t) < 0)
		return tunnel_broken(t, 'S');
	tunnel_update(t);
}

/* Mode tcp: the whole connection is one txn, dispatched at once; nothing
 * is read from the client until the backend is there. */
static void tunnel_accept(struct client *cl)
{
	struct txn *t = txn_new(cl);

	if (!t) {
		client_close(cl);
		return;
	}
	client_want(cl, 0);
	txn_dispatch(t, NULL);
}

/* Idle too long (the tunnel's inactivity timeout). */
static void tunnel_client_timeout(struct client *cl)
{
	txn_ended(cl->txn, 'c', 'D');
	client_close(cl);
}

/* No server for the connection: a byte stream has no way to say why, the
 * close is the answer. */
static void tunnel_fail(struct client *cl, unsigned status) { client_close(cl); }

const struct txn_ops tunnel_ops = {
	.start = tunnel_accept,
	.client_io = tunnel_client_io,
	.client_timeout = tunnel_client_timeout,
	.fail = tunnel_fail,
	.backend_connected = tunnel_start,
	.backend_io = tunnel_backend_io,
	.timeout = NULL,
	.reuse_backend = false,
};
