/* proxy.c - the frontend: the listener, a new client's protocol (by
 * mode), graceful shutdown, the reaper and statistics.  The top of the
 * proxy's files but workers.c: client connections are client.c's, what
 * their bytes mean txn_http.c's or tunnel.c's. */
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bconn.h"
#include "client.h"
#include "fdpass.h"
#include "handoff.h"
#include "log.h"
#include "netaddr.h"
#include "proxy_types.h"
#include "tunnel.h"
#include "txn.h"
#include "txn_http.h"

#define ACCEPT_BATCH     64
/* A TLS listener takes one connection per loop turn (nginx's default,
 * multi_accept off): its handshake's first flight is made at accept
 * (client_tls_begin), so a batch of 64 spent 64 key exchanges (10-20 ms)
 * before the loop came back to the handshakes already under way, whose
 * clients' Finished and requests waited behind them; the next connection
 * waits in the kernel's backlog instead (docs/performance.md, HTTPS). */
#define ACCEPT_BATCH_TLS 1

/* IPv6 listeners take IPv6 only, so that 0.0.0.0:80 and [::]:80 can both
 * be listed (a dual-stack socket would hold the IPv4 port too and the
 * second bind would fail).  IP_FREEBIND also applies to an AF_INET6
 * socket (the kernel shares the flag between the families). */
static int listener_family_opts(int fd, const struct cfg_endpoint *ep)
{
	int one = 1;

	if (ep->sa.sa_family != AF_INET6)
		return 0;
	return setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
}

/* TCP_DEFER_ACCEPT, in seconds: the kernel turns it into SYN-ACK
 * retransmits (1 s: one), so a client that connects and says nothing is
 * accepted about a second late, at its ACK of that retransmit, and the
 * usual timeouts run from there (nginx's "deferred" uses 1 too). */
#define DEFER_ACCEPT_S 1

/* Options that hold for every connection a listener accepts, set once on
 * the listener (Linux copies them into each accepted socket), also on a
 * listener inherited from an older process.  TCP_NODELAY: our writes are
 * whole responses or TLS flights, never worth delaying.  defer (HTTP and
 * TLS, whose clients speak first; never "mode = tcp", whose protocol may
 * wait for the server): accept only once the first bytes are there, so the
 * first read finds the request or ClientHello, no EAGAIN, no extra loop
 * turn. */
static int listener_conn_opts(int fd, bool defer)
{
	int one = 1, secs = defer ? DEFER_ACCEPT_S : 0;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs)) < 0)
		return -errno;
	return 0;
}

