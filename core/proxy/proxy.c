/* proxy.c - the frontend: listener, client connections, their timeouts,
 * graceful shutdown and statistics.  Request handling is in txn*.c. */
#include "proxy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_rewrite.h"
#include "log.h"

#define ACCEPT_BATCH 64

static void client_io(struct loop *loop, int fd, unsigned events, void *arg);

/* [frontend] maxconn is for the whole frontend: each thread takes its
 * share (rounded up).  Read at each use: reload may change it. */
static unsigned proxy_maxconn(const struct proxy *px)
{
	unsigned n = pool_threads(px->pool);

	return (px->cfg->frontend.maxconn + n - 1) / n;
}

static int listener_open(const struct cfg_endpoint *ep, bool reuseport)
{
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* IP_FREEBIND: bind the VIP before it is on the interface, so that
	 * becoming MASTER only has to add the address (SPEC "HA module").
	 * SO_REUSEPORT: one listener per proxy thread, the kernel spreads
	 * new connections over them. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)&ep->sin, sizeof(ep->sin)) < 0 || listen(fd, 4096) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void client_timeout(struct loop *loop, struct loop_timer *tm)
{
	struct client *cl = tm->arg;
	struct txn *t = cl->txn;

	(void)loop;
	if (cl->px->cfg->frontend.mode == MODE_TCP || (t && t->state == TXN_TUNNEL)) {
		client_close(cl); /* idle tunnel */
		return;
	}
	if (t && t->state == TXN_READING && cl->head_started) {
		client_send_error(cl, 408);
		return;
	}
	if (t && !t->req_done && !t->rsp_started) {
		/* slow body upload */
		client_send_error(cl, 408);
		return;
	}
	client_close(cl);
}

void client_arm_timeout(struct client *cl, uint32_t ms)
{
	if (ms)
		loop_timer_arm(cl->px->loop, &cl->timer, ms);
	else
		loop_timer_cancel(cl->px->loop, &cl->timer);
}

static struct client *client_new(struct proxy *px, int fd, const struct sockaddr_in *peer)
{
	struct client *cl = calloc(1, sizeof(*cl));

	if (!cl)
		return NULL;
	cl->fd = fd;
	cl->px = px;
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
	return cl;
}

/* The acceptor's callback (acceptor.h): -ENOMEM pauses accepting. */
static int accept_one(void *arg, int fd, const struct sockaddr_storage *ss)
{
	struct proxy *px = arg;
	const struct sockaddr_in *peer = (const struct sockaddr_in *)ss;
	int one = 1;
	struct client *cl;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	cl = client_new(px, fd, peer);
	if (!cl) {
		close(fd);
		return -ENOMEM;
	}
	if (px->stats.clients >= proxy_maxconn(px))
		acceptor_enable(&px->acceptor, false);
	if (px->cfg->frontend.mode == MODE_TCP) {
		struct txn *t = txn_new(cl);

		if (!t) {
			client_close(cl);
			return 0;
		}
		client_want(cl, 0); /* nothing read until the backend is there */
		txn_dispatch(t, NULL);
		return 0;
	}
	client_arm_timeout(cl, px->cfg->frontend.header_timeout_ms);
	return 0;
}

static void reap(struct proxy *px);
static void reap_now(struct loop *loop, struct loop_timer *tm);

int proxy_create(struct proxy **out, struct loop *loop, struct pool *pool, const struct config *cfg)
{
	return proxy_create_thread(out, loop, pool, cfg, 0, NULL);
}

