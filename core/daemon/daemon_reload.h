/* daemon_reload.h - SIGHUP: read the configuration again and apply it
 * without dropping a connection.  Keys the modules read on every use
 * apply in place; keys read once at start-up (listeners, threads, [ha],
 * ...) are applied by a new process through the hitless upgrade path
 * (upgrade.h), which reads them all.  An invalid file changes nothing.
 * docs/configuration.md "Reloading". */
#ifndef ANDROMEDA_DAEMON_RELOAD_H
#define ANDROMEDA_DAEMON_RELOAD_H

#include <stdbool.h>

struct config;
struct pool;

enum reload_result {
	RELOAD_FAILED = -1,     /* invalid file (logged with file:line): nothing changed */
	RELOAD_APPLIED = 0,     /* applied in place */
	RELOAD_NEW_PROCESS = 1, /* valid, nothing applied: start a new process */
};

/* Load live->path again.  If a start-up key changed, or new_process
 * (the program file was replaced), return RELOAD_NEW_PROCESS with
 * nothing applied; else copy the reloadable keys into *live and bring
 * the static servers of pool in line (added, removed, weight or address
 * changed).  The proxy threads must be parked. */
enum reload_result daemon_reload(struct config *live, struct pool *pool, bool new_process);

/* RELOAD_NEW_PROCESS: refuse now, with the reason in our log, what would
 * make the new process fail (the file again, the certificates, which
 * take a while to load: not while the proxy threads are parked).
 * 0, or -1 (logged). */
int daemon_reload_precheck(const struct config *live);

/* Before a new process takes the node over (the upgrade's release): take
 * off the interface the VIPs of live that the file on disk no longer
 * has (all of them if [ha] interface changed), since the new process
 * adopts the VIPs still on the interface and knows only its own. */
void daemon_reload_drop_vips(const struct config *live);

#endif
