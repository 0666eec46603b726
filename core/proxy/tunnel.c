/* tunnel.c - relay bytes both ways between a client and its backend:
 * whole connections in mode tcp, and HTTP connections after a 101
 * Switching Protocols (WebSocket).  One buffer per direction; reading a
 * side stops while the other side has not taken the bytes.  A half-close
 * is passed on (shutdown(SHUT_WR)) once the buffered bytes are out. */
#include "proxy_int.h"

#include <errno.h>
#include <sys/socket.h>

#include "log.h"

static uint32_t tunnel_timeout(const struct proxy *px)
{
	uint32_t a = px->cfg->frontend.client_timeout_ms, b = px->cfg->backend.server_timeout_ms;

	return a > b ? a : b;
}

/* Send what b holds to fd.  Returns 0, or -1 when the peer is gone. */
static int pump_out(int fd, struct buf *b, uint64_t *counter)
{
	while (b && buf_len(b)) {
		ssize_t n = send(fd, buf_start(b), buf_len(b), MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		buf_consume(b, (uint32_t)n);
		server_count(counter, (uint64_t)n);
	}
	return 0;
}

/* Read from fd into *b (allocated on demand).  Returns bytes read, 0 at
 * EOF, -EAGAIN when nothing is there, -1 on error. */
static ssize_t pump_in(struct proxy *px, int fd, struct buf **b)
{
	ssize_t n;

	if (!*b && !(*b = buf_get(&px->bufs)))
		return -1;
	buf_compact(*b);
	if (!buf_room(&px->bufs, *b))
		return -EAGAIN;
	n = recv(fd, buf_end(*b), buf_room(&px->bufs, *b), 0);
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
		shutdown(t->bc->fd, SHUT_WR);
		t->srv_shut = true;
	}
	if (t->srv_eof && !has_data(t->rh) && !has_data(t->rs) && !t->cl_shut) {
		shutdown(cl->fd, SHUT_WR);
		t->cl_shut = true;
	}
	if (t->cl_shut && t->srv_shut) {
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

static void tunnel_broken(struct txn *t)
{
	t->px->stats.aborted++;
	tunnel_end(t);
}

static int flush_to_client(struct txn *t)
{
	struct client *cl = t->cl;

	if (pump_out(cl->fd, t->rh, &t->srv->th[t->px->tid].bytes_out) < 0 || pump_out(cl->fd, t->rs, &t->srv->th[t->px->tid].bytes_out) < 0)
		return -1;
	return 0;
}

void tunnel_client_io(struct txn *t, unsigned events)
{
	struct client *cl = t->cl;

	client_arm_timeout(cl, tunnel_timeout(t->px));
	if ((events & LOOP_WRITE) && flush_to_client(t) < 0)
		return tunnel_broken(t);
	if (events & LOOP_READ) {
		ssize_t n = pump_in(t->px, cl->fd, &cl->in);

		if (n == -1)
			return tunnel_broken(t);
		if (n == 0)
			t->cl_eof = true;
		if (pump_out(t->bc->fd, cl->in, &t->srv->th[t->px->tid].bytes_in) < 0)
			return tunnel_broken(t);
	}
	tunnel_update(t);
}

void tunnel_backend_io(struct txn *t, unsigned events)
{
	struct client *cl = t->cl;

	client_arm_timeout(cl, tunnel_timeout(t->px));
	if ((events & LOOP_WRITE) && pump_out(t->bc->fd, cl->in, &t->srv->th[t->px->tid].bytes_in) < 0)
		return tunnel_broken(t);
	if (events & LOOP_READ) {
		ssize_t n = pump_in(t->px, t->bc->fd, &t->rs);

		if (n == -1)
			return tunnel_broken(t);
		if (n == 0)
			t->srv_eof = true;
		if (flush_to_client(t) < 0)
			return tunnel_broken(t);
	}
	tunnel_update(t);
}

void tunnel_start(struct txn *t)
{
	struct client *cl = t->cl;

	t->state = TXN_TUNNEL;
	t->rs_ready = 0;
	loop_timer_cancel(t->px->loop, &t->timer);
	client_arm_timeout(cl, tunnel_timeout(t->px));
	/* Whatever is buffered (the 101 head, early bytes) goes out first. */
	if (flush_to_client(t) < 0 || pump_out(t->bc->fd, cl->in, &t->srv->th[t->px->tid].bytes_in) < 0)
		return tunnel_broken(t);
	tunnel_update(t);
}
