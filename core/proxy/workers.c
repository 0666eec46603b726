/* workers.c - proxy threads and the messages between them (workers.h).
 *
 * Each thread has a mailbox: a mutex-protected list of messages and an
 * eventfd its loop watches.  Messages carry a server reference where they
 * name one, so the server outlives them.  Nothing here blocks a proxy
 * thread on the main thread: the only waits are the main thread's, for a
 * call it asked a proxy thread to run (stats, routes, isolation). */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "tls_ctx.h"
#include "txn.h"

enum wmsg_kind {
	WM_FAILED,   /* -> main: a request failed on srv (arg: enum server_fail) */
	WM_OK,       /* -> main: a request succeeded on srv */
	WM_DRAINED,  /* -> main: thread arg has drained after shutdown */
	WM_SLOT,     /* -> thread: one of srv's slots, for its queue */
	WM_EVENT,    /* -> thread: pool event arg on srv */
	WM_SHUTDOWN, /* -> thread: graceful stop */
	WM_CALL,     /* -> thread: run call->fn, then signal the caller */
	WM_STOP,     /* -> thread: destroy the proxy, leave the loop */
};

struct call {
	void (*fn)(struct proxy *px, void *arg);
	void *arg;
	bool done;
};

struct wmsg {
	enum wmsg_kind kind;
	int arg;
	struct server *srv; /* referenced, or NULL */
	struct call *call;
	struct wmsg *next;
};

struct mailbox {
	pthread_mutex_t lock;
	struct wmsg *head, *tail;
	int efd;
};

struct worker {
	unsigned tid;
	struct workers *ws;
	struct loop *loop; /* the main loop for thread 0 */
	struct proxy *px;
	struct mailbox mb;
	pthread_t thread;
	bool running;
};

struct workers {
	struct pool *pool;
	const struct config *cfg;
	struct tls_ctx *tls; /* one reference; NULL without tls_listen */
	unsigned n;
	struct worker w[CFG_MAX_THREADS];
	void (*drained)(void *arg);
	void *drained_arg;
	unsigned ndrained;
	/* The main thread waiting for calls and isolation. */
	pthread_mutex_t wait_lock;
	pthread_cond_t wait_cond;
	unsigned parked;
	bool release;
};

static void mailbox_io(struct loop *loop, int fd, unsigned events, void *arg);

static int mailbox_init(struct mailbox *mb, struct worker *w)
{
	int err;

	mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mb->efd < 0)
		return -errno;
	err = loop_add_fd(w->loop, mb->efd, LOOP_READ, mailbox_io, w);
	if (err < 0) {
		close(mb->efd);
		mb->efd = -1;
	}
	return err;
}

