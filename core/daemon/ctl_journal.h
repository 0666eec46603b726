/* ctl_journal.h - the control command over the journal:
 *
 *   journal [--since SEQ]   the records with a sequence number above SEQ
 *                           (all by default), oldest first, at most the
 *                           newest 1000: objects seq, time_ms, event, then
 *                           server and address for a server record, and
 *                           detail when there is one. */
#ifndef ANDROMEDA_CTL_JOURNAL_H
#define ANDROMEDA_CTL_JOURNAL_H

struct control;
struct djournal;

/* Register "journal" on c for dj (which must outlive c).  0 or -errno
 * from control_register(). */
int ctl_journal_register(struct control *c, struct djournal *dj);

#endif
