/* health.h - active health checks of the backend servers.
 *
 * One check per server every backend.health_interval_ms: an HTTP GET of
 * backend.health_check (2xx/3xx pass), or a bare TCP connect when that path
 * is empty.  Checks run through libcurl's multi interface inside our event
 * loop, so they never block the data path; each one opens a new connection
 * because a check must prove that the server still accepts connections.
 *
 * Results go to the pool (pool_server_ok / pool_server_check_failed), which
 * applies rise/fall and logs UP/DOWN transitions; a check that timed out
 * while the server kept answering requests does not count (pool.h).  This
 * module logs one line when a server's check *cause* changes ("ok" ->
 * "http status 500"), never one per failed check.
 *
 * The module follows the pool through pool_add_observer(): a server added
 * to the pool is checked from then on (first check within a short,
 * staggered delay); a removed one is no longer checked, its in-flight check
 * is cancelled and it is never touched again.  Per-server state lives in
 * srv->health_priv and is owned here. */
#ifndef ANDROMEDA_HEALTH_H
#define ANDROMEDA_HEALTH_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct loop;
struct pool;
struct server;
struct health;

/* Outcome of the last check of one server. */
enum health_cause {
	HC_NONE,            /* not checked yet */
	HC_OK,              /* connected (TCP) or 2xx/3xx (HTTP) */
	HC_REFUSED,         /* connection refused (RST to our SYN) */
	HC_UNREACHABLE,     /* no route / host unreachable */
	HC_CONNECT_ERROR,   /* any other connect failure (see os_errno) */
	HC_CONNECT_TIMEOUT, /* no connection within health_timeout */
	HC_TIMEOUT,         /* connected, no complete response within health_timeout */
	HC_HTTP_STATUS,     /* answered with a status other than 2xx/3xx */
	HC_BAD_RESPONSE,    /* closed without an answer, or not HTTP */
	HC_INTERNAL,        /* could not start the check (memory, curl) */
	HC_TLS,             /* tls = yes: handshake or certificate check failed */
	HC__COUNT
};

struct health_result {
	enum health_cause cause;
	int http_status;      /* last status seen, 0 if none */
	int os_errno;         /* for connect failures, 0 otherwise */
	uint32_t duration_ms; /* of the last check */
	uint64_t when_ms;     /* monotonic time it finished, 0 = never */
	uint64_t checks;      /* checks completed */
	uint64_t failures;    /* of which failed */
};

/* Start checking every server of pool (those present now and those added
 * later) with the settings in cfg->backend.  loop, pool and cfg must
 * outlive the health module.  Returns 0 and *out, or -errno (-ENOMEM,
 * -ENOSPC when the pool has no room for another observer, -EIO when libcurl
 * fails to initialise), logged. */
int health_create(struct health **out, struct loop *loop, struct pool *pool,
		  const struct config *cfg);

/* Cancel every check, timer and curl handle, release the server references
 * held by in-flight checks and free the module.  Call before
 * pool_destroy().  NULL is a no-op.
 * NOTE: the pool has no way to unregister an observer yet; until it has,
 * no server may be added to or removed from the pool after this call. */
void health_destroy(struct health *h);

/* Check srv at the next loop iteration instead of waiting for its turn
 * (e.g. when an agent re-announces a DOWN server).  A check already in
 * flight is left to finish.  Returns 0, or -ENOENT when srv is not
 * followed (removed, or not in this module's pool). */
int health_check_now(struct health *h, struct server *srv);

/* Copy the last result of srv into *out.  Returns 0, or -ENOENT when srv
 * is not checked by a health module (e.g. after removal). */
int health_get_result(const struct server *srv, struct health_result *out);

/* Write a one-line summary of srv's last check for `andromedactl servers`,
 * e.g. "ok, HTTP 200 in 2 ms", "http status 500 in 3 ms",
 * "connect refused in 0 ms", "not checked".  Always NUL-terminates a
 * non-empty buffer; returns what snprintf returns. */
int health_last_result(const struct server *srv, char *buf, size_t len);

/* "ok", "connect refused", "timeout", ... (stable, for JSON output). */
const char *health_cause_name(enum health_cause cause);

#endif