int proxy_create_thread(struct proxy **out, struct loop *loop, struct pool *pool, const struct config *cfg,
			unsigned tid, struct workers *workers)
{
	struct proxy *px = calloc(1, sizeof(*px));
	uint32_t bufsize = cfg->frontend.max_header_size + 8192;
	int fd;

	if (!px)
		return -ENOMEM;
	if (bufsize < 16384)
		bufsize = 16384;
	px->tid = tid;
	px->workers = workers;
	px->loop = loop;
	px->pool = pool;
	px->cfg = cfg;
	px->listen_fd = -1;
	buf_pool_init(&px->bufs, bufsize, 1024);
	list_init(&px->clients);
	list_init(&px->reap);
	list_init(&px->reap_bconns);
	loop_timer_init(&px->reap_timer, reap_now, px);
	list_init(&px->txns);
	px->limits = (struct http_limits){ .max_head = cfg->frontend.max_header_size,
					   .max_uri = cfg->frontend.max_uri_size,
					   .max_body = cfg->frontend.max_body_size };
	if (getrandom(&px->id_prefix, sizeof(px->id_prefix), GRND_NONBLOCK) != sizeof(px->id_prefix))
		px->id_prefix = (uint32_t)getpid() ^ (uint32_t)loop_clock_ms();
	fd = listener_open(&cfg->frontend.listen, pool_threads(pool) > 1);
	if (fd < 0) {
		log_errno(fd, "frontend %s: cannot listen", cfg->frontend.listen.text);
		free(px);
		return fd;
	}
	px->listen_fd = fd;
	/* The pool calls its observers on the main thread: the other threads
	 * get the events by message (workers.c). */
	if (tid == 0)
		pool_add_observer(pool, txn_pool_event, px);
	*out = px;
	return 0;
}

int proxy_start(struct proxy *px)
{
	char name[80];
	int err;

	snprintf(name, sizeof(name), "frontend %s", px->cfg->frontend.listen.text);
	err = acceptor_start(&px->acceptor, px->loop, px->listen_fd, name, ACCEPT_BATCH, accept_one, px);
	if (err < 0) {
		log_errno(err, "%s: cannot watch listener", name);
		return err;
	}
	if (px->tid == 0)
		log_info("frontend %s: accepting (%s mode, %u thread%s)", px->cfg->frontend.listen.text,
			 px->cfg->frontend.mode == MODE_TCP ? "tcp" : "http", pool_threads(px->pool),
			 pool_threads(px->pool) > 1 ? "s" : "");
	return 0;
}

void client_want(struct client *cl, unsigned mask)
{
	if (cl->fd >= 0)
		loop_set_mask(cl->px->loop, cl->fd, mask);
}

/* Clients are freed after the current loop iteration (a zero-delay timer
 * runs after the batch of fd events) so that callbacks further down the
 * same batch never see freed memory. */
void proxy_reap_later(struct proxy *px)
{
	reap(px);
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
	if (!px->stopping && px->stats.clients < proxy_maxconn(px))
		acceptor_enable(&px->acceptor, true);
	acceptor_kick(&px->acceptor); /* a descriptor is free again */
	reap(px);
}

static void reap_now(struct loop *loop, struct loop_timer *tm)
{
	struct proxy *px = tm->arg;
	struct list *e;

	(void)loop;
	while ((e = list_pop_head(&px->reap)))
		free(list_entry(e, struct client, link));
	bconn_reap(px);
	proxy_check_drained(px);
}

static void reap(struct proxy *px)
{
	if (!loop_timer_armed(&px->reap_timer))
		loop_timer_arm(px->loop, &px->reap_timer, 0);
}

#define LINGER_MAX_BYTES (1u << 20)

/* After our error response: read and discard what the client still sends
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

void client_send_error(struct client *cl, unsigned status)
{
	struct proxy *px = cl->px;
	struct txn *t = cl->txn;
	int n;

	if (cl->fd < 0)
		return;
	if (px->cfg->frontend.mode == MODE_TCP) {
		client_close(cl); /* no HTTP to speak: the close is the answer */
		return;
	}
	if (t && t->rsp_started) {
		px->stats.aborted++;
		client_close(cl);
		return;
	}
	if (status >= 500)
		px->stats.errors_5xx++;
	else
		px->stats.errors_4xx++;
	if (!cl->out && !(cl->out = buf_get(&px->bufs))) {
		client_close(cl);
		return;
	}
	n = http_error_response(status, px->cfg->frontend.via ? px->cfg->node.name : NULL,
				t ? t->id_text : NULL, buf_end(cl->out), buf_room(&px->bufs, cl->out));
	if (n > 0)
		cl->out->tail += (uint32_t)n;
	if (t)
		txn_free(t);
	cl->txn = NULL;
	loop_timer_arm(px->loop, &cl->timer, 2000); /* bounds the write and the linger */
	client_flush_out(cl);
}

