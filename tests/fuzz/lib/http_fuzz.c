/* http_fuzz.c - see http_fuzz.h. */
#include "http_fuzz.h"

#include <string.h>

void http_fuzz_limits(struct http_limits *l, uint8_t pick)
{
	static const uint32_t heads[4] = { 0, 64, 256, 8192 };

	memset(l, 0, sizeof(*l));
	l->max_head = heads[pick & 3];
	l->max_uri = (pick & 4) ? 32 : 0;
	l->max_body = (pick & 8) ? 16 : 0;
}

void http_fuzz_check_headers(const struct http_msg *m, const char *buf, size_t used)
{
	for (unsigned i = 0; i < m->nheaders; i++) {
		const struct http_header *h = &m->headers[i];

		CHECK(h->name.len > 0 && h->name.off + h->name.len <= used);
		CHECK(h->value.off + h->value.len <= used);
		(void)http_is_hop_header(m, buf, i); /* reads under ASan */
	}
}

int http_fuzz_feed_head(struct http_msg *m, const char *buf, size_t len, size_t split,
			size_t *used, http_fuzz_head_fn head_done)
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
		head_done(m, buf, len, *used);
	return rc;
}

int http_fuzz_feed_body(struct http_msg *m, const char *buf, size_t len, size_t split,
			size_t *used)
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

void http_fuzz_same_outcome(const struct http_outcome *whole, const struct http_outcome *cut)
{
	CHECK(whole->rc == cut->rc && whole->msgs == cut->msgs && whole->status == cut->status);
	CHECK(whole->rc == HTTP_ERROR ||
	      whole->consumed == cut->consumed); /* *used is moot on error */
	CHECK(memcmp(whole->head_len, cut->head_len, sizeof(whole->head_len)) == 0);
}