static void post(struct worker *to, struct wmsg *m)
{
	struct mailbox *mb = &to->mb;
	bool was_empty;
	uint64_t one = 1;

	m->next = NULL;
	pthread_mutex_lock(&mb->lock);
	was_empty = !mb->head;
	if (mb->tail)
		mb->tail->next = m;
	else
		mb->head = m;
	mb->tail = m;
	pthread_mutex_unlock(&mb->lock);
	/* One wake-up per batch: the reader empties the list after it has
	 * reset the eventfd, so a message added later always finds the
	 * list empty again and writes. */
	if (was_empty && write(mb->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("thread %u: cannot wake its loop", to->tid);
}

static struct wmsg *take_all(struct mailbox *mb)
{
	struct wmsg *m;

	pthread_mutex_lock(&mb->lock);
	m = mb->head;
	mb->head = mb->tail = NULL;
	pthread_mutex_unlock(&mb->lock);
	return m;
}

/* Post a message about srv (a reference is taken).  Returns false when
 * out of memory (logged): the caller falls back. */
static bool post_srv(struct worker *to, enum wmsg_kind kind, struct server *srv, int arg)
{
	struct wmsg *m = calloc(1, sizeof(*m));

	if (!m) {
		log_errno(-ENOMEM, "thread %u: cannot send a message about server %s", to->tid,
			  srv->name);
		return false;
	}
	m->kind = kind;
	m->srv = srv;
	m->arg = arg;
	server_get(srv);
	post(to, m);
	return true;
}

static void call_done(struct workers *ws, struct call *c)
{
	pthread_mutex_lock(&ws->wait_lock);
	c->done = true;
	pthread_cond_broadcast(&ws->wait_cond);
	pthread_mutex_unlock(&ws->wait_lock);
}

/* Run fn on thread w and wait for it. */
static void call_on(struct worker *w, void (*fn)(struct proxy *px, void *arg), void *arg)
{
	struct call c = { fn, arg, false };
	struct wmsg m = { .kind = WM_CALL, .call = &c };
	struct workers *ws = w->ws;

	if (w->tid == 0 || !w->running) {
		fn(w->px, arg);
		return;
	}
	post(w, &m);
	pthread_mutex_lock(&ws->wait_lock);
	while (!c.done)
		pthread_cond_wait(&ws->wait_cond, &ws->wait_lock);
	pthread_mutex_unlock(&ws->wait_lock);
}

static void worker_drained(void *arg)
{
	struct worker *w = arg;
	struct workers *ws = w->ws;
	struct wmsg *m;

	if (w->tid != 0) {
		if (!(m = calloc(1, sizeof(*m)))) {
			log_errno(-ENOMEM, "thread %u: cannot report that it drained", w->tid);
			return; /* the grace timer ends the wait */
		}
		m->kind = WM_DRAINED;
		m->arg = (int)w->tid;
		post(&ws->w[0], m);
		return;
	}
	if (++ws->ndrained == ws->n && ws->drained)
		ws->drained(ws->drained_arg);
}

static void handle(struct worker *w, struct wmsg *m)
{
	struct workers *ws = w->ws;

	switch (m->kind) {
	case WM_FAILED:
		pool_server_failed(ws->pool, m->srv, (enum server_fail)m->arg);
		break;
	case WM_OK:
		pool_server_ok(ws->pool, m->srv, false);
		break;
	case WM_DRAINED:
		worker_drained(&ws->w[0]);
		break;
	case WM_SLOT:
		txn_slot_received(w->px, m->srv);
		break;
	case WM_EVENT:
		txn_pool_event(ws->pool, m->srv, (enum pool_event)m->arg, w->px);
		break;
	case WM_SHUTDOWN: /* arg: enum proxy_stop */
		proxy_stop(w->px, (enum proxy_stop)m->arg, worker_drained, w);
		break;
	case WM_CALL:
		m->call->fn(w->px, m->call->arg);
		call_done(ws, m->call);
		return; /* on the caller's stack */
	case WM_STOP:
		loop_stop(w->loop); /* worker_main destroys the proxy */
		break;
	}
	if (m->srv)
		server_put(m->srv);
	free(m);
}

static void mailbox_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct worker *w = arg;
	uint64_t n;
	struct wmsg *m, *next;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("thread %u: mailbox", w->tid);
	for (m = take_all(&w->mb); m; m = next) {
		next = m->next;
		handle(w, m);
	}
}

/* Messages nobody will handle (teardown): drop them, keeping slots and
 * references balanced. */
static void mailbox_close(struct worker *w)
{
	struct wmsg *m, *next;

	if (w->mb.efd >= 0) {
		loop_del_fd(w->loop, w->mb.efd);
		close(w->mb.efd);
		w->mb.efd = -1;
	}
	for (m = take_all(&w->mb); m; m = next) {
		next = m->next;
		if (m->kind == WM_CALL) {
			call_done(w->ws, m->call);
			continue;
		}
		if (m->srv)
			server_put(m->srv);
		free(m);
	}
}

/* Pool events that concern requests in flight, for threads 1..n-1
 * (thread 0's proxy observes the pool itself). */
static void forward_event(struct pool *pool, struct server *srv, enum pool_event ev, void *arg)
{
	struct workers *ws = arg;

	/* UP, ADDED and DRAIN (off) wake requests waiting for any server. */
	if (ev != POOL_SERVER_DOWN && ev != POOL_SERVER_REMOVED && ev != POOL_SERVER_DRAIN &&
	    ev != POOL_SERVER_UP && ev != POOL_SERVER_ADDED)
		return;
	for (unsigned i = 1; i < ws->n; i++)
		if (ws->w[i].running)
			post_srv(&ws->w[i], WM_EVENT, srv, (int)ev);
}

/* --- what the proxies send (struct proxy_msgs, proxy.h) ------------------ */

static bool msg_failed(void *arg, struct server *srv, enum server_fail why)
{
	struct workers *ws = arg;

	return post_srv(&ws->w[0], WM_FAILED, srv, (int)why);
}

static bool msg_ok(void *arg, struct server *srv)
{
	struct workers *ws = arg;

	return post_srv(&ws->w[0], WM_OK, srv, 0);
}

static bool msg_slot(void *arg, unsigned tid, struct server *srv)
{
	struct workers *ws = arg;

	return tid < ws->n && post_srv(&ws->w[tid], WM_SLOT, srv, 0);
}

static const struct proxy_msgs workers_msgs = {
	.failed = msg_failed,
	.ok = msg_ok,
	.slot = msg_slot,
};

/* --- the group ----------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int err;

	err = loop_run(w->loop);
	if (err) {
		/* Its clients, slots and mailbox would be stranded and the main
		 * thread would wait for it forever: fail the whole node fast,
		 * as a crash would (a BACKUP takes over, systemd restarts us). */
		log_errno(err, "thread %u: event loop failed; exiting", w->tid);
		_exit(EXIT_FAILURE);
	}
	/* On this thread: its loop holds the proxy's timers and fds. */
	proxy_destroy(w->px);
	w->px = NULL;
	return NULL;
}

