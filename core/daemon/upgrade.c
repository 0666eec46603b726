/* upgrade.c - hitless upgrade, both sides (see upgrade.h). */
#include "upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fdpass.h"
#include "log.h"
#include "loop.h"
#include "upgrade_ring.h"

#define HELLO_TIMEOUT_MS 30000 /* loading certificates on a Pi takes a while */
#define TAKE_TIMEOUT_MS  5000  /* the old process answers from its loop */
#define HELLO_MAX        256   /* "HELLO pid key=HEX" */
#define TAKE_MAX         (64 + UPGRADE_RING_TEXT_MAX) /* "TAKE master=M tls=HEX" */

struct upgrade {
	struct loop *loop;
	struct upgrade_hooks hooks;
	char config_path[PATH_MAX];
	bool debug;
	enum upgrade_state state;
	pid_t pid; /* the new process */
	int fd;    /* our end of the socketpair, -1 when none */
	char error[256];
	struct loop_timer timer; /* HELLO must come within HELLO_TIMEOUT_MS */
};

const char *upgrade_state_name(enum upgrade_state s)
{
	static const char *const names[] = { "idle", "started", "handed_over", "failed" };

	return s <= UPGRADE_FAILED ? names[s] : "?";
}

static void end_channel(struct upgrade *u)
{
	loop_timer_cancel(u->loop, &u->timer);
	if (u->fd >= 0) {
		loop_del_fd(u->loop, u->fd);
		close(u->fd);
		u->fd = -1;
	}
}

/* The new process failed before it took anything: we go on serving. */
static void failed(struct upgrade *u, const char *why)
{
	int st = 0;
	pid_t r = 0;

	end_channel(u);
	/* Its socket closes a moment before it can be reaped: wait a little. */
	for (int i = 0; i < 100 && (r = waitpid(u->pid, &st, WNOHANG)) == 0; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	if (r == u->pid) {
		if (WIFEXITED(st))
			snprintf(u->error, sizeof(u->error), "%s (exit status %d)", why,
				 WEXITSTATUS(st));
		else
			snprintf(u->error, sizeof(u->error), "%s (killed by signal %d)", why,
				 WTERMSIG(st));
	} else {
		snprintf(u->error, sizeof(u->error), "%s", why);
	}
	u->state = UPGRADE_FAILED;
	log_err("upgrade: new process %ld failed: %s; this process (%ld) goes on serving",
		(long)u->pid, u->error, (long)getpid());
}

static void hello_timeout(struct loop *loop, struct loop_timer *t)
{
	struct upgrade *u = t->arg;

	kill(u->pid, SIGTERM); /* our child, which never said HELLO */
	failed(u, "no answer within 30 s");
}

static void take_over(struct upgrade *u, const char *hello)
{
	int fds[UPGRADE_MAX_FDS];
	bool master = false;
	unsigned n = u->hooks.release(u->hooks.arg, fds, UPGRADE_MAX_FDS, &master);
	char msg[TAKE_MAX];
	int err;

	snprintf(msg, sizeof(msg), "TAKE master=%d", master ? 1 : 0);
	/* The ticket keys: the clients' tickets resume on the new process. */
	upgrade_ring_append(hello, msg, sizeof(msg));
	if ((err = fdpass_send(u->fd, msg, strlen(msg), fds, n)) < 0)
		log_errno(err, "upgrade: cannot send the listeners to process %ld", (long)u->pid);
	else
		log_info("upgrade: %u listening socket(s) and the role (%s) handed to process %ld",
			 n, master ? "MASTER" : "not MASTER", (long)u->pid);
	u->state = UPGRADE_HANDED;
	u->hooks.handed(u->hooks.arg, u->pid);
}

static void channel_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct upgrade *u = arg;
	char msg[HELLO_MAX];
	int fds[FDPASS_MAX];
	unsigned nfds;
	ssize_t n = fdpass_recv(fd, msg, sizeof(msg), fds, &nfds, 0);

	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]); /* nothing is expected this way */
	if (n == -ETIMEDOUT || n == -EAGAIN)
		return;
	if (n <= 0) {
		if (u->state == UPGRADE_STARTED)
			failed(u, "it exited before taking over");
		else /* after the hand-over: it owns the node now */
			end_channel(u);
		if (u->state == UPGRADE_HANDED)
			log_err("upgrade: process %ld closed the channel before it was ready",
				(long)u->pid);
		return;
	}
	if (u->state == UPGRADE_STARTED && !strncmp(msg, "HELLO", 5)) {
		loop_timer_cancel(loop, &u->timer);
		take_over(u, msg);
	} else if (u->state == UPGRADE_HANDED && !strncmp(msg, "READY", 5)) {
		log_info("upgrade: process %ld serves", (long)u->pid);
		end_channel(u);
	}
}

/* The path of the program file: after a package upgrade /proc/self/exe
 * reads "PATH (deleted)"; PATH is the new file, which is what we want. */
static int program_path(char *out, size_t len)
{
	static const char deleted[] = " (deleted)";
	ssize_t n = readlink("/proc/self/exe", out, len - 1);
	size_t dl = sizeof(deleted) - 1;

	if (n < 0)
		return -errno;
	out[n] = '\0';
	if ((size_t)n > dl && !strcmp(out + n - dl, deleted))
		out[n - dl] = '\0';
	return 0;
}

bool upgrade_program_replaced(void)
{
	static const char deleted[] = " (deleted)";
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t dl = sizeof(deleted) - 1;

	if (n <= 0)
		return false;
	exe[n] = '\0';
	return (size_t)n > dl && !strcmp(exe + n - dl, deleted);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void exec_child(int fd, char *const argv[])
{
	sigset_t none;
	int flags = fcntl(fd, F_GETFD);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL); /* signalfd's mask is inherited */
	if (flags >= 0)
		fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
	execv(argv[0], argv);
	_exit(127);
}

