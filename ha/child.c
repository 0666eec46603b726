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
#include <unistd.h>

#include "loop.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct child {
	struct loop *loop;
	pid_t pid;
	int pidfd;
	bool timed_out;
	uint64_t started_ms;
	uint64_t deadline_ms; /* 0 = no timeout */
	struct loop_timer timer;
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

/* Reap (the pidfd said it ended, or it was killed) and report. */
static void finish(struct child *s, bool report)
{
	struct child_result r = { .how = CHILD_EXITED };
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	while (waitid((idtype_t)P_PIDFD, (id_t)s->pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	if (si.si_code == CLD_EXITED) {
		r.code = si.si_status;
	} else {
		r.how = CHILD_SIGNALED;
		r.code = si.si_status;
	}
	if (s->timed_out)
		r.how = CHILD_TIMEOUT;
	r.ms = loop_clock_ms() - s->started_ms;
	loop_timer_cancel(s->loop, &s->timer);
	loop_del_fd(s->loop, s->pidfd);
	close(s->pidfd);
	if (report)
		s->done(s->arg, &r);
	free(s);
}

static void pidfd_io(struct loop *loop, int fd, unsigned events, void *arg) { finish(arg, true); }

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
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (s->pidfd < 0 || (err = loop_add_fd(loop, s->pidfd, LOOP_READ, pidfd_io, s)) < 0) {
		err = s->pidfd < 0 ? -errno : err;
		kill(-s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		if (s->pidfd >= 0)
			close(s->pidfd);
		free(s);
		return child_fail(done, arg, err);
	}
	loop_timer_init(&s->timer, timeout_fired, s);
	if (timeout_ms) {
		s->deadline_ms = s->started_ms + timeout_ms;
		loop_timer_arm(loop, &s->timer, timeout_ms);
	}
	*out = s;
	return 0;
}

void child_wait(struct child *s)
{
	struct pollfd p = { .fd = s->pidfd, .events = POLLIN };
	uint64_t now = loop_clock_ms();
	int wait_ms = -1;

	if (s->deadline_ms)
		wait_ms = now >= s->deadline_ms ? 0 : (int)(s->deadline_ms - now);
	while (poll(&p, 1, wait_ms) < 0 && errno == EINTR)
		;
	if (!(p.revents & POLLIN))
		kill_group(s);
	finish(s, true);
}

void child_kill(struct child *s)
{
	kill_group(s);
	finish(s, false);
}
