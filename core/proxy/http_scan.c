/* http_scan.c - the line checker of http.c (http_scan.h): every byte of a
 * head, of trailers and of chunk-size lines goes through it before
 * http-parser sees it, and what http-parser tolerates but a backend may
 * read differently is rejected here: bare LF, CR not followed by LF,
 * obs-fold, white space between a field name and its colon, control bytes
 * in chunk extensions (RFC 9112 2.2, 5.1, 5.2, 7.1.1). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "http_scan.h"

/* A chunk-size line with extensions; longer is an abuse, not a use. */
#define CHUNK_LINE_MAX 4096

static bool is_ctl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

/* One byte of a start line or field section; returns the next state or
 * -1 (reason in *why). */
static int scan_field_byte(int st, unsigned char c, const char **why)
{
	if (c == '\n' && st != SC_LEAD_CR && st != SC_START_CR && st != SC_CR && st != SC_END_CR) {
		*why = "bare LF line ending";
		return -1;
	}
	switch (st) {
	case SC_LEAD:
		return c == '\r' ? SC_LEAD_CR : SC_START;
	case SC_START:
		return c == '\r' ? SC_START_CR : SC_START;
	case SC_LINE:
		if (c == ' ' || c == '\t') {
			*why = "obsolete line folding"; /* RFC 9112 5.2 */
			return -1;
		}
		return c == '\r' ? SC_END_CR : c == ':' ? SC_VALUE : SC_NAME;
	case SC_NAME:
		if (c == ' ' || c == '\t') {
			*why = "whitespace in field name"; /* RFC 9112 5.1 */
			return -1;
		}
		return c == '\r' ? SC_CR : c == ':' ? SC_VALUE : SC_NAME;
	case SC_VALUE:
		return c == '\r' ? SC_CR : SC_VALUE;
	}
	/* the *_CR states */
	if (c != '\n') {
		*why = "CR not followed by LF";
		return -1;
	}
	return st == SC_LEAD_CR ? SC_LEAD : st == SC_END_CR ? SC_END : SC_LINE;
}

const char http_uri_too_long[] = "request-target over max_uri";

/* Request line: the request-target is counted here, byte by byte, so that
 * max_uri (414) is enforced at the byte that crosses it, in order with the
 * other defects, however the input is sliced (RFC 9112 3). */
static int scan_target_byte(struct http_msg *m, int st, unsigned char c, const char **why)
{
	if (c == '\r' || c == '\n')
		return scan_field_byte(SC_START, c, why);
	if (st == SC_METHOD)
		return c == ' ' ? SC_TARGET : SC_METHOD;
	if (c == ' ')
		return m->scan_len ? SC_START : SC_TARGET; /* http-parser skips extra SP */
	*why = http_uri_too_long;
	return ++m->scan_len > m->limits.max_uri && m->limits.max_uri ? -1 : SC_TARGET;
}

/* One byte of a chunk-size line: chunk-size [ chunk-ext ] CRLF, where
 * chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ) (RFC 9112 7.1.1).
 * http-parser accepts junk after the size ("5 junk"); a proxy must not, as
 * a server behind it may read that line differently. */
static int scan_chunk_byte(struct http_msg *m, int st, unsigned char c, const char **why)
{
	if (st == SC_CHUNK_CR) {
		*why = "CR not followed by LF in chunk-size line";
		return c == '\n' ? SC_END : -1;
	}
	*why = "control byte in chunk-size line";
	if (c == '\r')
		return SC_CHUNK_CR;
	if (is_ctl(c) && c != '\t')
		return -1;
	*why = "chunk-size line too long";
	if (++m->scan_len > CHUNK_LINE_MAX)
		return -1;
	*why = "junk after the chunk size";
	if (st == SC_CHUNK_EXT)
		return SC_CHUNK_EXT;
	if (c == ';')
		return SC_CHUNK_EXT;
	if (c == ' ' || c == '\t')
		return SC_CHUNK_BWS;
	return st == SC_CHUNK ? SC_CHUNK : -1; /* a digit is checked by http-parser */
}

