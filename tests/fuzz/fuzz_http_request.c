/* fuzz_http_request.c - libFuzzer harness: client bytes into core/proxy/http.c.
 *
 * Built with the others by -DANDROMEDA_FUZZ=ON (clang; tests/fuzz/fuzz.sh
 * runs them for a while, tests/test.sh for 10 s each), with what it shares
 * with its sibling in tests/fuzz/lib/http_fuzz.c.
 *
 * Input: byte 0 picks the limits, byte 1 a split point, the rest is a
 * client's byte stream (possibly several pipelined requests).  The stream
 * is parsed twice, at once and with every head and body feed cut in two at
 * the split point; both runs must agree, and every result must keep the
 * invariants the proxy relies on.
 */
#include <stdint.h>
#include <string.h>

#include "lib/http_fuzz.h"

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
	http_fuzz_check_headers(m, buf, used);
	CHECK(http_find_header(m, buf, "host", 0) >= 0 || m->version_minor == 0);
	if (m->limits.max_body && m->has_content_length && http_msg_has_body(m))
		CHECK(m->content_length <= m->limits.max_body);
}

static void run(const char *data, size_t size, const struct http_limits *l, size_t split,
		struct http_outcome *o)
{
	struct http_msg m;
	size_t used;

	memset(o, 0, sizeof(*o));
	http_msg_init(&m, HTTP_MSG_REQUEST, l);
	while (o->msgs < HTTP_FUZZ_MAX_MSGS) {
		o->rc = http_fuzz_feed_head(&m, data + o->consumed, size - o->consumed, split,
					    &used, check_head_done);
		o->consumed += used;
		if (o->rc == HTTP_HEAD_DONE && http_msg_has_body(&m)) {
			o->rc = http_fuzz_feed_body(&m, data + o->consumed, size - o->consumed,
						    split, &used);
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
	struct http_limits l;
	struct http_outcome whole, cut;

	if (size < 2)
		return 0;
	http_fuzz_limits(&l, data[0]);
	run((const char *)data + 2, size - 2, &l, SIZE_MAX, &whole);
	run((const char *)data + 2, size - 2, &l, data[1], &cut);
	http_fuzz_same_outcome(&whole, &cut);
	return 0;
}