static int worker_init(struct workers *ws, unsigned tid, struct loop *main_loop)
{
	struct worker *w = &ws->w[tid];
	int err;

	w->tid = tid;
	w->ws = ws;
	if (tid == 0)
		w->loop = main_loop;
	else if ((err = loop_create(&w->loop)) < 0) {
		log_errno(err, "thread %u: cannot create its event loop", tid);
		return err;
	}
	if ((err = proxy_create_thread(&w->px, w->loop, ws->pool, ws->cfg, tid, &workers_msgs,
				       ws)) < 0)
		return err; /* logged */
	if (ws->n > 1 && (err = mailbox_init(&w->mb, w)) < 0) {
		log_errno(err, "thread %u: cannot create its mailbox", tid);
		return err;
	}
	return 0;
}

static bool has_tls(const struct config *cfg)
{
	for (unsigned i = 0; i < cfg->frontend.nlisteners; i++)
		if (cfg->frontend.listeners[i].tls)
			return true;
	return false;
}

static void log_certs(const struct tls_ctx *t, const char *what)
{
	for (size_t i = 0; i < tls_ctx_count(t); i++)
		log_info("TLS: %s certificate %zu%s: %s", what, i + 1, i ? "" : " (default)",
			 tls_ctx_names(t, i));
}

static int tls_setup(struct workers *ws)
{
	char err[512];

	if (!has_tls(ws->cfg))
		return 0;
	if (tls_ctx_load(&ws->tls, ws->cfg, err, sizeof(err)) < 0) {
		log_err("TLS: %s", err);
		return -EINVAL;
	}
	log_certs(ws->tls, "loaded");
	log_info("TLS: 1.2 and 1.3, ALPN http/1.1, %s", tls_cipher_order());
	return 0;
}

int workers_check_tls(const struct config *cfg, char *err, size_t errlen)
{
	struct tls_ctx *t;

	if (!has_tls(cfg))
		return 0;
	if (tls_ctx_load(&t, cfg, err, errlen) < 0)
		return -1;
	tls_ctx_put(t);
	return 0;
}

static void swap_tls(void *arg)
{
	struct workers *ws = arg;

	for (unsigned i = 0; i < ws->n; i++)
		proxy_set_tls(ws->w[i].px, ws->tls);
}

