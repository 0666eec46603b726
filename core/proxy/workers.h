/* workers.h - the proxy threads ([frontend] threads = N).
 *
 * Thread 0 is the main thread: its loop runs the proxy next to health
 * checks, HA, sync, the registry and the control socket.  Threads 1..N-1
 * each run a loop of their own with a proxy of their own: its own
 * SO_REUSEPORT listener, clients, requests and idle backend connections.
 * What they share is the pool (pool.h): servers are chosen under the
 * pool's lock, maxconn slots are shared, and everything that changes the
 * pool happens on the main thread - the other threads send it their
 * request outcomes by message, and it sends them the pool events that
 * concern requests in flight (server down, removed, draining).
 *
 * With one thread this is a thin wrapper around one proxy: no thread, no
 * message, the same behaviour as before threads existed.
 *
 * All calls here are for the main thread. */
#ifndef ANDROMEDA_WORKERS_H
#define ANDROMEDA_WORKERS_H

#include <stddef.h>

#include "proxy.h"

struct workers;
struct loop;
struct pool;
struct config;
struct alog;

/* Load the certificates of the TLS listeners (before privileges are
 * dropped: keys are often readable by root only), create the proxies (and
 * their listeners, so that every SO_REUSEPORT socket is bound before
 * privileges are dropped) and the loops of threads 1..n-1, where n =
 * pool_threads(pool).  Returns 0 or -errno (logged). */
int workers_create(struct workers **out, struct loop *main_loop, struct pool *pool,
		   const struct config *cfg);
/* Start accepting and start the threads.  Call after dropping
 * privileges: capabilities are per thread on Linux, and threads inherit
 * the creator's.  Returns 0 or -errno (logged). */
int workers_start(struct workers *ws);
/* Give every proxy the access log (alog.h; NULL = off).  Before
 * workers_start: the threads read it without a lock. */
void workers_set_access_log(struct workers *ws, struct alog *a);
/* Graceful stop on every thread; done() once all have drained. */
void workers_shutdown(struct workers *ws, void (*done)(void *arg), void *arg);
/* The same for a hitless upgrade (proxy_drain: idle keep-alive clients
 * get one more response, with "Connection: close"). */
void workers_drain(struct workers *ws, void (*done)(void *arg), void *arg);
/* The same for `systemctl restart` (proxy_stop PROXY_STOP_HANDOFF): idle
 * plain keep-alive clients are kept for the next process (handoff.h). */
void workers_handoff(struct workers *ws, void (*done)(void *arg), void *arg);
/* Client sockets of the previous process (systemd's fd store), served by
 * thread 0 from now on (each fd is taken, also on failure).  After
 * workers_start.  Returns how many are served. */
unsigned workers_adopt_clients(struct workers *ws, const int *fds, unsigned n);
/* Every thread's listening sockets (at most max) into fds, for the next
 * process; they stay the proxies'.  Returns how many. */
unsigned workers_listener_fds(const struct workers *ws, int *fds, unsigned max);
/* Stop and join the threads, destroy the proxies. */
void workers_destroy(struct workers *ws);

unsigned workers_count(const struct workers *ws);
/* Counters of thread i (0 <= i < workers_count), read on that thread. */
void workers_get_stats(struct workers *ws, unsigned i, struct proxy_stats *st);
/* fn for each active request on every thread (run on the owning thread
 * while the main thread waits).  Returns the number visited. */
unsigned workers_for_each_route(struct workers *ws,
				void (*fn)(const struct proxy_route *r, void *arg), void *arg);

/* andromeda -t: load the certificates of tls_cert (if there is a TLS
 * listener) and let them go.  Returns 0, or -1 with "FILE: reason" in
 * err (tls_ctx.h says what is refused). */
int workers_check_tls(const struct config *cfg, char *err, size_t errlen);
/* Load the certificates of tls_cert again (SIGHUP) and give them to the
 * connections accepted from now on; connections already open keep theirs.
 * A file that does not load (tls_ctx.h: missing, unparsable, expired,
 * key not matching) keeps the certificates in use, logged.  Returns 0,
 * or -EINVAL.  Nothing to do without TLS listeners. */
int workers_tls_reload(struct workers *ws);

/* Hold every other thread between two loop iterations while fn(arg) runs
 * on the main thread (configuration reload writes what they read). */
void workers_run_isolated(struct workers *ws, void (*fn)(void *arg), void *arg);

#endif
