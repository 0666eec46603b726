/* alog.h - the access log ([frontend] access_log): one line per request
 * (mode http) or connection (mode tcp), docs/observability.md.
 *
 * Proxy threads never write: each copies its record (struct alog_rec,
 * packed: the strings' used bytes only) into a buffer of its own
 * (alog_push: a mutex only this thread and the writer take, no system
 * call), and one writer thread
 * swaps the buffers out, formats the lines and writes them (file, stderr)
 * or sends them to journald (sd_journal_send; under load several lines
 * per entry, alog_journal.h).  A slow or stuck
 * destination (NFS, a full SD card, journald busy) therefore only stalls
 * the writer: a thread whose buffer is full drops its records and counts
 * them (alog_stats), and memory stays ALOG_SLOT_RECS records per thread
 * times two.  Lines never interleave: one thread writes, whole lines.
 *
 * The file is opened (O_APPEND, created 0640) by the writer thread, after
 * privileges are dropped: at start and again at every alog_reopen (SIGHUP,
 * after logrotate moved it), always as the daemon's user.
 *
 * [frontend] access_log = off (the default) creates nothing: px->alog is
 * NULL and a request pays one branch. */
#ifndef ANDROMEDA_ALOG_H
#define ANDROMEDA_ALOG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define ALOG_PATH_MAX  128  /* request target bytes kept (longer ones end in "...") */
#define ALOG_SLOT_RECS 2048 /* records a thread buffers between two writer passes */
#define ALOG_FLUSH_MS  50   /* the writer's pass interval */
#define ALOG_LINE_MAX  1024

enum alog_dest {
	ALOG_OFF,
	ALOG_JOURNAL,
	ALOG_STDERR,
	ALOG_FILE
};

/* One request (or tcp connection) as logged.  Times in ms, -1 = the
 * phase was not reached. */
struct alog_rec {
	uint64_t start_ms; /* wall clock (unix ms) when its first byte arrived */
	char client[INET6_ADDRSTRLEN + 8];
	char id[68];               /* request id (X-Request-Id) */
	char server[CFG_NAME_MAX]; /* last server chosen, "" = none */
	char method[16];           /* "" in mode tcp */
	char path[ALOG_PATH_MAX];  /* request target as received, cut */
	bool path_cut;
	bool tcp;
	unsigned status; /* sent to the client; 0 = none (tcp, or closed before) */
	uint64_t bytes_in, bytes_out;
	int32_t queue_ms, connect_ms, first_byte_ms, total_ms;
	unsigned retries, redispatches;
	char term[3]; /* termination state, docs/observability.md */
};

/* The destination a [frontend] access_log value names: "off", "journal",
 * "stderr" or an absolute path.  Returns -1 for anything else. */
int alog_dest_parse(const char *value);

/* The line for r (no newline), frontend: the listener's address.  Pure:
 * what the unit tests check.  Returns its length (< cap, cut if needed). */
size_t alog_format(const struct alog_rec *r, const char *frontend, char *out, size_t cap);

/* Escape for the line: bytes outside 0x21..0x7e, '"' and '\\' become %XX.
 * Returns the length written (< cap). */
size_t alog_escape(const char *in, size_t len, char *out, size_t cap);

struct alog;

/* Start the writer for cfg->frontend.access_log with nthreads proxy
 * threads: opens the file (as the current user: call after dropping
 * privileges).  *out = NULL for "off".  Returns 0 or -errno (logged). */
int alog_open(struct alog **out, const struct config *cfg, unsigned nthreads);
/* Flush what is buffered, stop the writer, close.  NULL is a no-op. */
void alog_close(struct alog *a);
/* Reopen the file at its path on the writer's next pass (SIGHUP).  A
 * failed reopen keeps the old descriptor and says so in the log. */
void alog_reopen(struct alog *a);
/* Proxy thread tid (< nthreads): queue one record.  Never blocks on I/O. */
void alog_push(struct alog *a, unsigned tid, const struct alog_rec *r);

struct alog_stats {
	uint64_t lines;   /* written or sent */
	uint64_t dropped; /* a thread's buffer was full, or the write failed */
	uint64_t reopens;
};
void alog_get_stats(struct alog *a, struct alog_stats *out);

#endif
