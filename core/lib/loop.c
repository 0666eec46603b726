/* loop.c - epoll event loop with a binary min-heap of timers. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256

struct loop_file {
	unsigned mask;
	bool used;
	uint32_t gen; /* this registration's number, also in its epoll data */
	loop_io_fn fn;
	void *arg;
};

struct loop {
	int epfd;
	bool stop;
	uint64_t now_ms;
	uint32_t gen;            /* last registration number given */
	struct loop_file *files; /* indexed by fd */
	int nfiles;
	struct loop_timer **heap; /* 1-based min-heap on when_ms */
	uint32_t heap_len, heap_cap;
	uint32_t timer_pass; /* run_timers passes so far (loop_timer.pass) */
	struct epoll_event events[LOOP_MAX_EVENTS];
};

uint64_t loop_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t loop_now_ms(const struct loop *loop) { return loop->now_ms; }
void loop_update_time(struct loop *loop) { loop->now_ms = loop_clock_ms(); }

int loop_create(struct loop **out)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int err = -errno;
		free(loop);
		return err;
	}
	loop->now_ms = loop_clock_ms();
	*out = loop;
	return 0;
}

void loop_destroy(struct loop *loop)
{
	if (!loop)
		return;
	close(loop->epfd);
	free(loop->files);
	free(loop->heap);
	free(loop);
}

static int loop_grow_files(struct loop *loop, int fd)
{
	int n = loop->nfiles ? loop->nfiles : 64;
	struct loop_file *f;

	while (n <= fd)
		n *= 2;
	f = realloc(loop->files, (size_t)n * sizeof(*f));
	if (!f)
		return -ENOMEM;
	memset(f + loop->nfiles, 0, (size_t)(n - loop->nfiles) * sizeof(*f));
	loop->files = f;
	loop->nfiles = n;
	return 0;
}

/* The epoll data carries the fd and its registration number: an event
 * for a descriptor deleted, closed and reused within one epoll_wait batch
 * still names the old registration, and dispatch drops it (loop.h). */
static struct epoll_event to_epoll(int fd, uint32_t gen, unsigned mask)
{
	struct epoll_event ev = { .data.u64 = (uint64_t)gen << 32 | (uint32_t)fd };

	ev.events = ((mask & LOOP_READ) ? EPOLLIN | EPOLLRDHUP : 0) |
		    ((mask & LOOP_WRITE) ? EPOLLOUT : 0);
	return ev;
}

int loop_add_fd(struct loop *loop, int fd, unsigned mask, loop_io_fn fn, void *arg)
{
	struct epoll_event ev;
	int err;

	if (fd < 0)
		return -EBADF;
	if (fd >= loop->nfiles && (err = loop_grow_files(loop, fd)) < 0)
		return err;
	/* Wraps after 2^32 registrations: a stale event would have to wait
	 * that many registrations within one batch to be mistaken. */
	ev = to_epoll(fd, ++loop->gen, mask);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	loop->files[fd] = (struct loop_file){
		.mask = mask, .used = true, .gen = loop->gen, .fn = fn, .arg = arg
	};
	return 0;
}

int loop_set_mask(struct loop *loop, int fd, unsigned mask)
{
	struct epoll_event ev;
	struct loop_file *f;

	if (fd < 0 || fd >= loop->nfiles || !loop->files[fd].used)
		return -EBADF;
	f = &loop->files[fd];
	if (f->mask == mask)
		return 0;
	ev = to_epoll(fd, f->gen, mask);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	f->mask = mask;
	return 0;
}

unsigned loop_get_mask(struct loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->nfiles || !loop->files[fd].used)
		return 0;
	return loop->files[fd].mask;
}

void loop_del_fd(struct loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->nfiles || !loop->files[fd].used)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->files[fd] = (struct loop_file){ 0 };
}

void loop_close_fd(struct loop *loop, int fd)
{
	if (fd < 0)
		return;
	if (fd < loop->nfiles)
		loop->files[fd] = (struct loop_file){ 0 };
	close(fd);
}

/* ---- timers: 1-based binary heap, each timer remembers its index ----
 *
 * The heap is ordered on key_ms, not on the deadline: a timer pushed to a
 * later deadline (most re-arms: a timeout restarted at each byte, each
 * request) only moves when_ms and stays where it is; when its key comes
 * due, run_timers moves it down to its real deadline instead of firing
 * it.  A request re-arms its timers about ten times; most of those are no
 * heap walk (and no cache miss on the other timers' objects) this way. */

static void heap_set(struct loop *loop, uint32_t i, struct loop_timer *t)
{
	loop->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct loop *loop, uint32_t i)
{
	struct loop_timer *t = loop->heap[i];

	while (i > 1 && loop->heap[i / 2]->key_ms > t->key_ms) {
		heap_set(loop, i, loop->heap[i / 2]);
		i /= 2;
	}
	heap_set(loop, i, t);
}

