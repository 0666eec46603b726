/* proxy.h - the forwarding core: accepts clients on the frontend, parses
 * requests (mode http) or takes whole connections (mode tcp), picks a
 * server from the pool, queues when the server is at maxconn, and relays.
 *
 * One proxy per event loop.  Everything here is non-blocking; nothing on
 * the data path waits on DNS, disk, netlink or health checks. */
#ifndef ANDROMEDA_PROXY_H
#define ANDROMEDA_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy_stats.h"

struct loop;
struct pool;
struct config;
struct proxy;
struct server;
struct proxy_msgs; /* proxy_types.h */

/* Create the proxy and bind the frontend's listeners, listen and
 * tls_listen (IP_FREEBIND, so the VIP need not be present yet).  Returns 0
 * or -errno (logged). */
int proxy_create(struct proxy **out, struct loop *loop, struct pool *pool,
		 const struct config *cfg);
/* The same for proxy thread tid of a group (workers.h): its own listening sockets
 * (SO_REUSEPORT when the pool has several threads), no pool observer on
 * threads other than 0 (the group forwards the events), and msgs(msgs_arg)
 * to reach the other threads (workers.c's). */
int proxy_create_thread(struct proxy **out, struct loop *loop, struct pool *pool,
			const struct config *cfg, unsigned tid, const struct proxy_msgs *msgs,
			void *msgs_arg);
struct tls_ctx;
/* The certificates for clients accepted on TLS listeners from now on
 * (not owned: workers.c holds them).  Call before proxy_start() on the
 * proxy's own thread, or while it is parked (reload). */
void proxy_set_tls(struct proxy *px, struct tls_ctx *tls);
/* Start accepting on every listener.  Returns 0 or -errno. */
int proxy_start(struct proxy *px);
/* Graceful stop: close the listener and idle clients, let requests in
 * flight finish; done() is called once nothing is left (or at once). */
void proxy_shutdown(struct proxy *px, void (*done)(void *arg), void *arg);
/* The same for a hitless upgrade: idle keep-alive clients stay open and
 * their next response says "Connection: close" (docs/operations.md). */
void proxy_drain(struct proxy *px, void (*done)(void *arg), void *arg);
/* How proxy_stop() treats idle keep-alive clients. */
enum proxy_stop {
	PROXY_STOP_CLOSE_IDLE, /* closed now (proxy_shutdown) */
	PROXY_STOP_KEEP_IDLE,  /* one more response (proxy_drain) */
	PROXY_STOP_HANDOFF,    /* plain HTTP ones kept for the next process, between
				* two requests (systemctl restart, handoff.h); TLS
				* ones closed */
};
void proxy_stop(struct proxy *px, enum proxy_stop how, void (*done)(void *arg), void *arg);
/* A client socket of the previous process (systemd's fd store): served
 * as if just accepted on the plain listener of its local address and
 * port.  Returns 0, or -errno (fd closed; -ENOENT: no such listener). */
int proxy_adopt_client(struct proxy *px, int fd);
/* The listening sockets (at most max) into fds; they stay the proxy's. */
unsigned proxy_listener_fds(const struct proxy *px, int *fds, unsigned max);
/* Close everything now (after proxy_shutdown's grace period). */
void proxy_destroy(struct proxy *px);

void proxy_get_stats(const struct proxy *px, struct proxy_stats *st);
/* Call fn for each active request; returns the number visited. */
unsigned proxy_for_each_route(struct proxy *px, void (*fn)(const struct proxy_route *r, void *arg),
			      void *arg);

#endif
