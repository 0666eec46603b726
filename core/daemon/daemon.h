/* daemon.h - the andromeda daemon: one context that owns the event loop
 * and every module, built from a configuration, run until a signal.
 * main_andromeda.c only parses the command line and calls these. */
#ifndef ANDROMEDA_DAEMON_H
#define ANDROMEDA_DAEMON_H

struct config;

/* Run the daemon on a loaded configuration until SIGTERM/SIGINT.
 * Returns the process exit code (0 after a clean shutdown). */
int daemon_run(struct config *cfg);

#endif
