/* child.c - a child process watched from the loop (see child.h). */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

struct child {
	struct loop *loop;
	pid_t pid;
	int pidfd;
	bool timed_out;
	uint64_t started_ms;
	uint64_t deadline_ms;    /* 0 = no timeout */
	struct loop_timer timer; /* the timeout */
	struct loop_timer poll;  /* without a pidfd: look every CHILD_POLL_MS */
	bool reaped;             /* child_wait() reaped it while polling */
	int reaped_status;
	child_done_fn done;
	void *arg;
};

const char *child_result_str(const struct child_result *r, char *buf, size_t size)
{
	switch (r->how) {
	case CHILD_EXITED:
		snprintf(buf, size, "exit status %d", r->code);
		break;
	case CHILD_SIGNALED:
		snprintf(buf, size, "killed by signal %d (%s)", r->code, strsignal(r->code));
		break;
	case CHILD_TIMEOUT:
		snprintf(buf, size, "timed out after %llu ms, process group killed",
			 (unsigned long long)r->ms);
		break;
	case CHILD_ERROR:
		snprintf(buf, size, "could not start: %s", strerror(-r->code));
		break;
	}
	return buf;
}

/* Its own process group (so a timeout kills the script's children too),
 * an empty signal mask, default dispositions, stdin from /dev/null, no
 * descriptor of ours beyond stdout and stderr. */
static int child_attrs(posix_spawnattr_t *a, posix_spawn_file_actions_t *fa)
{
	sigset_t none, all;
	int err;

	sigemptyset(&none);
	sigfillset(&all);
	if ((err = posix_spawnattr_init(a)) != 0)
		return -err;
	if ((err = posix_spawn_file_actions_init(fa)) != 0) {
		posix_spawnattr_destroy(a);
		return -err;
	}
	err = posix_spawnattr_setflags(a, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						  POSIX_SPAWN_SETSIGDEF);
	if (!err)
		err = posix_spawnattr_setpgroup(a, 0);
	if (!err)
		err = posix_spawnattr_setsigmask(a, &none);
	if (!err)
		err = posix_spawnattr_setsigdefault(a, &all);
	if (!err)
		err = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
	/* Not every descriptor of ours is close-on-exec (libraries'): a
	 * script must hold none of our sockets. */
	if (!err)
		err = posix_spawn_file_actions_addclosefrom_np(fa, 3);
	if (err) {
		posix_spawn_file_actions_destroy(fa);
		posix_spawnattr_destroy(a);
	}
	return -err;
}

/* The status waitpid() gave, or -1 when it has not ended yet. */
static int try_reap(const struct child *s, bool block)
{
	int st = 0;
	pid_t r;

	while ((r = waitpid(s->pid, &st, block ? 0 : WNOHANG)) < 0 && errno == EINTR)
		;
	return r == s->pid ? st : -1;
}

/* It ended (pidfd readable, or waitpid said so): report and free. */
static void finish(struct child *s, int st, bool report)
{
	struct child_result r = { .how = CHILD_EXITED };

	if (WIFEXITED(st)) {
		r.code = WEXITSTATUS(st);
	} else {
		r.how = CHILD_SIGNALED;
		r.code = WTERMSIG(st);
	}
	if (s->timed_out)
		r.how = CHILD_TIMEOUT;
	r.ms = loop_clock_ms() - s->started_ms;
	loop_timer_cancel(s->loop, &s->timer);
	loop_timer_cancel(s->loop, &s->poll);
	if (s->pidfd >= 0) {
		loop_del_fd(s->loop, s->pidfd);
		close(s->pidfd);
	}
	if (report)
		s->done(s->arg, &r);
	free(s);
}

/* The pidfd is readable once the child has ended: reaping cannot block. */
static void pidfd_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct child *s = arg;

	finish(s, try_reap(s, true), true);
}

/* Without pidfd_open (a kernel before 5.3, or valgrind, which does not
 * know the call): look every CHILD_POLL_MS. */
#define CHILD_POLL_MS 10

static void poll_fired(struct loop *loop, struct loop_timer *t)
{
	struct child *s = t->arg;
	int st = try_reap(s, false);

	if (st < 0)
		loop_timer_arm(loop, t, CHILD_POLL_MS);
	else
		finish(s, st, true);
}

/* The group, not only the leader: a shell script's sleep or curl goes too.
 * The leader is not reaped yet, so its pid (the group id) cannot have been
 * reused. */
static void kill_group(struct child *s)
{
	s->timed_out = true;
	if (kill(-s->pid, SIGKILL) < 0)
		kill(s->pid, SIGKILL);
}

static void timeout_fired(struct loop *loop, struct loop_timer *t) { kill_group(t->arg); }

static int child_fail(child_done_fn done, void *arg, int err)
{
	struct child_result r = { .how = CHILD_ERROR, .code = err };

	done(arg, &r);
	return err;
}

int child_start(struct loop *loop, char *const argv[], char *const envp[], uint32_t timeout_ms,
		child_done_fn done, void *arg, struct child **out)
{
	struct child *s = calloc(1, sizeof(*s));
	posix_spawnattr_t a;
	posix_spawn_file_actions_t fa;
	int err;

	*out = NULL;
	if (!s)
		return child_fail(done, arg, -ENOMEM);
	if ((err = child_attrs(&a, &fa)) < 0) {
		free(s);
		return child_fail(done, arg, err);
	}
	err = -posix_spawn(&s->pid, argv[0], &fa, &a, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&a);
	if (err) {
		free(s);
		return child_fail(done, arg, err);
	}
	*s = (struct child){ .loop = loop, .pid = s->pid, .done = done, .arg = arg };
	s->started_ms = loop_clock_ms();
	loop_timer_init(&s->timer, timeout_fired, s);
	loop_timer_init(&s->poll, poll_fired, s);
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (s->pidfd >= 0 && loop_add_fd(loop, s->pidfd, LOOP_READ, pidfd_io, s) < 0) {
		close(s->pidfd);
		s->pidfd = -1;
	}
	if (s->pidfd < 0)
		loop_timer_arm(loop, &s->poll, CHILD_POLL_MS);
	if (timeout_ms) {
		s->deadline_ms = s->started_ms + timeout_ms;
		loop_timer_arm(loop, &s->timer, timeout_ms);
	}
	*out = s;
	return 0;
}

/* Whether it ended by the deadline (0: none).  Without a pidfd, by
 * polling, as on the loop. */
static bool ended_by(struct child *s, uint64_t deadline)
{
	struct pollfd p = { .fd = s->pidfd, .events = POLLIN };
	int st;

	for (;;) {
		uint64_t now = loop_clock_ms();
		int wait_ms = !deadline ? -1 : now >= deadline ? 0 : (int)(deadline - now);

		if (s->pidfd >= 0) {
			while (poll(&p, 1, wait_ms) < 0 && errno == EINTR)
				;
			return p.revents != 0;
		}
		if ((st = try_reap(s, false)) >= 0) {
			s->reaped_status = st;
			s->reaped = true;
			return true;
		}
		if (wait_ms == 0)
			return false;
		nanosleep(&(struct timespec){ .tv_nsec = CHILD_POLL_MS * 1000000L }, NULL);
	}
}

void child_wait(struct child *s)
{
	if (!ended_by(s, s->deadline_ms))
		kill_group(s);
	finish(s, s->reaped ? s->reaped_status : try_reap(s, true), true);
}

void child_kill(struct child *s)
{
	kill_group(s);
	finish(s, try_reap(s, true), false);
}
