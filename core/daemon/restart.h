/* restart.h - `systemctl restart andromeda` on the active node without a
 * failover (docs/operations.md "systemctl restart").
 *
 *   systemd (restart job)        old process              new process
 *   ExecStop=andromeda --stop
 *     JobType is "restart"  -->  "stop restart" (control socket):
 *                                marker in state_dir, sync BYE "restart"
 *                                (the peers hold their Master_Down
 *                                timer), no priority 0, VIP kept; stops
 *                                accepting, finishes requests in flight;
 *                                FDSTORE=1: listeners, idle plain
 *                                keep-alive clients, the role; exits
 *   ExecStopPost=andromeda --release: the marker is there: VIP kept
 *                                (marker consumed)
 *   ExecStartPre, ExecStart  ------------------------->  LISTEN_FDS: the
 *                                                        listeners, the role
 *                                                        (MASTER: advert at
 *                                                        once), the clients;
 *                                                        FDSTOREREMOVE=1
 *
 * A start that fails after that (ExecStartPre, or the daemon exits) runs
 * ExecStopPost again: the marker is gone, the VIP is removed.  A plain
 * stop (JobType "stop", or no systemd) is what it always was. */
#ifndef ANDROMEDA_RESTART_H
#define ANDROMEDA_RESTART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct control;

/* The names of the descriptors in systemd's store. */
#define RESTART_FD_LISTEN "listen"
#define RESTART_FD_CLIENT "client"
#define RESTART_FD_STATE  "state"

/* ---- the stop side: andromeda --stop (ExecStop=) ---- */

/* Whether a job of this type (org.freedesktop.systemd1.Job.JobType)
 * stops the unit to start it again.  Pure. */
bool restart_job_is_restart(const char *job_type);
/* The type of the job our unit runs now, asked over D-Bus ("" when none).
 * Only works under systemd.  Returns 0 or -errno (why in err). */
int restart_job_type(char *out, size_t len, char *err, size_t errlen);
/* ExecStop: with a restart job (job_type given, or asked), tell the
 * daemon on control_socket that a restart follows and wait (at most
 * timeout_ms) until MAINPID has exited; otherwise do nothing (systemd's
 * SIGTERM follows: a plain stop).  Returns main()'s exit code. */
int restart_stop_main(const char *control_socket, const char *job_type, unsigned timeout_ms);

/* ---- the VIP across the gap ---- */

/* Leave the marker that tells the next `andromeda --release` to keep the
 * VIP.  Returns 0 or -errno. */
int restart_mark(const char *state_dir);
/* --release: a marker younger than a minute was there (now removed). */
bool restart_mark_take(const char *state_dir);

/* ---- the old process ---- */

/* A descriptor that carries the role to the next process (a pipe's read
 * end, its bytes in the pipe buffer).  Returns it or -errno. */
int restart_state_fd(bool master);
/* The "stop restart" command: begin(arg, why, len) starts the restart
 * (0) or says why not (-errno). */
int ctl_restart_register(struct control *c, int (*begin)(void *arg, char *why, size_t len),
			 void *arg);

/* ---- the new process ---- */

struct restart_inherited {
	bool restarted;   /* the state descriptor was there: a restart */
	bool master;      /* the previous process was MASTER */
	uint64_t age_ms;  /* since it stored the role */
	unsigned nlisten; /* listening sockets, now in fdpass.h's table */
	int *clients;     /* its idle keep-alive clients (malloc'd) */
	unsigned nclients;
	bool store_cleared; /* restart_inherit_done() ran */
};
/* Read what systemd passed (LISTEN_FDS): listeners to fdpass_inherit(),
 * clients and role into ri.  Returns 0 or -errno. */
int restart_inherit(struct restart_inherited *ri);
/* Everything adopted: drop the store's copies (FDSTOREREMOVE=1). */
void restart_inherit_done(struct restart_inherited *ri);

#endif
