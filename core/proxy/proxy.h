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

struct loop;
struct pool;
struct config;
struct proxy;
struct server;

struct proxy_stats {
	uint64_t accepted;          /* client connections */
	uint64_t requests;          /* requests (http) or connections (tcp) dispatched */
	uint64_t responses;         /* responses completed */
	uint64_t redispatched;      /* re-assigned to another server */
	uint64_t queued;            /* ever waited in a server queue */
	uint64_t errors_4xx;        /* our own 4xx answers (bad input) */
	uint64_t errors_5xx;        /* our own 502/503/504 */
	uint64_t aborted;           /* connections closed mid-response */
	unsigned clients;           /* open client connections now */
	unsigned active;            /* requests in the routing table now */
};

/* One row of the routing table (the seed's "tabla de direccionamiento"). */
struct proxy_route {
	const char *request_id;
	const char *client;         /* "ip:port" */
	const char *server;         /* NULL while not assigned */
	const char *state;          /* "reading", "queued", "connecting", "sending",
	                             * "waiting", "responding", "tunnel" */
	const char *method;         /* NULL in tcp mode */
	uint64_t age_ms;
};

/* Create the proxy and bind the frontend listener (IP_FREEBIND, so the VIP
 * need not be present yet).  Returns 0 or -errno (logged). */
int proxy_create(struct proxy **out, struct loop *loop, struct pool *pool, const struct config *cfg);
/* The same for proxy thread tid of a group (workers.h): its own listener
 * (SO_REUSEPORT when the pool has several threads), no pool observer (the
 * group forwards the events). */
struct workers;
int proxy_create_thread(struct proxy **out, struct loop *loop, struct pool *pool, const struct config *cfg,
			unsigned tid, struct workers *workers);
/* Start accepting.  Returns 0 or -errno. */
int proxy_start(struct proxy *px);
/* Graceful stop: close the listener and idle clients, let requests in
 * flight finish; done() is called once nothing is left (or at once). */
void proxy_shutdown(struct proxy *px, void (*done)(void *arg), void *arg);
/* Close everything now (after proxy_shutdown's grace period). */
void proxy_destroy(struct proxy *px);

void proxy_get_stats(const struct proxy *px, struct proxy_stats *st);
/* Call fn for each active request; returns the number visited. */
unsigned proxy_for_each_route(struct proxy *px, void (*fn)(const struct proxy_route *r, void *arg), void *arg);

#endif
