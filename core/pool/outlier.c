/* outlier.c - the passive health rules (see outlier.h). */
#include "outlier.h"

bool outlier_counts(struct outlier_state *st, enum outlier_evidence ev, uint64_t now_ms,
		    const struct outlier_limits *lim)
{
	unsigned k;
	uint64_t len, last;

	if (ev == OUTLIER_HARD)
		return true;
	k = ev == OUTLIER_CONNECT_TO ? 0 : 1;
	len = ev == OUTLIER_CONNECT_TO ? lim->connect_timeout_ms : lim->server_timeout_ms;
	last = st->last_counted_ms[k];
	/* An attempt that timed out now started len ago: if the last counted
	 * timeout fired after that, both were in flight together. */
	if (last && now_ms < last + len)
		return false;
	st->last_counted_ms[k] = now_ms;
	return true;
}

unsigned outlier_max_ejected(unsigned nservers, unsigned percent)
{
	unsigned n = (unsigned)((uint64_t)nservers * percent / 100);

	if (!nservers)
		return 0;
	return n ? n : 1;
}

bool outlier_panic(unsigned in_rotation, unsigned eligible, unsigned threshold_pct)
{
	if (!threshold_pct || !eligible)
		return false;
	return (uint64_t)in_rotation * 100 < (uint64_t)eligible * threshold_pct;
}
