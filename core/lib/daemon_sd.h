/* daemon_sd.h - the daemon (and the agent) and their supervisor: systemd
 * notification (READY=1, STATUS=, WATCHDOG=1 from the event loop,
 * STOPPING=1) through libsystemd's sd_notify, the one file that uses it,
 * and dropping root when started outside systemd.  Without NOTIFY_SOCKET
 * every notification is a no-op.  In core/lib: both programs link it. */
#ifndef ANDROMEDA_DAEMON_SD_H
#define ANDROMEDA_DAEMON_SD_H

#include <stdbool.h>
#include <sys/types.h>

struct loop;
struct sdnotify;

/* Arms the watchdog timer (WATCHDOG=1 every WATCHDOG_USEC / 2) if systemd
 * asked for one.  Returns NULL only on allocation failure. */
struct sdnotify *sdnotify_open(struct loop *loop);
void sdnotify_close(struct sdnotify *sd);
/* READY=1 the first time; STATUS= every time. */
void sdnotify_ready(struct sdnotify *sd, const char *status);
void sdnotify_status(struct sdnotify *sd, const char *status);
void sdnotify_stopping(struct sdnotify *sd);
void sdnotify_reloading(struct sdnotify *sd, bool done);
/* Hitless upgrade: pid (our child) is the service's main process now. */
void sdnotify_mainpid(struct sdnotify *sd, pid_t pid);

/* The file descriptor store (`systemctl restart`, docs/operations.md):
 * n descriptors under name (FDSTORE=1, FDNAME=; the unit needs
 * FileDescriptorStoreMax=).  poll: systemd drops one that reports
 * POLLHUP or POLLERR (else FDPOLL=0, systemd 246 or later).  Returns 0
 * or -errno (-ENOTCONN: no NOTIFY_SOCKET). */
#define SDSTORE_NAME_MAX 255
int sdstore_put(const char *name, const int *fds, unsigned n, bool poll);
/* Wait (at most 5 s) until systemd has read what we sent: call before
 * exiting.  Returns 0 or -errno. */
int sdstore_sync(void);
/* Drop every stored descriptor named name (FDSTOREREMOVE=1). */
void sdstore_remove(const char *name);
/* What systemd passed us (LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID; unset
 * after): n descriptors from 3 in *fds and their names in *names (both
 * malloc'd, names NULL-terminated, strv of libsystemd).  Returns n, 0
 * when nothing was passed, or -errno. */
int sdstore_received(int **fds, char ***names);

/* Started as root outside systemd with [node] user set: switch to that
 * user, keeping CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE only.
 * Returns 0 (also when nothing was to be done) or -errno (logged). */
int privdrop(const char *user);

#endif