void client_txn_done(struct client *cl, bool keep_alive)
{
	struct proxy *px = cl->px;

	if (cl->txn)
		txn_free(cl->txn);
	cl->txn = NULL;
	cl->head_started = false;
	if (!keep_alive || px->stopping || cl->close_after) {
		shutdown(cl->fd, SHUT_WR);
		client_close(cl);
		return;
	}
	cl->nrequests++;
	client_want(cl, LOOP_READ);
	client_arm_timeout(cl, px->cfg->frontend.keepalive_timeout_ms);
	/* A pipelined request may already be waiting in cl->in. */
	if (cl->in && buf_len(cl->in))
		http_client_process(cl);
	else if (cl->in) {
		buf_put(&px->bufs, cl->in);
		cl->in = NULL;
	}
}

static void client_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct client *cl = arg;

	(void)loop;
	(void)fd;
	if (cl->lingering) {
		client_linger(cl);
		return;
	}
	if (cl->out) {
		if (events & LOOP_WRITE)
			client_flush_out(cl);
		return;
	}
	if (cl->txn && cl->txn->state == TXN_TUNNEL) {
		tunnel_client_io(cl->txn, events);
		return;
	}
	if (events & LOOP_WRITE) {
		http_client_writable(cl);
		if (cl->fd < 0)
			return;
	}
	if (events & LOOP_READ)
		http_client_readable(cl);
}

void proxy_check_drained(struct proxy *px)
{
	if (px->stopping && px->drained && list_empty(&px->clients)) {
		void (*done)(void *) = px->drained;

		px->drained = NULL;
		done(px->drained_arg);
	}
}

void proxy_shutdown(struct proxy *px, void (*done)(void *arg), void *arg)
{
	struct list *pos, *tmp;

	px->stopping = true;
	px->drained = done;
	px->drained_arg = arg;
	if (px->listen_fd >= 0) {
		acceptor_stop(&px->acceptor);
		close(px->listen_fd);
		px->listen_fd = -1;
	}
	/* Idle keep-alive clients go now; the others after their response. */
	list_for_each_safe(pos, tmp, &px->clients) {
		struct client *cl = list_entry(pos, struct client, link);

		if (!cl->txn && !cl->out)
			client_close(cl);
		else
			cl->close_after = true;
	}
	proxy_check_drained(px);
}

void proxy_destroy(struct proxy *px)
{
	struct list *e;
	struct server *s;

	if (!px)
		return;
	while (!list_empty(&px->clients))
		client_close(list_entry(px->clients.next, struct client, link));
	while ((e = list_pop_head(&px->reap)))
		free(list_entry(e, struct client, link));
	for (s = pool_first(px->pool); s; s = pool_next(px->pool, s))
		bconn_close_idle(px, s);
	bconn_reap(px);
	/* Last: closing connections above arms it again. */
	loop_timer_cancel(px->loop, &px->reap_timer);
	txn_reap_all(px);
	if (px->listen_fd >= 0) {
		acceptor_stop(&px->acceptor);
		close(px->listen_fd);
	}
	buf_pool_release(&px->bufs);
	free(px);
}

void proxy_get_stats(const struct proxy *px, struct proxy_stats *st) { *st = px->stats; }

unsigned proxy_for_each_route(struct proxy *px, void (*fn)(const struct proxy_route *r, void *arg), void *arg)
{
	static const char *const methods[] = { "OTHER", "GET", "HEAD", "POST", "PUT", "DELETE",
					       "OPTIONS", "TRACE", "CONNECT", "PATCH" };
	unsigned n = 0;
	struct list *pos;

	list_for_each(pos, &px->txns) {
		struct txn *t = list_entry(pos, struct txn, link);
		struct proxy_route r = {
			.request_id = t->id_text,
			.client = t->cl ? t->cl->addr_text : "-",
			.server = t->srv ? t->srv->name : NULL,
			.state = txn_state_name(t->state),
			.method = px->cfg->frontend.mode == MODE_HTTP && t->state != TXN_READING
					  ? methods[t->req.method] : NULL,
			.age_ms = loop_now_ms(px->loop) - t->start_ms,
		};
		fn(&r, arg);
		n++;
	}
	return n;
}
