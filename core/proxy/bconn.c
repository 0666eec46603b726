/* bconn.c - connections to backend servers and the per-server pool of
 * idle keep-alive connections.
 *
 * An idle connection is watched for readability: a server that closes it
 * (its keep-alive timeout) is noticed and the connection dropped before a
 * request is sent on it.  Idle connections expire after idle_timeout, kept
 * shorter than common server keep-alive timeouts (Apache: 5 s) so that we
 * rarely race a server's close.
 *
 * A server with tls = yes: after the TCP connect, the TLS handshake (still
 * under connect_timeout; a failure is a connect failure of that server),
 * then bconn_recv/bconn_send go through tls_backend.c. */
#include "bconn.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "netaddr.h"
#include "tls_backend.h"

#define BCONN_IDLE_TIMEOUT_MS 2000

/* TLS failures, said once per 10 s per thread (each is counted as a
 * connect failure of its server anyway). */
static _Thread_local struct log_limit tls_fail_limit;

static void bconn_io(struct loop *loop, int fd, unsigned events, void *arg);
static void bconn_kick(struct loop *loop, struct loop_timer *tm);

/* nidle is read by the main thread for status: whole stores. */
static void idle_count(struct server_thread *th, int delta)
{
	__atomic_store_n(&th->nidle, th->nidle + (unsigned)delta, __ATOMIC_RELAXED);
}

static void bconn_close(struct bconn *bc)
{
	struct proxy *px = bc->px;

	if (bc->dead)
		return;
	bc->dead = true;
	loop_timer_cancel(px->loop, &bc->timer);
	loop_timer_cancel(px->loop, &bc->kick);
	if (list_linked(&bc->idle_link)) {
		list_del(&bc->idle_link);
		idle_count(&bc->srv->th[px->tid], -1);
	}
	loop_del_fd(px->loop, bc->fd);
	tls_backend_close(bc->ssl); /* close_notify before the socket goes */
	bc->ssl = NULL;
	tls_server_put(bc->tls);
	bc->tls = NULL;
	close(bc->fd);
	bc->fd = -1;
	server_put(bc->srv);
	bc->srv = NULL;
	list_add_tail(&px->reap_bconns, &bc->idle_link);
	proxy_reap_later(px);
}

void bconn_reap(struct proxy *px)
{
	struct list *e;

	while ((e = list_pop_head(&px->reap_bconns)))
		free(list_entry(e, struct bconn, idle_link));
}

static void bconn_timeout(struct loop *loop, struct loop_timer *tm)
{
	struct bconn *bc = tm->arg;

	if (bc->txn && !bc->connected)
		bc->cb->failed(bc->txn, FAIL_CONNECT_TMO);
	else if (!bc->txn)
		bconn_close(bc); /* idle too long */
}

static int bconn_take_idle(struct txn *t, const struct bconn_cb *cb)
{
	struct server_thread *th = &t->srv->th[t->px->tid];
	struct bconn *bc;

	if (list_empty(&th->idle_conns))
		return 0;
	/* Most recently used first: the least likely to be timed out. */
	bc = list_entry(th->idle_conns.prev, struct bconn, idle_link);
	list_del(&bc->idle_link);
	idle_count(th, -1);
	loop_timer_cancel(bc->px->loop, &bc->timer);
	bc->txn = t;
	bc->cb = cb;
	bc->reused = true;
	t->bc = bc;
	return 1;
}

static int bconn_connect(struct txn *t, const struct bconn_cb *cb)
{
	struct proxy *px = t->px;
	struct server *srv = t->srv;
	struct bconn *bc;
	int one = 1, err;
	int fd = socket(srv->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, &srv->addr.sa, netaddr_len(&srv->addr.sa)) < 0 && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	bc = calloc(1, sizeof(*bc));
	if (!bc || (err = loop_add_fd(px->loop, fd, LOOP_WRITE, bconn_io, bc)) < 0) {
		free(bc);
		close(fd);
		return bc ? err : -ENOMEM;
	}
	bc->fd = fd;
	bc->px = px;
	bc->srv = srv;
	server_get(srv);
	bc->tls = tls_server_get(srv->name);
	bc->txn = t;
	bc->cb = cb;
	bc->mask = LOOP_WRITE;
	list_init(&bc->idle_link);
	loop_timer_init(&bc->timer, bconn_timeout, bc);
	loop_timer_init(&bc->kick, bconn_kick, bc);
	loop_timer_arm(px->loop, &bc->timer, px->cfg->backend.connect_timeout_ms);
	t->bc = bc;
	return 0;
}

int bconn_attach(struct txn *t, bool reuse_idle, const struct bconn_cb *cb)
{
	t->log.connect_start_ms = loop_now_ms(t->px->loop);
	if (reuse_idle && bconn_take_idle(t, cb))
		return 1;
	return bconn_connect(t, cb);
}

