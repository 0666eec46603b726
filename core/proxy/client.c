/* client.c - client connections (client.h).  Below the protocols
 * (txn_http.c, tunnel.c), which it reaches only through cl->ops; above
 * txn.c, since closing a client frees its txn. */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "txn.h"

#define LINGER_MAX_BYTES (1u << 20)
#define FINAL_WRITE_MS   2000 /* bounds the last write and the linger */

static void client_io(struct loop *loop, int fd, unsigned events, void *arg);

/* [frontend] maxconn is for the whole frontend: each thread takes its
 * share (rounded up).  Read at each use: reload may change it. */
static unsigned client_max(const struct proxy *px)
{
	unsigned n = pool_threads(px->pool);

	return (px->cfg->frontend.maxconn + n - 1) / n;
}

static void client_timeout(struct loop *loop, struct loop_timer *tm)
{
	struct client *cl = tm->arg;

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

struct client *client_new(struct proxy *px, int fd, const struct sockaddr_in *peer,
			  const struct txn_ops *ops)
{
	struct client *cl = calloc(1, sizeof(*cl));

	if (!cl)
		return NULL;
	cl->fd = fd;
	cl->px = px;
	cl->ops = ops;
	cl->peer = *peer;
	inet_ntop(AF_INET, &peer->sin_addr, cl->ip, sizeof(cl->ip));
	snprintf(cl->addr_text, sizeof(cl->addr_text), "%s:%u", cl->ip, ntohs(peer->sin_port));
	loop_timer_init(&cl->timer, client_timeout, cl);
	if (loop_add_fd(px->loop, fd, LOOP_READ, client_io, cl) < 0) {
		free(cl);
		return NULL;
	}
	list_add_tail(&px->clients, &cl->link);
	px->stats.clients++;
	px->stats.accepted++;
	if (px->stats.clients >= client_max(px))
		acceptor_enable(&px->acceptor, false);
	return cl;
}

void client_want(struct client *cl, unsigned mask)
{
	if (cl->fd >= 0)
		loop_set_mask(cl->px->loop, cl->fd, mask);
}

void client_close(struct client *cl)
{
	struct proxy *px = cl->px;

	if (cl->fd < 0)
		return;
	loop_timer_cancel(px->loop, &cl->timer);
	loop_del_fd(px->loop, cl->fd);
	close(cl->fd);
	cl->fd = -1;
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
		acceptor_enable(&px->acceptor, true);
	acceptor_kick(&px->acceptor); /* a descriptor is free again */
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
		ssize_t n = send(cl->fd, buf_start(cl->out), buf_len(cl->out), MSG_NOSIGNAL);

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
	shutdown(cl->fd, SHUT_WR);
	cl->lingering = true;
	client_want(cl, LOOP_READ);
	client_linger(cl);
}

void client_send_and_close(struct client *cl)
{
	loop_timer_arm(cl->px->loop, &cl->timer, FINAL_WRITE_MS);
	client_flush_out(cl);
}

static void client_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct client *cl = arg;

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
}
