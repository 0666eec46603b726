/* client.c - client connections (client.h).  Below the protocols
 * (txn_http.c, tunnel.c), which it reaches only through cl->ops; above
 * txn.c, since closing a client frees its txn.
 *
 * It is also the connection's transport: the protocols read and write
 * through client_recv/client_send/client_sendv/client_shutdown, which
 * are the socket calls on a plain listener and tls_conn.c's on a TLS one.
 * TLS adds three things the socket alone does not have, all handled here:
 *  - a handshake before the protocol starts (its own timeout and counters);
 *  - a read that waits for the socket to be writable, or a write that
 *    waits for it to be readable: the mask given to the loop adds what the
 *    blocked call needs (client_want), and the event that comes is passed
 *    up as the one the protocol waits for (client_io);
 *  - bytes kept inside the session (decrypted, or read ahead: one read
 *    takes several records), which no socket event will announce: a
 *    zero-delay timer (cl->kick) reads them.
 * A response's head and body go out in one TLS record (tls_sendv). */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netaddr.h"
#include "tls_conn.h"
#include "txn.h"

#define LINGER_MAX_BYTES (1u << 20)
#define FINAL_WRITE_MS   2000 /* bounds the last write and the linger */

static void client_io(struct loop *loop, int fd, unsigned events, void *arg);
static void client_kick(struct loop *loop, struct loop_timer *tm);

/* [frontend] maxconn is for the whole frontend: each thread takes its
 * share (rounded up).  Read at each use: reload may change it. */
static unsigned client_max(const struct proxy *px)
{
	unsigned n = pool_threads(px->pool);

	return (px->cfg->frontend.maxconn + n - 1) / n;
}

/* A failed handshake: counted always, logged once a minute per cause. */
static void tls_failed(struct client *cl, enum tls_fail why)
{
	struct proxy *px = cl->px;
	uint64_t more;

	px->stats.tls_failures[why]++;
	if (log_limit_ok(&px->tls_log[why], loop_now_ms(px->loop), LOG_LIMIT_LONG_MS, &more))
		log_warnx("frontend: TLS handshake from %s failed: %s (%llu more of this cause "
			  "not logged)",
			  cl->addr_text, tls_fail_name(why), (unsigned long long)more);
	/* Read what the client already sent (the rest of a plain HTTP request),
	 * so that the close is a FIN rather than a reset; bounded. */
	for (int i = 0; i < 4; i++) {
		char junk[4096];

		if (recv(cl->fd, junk, sizeof(junk), MSG_DONTWAIT) < (ssize_t)sizeof(junk))
			break;
	}
	client_close(cl);
}

static void client_timeout(struct loop *loop, struct loop_timer *tm)
{
	struct client *cl = tm->arg;

	if (cl->handshaking) {
		tls_failed(cl, TLS_FAIL_TIMEOUT);
		return;
	}
	if (cl->out) {
		client_close(cl); /* the last write or the linger took too long */
		return;
	}
	cl->ops->client_timeout(cl);
}

void client_arm_timeout(struct client *cl, uint32_t ms)
{
	if (ms)
		loop_timer_arm(cl->px->loop, &cl->timer, ms);
	else
		loop_timer_cancel(cl->px->loop, &cl->timer);
}

struct client *client_new(struct proxy *px, int fd, const struct sockaddr_storage *peer,
			  const struct txn_ops *ops, struct tls_ctx *tls)
{
	struct client *cl = calloc(1, sizeof(*cl));

	if (!cl)
		return NULL;
	if (tls && !(cl->ssl = tls_conn_new(tls, fd))) {
		free(cl);
		return NULL;
	}
	cl->handshaking = cl->ssl != NULL;
	cl->mask = LOOP_READ;
	cl->fd = fd;
	cl->px = px;
	cl->ops = ops;
	cl->peer = *peer;
	netaddr_ip((const struct sockaddr *)peer, cl->ip, sizeof(cl->ip));
	netaddr_text((const struct sockaddr *)peer, cl->addr_text, sizeof(cl->addr_text));
	loop_timer_init(&cl->timer, client_timeout, cl);
	loop_timer_init(&cl->kick, client_kick, cl);
	if (loop_add_fd(px->loop, fd, LOOP_READ, client_io, cl) < 0) {
		tls_conn_free(cl->ssl);
		free(cl);
		return NULL;
	}
	list_add_tail(&px->clients, &cl->link);
	px->stats.clients++;
	px->stats.accepted++;
	if (px->stats.clients >= client_max(px))
		proxy_accept_enable(px, false);
	if (cl->handshaking)
		client_arm_timeout(cl, px->cfg->frontend.tls_handshake_timeout_ms);
	return cl;
}

