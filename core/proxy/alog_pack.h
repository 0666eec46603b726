/* alog_pack.h - an access-log record as a proxy thread queues it
 * (pure): the numbers, then only the used bytes of its strings.
 *
 * A struct alog_rec is 392 bytes, most of it room its strings do not
 * use; the bench's request packs into 104.  Copying whole records, a
 * proxy thread wrote 400 KB between two passes of the writer under load,
 * more than a Pi's 1 MB shared L2 cache keeps beside the proxy's own
 * data: about six cache misses a request (tests/bench/alog_push.sh,
 * docs/observability.md "The journal's cost"). */
#ifndef ANDROMEDA_ALOG_PACK_H
#define ANDROMEDA_ALOG_PACK_H

#include <stddef.h>

#include "alog.h"

/* A packed record's size at most (8-byte aligned, as each record is). */
#define ALOG_PACK_MAX 400
/* A thread's buffer: ALOG_SLOT_RECS records always fit. */
#define ALOG_PACK_BUF (ALOG_SLOT_RECS * ALOG_PACK_MAX)

/* r packed at out (8-byte aligned, ALOG_PACK_MAX bytes free); returns
 * its size, a multiple of 8. */
size_t alog_pack(unsigned char *out, const struct alog_rec *r);
/* The packed record at in into *r (its strings NUL-terminated: what
 * alog_format and the journal read); returns the next record. */
const unsigned char *alog_unpack(const unsigned char *in, struct alog_rec *r);

#endif
