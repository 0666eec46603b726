/* daemon_journal.h - the daemon's use of the journal (ha/journal.h, the
 * seed's bitacora): every pool change and role change is appended; at
 * start-up the registered servers are rebuilt from it before the node
 * advertises; `andromedactl journal` reads it (ctl_journal.c). */
#ifndef ANDROMEDA_DAEMON_JOURNAL_H
#define ANDROMEDA_DAEMON_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "journal.h"

struct loop;
struct config;
struct pool;
struct djournal;

/* Open the journal in cfg->node.state_dir, rebuild the registered servers
 * (and drain flags) into pool, then follow the pool.  0 or -errno. */
int djournal_open(struct djournal **out, struct loop *loop, const struct config *cfg,
		  struct pool *pool);
void djournal_close(struct djournal *dj);
/* Append an event that is not a pool change (role, VIP, snapshot). */
void djournal_note(struct djournal *dj, enum journal_type type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The records with seq > since, oldest first, the newest max of them in
 * out[0..*n-1] (journal_read(); `andromedactl journal`, which
 * ctl_journal.c renders).  Returns 0 or -errno. */
int djournal_read(struct djournal *dj, uint64_t since, struct journal_rec *out, size_t max,
		  size_t *n);

#endif