int workers_tls_reload(struct workers *ws)
{
	struct tls_ctx *old = ws->tls, *t;
	char err[512];

	if (!old)
		return 0;
	/* Loaded while the threads run (files, keys: milliseconds); only the
	 * swap waits for them to park. */
	if (tls_ctx_load(&t, ws->cfg, err, sizeof(err)) < 0) {
		log_err("reload: TLS: %s; keeping the certificates in use", err);
		return -EINVAL;
	}
	ws->tls = t;
	workers_run_isolated(ws, swap_tls, ws);
	tls_ctx_put(old); /* freed once its last connection is gone */
	log_certs(t, "reloaded");
	return 0;
}

int workers_create(struct workers **out, struct loop *main_loop, struct pool *pool,
		   const struct config *cfg)
{
	struct workers *ws = calloc(1, sizeof(*ws));
	int err;

	if (!ws)
		return -ENOMEM;
	ws->pool = pool;
	ws->cfg = cfg;
	ws->n = pool_threads(pool);
	if ((err = tls_setup(ws)) < 0) {
		free(ws);
		return err;
	}
	pthread_mutex_init(&ws->wait_lock, NULL);
	pthread_cond_init(&ws->wait_cond, NULL);
	for (unsigned i = 0; i < ws->n; i++) {
		ws->w[i].mb.efd = -1;
		pthread_mutex_init(&ws->w[i].mb.lock, NULL);
	}
	for (unsigned i = 0; i < ws->n; i++) {
		if ((err = worker_init(ws, i, main_loop)) < 0) {
			workers_destroy(ws);
			return err;
		}
		proxy_set_tls(ws->w[i].px, ws->tls);
	}
	if (ws->n > 1 && (err = pool_add_observer(pool, forward_event, ws)) < 0) {
		log_errno(err, "proxy threads: cannot observe the pool");
		workers_destroy(ws);
		return err;
	}
	*out = ws;
	return 0;
}

void workers_set_access_log(struct workers *ws, struct alog *a)
{
	for (unsigned i = 0; i < ws->n; i++)
		ws->w[i].px->alog = a;
}

int workers_start(struct workers *ws)
{
	int err;

	for (unsigned i = 0; i < ws->n; i++)
		if ((err = proxy_start(ws->w[i].px)) < 0)
			return err; /* logged */
	for (unsigned i = 1; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		char name[16];

		if ((err = -pthread_create(&w->thread, NULL, worker_main, w)) < 0) {
			log_errno(err, "cannot start proxy thread %u", i);
			return err;
		}
		w->running = true;
		snprintf(name, sizeof(name), "andromeda/%u", i % 100);
		pthread_setname_np(w->thread, name);
	}
	return 0;
}

static void stop_all(struct workers *ws, void (*done)(void *arg), void *arg, enum proxy_stop how)
{
	ws->drained = done;
	ws->drained_arg = arg;
	ws->ndrained = 0;
	for (unsigned i = 1; i < ws->n; i++) {
		struct wmsg *m = calloc(1, sizeof(*m));

		if (!ws->w[i].running || !m) {
			free(m);
			ws->ndrained++; /* nothing to wait for, or the grace timer decides */
			continue;
		}
		m->kind = WM_SHUTDOWN;
		m->arg = (int)how;
		post(&ws->w[i], m);
	}
	proxy_stop(ws->w[0].px, how, worker_drained, &ws->w[0]);
}

void workers_shutdown(struct workers *ws, void (*done)(void *arg), void *arg)
{
	stop_all(ws, done, arg, PROXY_STOP_CLOSE_IDLE);
}

void workers_drain(struct workers *ws, void (*done)(void *arg), void *arg)
{
	stop_all(ws, done, arg, PROXY_STOP_KEEP_IDLE);
}

void workers_handoff(struct workers *ws, void (*done)(void *arg), void *arg)
{
	stop_all(ws, done, arg, PROXY_STOP_HANDOFF);
}

/* Thread 0's proxy serves them: they are few (one per idle client) and
 * the main thread is the one that runs now. */
unsigned workers_adopt_clients(struct workers *ws, const int *fds, unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += proxy_adopt_client(ws->w[0].px, fds[i]) == 0;
	return ok;
}

/* The sockets were created before the threads started and stay until
 * workers_destroy(): reading them from the main thread is safe. */
unsigned workers_listener_fds(const struct workers *ws, int *fds, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ws->n; i++)
		n += proxy_listener_fds(ws->w[i].px, fds + n, max - n);
	return n;
}