/* A new listening socket (bound, listening) for ep; -errno. */
static int listener_new(const struct cfg_endpoint *ep, bool reuseport)
{
	int one = 1;
	int fd = socket(ep->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* IP_FREEBIND: bind the VIP before it is on the interface, so that
	 * becoming MASTER only has to add the address (SPEC "HA module").
	 * SO_REUSEPORT: one socket per proxy thread for each address, the
	 * kernel spreads new connections over them. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    listener_family_opts(fd, ep) < 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(fd, &ep->sa, netaddr_len(&ep->sa)) < 0 || listen(fd, 4096) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int listener_open(const struct cfg_endpoint *ep, bool reuseport, bool defer)
{
	int one = 1, err;
	/* Hitless upgrade: the previous process's socket, its backlog with it. */
	int fd = fdpass_inherited_take(&ep->sa, netaddr_len(&ep->sa));

	if (fd >= 0) {
		/* From a process with one thread: join it to this one's group
		 * (the kernel accepts SO_REUSEPORT on a bound socket). */
		if (reuseport)
			setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	} else if ((fd = listener_new(ep, reuseport)) < 0) {
		return fd;
	}
	if ((err = listener_conn_opts(fd, defer)) < 0) {
		close(fd);
		return err;
	}
	return fd;
}

/* The frontend's addresses: listen and tls_listen (a hand-made config
 * without the list: listen alone). */
static void listeners_of(const struct config *cfg, const struct cfg_listener **ls, unsigned *n,
			 struct cfg_listener *one)
{
	if (cfg->frontend.nlisteners) {
		*ls = cfg->frontend.listeners;
		*n = cfg->frontend.nlisteners;
		return;
	}
	*one = (struct cfg_listener){ cfg->frontend.listen, false };
	*ls = one;
	*n = 1;
}

static int listeners_open(struct proxy *px)
{
	const struct cfg_listener *ls;
	struct cfg_listener one;
	unsigned n;

	listeners_of(px->cfg, &ls, &n, &one);
	for (unsigned i = 0; i < n; i++) {
		struct listener *l = &px->listeners[i];
		int fd = listener_open(&ls[i].ep, pool_threads(px->pool) > 1,
				       px->cfg->frontend.mode != MODE_TCP);

		if (fd < 0) {
			log_errno(fd, "frontend %s%s: cannot listen", ls[i].ep.text,
				  ls[i].tls ? " (TLS)" : "");
			return fd;
		}
		*l = (struct listener){ .px = px, .fd = fd, .tls = ls[i].tls };
		px->nlisteners++;
	}
	return 0;
}

static void listeners_close(struct proxy *px)
{
	for (unsigned i = 0; i < px->nlisteners; i++) {
		acceptor_stop(&px->listeners[i].acceptor);
		close(px->listeners[i].fd);
	}
	px->nlisteners = 0;
}

/* The acceptor's callback (acceptor.h): -ENOMEM pauses accepting. */
static int accept_one(void *arg, int fd, const struct sockaddr_storage *ss)
{
	struct listener *l = arg;
	struct proxy *px = l->px;
	const struct txn_ops *ops =
		px->cfg->frontend.mode == MODE_TCP ? &tunnel_ops : &txn_http_ops;
	struct client *cl;

	/* TCP_NODELAY: inherited from the listener (listener_conn_opts). */
	cl = client_new(px, fd, ss, ops, l->tls ? px->tls : NULL);
	if (!cl) {
		close(fd);
		return -ENOMEM;
	}
	if (cl->handshaking)
		client_tls_begin(cl); /* the protocol starts once it is done */
	else
		ops->start(cl);
	return 0;
}

static void proxy_check_drained(struct proxy *px)
{
	if (px->stopping && px->drained && list_empty(&px->clients)) {
		void (*done)(void *) = px->drained;

		px->drained = NULL;
		done(px->drained_arg);
	}
}

/* The reaper (proxy_reap_later, proxy_types.h). */
static void reap_now(struct loop *loop, struct loop_timer *tm)
{
	struct proxy *px = tm->arg;

	client_reap(px);
	bconn_reap(px);
	proxy_check_drained(px);
}

int proxy_create(struct proxy **out, struct loop *loop, struct pool *pool,
		 const struct config *cfg)
{
	return proxy_create_thread(out, loop, pool, cfg, 0, NULL, NULL);
}

int proxy_create_thread(struct proxy **out, struct loop *loop, struct pool *pool,
			const struct config *cfg, unsigned tid, const struct proxy_msgs *msgs,
			void *msgs_arg)
{
	struct proxy *px = calloc(1, sizeof(*px));
	uint32_t bufsize = cfg->frontend.max_header_size + 8192;
	int err;

	if (!px)
		return -ENOMEM;
	if (bufsize < 16384)
		bufsize = 16384;
	px->tid = tid;
	px->msgs = msgs;
	px->msgs_arg = msgs_arg;
	px->loop = loop;
	px->pool = pool;
	px->cfg = cfg;
	buf_pool_init(&px->bufs, bufsize, 1024);
	list_init(&px->clients);
	list_init(&px->reap);
	list_init(&px->reap_bconns);
	loop_timer_init(&px->reap_timer, reap_now, px);
	list_init(&px->txns);
	list_init(&px->waiting);
	px->limits = (struct http_limits){ .max_head = cfg->frontend.max_header_size,
					   .max_uri = cfg->frontend.max_uri_size,
					   .max_body = cfg->frontend.max_body_size };
	if (getrandom(&px->id_prefix, sizeof(px->id_prefix), GRND_NONBLOCK) !=
	    sizeof(px->id_prefix))
		px->id_prefix = (uint32_t)getpid() ^ (uint32_t)loop_clock_ms();
	if ((err = listeners_open(px)) < 0) {
		listeners_close(px);
		free(px);
		return err; /* logged */
	}
	/* The pool calls its observers on the main thread: the other threads
	 * get the events by message (workers.c). */
	if (tid == 0)
		pool_add_observer(pool, txn_pool_event, px);
	*out = px;
	return 0;
}

int proxy_start(struct proxy *px)
{
	const struct cfg_listener *ls;
	struct cfg_listener one;
	unsigned n;

	listeners_of(px->cfg, &ls, &n, &one);
	for (unsigned i = 0; i < px->nlisteners; i++) {
		struct listener *l = &px->listeners[i];
		char name[96];
		int err;

		snprintf(name, sizeof(name), "frontend %s%s", ls[i].ep.text,
			 l->tls ? " (TLS)" : "");
		if (l->tls && !px->tls) {
			log_err("%s: no certificates loaded", name);
			return -EINVAL;
		}
		err = acceptor_start(&l->acceptor, px->loop, l->fd, name,
				     l->tls ? ACCEPT_BATCH_TLS : ACCEPT_BATCH, accept_one, l);
		if (err < 0) {
			log_errno(err, "%s: cannot watch listener", name);
			return err;
		}
		if (px->tid == 0)
			log_info("%s: accepting (%s mode, %u thread%s)", name,
				 px->cfg->frontend.mode == MODE_TCP ? "tcp" : "http",
				 pool_threads(px->pool), pool_threads(px->pool) > 1 ? "s" : "");
	}
	return 0;
}

void proxy_set_tls(struct proxy *px, struct tls_ctx *tls) { px->tls = tls; }

/* keep_idle (upgrade): an idle keep-alive client is not closed but
 * answered once more, with "Connection: close" - closing it between two
 * requests would race with a request already on its way.  handoff
 * (restart, handoff.h): an idle plain HTTP client is kept for the next
 * process, a busy one once its response is out (txn_http.c); an idle TLS
 * client is closed as on a plain stop (its session cannot be handed). */
static void stop(struct proxy *px, void (*done)(void *arg), void *arg, enum proxy_stop how)
{
	struct list *pos, *tmp;

	px->stopping = true;
	px->handoff = how == PROXY_STOP_HANDOFF;
	px->drained = done;
	px->drained_arg = arg;
	listeners_close(px);
	/* Idle keep-alive clients go now; the others after their response. */
	list_for_each_safe (pos, tmp, &px->clients) {
		struct client *cl = list_entry(pos, struct client, link);

		if (px->handoff && cl->ops == &txn_http_ops && !cl->ssl && !cl->handshaking) {
			if (handoff_client_idle(cl))
				handoff_client(cl);
			/* else kept alive, handed over after its response */
		} else if (!cl->txn && !cl->out && how != PROXY_STOP_KEEP_IDLE)
			client_close(cl);
		else
			cl->close_after = true;
	}
	proxy_check_drained(px);
}

void proxy_stop(struct proxy *px, enum proxy_stop how, void (*done)(void *arg), void *arg)
{
	stop(px, done, arg, how);
}

void proxy_shutdown(struct proxy *px, void (*done)(void *arg), void *arg)
{
	stop(px, done, arg, PROXY_STOP_CLOSE_IDLE);
}

void proxy_drain(struct proxy *px, void (*done)(void *arg), void *arg)
{
	stop(px, done, arg, PROXY_STOP_KEEP_IDLE);
}

/* The plain listener a client of the previous process came in on: the
 * one bound to its local address, or to the wildcard on its port. */
static struct listener *listener_of(struct proxy *px, const struct sockaddr_storage *local)
{
	const struct cfg_listener *ls;
	struct cfg_listener one;
	unsigned n;

	listeners_of(px->cfg, &ls, &n, &one);
	for (unsigned i = 0; i < px->nlisteners && i < n; i++) {
		const struct sockaddr *sa = &ls[i].ep.sa;

		if (px->listeners[i].tls || sa->sa_family != local->ss_family ||
		    netaddr_port(sa) != netaddr_port((const struct sockaddr *)local))
			continue;
		if (netaddr_is_any(sa) || netaddr_same(sa, (const struct sockaddr *)local))
			return &px->listeners[i];
	}
	return NULL;
}

int proxy_adopt_client(struct proxy *px, int fd)
{
	struct sockaddr_storage local = { 0 }, peer = { 0 };
	socklen_t llen = sizeof(local), plen = sizeof(peer);
	struct listener *l;
	int flags = fcntl(fd, F_GETFL);

	if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0 ||
	    getpeername(fd, (struct sockaddr *)&peer, &plen) < 0 || flags < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (!(l = listener_of(px, &local))) {
		close(fd);
		return -ENOENT;
	}
	return accept_one(l, fd, &peer) < 0 ? -ENOMEM : 0;
}

unsigned proxy_listener_fds(const struct proxy *px, int *fds, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < px->nlisteners && n < max; i++)
		fds[n++] = px->listeners[i].fd;
	return n;
}

void proxy_destroy(struct proxy *px)
{
	struct server *s;

	if (!px)
		return;
	while (!list_empty(&px->clients))
		client_close(list_entry(px->clients.next, struct client, link));
	client_reap(px);
	for (s = pool_first(px->pool); s; s = pool_next(px->pool, s))
		bconn_close_idle(px, s);
	bconn_reap(px);
	/* Last: closing connections above arms it again. */
	loop_timer_cancel(px->loop, &px->reap_timer);
	txn_reap_all(px);
	listeners_close(px);
	buf_pool_release(&px->bufs);
	free(px);
}

void proxy_get_stats(const struct proxy *px, struct proxy_stats *st) { *st = px->stats; }

unsigned proxy_for_each_route(struct proxy *px, void (*fn)(const struct proxy_route *r, void *arg),
			      void *arg)
{
	static const char *const methods[] = { "OTHER",  "GET",     "HEAD",  "POST",    "PUT",
					       "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH" };
	unsigned n = 0;
	struct list *pos;

	list_for_each (pos, &px->txns) {
		struct txn *t = list_entry(pos, struct txn, link);
		struct proxy_route r = {
			.request_id = t->id_text,
			.client = t->cl ? t->cl->addr_text : "-",
			.server = t->srv ? t->srv->name : NULL,
			.state = txn_state_name(t->state),
			.method = px->cfg->frontend.mode == MODE_HTTP && t->state != TXN_READING
					  ? methods[t->req.method]
					  : NULL,
			.age_ms = loop_now_ms(px->loop) - t->start_ms,
		};
		fn(&r, arg);
		n++;
	}
	return n;
}
