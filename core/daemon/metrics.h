/* metrics.h - a writer of the Prometheus text exposition format 0.0.4:
 * one HELP and one TYPE line per family, then its samples, each
 * `name{label="value",...} value`, and a final newline.  Pure (no I/O);
 * what the unit tests drive and stats_metrics.c feeds.
 *
 * Speed: a scrape of 1,000 servers writes some 40,000 lines on the main
 * loop, so numbers are formatted by hand and label sets are escaped once
 * per server (metrics_label) and reused for each of its samples. */
#ifndef ANDROMEDA_METRICS_H
#define ANDROMEDA_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A growing text buffer.  An allocation failure sets oom and turns every
 * later write into a no-op, so callers check once at the end. */
struct mtext {
	char *buf;
	size_t len, cap;
	bool oom;
};

/* Start empty (no allocation yet); free with mtext_free. */
void mtext_init(struct mtext *m);
/* Start empty in buf (cap bytes, malloc'd, handed over; NULL: none). */
void mtext_init_buf(struct mtext *m, char *buf, size_t cap);
/* Room for n more bytes (false: out of memory, m->oom set). */
bool mtext_reserve(struct mtext *m, size_t n);
void mtext_free(struct mtext *m);
void mtext_append_slow(struct mtext *m, const char *s, size_t n);
/* The fast path inline: a scrape appends some 150,000 pieces. */
static inline void mtext_append(struct mtext *m, const char *s, size_t n)
{
	if (m->len + n + 1 > m->cap) {
		mtext_append_slow(m, s, n);
		return;
	}
	memcpy(m->buf + m->len, s, n);
	m->len += n;
	m->buf[m->len] = '\0';
}
/* The text so far, NUL-terminated ("" when empty or out of memory). */
const char *mtext_str(struct mtext *m);

/* The family's "# HELP name help" and "# TYPE name type" lines.  type:
 * "counter", "gauge", "histogram".  help must not contain a newline or
 * a backslash (it is a literal in our code). */
void metrics_family(struct mtext *m, const char *name, const char *type, const char *help);

/* One sample: `name` `suffix` (e.g. "_bucket", or NULL), `{labels}` when
 * labels is neither NULL nor empty (already escaped: metrics_label), a
 * space, the value, "\n". */
void metrics_u64(struct mtext *m, const char *name, const char *suffix, const char *labels,
		 uint64_t v);
/* The same with one more label, key="value", after labels: value is
 * written as it is, so it must be one of our literals ("2xx", "up",
 * "0.5"), never a name from outside (those go through metrics_label). */
void metrics_u64x(struct mtext *m, const char *name, const char *suffix, const char *labels,
		  const char *key, const char *value, uint64_t v);
void metrics_i64(struct mtext *m, const char *name, const char *suffix, const char *labels,
		 int64_t v);
/* A value in milliseconds written in seconds ("1.234"): times are in
 * seconds in Prometheus. */
void metrics_ms(struct mtext *m, const char *name, const char *suffix, const char *labels,
		uint64_t ms);

/* The same for microseconds ("0.001234"). */
void metrics_us(struct mtext *m, const char *name, const char *suffix, const char *labels,
		uint64_t us);

/* Append `key="value"` to the label set in dst (NUL-terminated, cap
 * bytes), with a comma before it unless dst is empty.  The value is
 * escaped as the format says: backslash, double quote and newline become
 * \\, \" and \n.  Returns 0, or -ENOSPC (dst unchanged) when it does not
 * fit. */
int metrics_label(char *dst, size_t cap, const char *key, const char *value);

static inline void mtext_puts(struct mtext *m, const char *s) { mtext_append(m, s, strlen(s)); }

#endif