/* Every thread is stopped and joined before any mailbox closes: a proxy
 * being destroyed may still hand slots to the others. */
void workers_destroy(struct workers *ws)
{
	bool leaked = false;

	if (!ws)
		return;
	for (unsigned i = 1; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		struct wmsg *m;

		if (!w->running)
			continue;
		if (!(m = calloc(1, sizeof(*m)))) {
			log_errno(-ENOMEM, "thread %u: cannot stop it; leaving it to the exit", i);
			leaked = true;
			continue;
		}
		m->kind = WM_STOP;
		post(w, m);
		pthread_join(w->thread, NULL);
		w->running = false;
	}
	if (leaked)
		return;
	for (unsigned i = 0; i < ws->n; i++) {
		proxy_destroy(ws->w[i].px);
		ws->w[i].px = NULL;
	}
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];

		if (w->loop)
			mailbox_close(w);
		pthread_mutex_destroy(&w->mb.lock);
		if (i > 0)
			loop_destroy(w->loop);
	}
	pthread_cond_destroy(&ws->wait_cond);
	pthread_mutex_destroy(&ws->wait_lock);
	tls_ctx_put(ws->tls);
	free(ws);
}

unsigned workers_count(const struct workers *ws) { return ws->n; }

static void copy_stats(struct proxy *px, void *arg)
{
	if (px)
		proxy_get_stats(px, arg);
}

void workers_get_stats(struct workers *ws, unsigned i, struct proxy_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (i < ws->n)
		call_on(&ws->w[i], copy_stats, st);
}

struct route_walk {
	void (*fn)(const struct proxy_route *r, void *arg);
	void *arg;
	unsigned n;
};

static void walk_routes(struct proxy *px, void *arg)
{
	struct route_walk *rw = arg;

	if (px)
		rw->n += proxy_for_each_route(px, rw->fn, rw->arg);
}

unsigned workers_for_each_route(struct workers *ws,
				void (*fn)(const struct proxy_route *r, void *arg), void *arg)
{
	struct route_walk rw = { fn, arg, 0 };

	for (unsigned i = 0; i < ws->n; i++)
		call_on(&ws->w[i], walk_routes, &rw);
	return rw.n;
}

/* Runs on a proxy thread: wait there until the main thread is done. */
static void park(struct proxy *px, void *arg)
{
	struct workers *ws = arg;

	pthread_mutex_lock(&ws->wait_lock);
	ws->parked++;
	pthread_cond_broadcast(&ws->wait_cond);
	while (!ws->release)
		pthread_cond_wait(&ws->wait_cond, &ws->wait_lock);
	ws->parked--;
	pthread_cond_broadcast(&ws->wait_cond);
	pthread_mutex_unlock(&ws->wait_lock);
}

void workers_run_isolated(struct workers *ws, void (*fn)(void *arg), void *arg)
{
	struct call calls[CFG_MAX_THREADS] = { 0 };
	struct wmsg msgs[CFG_MAX_THREADS];
	unsigned want = 0, n = ws->n;

	ws->release = false;
	for (unsigned i = 1; i < n; i++) {
		calls[i] = (struct call){ park, ws, true }; /* done unless posted */
		if (!ws->w[i].running)
			continue;
		calls[i].done = false;
		msgs[i] = (struct wmsg){ .kind = WM_CALL, .call = &calls[i] };
		post(&ws->w[i], &msgs[i]);
		want++;
	}
	pthread_mutex_lock(&ws->wait_lock);
	while (ws->parked < want)
		pthread_cond_wait(&ws->wait_cond, &ws->wait_lock);
	pthread_mutex_unlock(&ws->wait_lock);

	fn(arg);

	pthread_mutex_lock(&ws->wait_lock);
	ws->release = true;
	pthread_cond_broadcast(&ws->wait_cond);
	/* Until every call has returned: the messages are on this stack. */
	for (unsigned i = 1; i < n; i++)
		while (!calls[i].done)
			pthread_cond_wait(&ws->wait_cond, &ws->wait_lock);
	pthread_mutex_unlock(&ws->wait_lock);
}