/* TLS: read what the session holds now if the protocol wants to read;
 * not after a read that blocked (only part of a record waits, and the
 * socket announces the rest: no kick after kick). */
static void kick_if_pending(struct client *cl)
{
	if (cl->ssl && cl->fd >= 0 && !cl->handshaking && (cl->mask & LOOP_READ) && !cl->rd_want &&
	    !loop_timer_armed(&cl->kick) && tls_conn_pending(cl->ssl))
		loop_timer_arm(cl->px->loop, &cl->kick, 0);
}

void client_want(struct client *cl, unsigned mask)
{
	unsigned real = mask;

	if (cl->fd < 0)
		return;
	cl->mask = mask;
	if (cl->ssl) {
		if (mask & LOOP_READ)
			real |= cl->rd_want;
		if (mask & LOOP_WRITE)
			real |= cl->wr_want;
		kick_if_pending(cl);
	}
	loop_set_mask(cl->px->loop, cl->fd, real);
}

/* ---- the transport ---- */

ssize_t client_recv(struct client *cl, void *buf, size_t len)
{
	unsigned want = 0;
	ssize_t n;

	if (!cl->ssl)
		return recv(cl->fd, buf, len, 0);
	n = tls_conn_read(cl->ssl, buf, len, &want);
	cl->rd_want = (uint8_t)(n < 0 && errno == EAGAIN ? want : 0);
	return n;
}

ssize_t client_send(struct client *cl, const void *buf, size_t len)
{
	unsigned want = 0;
	ssize_t n;

	if (!cl->ssl)
		return send(cl->fd, buf, len, MSG_NOSIGNAL);
	n = tls_conn_write(cl->ssl, buf, len, &want);
	cl->wr_want = (uint8_t)(n < 0 && errno == EAGAIN ? want : 0);
	return n;
}

/* Where the bytes after (i, off) go: *i and *off moved on by n. */
static void iov_advance(const struct iovec *iov, int cnt, int *i, size_t *off, size_t n)
{
	while (*i < cnt) {
		size_t left = iov[*i].iov_len - *off;

		if (n < left) {
			*off += n;
			return;
		}
		n -= left;
		(*i)++;
		*off = 0;
	}
}

/* Copies up to cap bytes from (i, off) on into out: the length. */
static size_t iov_gather(const struct iovec *iov, int cnt, int i, size_t off, char *out,
			 size_t cap)
{
	size_t len = 0;

	for (; i < cnt && len < cap; i++, off = 0) {
		size_t take = iov[i].iov_len - off;

		if (take > cap - len)
			take = cap - len;
		memcpy(out + len, (const char *)iov[i].iov_base + off, take);
		len += take;
	}
	return len;
}

/* TLS: as few records as the bytes need.  A buffer shorter than a record
 * (a response head) goes out copied together with the start of the next
 * (its body), in one record and one write, as the plain socket's sendmsg
 * sends them in one segment; the rest is written from where it lies.
 * A retry after EAGAIN starts with the same bytes, at least as many
 * (OpenSSL's rule; the moving buffer is allowed by
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER): the caller consumed nothing, and
 * its buffers only grow at the end, so the same gathering is redone. */
static ssize_t tls_sendv(struct client *cl, const struct iovec *iov, int cnt)
{
	char rec[TLS_RECORD_MAX];
	ssize_t total = 0;
	size_t off = 0;
	int i = 0;

	while (i < cnt) {
		const char *p = (const char *)iov[i].iov_base + off;
		size_t len = iov[i].iov_len - off;
		ssize_t n;

		if (i < cnt - 1 && len < sizeof(rec)) {
			len = iov_gather(iov, cnt, i, off, rec, sizeof(rec));
			p = rec;
		}
		n = client_send(cl, p, len);
		if (n < 0)
			return total ? total : -1;
		if (n == 0)
			break; /* no progress (not seen from OpenSSL): no spin */
		total += n;
		iov_advance(iov, cnt, &i, &off, (size_t)n);
	}
	return total;
}

ssize_t client_sendv(struct client *cl, const struct iovec *iov, int cnt)
{
	if (!cl->ssl) {
		struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };

		return sendmsg(cl->fd, &mh, MSG_NOSIGNAL);
	}
	return tls_sendv(cl, iov, cnt);
}

void client_shutdown(struct client *cl)
{
	if (cl->ssl)
		tls_conn_shutdown(cl->ssl);
	shutdown(cl->fd, SHUT_WR);
}

void client_finish(struct client *cl)
{
	/* No shutdown(2) first: close() sends the same FIN (and the same RST
	 * if input is left unread), so it was one more system call per
	 * connection for nothing. */
	if (cl->ssl)
		tls_conn_shutdown(cl->ssl);
	client_close(cl);
}

