/* test_loop.c - the event loop's contract (loop.h): no callback after
 * loop_del_fd(), even for an event of the same batch whose descriptor
 * number was reused in between; timers run in deadline order, and one
 * re-armed with delay 0 runs next iteration; loop_close_fd() needs no
 * EPOLL_CTL_DEL. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <unistd.h>

#include "loop.h"

/* Two readable pipes, in one epoll_wait batch.  Whichever callback runs
 * first closes the other pipe's read end (say fd X), opens a fresh, empty
 * pipe whose read end is given the number X, and watches it with
 * on_new.  The old X's event is still later in the batch: it must not
 * reach on_new (the new pipe is empty, nothing is ready on it). */
static struct {
	int rd[2], wr[2];
	int first_calls, new_calls, spare_wr;
	struct loop *loop;
} reuse;

static void on_new(struct loop *loop, int fd, unsigned events, void *arg) { reuse.new_calls++; }

static void on_first(struct loop *loop, int fd, unsigned events, void *arg)
{
	int other = fd == reuse.rd[0] ? 1 : 0, x = reuse.rd[other], p[2];

	reuse.first_calls++;
	if (reuse.first_calls > 1)
		return; /* level-triggered: called again next iteration; swap once */
	loop_del_fd(loop, x);
	close(x);
	cr_assert(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	/* The kernel gives the lowest free number; make it exactly X. */
	if (p[0] != x) {
		cr_assert(dup3(p[0], x, O_CLOEXEC) == x);
		close(p[0]);
	}
	reuse.spare_wr = p[1];
	cr_assert(loop_add_fd(loop, x, LOOP_READ, on_new, NULL) == 0);
}

Test(loop, reused_fd_in_same_batch_gets_no_stale_event)
{
	cr_assert(loop_create(&reuse.loop) == 0);
	for (int i = 0; i < 2; i++) {
		int p[2];

		cr_assert(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
		reuse.rd[i] = p[0];
		reuse.wr[i] = p[1];
		cr_assert(write(p[1], "x", 1) == 1);
		cr_assert(loop_add_fd(reuse.loop, p[0], LOOP_READ, on_first, NULL) == 0);
	}
	cr_assert(loop_run_once(reuse.loop, 1000) == 0);
	cr_expect_eq(reuse.first_calls, 1, "the closed fd's callback ran %d times",
		     reuse.first_calls);
	cr_expect_eq(reuse.new_calls, 0, "the new registration got the old descriptor's event");
	/* The new registration is live: data on it is delivered next time. */
	cr_assert(write(reuse.spare_wr, "y", 1) == 1);
	cr_assert(loop_run_once(reuse.loop, 1000) == 0);
	cr_expect_eq(reuse.new_calls, 1);
	loop_destroy(reuse.loop);
}

/* A descriptor deleted (not reused) earlier in the batch: no callback. */
static int del_calls;
static int del_fds[2];

static void on_del_other(struct loop *loop, int fd, unsigned events, void *arg)
{
	del_calls++;
	loop_del_fd(loop, fd == del_fds[0] ? del_fds[1] : del_fds[0]);
}

Test(loop, deleted_fd_in_same_batch_gets_no_event)
{
	struct loop *loop;
	int p[2], q[2];

	cr_assert(loop_create(&loop) == 0);
	cr_assert(pipe2(p, O_CLOEXEC) == 0 && pipe2(q, O_CLOEXEC) == 0);
	cr_assert(write(p[1], "x", 1) == 1 && write(q[1], "x", 1) == 1);
	del_fds[0] = p[0];
	del_fds[1] = q[0];
	cr_assert(loop_add_fd(loop, p[0], LOOP_READ, on_del_other, NULL) == 0);
	cr_assert(loop_add_fd(loop, q[0], LOOP_READ, on_del_other, NULL) == 0);
	cr_assert(loop_run_once(loop, 1000) == 0);
	cr_expect_eq(del_calls, 1);
	loop_destroy(loop);
}

/* set_mask keeps the registration: events still reach the callback. */
static int mask_calls;

static void on_mask(struct loop *loop, int fd, unsigned events, void *arg)
{
	cr_expect_eq(events, LOOP_READ);
	mask_calls++;
}

Test(loop, set_mask_keeps_the_registration)
{
	struct loop *loop;
	int p[2];

	cr_assert(loop_create(&loop) == 0);
	cr_assert(pipe2(p, O_CLOEXEC) == 0);
	cr_assert(write(p[1], "x", 1) == 1);
	cr_assert(loop_add_fd(loop, p[0], 0, on_mask, NULL) == 0);
	cr_assert(loop_run_once(loop, 0) == 0);
	cr_expect_eq(mask_calls, 0);
	cr_assert(loop_set_mask(loop, p[0], LOOP_READ) == 0);
	cr_assert(loop_run_once(loop, 1000) == 0);
	cr_expect_eq(mask_calls, 1);
	loop_destroy(loop);
}

/* Timers fire in deadline order, each once. */
static int order[3], norder;

static void on_timer(struct loop *loop, struct loop_timer *t)
{
	order[norder++] = (int)(intptr_t)t->arg;
}

Test(loop, timers_fire_in_deadline_order)
{
	struct loop *loop;
	struct loop_timer t[3];

	cr_assert(loop_create(&loop) == 0);
	for (int i = 0; i < 3; i++)
		loop_timer_init(&t[i], on_timer, (void *)(intptr_t)i);
	loop_timer_arm_at(loop, &t[2], loop_now_ms(loop) + 3);
	loop_timer_arm_at(loop, &t[0], loop_now_ms(loop) + 1);
	loop_timer_arm_at(loop, &t[1], loop_now_ms(loop) + 2);
	for (int i = 0; i < 100 && norder < 3; i++)
		cr_assert(loop_run_once(loop, 10) == 0);
	cr_assert_eq(norder, 3);
	cr_expect(order[0] == 0 && order[1] == 1 && order[2] == 2);
	loop_destroy(loop);
}

/* A timer that re-arms itself with delay 0 is due again at once by the
 * clock: it must run once per iteration, not again and again in the same
 * pass (the loop would never reach epoll_wait). */
static int rearms;

static void on_rearm(struct loop *loop, struct loop_timer *t)
{
	if (++rearms < 1000) /* a bound, so that a regression fails, not hangs */
		loop_timer_arm(loop, t, 0);
}

Test(loop, timer_rearmed_with_delay_0_runs_next_iteration)
{
	struct loop *loop;
	struct loop_timer t;

	cr_assert(loop_create(&loop) == 0);
	loop_timer_init(&t, on_rearm, NULL);
	loop_timer_arm(loop, &t, 0);
	cr_assert(loop_run_once(loop, 0) == 0);
	cr_expect_eq(rearms, 1, "ran %d times in one iteration", rearms);
	cr_assert(loop_run_once(loop, 0) == 0);
	cr_expect_eq(rearms, 2);
	loop_timer_cancel(loop, &t);
	loop_destroy(loop);
}

/* A timer pushed back keeps its place in the heap (loop.c): it must still
 * fire at its new deadline, not at the old one, and in order with the
 * others; one brought forward fires at the earlier time. */
static uint64_t fired_at[3];

static void on_stamp(struct loop *loop, struct loop_timer *t)
{
	fired_at[(intptr_t)t->arg] = loop_now_ms(loop);
	order[norder++] = (int)(intptr_t)t->arg;
}

Test(loop, timer_pushed_back_fires_at_its_new_deadline)
{
	struct loop *loop;
	struct loop_timer t[3];
	uint64_t t0;

	cr_assert(loop_create(&loop) == 0);
	norder = 0;
	for (int i = 0; i < 3; i++)
		loop_timer_init(&t[i], on_stamp, (void *)(intptr_t)i);
	t0 = loop_now_ms(loop);
	loop_timer_arm_at(loop, &t[0], t0 + 10);
	loop_timer_arm_at(loop, &t[1], t0 + 40);
	loop_timer_arm_at(loop, &t[2], t0 + 80);
	loop_timer_arm_at(loop, &t[0], t0 + 60); /* later: stays in place */
	loop_timer_arm_at(loop, &t[2], t0 + 20); /* earlier: moves up */
	cr_expect_eq(t[0].when_ms, t0 + 60, "when_ms is the deadline");
	for (int i = 0; i < 1000 && norder < 3; i++)
		cr_assert(loop_run_once(loop, 100) == 0);
	cr_assert_eq(norder, 3);
	cr_expect(order[0] == 2 && order[1] == 1 && order[2] == 0, "order %d %d %d", order[0],
		  order[1], order[2]);
	cr_expect_geq(fired_at[0], t0 + 60, "fired at +%llu, armed for +60",
		      (unsigned long long)(fired_at[0] - t0));
	cr_expect_geq(fired_at[2], t0 + 20);
	/* Brought forward: the order above says it (before t[1] at +40). */
	cr_expect(!loop_timer_armed(&t[0]) && !loop_timer_armed(&t[1]) &&
		  !loop_timer_armed(&t[2]));
	loop_destroy(loop);
}

/* loop_close_fd: the kernel drops the registration with the last
 * descriptor, so the number can be watched again at once (no EEXIST) and
 * its new events arrive; with a copy left open, the old registration's
 * events (the file stays readable) reach no callback. */
static int close_calls;

static void on_close_test(struct loop *loop, int fd, unsigned events, void *arg) { close_calls++; }

Test(loop, close_fd_drops_the_registration_without_del)
{
	struct loop *loop;
	int p[2], q[2], copy;

	cr_assert(loop_create(&loop) == 0);
	cr_assert(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	cr_assert(write(p[1], "x", 1) == 1);
	cr_assert(loop_add_fd(loop, p[0], LOOP_READ, on_close_test, NULL) == 0);
	copy = fcntl(p[0], F_DUPFD_CLOEXEC, 3);
	cr_assert(copy >= 0);
	loop_close_fd(loop, p[0]);
	cr_expect_eq(fcntl(p[0], F_GETFD), -1, "loop_close_fd did not close the descriptor");
	cr_expect_eq(loop_get_mask(loop, p[0]), 0);
	/* The copy keeps the readable file in the epoll set: no callback. */
	cr_assert(loop_run_once(loop, 50) == 0);
	cr_expect_eq(close_calls, 0, "a closed descriptor's stale event reached a callback");
	close(copy);
	/* The same number, a new file: registered again, its event delivered. */
	cr_assert(pipe2(q, O_CLOEXEC | O_NONBLOCK) == 0);
	if (q[0] != p[0]) {
		cr_assert(dup3(q[0], p[0], O_CLOEXEC) == p[0]);
		close(q[0]);
	}
	cr_assert(loop_add_fd(loop, p[0], LOOP_READ, on_close_test, NULL) == 0);
	cr_assert(write(q[1], "y", 1) == 1);
	cr_assert(loop_run_once(loop, 1000) == 0);
	cr_expect_eq(close_calls, 1);
	loop_destroy(loop);
	close(p[0]);
	close(p[1]);
	close(q[1]);
}
