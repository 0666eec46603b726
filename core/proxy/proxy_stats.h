/* proxy_stats.h - what a proxy shows about itself: its counters and the
 * rows of its routing table.  Types only (and the names of the TLS
 * failure causes): proxy.h (public) and
 * proxy_types.h (the room's own) both include it, which keeps the room's
 * types header from depending on proxy.c's header. */
#ifndef ANDROMEDA_PROXY_STATS_H
#define ANDROMEDA_PROXY_STATS_H

#include <stdint.h>

/* Why a TLS handshake failed (one counter each). */
enum tls_fail {
	TLS_FAIL_TIMEOUT,    /* not done within tls_handshake_timeout */
	TLS_FAIL_CLOSED,     /* the client closed or reset mid-handshake */
	TLS_FAIL_PLAIN_HTTP, /* an HTTP request on the TLS port */
	TLS_FAIL_NOT_TLS,    /* other bytes that are no TLS record */
	TLS_FAIL_VERSION,    /* no protocol version in common (TLS < 1.2) */
	TLS_FAIL_CIPHER,     /* no cipher suite or group in common */
	TLS_FAIL_HANDSHAKE,  /* any other handshake failure */
	TLS_FAIL_COUNT
};

/* A cause's name, as "status" and the log show it (the one inline of
 * this header: the table goes with the enum). */
static inline const char *tls_fail_name(enum tls_fail why)
{
	static const char *const names[TLS_FAIL_COUNT] = {
		[TLS_FAIL_TIMEOUT] = "timeout",
		[TLS_FAIL_CLOSED] = "client_closed",
		[TLS_FAIL_PLAIN_HTTP] = "plain_http",
		[TLS_FAIL_NOT_TLS] = "not_tls",
		[TLS_FAIL_VERSION] = "protocol_version",
		[TLS_FAIL_CIPHER] = "no_shared_cipher",
		[TLS_FAIL_HANDSHAKE] = "handshake_failure",
	};

	return (unsigned)why < TLS_FAIL_COUNT ? names[why] : "?";
}

struct proxy_stats {
	uint64_t accepted;       /* client connections */
	uint64_t requests;       /* requests (http) or connections (tcp) dispatched */
	uint64_t responses;      /* responses completed */
	uint64_t redispatched;   /* re-assigned to another server */
	uint64_t queued;         /* ever waited in a server queue */
	uint64_t errors_4xx;     /* our own 4xx answers (bad input) */
	uint64_t errors_5xx;     /* our own 502/503/504 */
	uint64_t aborted;        /* connections closed mid-response */
	uint64_t tls_handshakes; /* completed */
	uint64_t tls_resumed;    /* of them, resumed sessions */
	uint64_t tls_failures[TLS_FAIL_COUNT]; /* by cause */
	unsigned clients;                      /* open client connections now */
	unsigned active;                       /* requests in the routing table now */

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
