/* daemon.h - the andromeda daemon: one context that owns the event loop
 * and every module, built from a configuration, run until a signal.
 * main_andromeda.c only parses the command line and calls these. */
#ifndef ANDROMEDA_DAEMON_H
#define ANDROMEDA_DAEMON_H

#include <stdbool.h>

struct config;

/* The command line, for a hitless upgrade (upgrade.h). */
struct daemon_opts {
	const char *config_path; /* started again with the same file */
	bool debug;
	int takeover_fd; /* --takeover FD: replace the process at its end; else -1 */
};

/* Run the daemon on a loaded configuration until SIGTERM/SIGINT (or
 * until it has handed the node to its successor and drained).
 * Returns the process exit code (0 after a clean shutdown). */
int daemon_run(struct config *cfg, const struct daemon_opts *opts);

#endif
