/* child.h - run a program beside the event loop, never blocking it: the
 * notify script and the track scripts (docs/vrrp.md, "Hooks").
 *
 * The child is started with posix_spawn(3) in a process group of its own,
 * with the signal mask and dispositions reset (the daemon blocks the
 * signals it reads from a signalfd and ignores SIGPIPE: a script must not
 * inherit either), stdin from /dev/null, stdout and stderr inherited (so
 * under systemd its output lands in the unit's journal), every other
 * descriptor closed.  A pidfd on the loop (Linux 5.3) says when it ends;
 * without one (an older kernel, valgrind) it is looked for every 10 ms.
 * It is reaped by its pid: no SIGCHLD handler, no waitpid(-1) that could
 * steal another module's child.  At the timeout the whole process group
 * gets SIGKILL (a shell script's own children too), then the child is
 * reaped as usual. */
#ifndef ANDROMEDA_CHILD_H
#define ANDROMEDA_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct child;

enum child_how {
	CHILD_EXITED,   /* code = exit status */
	CHILD_SIGNALED, /* code = the signal that ended it */
	CHILD_TIMEOUT,  /* killed at the timeout (code = SIGKILL) */
	CHILD_ERROR,    /* never ran: code = -errno (posix_spawn, pidfd) */
};

struct child_result {
	enum child_how how;
	int code;
	uint64_t ms; /* how long it ran */
};

/* true for an exit with status 0. */
static inline bool child_ok(const struct child_result *r)
{
	return r->how == CHILD_EXITED && r->code == 0;
}

/* "exit status 3", "killed by signal 9", "timed out after 10000 ms",
 * "could not start: No such file or directory" into buf. */
const char *child_result_str(const struct child_result *r, char *buf, size_t size);

/* done runs once, from the loop, after the child was reaped (or at once
 * from child_start() when it could not start: then *out is NULL and the
 * return value is the -errno).  The struct child is freed after done
 * returns.  argv[0] is the program's path (no PATH search); envp is the
 * complete environment.  Both are copied by posix_spawn before it
 * returns.  timeout_ms 0 = none.  Returns 0 or -errno. */
typedef void (*child_done_fn)(void *arg, const struct child_result *r);
int child_start(struct loop *loop, char *const argv[], char *const envp[], uint32_t timeout_ms,
		child_done_fn done, void *arg, struct child **out);

/* Wait (blocking) for the child to end, at most until its timeout, then
 * kill its group; reap it and call done.  For the daemon's exit, when
 * the loop no longer runs (a STOP notify must finish before systemd
 * kills what is left in the unit's cgroup). */
void child_wait(struct child *s);

/* Kill the child's process group, reap it (blocking: SIGKILL is quick)
 * and free, without calling done. */
void child_kill(struct child *s);

#endif
