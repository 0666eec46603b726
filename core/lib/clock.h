/* clock.h - the wall clock, for what leaves the process with a date on
 * it: envelope timestamps (msg.h), journal records.  Timers and
 * timeouts use the loop's monotonic clock instead (loop_now_ms,
 * loop_clock_ms in loop.h), which a clock step cannot move. */
#ifndef ANDROMEDA_CLOCK_H
#define ANDROMEDA_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_REALTIME in milliseconds since the epoch. */
static inline uint64_t clock_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