/* Bytes that end a run in a field value (1) or a field name (1 or 2). */
static const uint8_t stop_byte[256] = {
	['\r'] = 1, ['\n'] = 1, [':'] = 2, [' '] = 2, ['\t'] = 2,
};

/* Fast path through the field section: every byte of a name but SP, HT,
 * CR, LF and ':' leaves SC_NAME as it is, every byte of a value (and of
 * the rest of a start line) but CR and LF leaves SC_VALUE (SC_START), and
 * CR LF followed by a name byte is a complete field line: the next name.
 * Skipping those runs and steps at once instead of stepping the state
 * machine per byte roughly halves the checker's instructions; every other
 * byte (the end of the head, the first byte of a defect) is left to the
 * per-byte states.  Returns how many bytes were consumed; *st is the
 * state after them. */
static size_t scan_fields(int *st, const unsigned char *p, size_t len)
{
	size_t n = 0;

	for (;;) {
		if (*st == SC_NAME) {
			while (n < len && !stop_byte[p[n]])
				n++;
			if (n == len || p[n] != ':')
				return n;
			n++;
			*st = SC_VALUE;
		}
		if (*st != SC_VALUE && *st != SC_START)
			return n;
		while (n < len && stop_byte[p[n]] != 1)
			n++;
		if (n + 2 >= len || p[n] != '\r' || p[n + 1] != '\n' || stop_byte[p[n + 2]])
			return n;
		n += 3; /* CR LF (SC_CR or SC_START_CR, then SC_LINE) and a name byte */
		*st = SC_NAME;
	}
}

/* The request line: the method up to its SP, then the request-target
 * within max_uri, up to SP, CR or LF (':' is fine in a target).  State
 * unchanged by what is skipped.  Returns how many bytes may be skipped. */
static size_t scan_skip_line(struct http_msg *m, int st, const unsigned char *p, size_t len)
{
	size_t n = 0;

	if (st == SC_METHOD) {
		while (n < len && p[n] != ' ' && stop_byte[p[n]] != 1)
			n++;
	} else if (st == SC_TARGET && m->scan_len) {
		size_t room = m->limits.max_uri ? m->limits.max_uri - m->scan_len : len;

		while (n < len && n < room && (!stop_byte[p[n]] || p[n] == ':'))
			n++;
		m->scan_len += (uint32_t)n;
	}
	return n;
}

/* Check the bytes http-parser is about to see, up to the end of the
 * current section (head, trailers or chunk-size line).  Returns how many
 * may go to http-parser: all len, or those before the first bad byte (then
 * *why says what is wrong).  Feeding the good prefix first lets whichever
 * defect comes first in the byte stream decide the status, however the
 * input is sliced. */
size_t http_scan(struct http_msg *m, const char *buf, size_t len, const char **why)
{
	int st = m->scan;
	size_t i;

	*why = NULL;
	for (i = 0; i < len && st != SC_IDLE && st != SC_END; i++) {
		unsigned char c;
		int next;

		const unsigned char *p = (const unsigned char *)buf + i;

		if (st == SC_METHOD || st == SC_TARGET)
			i += scan_skip_line(m, st, p, len - i);
		else
			i += scan_fields(&st, p, len - i);
		if (i == len)
			break;
		c = (unsigned char)buf[i];
		if (st == SC_LEAD && c != '\r') {
			m->start_off = (uint32_t)(buf + i - m->cur);
			st = m->kind == HTTP_MSG_REQUEST ? SC_METHOD : SC_START;
		}
		if (st == SC_CHUNK || st == SC_CHUNK_BWS || st == SC_CHUNK_EXT ||
		    st == SC_CHUNK_CR)
			next = scan_chunk_byte(m, st, c, why);
		else if (st == SC_METHOD || st == SC_TARGET)
			next = scan_target_byte(m, st, c, why);
		else
			next = scan_field_byte(st, c, why);
		if (next < 0)
			return i;
		st = next;
	}
	*why = NULL;
	m->scan = (uint8_t)st;
	return len;
}
