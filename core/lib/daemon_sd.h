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

/* Started as root outside systemd with [node] user set: switch to that
 * user, keeping CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE only.
 * Returns 0 (also when nothing was to be done) or -errno (logged). */
int privdrop(const char *user);

#endif
