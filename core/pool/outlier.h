/* outlier.h - passive health: what a failed request says about its server,
 * how much of the pool passive evidence may take out, and when the pool is
 * in panic (outlier.c; docs/health-checks.md "Passive health").
 *
 * Pure functions of counts and times, so the rules are unit-tested apart
 * from sockets and clocks; the pool (pool.c) applies them.
 *
 * A dead server and a congested one both make connects time out, but only a
 * dead one refuses or resets.  So:
 *   - hard evidence (connect refused or unreachable, a reset or malformed
 *     response) counts toward `fall` every time;
 *   - a timeout (connect_timeout, server_timeout) counts only when it is not
 *     one of a burst: requests that were in flight to the server together
 *     and time out together (a full accept queue, a switch hiccup, a host
 *     busy writing to its SD card) are one piece of evidence, not hundreds.
 *     A timeout counts when no counted timeout of the same kind fired within
 *     the timeout's own length before it, i.e. when the attempt that timed
 *     out started after the last counted one had already failed.
 * Any completed request resets the run (pool.c), so `fall` timeouts take a
 * server out only after about (fall - 1) x the timeout with no answer from
 * it at all. */
#ifndef ANDROMEDA_OUTLIER_H
#define ANDROMEDA_OUTLIER_H

#include <stdbool.h>
#include <stdint.h>

/* Kept in sync with pool.h's enum server_fail (pool.h includes this). */
enum outlier_evidence {
	OUTLIER_HARD,       /* refused, unreachable, reset, bad response */
	OUTLIER_CONNECT_TO, /* connect_timeout */
	OUTLIER_RESPONSE_TO /* server_timeout */
};

/* Per server, written by the main thread only (pool.c). */
struct outlier_state {
	uint64_t last_counted_ms[2]; /* last counted connect / response timeout, 0 = none */
	bool cap_logged;             /* "not ejected: cap reached" said for this run */
};

struct outlier_limits {
	uint32_t connect_timeout_ms;
	uint32_t server_timeout_ms;
};

/* Whether a failure of this kind at now_ms counts toward `fall`; records
 * a counted timeout in st.  now_ms: any monotonic clock, > 0. */
bool outlier_counts(struct outlier_state *st, enum outlier_evidence ev, uint64_t now_ms,
		    const struct outlier_limits *lim);

/* How many servers of a pool of nservers passive evidence may keep out of
 * rotation at once: percent of them, rounded down, but always at least
 * one (as Envoy's max_ejection_percent); 0 for an empty pool. */
unsigned outlier_max_ejected(unsigned nservers, unsigned percent);

/* Panic (Envoy's healthy_panic_threshold): fewer than threshold_pct percent
 * of the eligible servers are in rotation, so the balancer uses all the
 * eligible ones instead.  threshold_pct 0 turns panic off; no eligible
 * server is no panic (there is nothing to balance across). */
bool outlier_panic(unsigned in_rotation, unsigned eligible, unsigned threshold_pct);

#endif