void client_close(struct client *cl)
{
	struct proxy *px = cl->px;

	if (cl->fd < 0)
		return;
	loop_timer_cancel(px->loop, &cl->timer);
	loop_timer_cancel(px->loop, &cl->kick);
	loop_close_fd(px->loop, cl->fd); /* handoff_client: loop_del_fd first */
	cl->fd = -1;
	tls_conn_free(cl->ssl);
	cl->ssl = NULL;
	if (cl->txn)
		txn_free(cl->txn);
	cl->txn = NULL;
	buf_put(&px->bufs, cl->in);
	buf_put(&px->bufs, cl->out);
	cl->in = cl->out = NULL;
	list_del(&cl->link);
	list_add_tail(&px->reap, &cl->link);
	px->stats.clients--;
	if (!px->stopping && px->stats.clients < client_max(px))
		proxy_accept_enable(px, true);
	proxy_accept_kick(px); /* a descriptor is free again */
	proxy_reap_later(px);
}

void client_reap(struct proxy *px)
{
	struct list *e;

	while ((e = list_pop_head(&px->reap)))
		free(list_entry(e, struct client, link));
}

/* After our last bytes: read and discard what the client still sends
 * (the rest of a refused request) until it closes, up to a bound, so that
 * closing with unread input does not reset the connection and destroy the
 * answer before the client has read it (a "lingering close"). */
static void client_linger(struct client *cl)
{
	while (cl->lingered < LINGER_MAX_BYTES) {
		ssize_t n = recv(cl->fd, buf_start(cl->out), cl->px->bufs.size, 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		cl->lingered += (uint32_t)n;
	}
	client_close(cl);
}

/* Write what is left of cl->out; then half-close and linger. */
static void client_flush_out(struct client *cl)
{
	while (buf_len(cl->out)) {
		ssize_t n = client_send(cl, buf_start(cl->out), buf_len(cl->out));

		if (n < 0 && errno == EAGAIN) {
			client_want(cl, LOOP_WRITE);
			return;
		}
		if (n <= 0) {
			client_close(cl);
			return;
		}
		buf_consume(cl->out, (uint32_t)n);
	}
	client_shutdown(cl);
	cl->lingering = true;
	client_want(cl, LOOP_READ);
	client_linger(cl);
}

void client_send_and_close(struct client *cl)
{
	loop_timer_arm(cl->px->loop, &cl->timer, FINAL_WRITE_MS);
	client_flush_out(cl);
}

/* TLS: go on with the handshake; once done, the protocol starts. */
static void client_handshake(struct client *cl)
{
	struct proxy *px = cl->px;
	enum tls_fail why = TLS_FAIL_HANDSHAKE;
	unsigned want = 0;
	int r = tls_conn_handshake(cl->ssl, &want, &why);

	if (r == 0) {
		loop_set_mask(px->loop, cl->fd, want);
		return;
	}
	if (r < 0) {
		tls_failed(cl, why);
		return;
	}
	cl->handshaking = false;
	px->stats.tls_handshakes++;
	if (tls_conn_resumed(cl->ssl))
		px->stats.tls_resumed++;
	client_arm_timeout(cl, 0);
	client_want(cl, LOOP_READ);
	cl->ops->start(cl);
	if (cl->fd >= 0)
		kick_if_pending(cl);
}

void client_tls_begin(struct client *cl)
{
	if (cl->handshaking)
		client_handshake(cl);
}

/* Events on a TLS connection as the protocol sees them: a read that
 * waited for writability is a read event, and so on. */
static unsigned tls_events(struct client *cl, unsigned events)
{
	unsigned ev = events;

	if (cl->rd_want && (events & cl->rd_want))
		ev |= LOOP_READ;
	if (cl->wr_want && (events & cl->wr_want))
		ev |= LOOP_WRITE;
	return ev;
}

static void client_kick(struct loop *loop, struct loop_timer *tm)
{
	struct client *cl = tm->arg;

	if (cl->fd >= 0 && (cl->mask & LOOP_READ))
		client_io(loop, cl->fd, LOOP_READ, cl);
}

static void client_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct client *cl = arg;

	if (cl->ssl) {
		if (cl->handshaking) {
			client_handshake(cl);
			return;
		}
		events = tls_events(cl, events);
	}
	if (cl->lingering) {
		client_linger(cl);
		return;
	}
	if (cl->out) {
		if (events & LOOP_WRITE)
			client_flush_out(cl);
		return;
	}
	cl->ops->client_io(cl, events);
	/* A call may have blocked on the other direction since the protocol
	 * last set its mask: the loop must watch for that too. */
	if (cl->ssl && cl->fd >= 0)
		client_want(cl, cl->mask);
}
