/* fuzz_http_request.c - libFuzzer harness: client bytes into core/proxy/http.c.
 *
 * Build by hand (no CMake rule yet), from the repository root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icore/proxy \
 *       tests/fuzz/fuzz_http_request.c core/proxy/http.c core/proxy/http_scan.c \
 *       -lhttp_parser -o fuzz_http_request
 * Run (the corpus directory doubles as the seed set):
 *   ./fuzz_http_request -max_total_time=60 tests/fuzz/corpus/http_request
 * (libclang-rt-14-dev provides the fuzzer runtime on Debian 12.)
 *
 * Input: byte 0 picks the limits, byte 1 a split point, the rest is a
 * client's byte stream (possibly several pipelined requests).  The stream
 * is parsed twice, at once and with every head and body feed cut in two at
 * the split point; both runs must agree, and every result must keep the
 * invariants the proxy relies on.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define MAX_MSGS 8

struct outcome {
	int rc;          /* last result */
	unsigned status; /* on HTTP_ERROR */
	size_t consumed; /* bytes consumed in all */
	unsigned msgs;   /* messages completed */
	uint32_t head_len[MAX_MSGS];
};

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

static void check_error(const struct http_msg *m)
{
	CHECK(m->reason != NULL);
	CHECK(m->status == 400 || m->status == 413 || m->status == 414 || m->status == 431 ||
	      m->status == 505);
}

static void check_head_done(const struct http_msg *m, const char *buf, size_t len, size_t used)
{
	CHECK(used == m->head_len && used >= 1 && used <= len);
	CHECK(!m->limits.max_head || used <= m->limits.max_head);
	CHECK(m->nheaders <= HTTP_MAX_HEADERS);
	CHECK(m->uri.off + m->uri.len <= used && m->method_text.off + m->method_text.len <= used);
	CHECK(!m->limits.max_uri || m->uri.len <= m->limits.max_uri);
	CHECK(m->version_minor <= 1);
	CHECK(!(m->chunked && m->has_content_length));
	for (unsigned i = 0; i < m->nheaders; i++) {
		const struct http_header *h = &m->headers[i];

		CHECK(h->name.len > 0 && h->name.off + h->name.len <= used);
		CHECK(h->value.off + h->value.len <= used);
		(void)http_is_hop_header(m, buf, i); /* reads under ASan */
	}
	CHECK(http_find_header(m, buf, "host", 0) >= 0 || m->version_minor == 0);
	if (m->limits.max_body && m->has_content_length && http_msg_has_body(m))
		CHECK(m->content_length <= m->limits.max_body);
}

/* One head; feeds buf[0, split) first when split < len. */
static int feed_head(struct http_msg *m, const char *buf, size_t len, size_t split, size_t *used)
{
	int rc = HTTP_NEED_MORE;

	if (split < len) {
		rc = http_msg_head(m, buf, split, used);
		CHECK(*used <= split);
		CHECK(rc != HTTP_NEED_MORE || *used == split);
	}
	if (rc == HTTP_NEED_MORE) {
		rc = http_msg_head(m, buf, len, used);
		CHECK(*used <= len);
		CHECK(rc != HTTP_NEED_MORE || *used == len);
	}
	CHECK(rc != HTTP_MSG_DONE);
	if (rc == HTTP_HEAD_DONE)
		check_head_done(m, buf, len, *used);
	return rc;
}

/* One body: two slices cut at split; *used = body bytes consumed. */
static int feed_body(struct http_msg *m, const char *buf, size_t len, size_t split, size_t *used)
{
	size_t cut[2] = { split < len ? split : len, len }, n, off = 0;
	int rc = HTTP_NEED_MORE;

	for (int k = 0; k < 2 && rc == HTTP_NEED_MORE; k++) {
		rc = http_msg_body(m, buf + off, cut[k] - off, &n);
		CHECK(n <= cut[k] - off); /* never consumes past its input */
		CHECK(rc != HTTP_NEED_MORE || n == cut[k] - off);
		CHECK(rc != HTTP_HEAD_DONE);
		off += n;
	}
	*used = off;
	CHECK(rc == HTTP_ERROR || !m->limits.max_body || m->body_seen <= m->limits.max_body);
	if (rc == HTTP_MSG_DONE && m->has_content_length && !m->chunked)
		CHECK(off == m->content_length);
	return rc;
}

static void run(const char *data, size_t size, const struct http_limits *l, size_t split,
		struct outcome *o)
{
	struct http_msg m;
	size_t used;

	memset(o, 0, sizeof(*o));
	http_msg_init(&m, HTTP_MSG_REQUEST, l);
	while (o->msgs < MAX_MSGS) {
		o->rc = feed_head(&m, data + o->consumed, size - o->consumed, split, &used);
		o->consumed += used;
		if (o->rc == HTTP_HEAD_DONE && http_msg_has_body(&m)) {
			o->rc = feed_body(&m, data + o->consumed, size - o->consumed, split,
					  &used);
			o->consumed += used;
		}
		if (o->rc == HTTP_ERROR) {
			check_error(&m);
			o->status = m.status;
			return;
		}
		if (o->rc == HTTP_NEED_MORE)
			return;
		o->head_len[o->msgs++] = m.head_len;
		if (!m.keep_alive || m.upgrade || m.method == HTTP_M_CONNECT ||
		    o->consumed == size)
			return;
		http_msg_reset(&m);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t heads[4] = { 0, 64, 256, 8192 };
	struct http_limits l;
	struct outcome whole, cut;

	if (size < 2)
		return 0;
	l.max_head = heads[data[0] & 3];
	l.max_uri = (data[0] & 4) ? 32 : 0;
	l.max_body = (data[0] & 8) ? 16 : 0;
	run((const char *)data + 2, size - 2, &l, SIZE_MAX, &whole);
	run((const char *)data + 2, size - 2, &l, data[1], &cut);
	/* Slicing must not change the outcome. */
	CHECK(whole.rc == cut.rc && whole.msgs == cut.msgs && whole.status == cut.status);
	CHECK(whole.rc == HTTP_ERROR ||
	      whole.consumed == cut.consumed); /* *used is moot on error */
	CHECK(memcmp(whole.head_len, cut.head_len, sizeof(whole.head_len)) == 0);
	return 0;
}
