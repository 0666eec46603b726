/* proxy_stats.h - what a proxy shows about itself: its counters and the
 * rows of its routing table.  Types only: proxy.h (public) and
 * proxy_types.h (the room's own) both include it, which keeps the room's
 * types header from depending on proxy.c's header. */
#ifndef ANDROMEDA_PROXY_STATS_H
#define ANDROMEDA_PROXY_STATS_H

#include <stdint.h>

struct proxy_stats {
	uint64_t accepted;     /* client connections */
	uint64_t requests;     /* requests (http) or connections (tcp) dispatched */
	uint64_t responses;    /* responses completed */
	uint64_t redispatched; /* re-assigned to another server */
	uint64_t queued;       /* ever waited in a server queue */
	uint64_t errors_4xx;   /* our own 4xx answers (bad input) */
	uint64_t errors_5xx;   /* our own 502/503/504 */
	uint64_t aborted;      /* connections closed mid-response */
	unsigned clients;      /* open client connections now */
	unsigned active;       /* requests in the routing table now */

	/* For the metrics (core/daemon/stats_metrics.c). */
	uint64_t bytes_in, bytes_out;   /* read from, written to clients */
	uint64_t responses_by_class[6]; /* [1] 1xx .. [5] 5xx sent, ours included; [0] other */
};

/* One row of the routing table (the seed's "tabla de direccionamiento"). */
struct proxy_route {
	const char *request_id;
	const char *client; /* "ip:port" */
	const char *server; /* NULL while not assigned */
	const char *state;  /* "reading", "queued", "connecting", "sending",
			     * "waiting", "responding", "tunnel" */
	const char *method; /* NULL in tcp mode */
	uint64_t age_ms;
};

#endif
