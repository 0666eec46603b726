/* metrics.c - the Prometheus text format writer (metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <stdlib.h>

void mtext_init(struct mtext *m) { *m = (struct mtext){ 0 }; }

void mtext_init_buf(struct mtext *m, char *buf, size_t cap)
{
	*m = (struct mtext){ .buf = buf, .cap = buf ? cap : 0 };
	if (m->cap)
		m->buf[0] = '\0';
}

void mtext_free(struct mtext *m)
{
	free(m->buf);
	mtext_init(m);
}

/* Room for n more bytes and a NUL; doubles, so a scrape reallocates a
 * dozen times, not per line. */
bool mtext_reserve(struct mtext *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 4096;
	char *p;

	if (m->oom)
		return false;
	if (m->len + n + 1 <= m->cap)
		return true;
	while (cap < m->len + n + 1)
		cap *= 2;
	if (!(p = realloc(m->buf, cap))) {
		m->oom = true;
		return false;
	}
	m->buf = p;
	m->cap = cap;
	return true;
}

void mtext_append_slow(struct mtext *m, const char *s, size_t n)
{
	if (!mtext_reserve(m, n))
		return;
	memcpy(m->buf + m->len, s, n);
	m->len += n;
	m->buf[m->len] = '\0';
}

const char *mtext_str(struct mtext *m) { return m->buf && !m->oom ? m->buf : ""; }

void metrics_family(struct mtext *m, const char *name, const char *type, const char *help)
{
	mtext_puts(m, "# HELP ");
	mtext_puts(m, name);
	mtext_puts(m, " ");
	mtext_puts(m, help);
	mtext_puts(m, "\n# TYPE ");
	mtext_puts(m, name);
	mtext_puts(m, " ");
	mtext_puts(m, type);
	mtext_puts(m, "\n");
}

/* Decimal digits of v, right-aligned in the 20-byte tail of out;
 * returns where they start. */
static char *u64_digits(uint64_t v, char out[21])
{
	char *p = out + 20;

	*p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	return p;
}

/* name suffix{labels,key="value"} and the space before the value. */
static void name_labels_x(struct mtext *m, const char *name, const char *suffix,
			  const char *labels, const char *key, const char *value)
{
	bool has = labels && *labels;

	mtext_puts(m, name);
	if (suffix)
		mtext_puts(m, suffix);
	if (has || key) {
		mtext_puts(m, "{");
		if (has)
			mtext_puts(m, labels);
		if (key) {
			if (has)
				mtext_puts(m, ",");
			mtext_puts(m, key);
			mtext_puts(m, "=\"");
			mtext_puts(m, value);
			mtext_puts(m, "\"");
		}
		mtext_puts(m, "}");
	}
	mtext_puts(m, " ");
}

static void name_labels(struct mtext *m, const char *name, const char *suffix, const char *labels)
{
	name_labels_x(m, name, suffix, labels, NULL, NULL);
}

void metrics_u64x(struct mtext *m, const char *name, const char *suffix, const char *labels,
		  const char *key, const char *value, uint64_t v)
{
	char d[21];

	name_labels_x(m, name, suffix, labels, key, value);
	mtext_puts(m, u64_digits(v, d));
	mtext_puts(m, "\n");
}

void metrics_u64(struct mtext *m, const char *name, const char *suffix, const char *labels,
		 uint64_t v)
{
	char d[21];

	name_labels(m, name, suffix, labels);
	mtext_puts(m, u64_digits(v, d));
	mtext_puts(m, "\n");
}

void metrics_i64(struct mtext *m, const char *name, const char *suffix, const char *labels,
		 int64_t v)
{
	char d[21];

	name_labels(m, name, suffix, labels);
	if (v < 0)
		mtext_puts(m, "-");
	mtext_puts(m, u64_digits(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, d));
	mtext_puts(m, "\n");
}

/* v / 10^digits in decimal, without trailing zeros: "1.234", "2". */
static void fixed(struct mtext *m, uint64_t v, int digits)
{
	uint64_t div = 1;
	char d[21], frac[8];
	int n = digits;

	for (int i = 0; i < digits; i++)
		div *= 10;
	mtext_puts(m, u64_digits(v / div, d));
	v %= div;
	while (n > 0 && v % 10 == 0) {
		v /= 10;
		n--;
	}
	if (!n)
		return;
	frac[n] = '\0';
	for (int i = n - 1; i >= 0; i--, v /= 10)
		frac[i] = (char)('0' + v % 10);
	mtext_puts(m, ".");
	mtext_puts(m, frac);
}

void metrics_ms(struct mtext *m, const char *name, const char *suffix, const char *labels,
		uint64_t ms)
{
	name_labels(m, name, suffix, labels);
	fixed(m, ms, 3);
	mtext_puts(m, "\n");
}

void metrics_us(struct mtext *m, const char *name, const char *suffix, const char *labels,
		uint64_t us)
{
	name_labels(m, name, suffix, labels);
	fixed(m, us, 6);
	mtext_puts(m, "\n");
}

int metrics_label(char *dst, size_t cap, const char *key, const char *value)
{
	size_t len = strlen(dst), n = len;

	/* Worst case: a comma, the key, =", every byte escaped, ", NUL. */
	if (len + 1 + strlen(key) + 2 + 2 * strlen(value) + 2 > cap)
		return -ENOSPC;
	if (len)
		dst[n++] = ',';
	memcpy(dst + n, key, strlen(key));
	n += strlen(key);
	dst[n++] = '=';
	dst[n++] = '"';
	for (const char *v = value; *v; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n') {
			dst[n++] = '\\';
			dst[n++] = (char)(*v == '\n' ? 'n' : *v);
		} else {
			dst[n++] = *v;
		}
	}
	dst[n++] = '"';
	dst[n] = '\0';
	return 0;
}
