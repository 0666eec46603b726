/* daemon_reload.h - SIGHUP: read the configuration again and apply what
 * can change without dropping a connection (docs/configuration.md lists
 * which keys need a restart instead).  An invalid file changes nothing. */
#ifndef ANDROMEDA_DAEMON_RELOAD_H
#define ANDROMEDA_DAEMON_RELOAD_H

struct config;
struct pool;

/* Load live->path again; on success copy the reloadable keys into *live
 * and bring the static servers of pool in line (added, removed, weight
 * or address changed).  Returns 0 or -1 (logged with file:line). */
int daemon_reload(struct config *live, struct pool *pool);

#endif
