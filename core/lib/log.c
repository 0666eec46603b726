/* log.c - stderr logging with levels and a per-cause rate limiter. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static enum log_level log_level = LOG_LVL_INFO;
static const char *log_ident = "andromeda";
static int log_timestamps = 1;
static int log_journal_prefix;

void log_set_level(enum log_level lvl) { log_level = lvl; }
void log_set_ident(const char *ident) { log_ident = ident; }
void log_set_timestamps(int on) { log_timestamps = on; }

/* systemd sets JOURNAL_STREAM to "DEV:INO" of the stream it connected to
 * stdout/stderr (systemd.exec(5)); stderr is journald only when it is
 * still that very file (a shell redirection inherits the variable). */
bool log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (!env || fstat(2, &st) < 0)
		return false;
	dev = strtoull(env, &end, 10);
	if (end == env || *end != ':')
		return false;
	env = end + 1;
	ino = strtoull(env, &end, 10);
	if (end == env || *end)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_use_journal(bool on)
{
	log_journal_prefix = on;
	if (on)
		log_timestamps = 0; /* journald stamps each line itself */
}

/* The syslog priority of each level (sd-daemon.h SD_ERR .. SD_DEBUG). */
int log_level_priority(enum log_level lvl)
{
	static const int prio[] = { 3, 4, 6, 7 };

	return prio[lvl];
}

static void log_vline(enum log_level lvl, int err, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char msg[1024];
	char stamp[32] = "";
	char prio[8] = "";

	if (lvl > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_timestamps) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		snprintf(stamp, sizeof(stamp), "%02d:%02d:%02d.%03ld ", tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000);
	}
	/* "<3>" first: journald takes it as the line's priority, so that
	 * journalctl -p err shows the errors and nothing else. */
	if (log_journal_prefix)
		snprintf(prio, sizeof(prio), "<%d>", log_level_priority(lvl));
	if (err)
		fprintf(stderr, "%s%s%s: %s: %s: %s\n", prio, stamp, log_ident, names[lvl], msg,
			strerror(err));
	else
		fprintf(stderr, "%s%s%s: %s: %s\n", prio, stamp, log_ident, names[lvl], msg);
}

#define LOG_BODY(lvl, err)                    \
	do {                                  \
		va_list ap;                   \
		va_start(ap, fmt);            \
		log_vline(lvl, err, fmt, ap); \
		va_end(ap);                   \
	} while (0)

void log_err(const char *fmt, ...) { LOG_BODY(LOG_LVL_ERR, 0); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LVL_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LVL_DEBUG, 0); }

void log_warn(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_LVL_WARN, saved);
	errno = saved;
}

void log_errno(int err, const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, err < 0 ? -err : err); }

int log_limit_ok(struct log_limit *l, uint64_t now_ms, uint64_t interval_ms, uint64_t *suppressed)
{
	if (l->last_ms && now_ms - l->last_ms < interval_ms) {
		l->suppressed++;
		return 0;
	}
	if (suppressed)
		*suppressed = l->suppressed;
	l->suppressed = 0;
	l->last_ms = now_ms ? now_ms : 1;
	return 1;
}