static void heap_down(struct loop *loop, uint32_t i)
{
	struct loop_timer *t = loop->heap[i];

	for (;;) {
		uint32_t c = 2 * i;

		if (c > loop->heap_len)
			break;
		if (c < loop->heap_len && loop->heap[c + 1]->key_ms < loop->heap[c]->key_ms)
			c++;
		if (loop->heap[c]->key_ms >= t->key_ms)
			break;
		heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	heap_set(loop, i, t);
}

void loop_timer_init(struct loop_timer *t, loop_timer_fn fn, void *arg)
{
	*t = (struct loop_timer){ .fn = fn, .arg = arg };
}

void loop_timer_cancel(struct loop *loop, struct loop_timer *t)
{
	uint32_t i = t->heap_idx;
	struct loop_timer *last;

	if (!i)
		return;
	last = loop->heap[loop->heap_len--];
	t->heap_idx = 0;
	if (last == t)
		return;
	heap_set(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->heap_idx);
}

void loop_timer_arm_at(struct loop *loop, struct loop_timer *t, uint64_t when_ms)
{
	if (t->heap_idx) {
		t->when_ms = when_ms;
		if (when_ms >= t->key_ms)
			return; /* later: moved when its key comes due */
		t->key_ms = when_ms;
		heap_up(loop, t->heap_idx);
		return;
	}
	if (loop->heap_len + 1 >= loop->heap_cap) {
		uint32_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
		/* An array of pointers: sizeof(pointer) is meant. */
		// NOLINTNEXTLINE(bugprone-sizeof-expression)
		struct loop_timer **h = realloc(loop->heap, cap * sizeof(*h));

		if (!h)
			abort(); /* a timer that silently never fires is worse */
		loop->heap = h;
		loop->heap_cap = cap;
	}
	t->when_ms = t->key_ms = when_ms;
	heap_set(loop, ++loop->heap_len, t);
	heap_up(loop, loop->heap_len);
}

void loop_timer_arm(struct loop *loop, struct loop_timer *t, uint64_t delay_ms)
{
	loop_timer_arm_at(loop, t, loop->now_ms + delay_ms);
}

static void run_timers(struct loop *loop)
{
	/* Each timer runs at most once per pass: one that re-arms itself with
	 * delay 0 is due again at once by the clock, so the clock alone would
	 * run it again and again now; it runs next iteration instead.  A timer
	 * armed (due) by another's callback still runs in this pass. */
	uint64_t now = loop->now_ms;
	uint32_t pass = ++loop->timer_pass;

	while (loop->heap_len && loop->heap[1]->key_ms <= now && loop->heap[1]->pass != pass) {
		struct loop_timer *t = loop->heap[1];

		if (t->when_ms > t->key_ms) { /* pushed back since it was placed */
			t->key_ms = t->when_ms;
			heap_down(loop, 1);
			continue;
		}
		loop_timer_cancel(loop, t);
		t->pass = pass;
		t->fn(loop, t);
	}
}

static int next_timeout(struct loop *loop, int max_wait_ms)
{
	int64_t d;

	if (!loop->heap_len)
		return max_wait_ms;
	d = (int64_t)loop->heap[1]->key_ms - (int64_t)loop->now_ms;
	if (d < 0)
		d = 0;
	if (max_wait_ms >= 0 && d > max_wait_ms)
		d = max_wait_ms;
	return d > 60000 ? 60000 : (int)d;
}

int loop_run_once(struct loop *loop, int max_wait_ms)
{
	int n, i;

	n = epoll_wait(loop->epfd, loop->events, LOOP_MAX_EVENTS, next_timeout(loop, max_wait_ms));
	if (n < 0 && errno != EINTR)
		return -errno;
	loop->now_ms = loop_clock_ms();
	for (i = 0; i < n; i++) {
		struct epoll_event *ev = &loop->events[i];
		int fd = (int)(uint32_t)ev->data.u64;
		unsigned ready = 0;
		struct loop_file *f = &loop->files[fd];

		/* Deleted by an earlier callback of this batch, or deleted and
		 * its number reused by a new registration: not this event's. */
		if (!f->used || f->gen != (uint32_t)(ev->data.u64 >> 32))
			continue;
		if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
			ready |= LOOP_READ;
		if (ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			ready |= LOOP_WRITE;
		ready &= f->mask;
		if (ready)
			f->fn(loop, fd, ready, f->arg);
	}
	run_timers(loop);
	return 0;
}

int loop_run(struct loop *loop)
{
	int err = 0;

	loop->stop = false;
	while (!loop->stop && !err)
		err = loop_run_once(loop, -1);
	return err;
}

void loop_stop(struct loop *loop) { loop->stop = true; }
