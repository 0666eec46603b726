/* log.c - stderr logging with levels and a per-cause rate limiter. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level log_level = LOG_LVL_INFO;
static const char *log_ident = "andromeda";
static int log_timestamps = 1;

void log_set_level(enum log_level lvl) { log_level = lvl; }
void log_set_ident(const char *ident) { log_ident = ident; }
void log_set_timestamps(int on) { log_timestamps = on; }

static void log_vline(enum log_level lvl, int err, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char msg[1024];
	char stamp[32] = "";

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
	if (err)
		fprintf(stderr, "%s%s: %s: %s: %s\n", stamp, log_ident, names[lvl], msg,
			strerror(err));
	else
		fprintf(stderr, "%s%s: %s: %s\n", stamp, log_ident, names[lvl], msg);
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
