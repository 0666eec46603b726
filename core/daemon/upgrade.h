/* upgrade.h - hitless upgrade (SIGUSR2, `andromedactl upgrade`): the
 * running process starts the program file on disk again, hands it its
 * listening sockets and its role, and drains (docs/operations.md
 * "Hitless upgrade").
 *
 *   old process                         new process (--takeover FD)
 *   SIGUSR2 (or a SIGHUP that needs
 *   it): socketpair, fork+exec  --->  config loaded and checked
 *                                <---  "HELLO pid key=K"
 *   release(): control socket, stats,
 *   registry, sync (BYE "restart"),
 *   HA without priority 0 or VIP
 *   removal, journal
 *   "TAKE master=M tls=R"
 *   + listeners                  --->  listeners adopted, ticket ring R
 *                                      (under K, upgrade_ring.h), HA as MASTER
 *   handed(): MAINPID=new, drain        if M (advert at once), serves
 *                                <---  "READY"
 *
 * Before HELLO nothing of the old process has changed: a new process
 * that fails (bad file, exec error, crash) leaves it serving, with the
 * reason logged and shown by `andromedactl upgrade`.  After HELLO the new
 * process owns the node. */
#ifndef ANDROMEDA_UPGRADE_H
#define ANDROMEDA_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct loop;
struct upgrade;

#define UPGRADE_MAX_FDS 250 /* FDPASS_MAX */

struct upgrade_hooks {
	/* The new process is ready to take over: close every socket it will
	 * open again, put the listening sockets (still ours) in fds (room
	 * for max), and say whether this node is MASTER.  Returns how many. */
	unsigned (*release)(void *arg, int *fds, unsigned max, bool *master);
	/* The listeners are sent: stop accepting and drain; pid serves. */
	void (*handed)(void *arg, pid_t pid);
	void *arg;
};

/* How the program was started, to start it again the same way. */
struct upgrade_cmdline {
	const char *config_path; /* as given; made absolute here */
	bool debug;
};

int upgrade_create(struct upgrade **out, struct loop *loop, const struct upgrade_cmdline *cmd,
		   const struct upgrade_hooks *hooks);
void upgrade_destroy(struct upgrade *u);
/* Start the new process.  Returns its pid, or -errno with the reason in
 * why (e.g. an upgrade already running). */
pid_t upgrade_start(struct upgrade *u, char *why, size_t len);

/* The program file this process runs from was replaced or removed (a
 * package upgrade): SIGHUP then starts the new one (daemon_reload.h). */
bool upgrade_program_replaced(void);

enum upgrade_state {
	UPGRADE_IDLE,
	UPGRADE_STARTED,
	UPGRADE_HANDED,
	UPGRADE_FAILED
};
const char *upgrade_state_name(enum upgrade_state s);
/* The state, the new process's pid (0 if none) and, after a failure, why. */
enum upgrade_state upgrade_status(const struct upgrade *u, pid_t *pid, const char **error);

/* ---- the new process ---- */

/* Tell the old process on fd that we take over and receive its listening
 * sockets (kept by fdpass.h for the proxy) and its role.  Blocks (at
 * most a few seconds).  Returns 0 or -errno (logged). */
int upgrade_takeover(int fd, bool *master);
/* We serve: tell the old process and close fd. */
void upgrade_takeover_done(int fd);

#endif
