/* alog_journal.h - the access log's journal entries (pure): what alog.c
 * hands to sd_journal_sendv for one request, or for several requests
 * under load (docs/observability.md, "Destinations").
 *
 * An entry for several requests carries, for each field people filter
 * on (REQUEST_ID, CLIENT, FRONTEND, SERVER, METHOD, STATUS, TERMINATION),
 * each value its lines have, once: journald keeps a field name several
 * times per entry and journalctl FIELD=value matches any of them, so
 * every such filter that matches a request finds its entry (and the
 * request's line is in MESSAGE).  A field written once per distinct
 * value, not once per line, is what keeps such an entry cheap for
 * journald (it indexes each item).  The numbers (bytes, timers, retries)
 * and the path are in the lines only: as fields of such an entry they
 * would be lists no one can tie to a line, and a new object in journald's
 * index for nearly every request (docs/observability.md). */
#ifndef ANDROMEDA_ALOG_JOURNAL_H
#define ANDROMEDA_ALOG_JOURNAL_H

#include <stddef.h>
#include <sys/uio.h>

#include "alog.h"

/* The fields of a request alone, after MESSAGE, PRIORITY=6,
 * ANDROMEDA_LOG=access; of an entry of several requests. */
#define ALOG_J_FIELDS       13
#define ALOG_J_BATCH_FIELDS 7
/* Lines per entry at most.  journald pays per entry and per item; 256
 * lines fit the message buffer whatever their length. */
#define ALOG_J_BATCH        256
/* Items per entry at most.  sd_journal_sendv sends an entry as one
 * sendmsg, each field as two iovecs (the field, a newline; five for a
 * value with newlines: MESSAGE), and sendmsg takes at most 1,024
 * (UIO_MAXIOV, else EINVAL); journald itself ignores an entry of 1,024
 * fields or more.  An entry stops taking lines before it could pass
 * this (the values cannot hold a newline: the HTTP parser refuses them). */
#define ALOG_J_ITEMS_MAX    480
#define ALOG_J_MSG_MAX      (ALOG_J_BATCH * ALOG_LINE_MAX + 16)

struct alog_jbatch;

/* The writer's scratch space for one entry (about 480 KB). */
struct alog_jbatch *alog_jbatch_new(void);
void alog_jbatch_free(struct alog_jbatch *b);

/* Lines per entry for a pass of the writer that found pending records
 * in all (every thread's): 1 (an entry per request) up to single_max,
 * ALOG_J_BATCH above. */
unsigned alog_j_lines_per_entry(unsigned pending, unsigned single_max);

/* One entry from r[0..n) (n >= 1), at most max lines (1: one request
 * per entry, every field once; more: the ALOG_J_BATCH_FIELDS).  *iov and *cnt: what to send, valid
 * until the next call.  Returns the number of records it took (>= 1). */
unsigned alog_jbatch_build(struct alog_jbatch *b, const struct alog_rec *r, unsigned n,
			   unsigned max, const char *frontend, const struct iovec **iov, int *cnt);

#endif