void bconn_want(struct bconn *bc, unsigned mask)
{
	if (bc->dead)
		return;
	bc->mask = mask;
	loop_set_mask(bc->px->loop, bc->fd, mask);
	/* Decrypted bytes wait in the TLS layer: the socket will not say so. */
	if (bc->ssl && bc->connected && (mask & LOOP_READ) && tls_backend_pending(bc->ssl))
		loop_timer_arm(bc->px->loop, &bc->kick, 0);
}

static void bconn_kick(struct loop *loop, struct loop_timer *tm)
{
	struct bconn *bc = tm->arg;

	if (!bc->dead && bc->txn && (bc->mask & LOOP_READ))
		bc->cb->io(bc->txn, LOOP_READ);
}

ssize_t bconn_recv(struct bconn *bc, void *buf, size_t len)
{
	ssize_t n;

	if (!bc->ssl)
		return recv(bc->fd, buf, len, 0);
	n = tls_backend_recv(bc->ssl, buf, len);
	if (n > 0 && tls_backend_pending(bc->ssl))
		loop_timer_arm(bc->px->loop, &bc->kick, 0);
	return n;
}

ssize_t bconn_send(struct bconn *bc, const void *buf, size_t len)
{
	if (!bc->ssl)
		return send(bc->fd, buf, len, MSG_NOSIGNAL);
	return tls_backend_send(bc->ssl, buf, len);
}

void bconn_shutdown_write(struct bconn *bc)
{
	if (bc->ssl)
		tls_backend_shutdown(bc->ssl);
	else
		shutdown(bc->fd, SHUT_WR);
}

/* No more requests for srv: removed, or DOWN outside panic mode (in
 * panic a DOWN server still takes requests, so its connections stay). */
static bool bconn_server_gone(struct proxy *px, const struct server *srv)
{
	if (__atomic_load_n(&srv->removed, __ATOMIC_RELAXED))
		return true;
	return server_is_down(srv) && !pool_in_panic(px->pool);
}

void bconn_release(struct bconn *bc, bool reusable)
{
	struct proxy *px = bc->px;
	struct server_thread *th;
	unsigned max_idle = px->cfg->backend.max_idle;

	if (bc->dead)
		return;
	bc->txn = NULL;
	th = &bc->srv->th[px->tid];
	if (!reusable || px->stopping || th->nidle >= max_idle || bconn_server_gone(px, bc->srv)) {
		bconn_close(bc);
		return;
	}
	bc->reused = false;
	list_add_tail(&th->idle_conns, &bc->idle_link);
	idle_count(th, 1);
	bc->mask = LOOP_READ;
	loop_timer_cancel(px->loop, &bc->kick);
	loop_set_mask(px->loop, bc->fd, LOOP_READ);
	loop_timer_arm(px->loop, &bc->timer, BCONN_IDLE_TIMEOUT_MS);
}

void bconn_close_idle(struct proxy *px, struct server *srv)
{
	struct list *idle = &srv->th[px->tid].idle_conns;

	while (!list_empty(idle))
		bconn_close(list_entry(idle->next, struct bconn, idle_link));
}

static void bconn_ready(struct bconn *bc)
{
	bc->connected = true;
	loop_timer_cancel(bc->px->loop, &bc->timer);
	bc->cb->connected(bc->txn);
}

/* The TLS handshake, driven by the socket's events until it is done. */
static void bconn_handshake(struct bconn *bc)
{
	unsigned want = 0;
	uint64_t more = 0;
	char why[256];
	int rc = tls_backend_handshake(bc->ssl, &want, why, sizeof(why));

	if (rc > 0) {
		bconn_ready(bc);
	} else if (rc == 0) {
		loop_set_mask(bc->px->loop, bc->fd, want);
	} else {
		if (log_limit_ok(&tls_fail_limit, loop_now_ms(bc->px->loop), LOG_LIMIT_SHORT_MS,
				 &more)) {
			if (more)
				log_warnx("server %s: %s (%llu more since last said)",
					  bc->srv->name, why, (unsigned long long)more);
			else
				log_warnx("server %s: %s", bc->srv->name, why);
		}
		bc->cb->failed(bc->txn, FAIL_TLS);
	}
}

static void bconn_connected(struct bconn *bc)
{
	struct txn *t = bc->txn;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(bc->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		bc->cb->failed(t, FAIL_CONNECT);
		return;
	}
	if (!bc->tls) {
		bconn_ready(bc);
		return;
	}
	if (!(bc->ssl = tls_server_ssl(bc->tls, bc->fd, bc->px->tid))) {
		bc->cb->failed(t, FAIL_TLS);
		return;
	}
	bconn_handshake(bc);
}

static void bconn_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct bconn *bc = arg;
	struct txn *t = bc->txn;

	if (bc->dead)
		return;
	if (!t) {
		/* Idle and readable: the server closed it (or sent junk), or
		 * over TLS perhaps only a late session ticket. */
		if (!bc->ssl || !tls_backend_idle_ok(bc->ssl))
			bconn_close(bc);
		return;
	}
	if (!bc->connected) {
		if (bc->ssl)
			bconn_handshake(bc);
		else
			bconn_connected(bc);
		return;
	}
	bc->cb->io(t, events);
}
