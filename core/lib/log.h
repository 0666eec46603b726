/* log.h - one line per event, to stderr (journald adds the time under
 * systemd) with a level prefix.
 *
 *   log_warn()  appends ": <strerror(errno)>" - use right after a failed call
 *   log_warnx() does not
 *   log_errno() takes the error explicitly (our -errno convention)
 *
 * struct log_limit rate-limits a message by cause: a peer or client that
 * misbehaves is logged once per cause per interval and counted always. */
#ifndef ANDROMEDA_LOG_H
#define ANDROMEDA_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

void log_set_level(enum log_level lvl);
void log_set_ident(const char *ident);
/* Prefix each line with the wall-clock time (off under systemd). */
void log_set_timestamps(int on);
/* Whether stderr is the journald stream systemd gave us (JOURNAL_STREAM
 * names stderr's device and inode). */
bool log_stderr_is_journal(void);
/* Prefix every line with its priority, "<3>" for an error (sd-daemon.h),
 * which journald reads as the line's priority; also turns the timestamps
 * off.  main() calls log_use_journal(log_stderr_is_journal()). */
void log_use_journal(bool on);
/* The syslog priority of a level: 3 (err), 4 (warning), 6 (info), 7 (debug). */
int log_level_priority(enum log_level lvl);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* err is a negative errno, as returned by our modules. */
void log_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rate limiter state for one cause: true when the caller should log now.
 * At most one message per interval_ms; the number suppressed is returned
 * through *suppressed so the next line can say "(N more)". */
struct log_limit {
	uint64_t last_ms;
	uint64_t suppressed;
};
int log_limit_ok(struct log_limit *l, uint64_t now_ms, uint64_t interval_ms, uint64_t *suppressed);

/* The intervals.  LONG: causes the outside keeps repeating for as long as
 * it lasts (a peer's or client's bad messages, a failing disk or link):
 * one line a minute says it is still going on.  SHORT: conditions worth
 * seeing change sooner (a send failing, a listener paused, the control
 * socket full, kernel events lost). */
#define LOG_LIMIT_LONG_MS  60000
#define LOG_LIMIT_SHORT_MS 10000

#endif