static pid_t spawn(struct upgrade *u, int child_fd, char *why, size_t len)
{
	char exe[PATH_MAX], fdtext[16];
	char *argv[8];
	int argc = 0, err;
	pid_t pid;

	if ((err = program_path(exe, sizeof(exe))) < 0) {
		snprintf(why, len, "cannot read /proc/self/exe: %s", strerror(-err));
		return err;
	}
	if (access(exe, X_OK) < 0) {
		err = -errno;
		snprintf(why, len, "%s: %s", exe, strerror(errno));
		return err;
	}
	snprintf(fdtext, sizeof(fdtext), "%d", child_fd);
	argv[argc++] = exe;
	argv[argc++] = (char *)"-c";
	argv[argc++] = u->config_path;
	if (u->debug)
		argv[argc++] = (char *)"-d";
	argv[argc++] = (char *)"--takeover";
	argv[argc++] = fdtext;
	argv[argc] = NULL;
	if ((pid = fork()) < 0) {
		err = -errno;
		snprintf(why, len, "fork: %s", strerror(errno));
		return err;
	}
	if (pid == 0)
		exec_child(child_fd, argv);
	log_info("upgrade: started %s as process %ld", exe, (long)pid);
	return pid;
}

pid_t upgrade_start(struct upgrade *u, char *why, size_t len)
{
	int sv[2], err;
	pid_t pid;

	if (u->state == UPGRADE_STARTED || u->state == UPGRADE_HANDED) {
		snprintf(why, len, "an upgrade is already under way (process %ld)", (long)u->pid);
		return -EBUSY;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(why, len, "socketpair: %s", strerror(errno));
		return -errno;
	}
	pid = spawn(u, sv[1], why, len);
	close(sv[1]);
	if (pid < 0 || (err = loop_add_fd(u->loop, sv[0], LOOP_READ, channel_io, u)) < 0) {
		if (pid > 0) {
			kill(pid, SIGTERM);
			snprintf(why, len, "cannot watch the channel: %s", strerror(-err));
			pid = err;
		}
		close(sv[0]);
		return pid;
	}
	u->fd = sv[0];
	u->pid = pid;
	u->state = UPGRADE_STARTED;
	u->error[0] = '\0';
	loop_timer_arm(u->loop, &u->timer, HELLO_TIMEOUT_MS);
	return pid;
}

enum upgrade_state upgrade_status(const struct upgrade *u, pid_t *pid, const char **error)
{
	*pid = u->pid;
	*error = u->state == UPGRADE_FAILED ? u->error : NULL;
	return u->state;
}

int upgrade_create(struct upgrade **out, struct loop *loop, const struct upgrade_cmdline *cmd,
		   const struct upgrade_hooks *hooks)
{
	struct upgrade *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	u->loop = loop;
	u->hooks = *hooks;
	u->debug = cmd->debug;
	u->fd = -1;
	/* The daemon does not chdir, but the file must be found again by
	 * path: absolute, resolved now. */
	if (!realpath(cmd->config_path, u->config_path))
		snprintf(u->config_path, sizeof(u->config_path), "%s", cmd->config_path);
	loop_timer_init(&u->timer, hello_timeout, u);
	*out = u;
	return 0;
}

void upgrade_destroy(struct upgrade *u)
{
	if (!u)
		return;
	end_channel(u);
	free(u);
}

/* ---- the new process ---- */

/* "TAKE master=M", then optional " name=value" fields (upgrade_ring.h). */
static int parse_take(const char *msg, bool *master)
{
	static const char take[] = "TAKE master=";
	size_t n = sizeof(take) - 1;

	if (strncmp(msg, take, n) || (msg[n] != '0' && msg[n] != '1') ||
	    (msg[n + 1] && msg[n + 1] != ' '))
		return -EPROTO;
	*master = msg[n] == '1';
	return 0;
}

int upgrade_takeover(int fd, bool *master)
{
	char msg[TAKE_MAX], key_text[2 * UPGRADE_RING_KEY_LEN + 8] = "";
	uint8_t key[UPGRADE_RING_KEY_LEN];
	int fds[FDPASS_MAX];
	unsigned nfds;
	ssize_t n;
	int err;

	/* No transfer key (no randomness): the ring is not asked for. */
	if (upgrade_ring_key(key, key_text, sizeof(key_text)) < 0)
		key_text[0] = '\0';
	snprintf(msg, sizeof(msg), "HELLO %ld%s", (long)getpid(), key_text);
	if ((err = fdpass_send(fd, msg, strlen(msg), NULL, 0)) < 0) {
		log_errno(err, "upgrade: cannot reach the previous process");
		return err;
	}
	n = fdpass_recv(fd, msg, sizeof(msg), fds, &nfds, TAKE_TIMEOUT_MS);
	if (n <= 0 || parse_take(msg, master) < 0) {
		err = n < 0 ? (int)n : -EPROTO;
		log_errno(err, "upgrade: no listeners from the previous process");
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return err;
	}
	fdpass_inherit(fds, nfds);
	if (key_text[0])
		upgrade_ring_take(msg, key);
	log_info("upgrade: took %u listening socket(s) over; the node was %s", nfds,
		 *master ? "MASTER" : "not MASTER");
	return 0;
}

void upgrade_takeover_done(int fd)
{
	static const char ready[] = "READY";
	int err = fdpass_send(fd, ready, sizeof(ready) - 1, NULL, 0);

	/* EPIPE: it had nothing left to drain and has exited already. */
	if (err < 0 && err != -EPIPE)
		log_errno(err, "upgrade: cannot tell the previous process we serve");
	close(fd);
}
