/* loop.h - the event loop: fds with a read/write mask, one-shot timers
 * and a cached monotonic clock.  Everything else in the daemon (proxy,
 * health checks, VRRP, sync, netlink watch, control socket) is a client
 * of this API.
 *
 * Contract:
 *  - One loop per thread; no call here is thread-safe.
 *  - Timers are embedded in the object that owns them (struct loop_timer).
 *    The owner cancels through a pointer to its handle; arming an armed
 *    timer re-arms it (never two entries), cancelling an idle one is a no-op.
 *    So a freed object that cancelled its timers can never be called back.
 *  - fd callbacks are level-triggered.  After loop_del_fd() no callback for
 *    that registration runs again, even for events already returned by
 *    epoll_wait, and even if the descriptor number is closed, reused and
 *    registered again (with another callback) before the rest of the batch
 *    is dispatched: events are matched to a registration, not to a number.
 */
#ifndef ANDROMEDA_LOOP_H
#define ANDROMEDA_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;

enum {
	LOOP_READ = 1u << 0,
	LOOP_WRITE = 1u << 1,
};

/* Called with the subset of LOOP_READ|LOOP_WRITE that is ready.  Errors and
 * hang-ups are reported as readiness of every watched direction so that the
 * owner's read()/write() sees the error. */
typedef void (*loop_io_fn)(struct loop *loop, int fd, unsigned events, void *arg);

struct loop_timer;
typedef void (*loop_timer_fn)(struct loop *loop, struct loop_timer *t);

/* Embed in the owning object; zero-initialise (or loop_timer_init) first. */
struct loop_timer {
	uint64_t when_ms;  /* absolute monotonic deadline */
	uint64_t key_ms;   /* its place in the heap: <= when_ms (loop.c) */
	uint32_t heap_idx; /* 0 = not armed; 1-based index in the heap */
	uint32_t pass;     /* the loop's timer pass it last ran in */
	loop_timer_fn fn;
	void *arg; /* free for the owner (usually the owner itself) */
};

/* Reads (or accepts) one callback does per wake-up before it returns,
 * level-triggering bringing it back: a flood on one descriptor cannot
 * starve the others. */
#define LOOP_IO_BATCH 64

/* Returns 0 or -errno. */
int loop_create(struct loop **out);
void loop_destroy(struct loop *loop);

/* Start watching fd for the events in mask (may be 0).  fn/arg are kept for
 * the fd until loop_del_fd().  Returns 0 or -errno. */
int loop_add_fd(struct loop *loop, int fd, unsigned mask, loop_io_fn fn, void *arg);
/* Change the watched mask; a no-op when unchanged.  Returns 0 or -errno. */
int loop_set_mask(struct loop *loop, int fd, unsigned mask);
unsigned loop_get_mask(struct loop *loop, int fd);
/* Stop watching; call before close(fd). */
void loop_del_fd(struct loop *loop, int fd);
/* Stop watching and close(fd), without EPOLL_CTL_DEL: closing the last
 * descriptor of an open file takes it out of every epoll set (epoll(7)),
 * one system call less per connection.  For an fd that has no copy: a
 * copy (dup, SCM_RIGHTS in flight, a fork not yet exec'd) keeps it
 * registered, its events are then ignored (stale registration number)
 * but come back at each wait while it lives; loop_del_fd() and close()
 * when a copy is kept. */
void loop_close_fd(struct loop *loop, int fd);

void loop_timer_init(struct loop_timer *t, loop_timer_fn fn, void *arg);
/* (Re-)arm t to fire once, delay_ms from now.  A due timer fires in the
 * first iteration at or after its time; each timer at most once per
 * iteration, so one that re-arms itself with delay 0 fires again in the
 * next iteration, after I/O, not in a loop of its own. */
void loop_timer_arm(struct loop *loop, struct loop_timer *t, uint64_t delay_ms);
/* (Re-)arm t to fire at the absolute monotonic time when_ms. */
void loop_timer_arm_at(struct loop *loop, struct loop_timer *t, uint64_t when_ms);
void loop_timer_cancel(struct loop *loop, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t) { return t->heap_idx != 0; }

/* Monotonic milliseconds, refreshed once per loop iteration (cheap). */
uint64_t loop_now_ms(const struct loop *loop);
/* Monotonic milliseconds read from the clock now. */
uint64_t loop_clock_ms(void);
/* Refresh the cached clock (after a long computation). */
void loop_update_time(struct loop *loop);

/* Run until loop_stop().  Returns 0 or -errno if epoll fails. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);
/* Process one iteration, waiting at most max_wait_ms (-1 = until a timer). */
int loop_run_once(struct loop *loop, int max_wait_ms);

#endif
