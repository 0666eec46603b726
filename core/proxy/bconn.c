/* bconn.c - connections to backend servers and the per-server pool of
 * idle keep-alive connections.
 *
 * An idle connection is watched for readability: a server that closes it
 * (its keep-alive timeout) is noticed and the connection dropped before a
 * request is sent on it.  Idle connections expire after idle_timeout, kept
 * shorter than common server keep-alive timeouts (Apache: 5 s) so that we
 * rarely race a server's close. */
#include "bconn.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define BCONN_IDLE_TIMEOUT_MS 2000

static void bconn_io(struct loop *loop, int fd, unsigned events, void *arg);

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
	if (list_linked(&bc->idle_link)) {
		list_del(&bc->idle_link);
		idle_count(&bc->srv->th[px->tid], -1);
	}
	loop_del_fd(px->loop, bc->fd);
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
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&srv->addr.sin, sizeof(srv->addr.sin)) < 0 &&
	    errno != EINPROGRESS) {
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
	bc->txn = t;
	bc->cb = cb;
	list_init(&bc->idle_link);
	loop_timer_init(&bc->timer, bconn_timeout, bc);
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
	if (!bc->dead)
		loop_set_mask(bc->px->loop, bc->fd, mask);
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
	if (!reusable || px->stopping || server_is_down(bc->srv) || th->nidle >= max_idle) {
		bconn_close(bc);
		return;
	}
	bc->reused = false;
	list_add_tail(&th->idle_conns, &bc->idle_link);
	idle_count(th, 1);
	loop_set_mask(px->loop, bc->fd, LOOP_READ);
	loop_timer_arm(px->loop, &bc->timer, BCONN_IDLE_TIMEOUT_MS);
}

void bconn_close_idle(struct proxy *px, struct server *srv)
{
	struct list *idle = &srv->th[px->tid].idle_conns;

	while (!list_empty(idle))
		bconn_close(list_entry(idle->next, struct bconn, idle_link));
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
	bc->connected = true;
	loop_timer_cancel(bc->px->loop, &bc->timer);
	bc->cb->connected(t);
}

static void bconn_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct bconn *bc = arg;
	struct txn *t = bc->txn;

	if (bc->dead)
		return;
	if (!t) {
		/* Idle and readable: the server closed it (or sent junk). */
		bconn_close(bc);
		return;
	}
	if (!bc->connected) {
		bconn_connected(bc);
		return;
	}
	bc->cb->io(t, events);
}
