/* test_http.c - the HTTP/1.1 framing codec (core/proxy/http.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "http.h"

static const struct http_limits lim = { .max_head = 8192, .max_uri = 2048, .max_body = 0 };

/* Feed a whole head at once. */
static int head(struct http_msg *m, enum http_kind kind, const struct http_limits *l,
		const char *s, size_t *used)
{
	http_msg_init(m, kind, l ? l : &lim);
	return http_msg_head(m, s, strlen(s), used);
}

/* Parse a complete message (head, then body in one slice); returns the
 * final result and the total bytes consumed. */
static int whole(struct http_msg *m, enum http_kind kind, const struct http_limits *l,
		 const char *s, size_t *total)
{
	size_t len = strlen(s), used = 0, bused = 0;
	int rc = head(m, kind, l, s, &used);

	*total = used;
	if (rc != HTTP_HEAD_DONE)
		return rc;
	if (!http_msg_has_body(m))
		return HTTP_MSG_DONE;
	rc = http_msg_body(m, s + used, len - used, &bused);
	*total += bused;
	return rc;
}

static void expect_reject(enum http_kind kind, const struct http_limits *l, const char *s,
			  unsigned status)
{
	struct http_msg m;
	size_t used;
	int rc = whole(&m, kind, l, s, &used);

	cr_assert_eq(rc, HTTP_ERROR, "accepted (rc %d): %s", rc, s);
	cr_assert_eq(m.status, status, "status %u, want %u (%s): %s", m.status, status,
		     m.reason ? m.reason : "?", s);
	cr_assert_not_null(m.reason);
}

static bool span_is(const char *buf, struct http_span sp, const char *text)
{
	return sp.len == strlen(text) && memcmp(buf + sp.off, text, sp.len) == 0;
}

static bool header_is(const struct http_msg *m, const char *buf, const char *name,
		      const char *value)
{
	int i = http_find_header(m, buf, name, 0);

	return i >= 0 && span_is(buf, m->headers[i].value, value);
}

/* ---- good requests ---------------------------------------------------- */

Test(http_request, simple_get)
{
	const char *s =
		"GET /a?b=c HTTP/1.1\r\nHost: example\r\nX-A:  spaced value \t\r\nX-Empty:\r\n\r\n";
	struct http_msg m;
	size_t used;

	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL, s, &used), HTTP_HEAD_DONE);
	cr_assert_eq(used, strlen(s));
	cr_assert_eq(m.head_len, strlen(s));
	cr_assert_eq(m.method, HTTP_M_GET);
	cr_assert(span_is(s, m.method_text, "GET"));
	cr_assert(span_is(s, m.uri, "/a?b=c"));
	cr_assert_eq(m.version_minor, 1);
	cr_assert_eq(m.nheaders, 3);
	cr_assert(span_is(s, m.headers[0].name, "Host"));
	cr_assert(header_is(&m, s, "host", "example"));
	cr_assert(header_is(&m, s, "x-a", "spaced value"),
		  "OWS around values is not part of them");
	cr_assert(header_is(&m, s, "X-EMPTY", ""));
	cr_assert(m.keep_alive);
	cr_assert_not(http_msg_has_body(&m));
	cr_assert_not(m.chunked);
	cr_assert_not(m.upgrade);
	cr_assert_eq(m.status, 0);
}

Test(http_request, post_content_length_and_pipelined_next)
{
	const char *s =
		"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_msg m;
	size_t used, bused, len = strlen(s);

	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL, s, &used), HTTP_HEAD_DONE);
	cr_assert_eq(m.method, HTTP_M_POST);
	cr_assert(m.has_content_length);
	cr_assert_eq(m.content_length, 5);
	cr_assert(http_msg_has_body(&m));
	cr_assert_eq(http_msg_body(&m, s + used, len - used, &bused), HTTP_MSG_DONE);
	cr_assert_eq(bused, 5, "pipelined bytes after the body must not be consumed");
	cr_assert(http_msg_has_body(&m), "has_body stays fixed after the body");

	/* the next message on the same connection */
	http_msg_reset(&m);
	s += used + bused;
	cr_assert_eq(http_msg_head(&m, s, strlen(s), &used), HTTP_HEAD_DONE);
	cr_assert_eq(used, strlen(s));
	cr_assert_eq(m.method, HTTP_M_GET);
	cr_assert_not(http_msg_has_body(&m));
}

Test(http_request, pipelined_gets_in_one_buffer)
{
	const char *s =
		"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_msg m;
	size_t used, off = 0;
	char want[16];

	http_msg_init(&m, HTTP_MSG_REQUEST, &lim);
	for (int i = 1; i <= 3; i++) {
		cr_assert_eq(http_msg_head(&m, s + off, strlen(s + off), &used), HTTP_HEAD_DONE);
		snprintf(want, sizeof(want), "/%d", i);
		cr_assert(span_is(s + off, m.uri, want));
		cr_assert_not(http_msg_has_body(&m));
		off += used;
		http_msg_reset(&m);
	}
	cr_assert_eq(off, strlen(s));
}

Test(http_request, chunked_with_extensions_and_trailers)
{
	const char *s = "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
			"5;name=val;q=\"x y\"\r\nhello\r\n"
			"A\r\n0123456789\r\n"
			"0;last\r\nX-Trailer: t\r\nX-More: u\r\n\r\nNEXT";
	struct http_msg m;
	size_t used;
	int rc = whole(&m, HTTP_MSG_REQUEST, NULL, s, &used);

	cr_assert_eq(rc, HTTP_MSG_DONE);
	cr_assert(m.chunked);
	cr_assert_eq(used, strlen(s) - 4, "stops right after the trailer section");
	cr_assert_eq(m.nheaders, 2, "trailer fields are not head headers");
}

/* Every slicing of the body into three pieces consumes exactly the body. */
Test(http_request, chunked_body_every_slicing)
{
	const char *s = "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
			"3;ext=1\r\nabc\r\n"
			"b\r\n0123456789x\r\n"
			"0\r\nT: v\r\n\r\n";
	struct http_msg m;
	size_t hlen, len = strlen(s);

	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL, s, &hlen), HTTP_HEAD_DONE);
	const char *body = s + hlen;
	size_t blen = len - hlen;

	for (size_t a = 0; a <= blen; a++) {
		for (size_t b = a; b <= blen; b++) {
			size_t cut[4] = { 0, a, b, blen }, total = 0, used;
			int rc = HTTP_NEED_MORE;

			http_msg_init(&m, HTTP_MSG_REQUEST, &lim);
			cr_assert_eq(http_msg_head(&m, s, len, &used), HTTP_HEAD_DONE);
			for (int k = 0; k < 3 && rc == HTTP_NEED_MORE; k++) {
				size_t from = total, to = cut[k + 1];

				if (to < from)
					continue;
				rc = http_msg_body(&m, body + from, to - from, &used);
				cr_assert_leq(used, to - from);
				if (rc == HTTP_NEED_MORE)
					cr_assert_eq(used, to - from,
						     "NEED_MORE consumes everything");
				total += used;
			}
			cr_assert_eq(rc, HTTP_MSG_DONE, "slices %zu/%zu: rc %d (%s)", a, b, rc,
				     m.reason ? m.reason : "");
			cr_assert_eq(total, blen, "slices %zu/%zu", a, b);
		}
	}
}

Test(http_request, chunked_body_byte_by_byte)
{
	const char *s = "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
			"4;a=b\r\nwxyz\r\n0\r\n\r\n";
	struct http_msg m;
	size_t hlen, used, i, len = strlen(s);
	int rc = HTTP_NEED_MORE;

	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL, s, &hlen), HTTP_HEAD_DONE);
	for (i = hlen; i < len && rc == HTTP_NEED_MORE; i++) {
		rc = http_msg_body(&m, s + i, 1, &used);
		cr_assert_eq(used, 1);
	}
	cr_assert_eq(rc, HTTP_MSG_DONE);
	cr_assert_eq(i, len);
	cr_assert_eq(http_msg_body(&m, "x", 1, &used), HTTP_MSG_DONE);
	cr_assert_eq(used, 0, "nothing is consumed after the end");
}

/* The head fed one more byte at a time (same buffer, growing len) gives
 * exactly the same result as fed at once. */
Test(http_request, head_byte_by_byte_equals_at_once)
{
	const char *s =
		"\r\nPUT /some/longer/path?q=1 HTTP/1.1\r\nHost: example.test:8080\r\n"
		"Content-Length: 3\r\nX-Long-Header-Name: a fairly long value, with, commas  \r\n"
		"Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nExpect: 100-continue\r\n\r\nabc";
	struct http_msg a, b;
	size_t used_a, used_b = 0, len = strlen(s);
	int rc = HTTP_NEED_MORE;

	cr_assert_eq(head(&a, HTTP_MSG_REQUEST, NULL, s, &used_a), HTTP_HEAD_DONE);
	http_msg_init(&b, HTTP_MSG_REQUEST, &lim);
	for (size_t n = 1; n <= len && rc == HTTP_NEED_MORE; n++) {
		rc = http_msg_head(&b, s, n, &used_b);
		if (rc == HTTP_NEED_MORE)
			cr_assert_eq(used_b, n);
	}
	cr_assert_eq(rc, HTTP_HEAD_DONE);
	cr_assert_eq(used_b, used_a);
	cr_assert_eq(used_a, len - 3);
	cr_assert_eq(a.method, b.method);
	cr_assert_eq(a.method, HTTP_M_PUT);
	cr_assert_eq(memcmp(&a.method_text, &b.method_text, sizeof(a.method_text)), 0);
	cr_assert_eq(memcmp(&a.uri, &b.uri, sizeof(a.uri)), 0);
	cr_assert_eq(a.nheaders, 6);
	cr_assert_eq(b.nheaders, a.nheaders);
	cr_assert_eq(memcmp(a.headers, b.headers, a.nheaders * sizeof(a.headers[0])), 0);
	cr_assert_eq(a.keep_alive, b.keep_alive);
	cr_assert_eq(a.content_length, b.content_length);
	cr_assert(b.expect_continue);
	cr_assert(span_is(s, b.uri, "/some/longer/path?q=1"));
	cr_assert(header_is(&b, s, "x-long-header-name", "a fairly long value, with, commas"));
	cr_assert(http_msg_has_body(&b));
}

Test(http_request, versions_and_keep_alive)
{
	struct http_msg m;
	size_t used;

	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.0\r\n\r\n", &used),
		     HTTP_HEAD_DONE, "HTTP/1.0 needs no Host");
	cr_assert_eq(m.version_minor, 0);
	cr_assert_not(m.keep_alive);
	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL,
			  "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &used),
		     HTTP_HEAD_DONE);
	cr_assert(m.keep_alive);
	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL,
			  "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &used),
		     HTTP_HEAD_DONE);
	cr_assert_not(m.keep_alive);
	cr_assert_eq(
		head(&m, HTTP_MSG_REQUEST, NULL,
		     "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
		     &used),
		HTTP_HEAD_DONE);
	cr_assert_not(m.keep_alive, "1.0 with Transfer-Encoding: faulty framing, close after");
	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL,
			  "GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &used),
		     HTTP_HEAD_DONE);
	cr_assert_not(m.expect_continue, "ignored in 1.0 (RFC 9110 10.1.1)");
}

Test(http_request, methods_map)
{
	static const struct {
		const char *text;
		enum http_method m;
		bool idem;
	} t[] = {
		{ "GET", HTTP_M_GET, true },         { "HEAD", HTTP_M_HEAD, true },
		{ "POST", HTTP_M_POST, false },      { "PUT", HTTP_M_PUT, true },
		{ "DELETE", HTTP_M_DELETE, true },   { "OPTIONS", HTTP_M_OPTIONS, true },
		{ "TRACE", HTTP_M_TRACE, true },     { "PATCH", HTTP_M_PATCH, false },
		{ "PROPFIND", HTTP_M_OTHER, false }, { "PURGE", HTTP_M_OTHER, false },
	};
	char buf[128];
	struct http_msg m;
	size_t used;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf), "%s /x HTTP/1.1\r\nHost: h\r\n\r\n", t[i].text);
		cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL, buf, &used), HTTP_HEAD_DONE, "%s",
			     t[i].text);
		cr_assert_eq(m.method, t[i].m, "%s", t[i].text);
		cr_assert(span_is(buf, m.method_text, t[i].text));
		cr_assert_eq(http_method_idempotent(m.method), t[i].idem, "%s", t[i].text);
	}
	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL,
			  "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", &used),
		     HTTP_HEAD_DONE);
	cr_assert_eq(m.method, HTTP_M_CONNECT);
	cr_assert_not(http_method_idempotent(HTTP_M_CONNECT));
	cr_assert_not(http_method_idempotent(HTTP_M_OTHER));
}

Test(http_request, upgrade_and_leading_empty_line)
{
	const char *s =
		"\r\nGET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05";
	struct http_msg m;
	size_t used;

	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL, s, &used), HTTP_HEAD_DONE);
	cr_assert(m.upgrade);
	cr_assert_not(http_msg_has_body(&m));
	cr_assert_eq(used, strlen(s) - 2, "frames after the head are not consumed");
	cr_assert(span_is(s, m.method_text, "GET"));
}

Test(http_request, need_more_and_head_buffer_with_body)
{
	const char *s = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok";
	struct http_msg m;
	size_t used;

	http_msg_init(&m, HTTP_MSG_REQUEST, &lim);
	cr_assert_eq(http_msg_head(&m, s, 20, &used), HTTP_NEED_MORE);
	cr_assert_eq(used, 20);
	cr_assert_eq(http_msg_head(&m, s, strlen(s), &used), HTTP_HEAD_DONE);
	cr_assert_eq(used, strlen(s) - 2);
	cr_assert_eq(http_msg_head(&m, s, strlen(s), &used), HTTP_HEAD_DONE,
		     "idempotent once done");
	cr_assert_eq(used, strlen(s) - 2);
	cr_assert_eq(http_msg_body(&m, "o", 1, &used), HTTP_NEED_MORE);
	cr_assert_eq(http_msg_eof(&m), HTTP_ERROR, "a request body cut by EOF is truncated");
}

/* ---- rejected requests ------------------------------------------------ */

Test(http_reject, smuggling_shapes)
{
	expect_reject(
		HTTP_MSG_REQUEST, NULL,
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		400);
	expect_reject(
		HTTP_MSG_REQUEST, NULL,
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
		400);
	expect_reject(
		HTTP_MSG_REQUEST, NULL,
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
		400);
	expect_reject(
		HTTP_MSG_REQUEST, NULL,
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		400);
	expect_reject(HTTP_MSG_REQUEST, NULL,
		      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc", 400);
}

Test(http_reject, invalid_content_length)
{
	static const char *const bad[] = {
		"abc", "-1", "+1", "1 2", "0x10", "", "99999999999999999999999"
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf),
			 "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %s\r\n\r\n", bad[i]);
		expect_reject(HTTP_MSG_REQUEST, NULL, buf, 400);
	}
}

Test(http_reject, bad_transfer_encoding)
{
	/* RFC 9112 6.3: chunked must be the final coding of a request. */
	expect_reject(HTTP_MSG_REQUEST, NULL,
		      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		      400);
	expect_reject(HTTP_MSG_REQUEST, NULL,
		      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL,
		      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 400);
	/* RFC 9112 6.1: chunked at most once (http-parser checks only the last) */
	expect_reject(
		HTTP_MSG_REQUEST, NULL,
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
		400);
	expect_reject(
		HTTP_MSG_REQUEST, NULL,
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
		400);
	expect_reject(HTTP_MSG_RESPONSE, NULL,
		      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,chunked\r\n\r\n0\r\n\r\n",
		      502);
}

Test(http_reject, bad_chunking)
{
	const char *pre = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const char *const bad[] = {
		"z\r\n",                        /* not hex */
		"-5\r\nhello\r\n0\r\n\r\n",     /* signed */
		"fffffffffffffffff\r\n",        /* overflows 64 bits */
		"3\r\nabcX\r\n",                /* data longer than its size */
		"3\n abc\r\n0\r\n\r\n",         /* bare LF ends the size line */
		"3;a\nb\r\nabc\r\n0\r\n\r\n",   /* bare LF hidden in an extension */
		"3;a\x01\r\nabc\r\n0\r\n\r\n",  /* control byte in an extension */
		"3\rabc\r\n0\r\n\r\n",          /* CR without LF */
		"0\r\nT: x\n\r\n",              /* bare LF in a trailer */
		"0\r\n\n",                      /* bare LF ending the trailers */
		"0\r\nT: x\r\n folded\r\n\r\n", /* obs-fold in a trailer */
		"5 junk\r\nhello\r\n0\r\n\r\n", /* junk after the size (found by the abuse suite)
						 */
		"5 5\r\nhello\r\n0\r\n\r\n",    /* a second number */
		"5x\r\nhello\r\n0\r\n\r\n",     /* letters glued to the size */
	};
	char buf[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s", pre, bad[i]);
		expect_reject(HTTP_MSG_REQUEST, NULL, buf, 400);
	}
}

Test(http_request, chunk_size_with_whitespace_then_extension)
{
	const char *s = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
			"5 \t;a=1\r\nhello\r\n0\r\n\r\n";
	struct http_msg m;
	size_t used = 0;

	http_msg_init(&m, HTTP_MSG_REQUEST, NULL);
	cr_assert_eq(http_msg_head(&m, s, strlen(s), &used), HTTP_HEAD_DONE);
	cr_assert_eq(http_msg_body(&m, s + used, strlen(s) - used, &used), HTTP_MSG_DONE,
		     "BWS before ';' is allowed (RFC 9112 7.1.1): %s", m.reason ? m.reason : "");
}

Test(http_reject, chunk_line_too_long)
{
	char buf[8192];
	int n = snprintf(buf, sizeof(buf),
			 "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;x=");

	memset(buf + n, 'a', 5000);
	strcpy(buf + n + 5000, "\r\nA\r\n0\r\n\r\n");
	expect_reject(HTTP_MSG_REQUEST, NULL, buf, 400);
}

Test(http_reject, line_syntax)
{
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n",
		      400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n",
		      400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL,
		      "GET / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\nhello", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.1\nHost: h\n\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.1\r\nHost: h\n\r\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.1\r\nHost: h\r\rX: y\r\n\r\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.1\r\nHost: h\x01x\r\n\r\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.1\r\nNoColon\r\nHost: h\r\n\r\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "get / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

/* The line checker's fast path (http_scan.c scan_fields) runs through a
 * whole field line at once: each defect that follows a CR LF, or sits
 * inside a name or after a start line, must still be found with its own
 * reason, fed at once and fed one more byte at a time. */
Test(http_reject, checker_fast_path_reasons)
{
	static const struct {
		enum http_kind kind;
		const char *s, *why;
	} bad[] = {
		{ HTTP_MSG_REQUEST, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n",
		  "obsolete line folding" },
		{ HTTP_MSG_REQUEST, "GET / HTTP/1.1\r\nHost: h\r\nX-Long-Name : a\r\n\r\n",
		  "whitespace in field name" },
		{ HTTP_MSG_REQUEST, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\nX-B: b\r\n\r\n",
		  "bare LF line ending" },
		{ HTTP_MSG_REQUEST, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\rX-B: b\r\n\r\n",
		  "CR not followed by LF" },
		{ HTTP_MSG_REQUEST, "GET / HTTP/1.1\nHost: h\r\n\r\n", "bare LF line ending" },
		{ HTTP_MSG_RESPONSE, "HTTP/1.1 200 OK\r\n X: y\r\n\r\n", "obsolete line folding" },
		{ HTTP_MSG_RESPONSE, "HTTP/1.1 200 OK\r\nServer: s\r\nX-A:\ta\r\nX B: c\r\n\r\n",
		  "whitespace in field name" },
		{ HTTP_MSG_RESPONSE, "HTTP/1.1 200 OK\r\nServer: s\r\nDate: d\r\n\n",
		  "bare LF line ending" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i].s), used = 0;

		for (size_t n = 1; n <= len; n++) { /* the first n bytes, then all */
			struct http_msg m;
			int rc;

			http_msg_init(&m, bad[i].kind, &lim);
			rc = http_msg_head(&m, bad[i].s, n, &used);
			if (rc == HTTP_NEED_MORE)
				rc = http_msg_head(&m, bad[i].s, len, &used);
			cr_assert_eq(rc, HTTP_ERROR, "%zu split %zu: accepted %s", i, n, bad[i].s);
			cr_assert_str_eq(m.reason, bad[i].why, "%zu split %zu: %s", i, n,
					 bad[i].s);
		}
	}
}

Test(http_reject, versions)
{
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/9.1\r\nHost: h\r\n\r\n", 505);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/0.9\r\n\r\n", 505);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/10.0\r\nHost: h\r\n\r\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / FTP/1.1\r\nHost: h\r\n\r\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET /\r\n\r\n", 400);
}

Test(http_reject, host_rules)
{
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	expect_reject(HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400);
}

Test(http_reject, oversized_head_and_uri)
{
	struct http_limits l = { .max_head = 256, .max_uri = 64 };
	char buf[1024];
	struct http_msg m;
	size_t used;

	/* a field section that does not end within max_head */
	snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\nX: %0300d\r\n\r\n", 0);
	expect_reject(HTTP_MSG_REQUEST, &l, buf, 431);
	/* a URI over max_uri */
	snprintf(buf, sizeof(buf), "GET /%070d HTTP/1.1\r\nHost: h\r\n\r\n", 0);
	expect_reject(HTTP_MSG_REQUEST, &l, buf, 414);
	/* a request line over max_head, even with max_uri off */
	l.max_uri = 0;
	snprintf(buf, sizeof(buf), "GET /%0400d HTTP/1.1\r\nHost: h\r\n\r\n", 0);
	expect_reject(HTTP_MSG_REQUEST, &l, buf, 414);

	/* exactly max_head bytes is fine; one more is not */
	l.max_uri = 64;
	int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\nX: ");
	memset(buf + n, 'v', 256 - (size_t)n - 4);
	strcpy(buf + 256 - 4, "\r\n\r\n");
	cr_assert_eq(strlen(buf), 256);
	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, &l, buf, &used), HTTP_HEAD_DONE);
	cr_assert_eq(used, 256);
	snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\nX: v");
	n = (int)strlen(buf);
	memset(buf + n, 'v', 257 - (size_t)n - 4);
	strcpy(buf + 257 - 4, "\r\n\r\n");
	cr_assert_eq(strlen(buf), 257);
	expect_reject(HTTP_MSG_REQUEST, &l, buf, 431);
	/* rejected as soon as max_head bytes are in, without waiting for the end */
	http_msg_init(&m, HTTP_MSG_REQUEST, &l);
	cr_assert_eq(http_msg_head(&m, buf, 255, &used), HTTP_NEED_MORE);
	cr_assert_eq(http_msg_head(&m, buf, 256, &used), HTTP_ERROR);
	cr_assert_eq(m.status, 431);
}

static void many_headers(char *buf, size_t cap, unsigned n)
{
	size_t off = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\nHost: h\r\n");

	for (unsigned i = 1; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off, "X-%u: %u\r\n", i, i);
	snprintf(buf + off, cap - off, "\r\n");
}

Test(http_reject, header_count)
{
	static char buf[8192];
	struct http_limits l = { .max_head = 8192 };
	struct http_msg m;
	size_t used;

	many_headers(buf, sizeof(buf), HTTP_MAX_HEADERS);
	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, &l, buf, &used), HTTP_HEAD_DONE);
	cr_assert_eq(m.nheaders, HTTP_MAX_HEADERS);
	many_headers(buf, sizeof(buf), HTTP_MAX_HEADERS + 1);
	expect_reject(HTTP_MSG_REQUEST, &l, buf, 431);
}

Test(http_reject, oversized_body)
{
	struct http_limits l = { .max_head = 8192, .max_body = 10 };
	struct http_msg m;
	size_t used;

	expect_reject(HTTP_MSG_REQUEST, &l,
		      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 413);
	cr_assert_eq(whole(&m, HTTP_MSG_REQUEST, &l,
			   "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789",
			   &used),
		     HTTP_MSG_DONE);
	cr_assert_eq(
		whole(&m, HTTP_MSG_REQUEST, &l,
		      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n",
		      &used),
		HTTP_MSG_DONE, "exactly max_body in chunks");

	/* the chunk that crosses the limit is refused at its size line,
	 * before any of its data is consumed */
	const char *s =
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n6\r\nfghijk\r\n0\r\n\r\n";
	size_t hlen;

	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, &l, s, &hlen), HTTP_HEAD_DONE);
	cr_assert_eq(http_msg_body(&m, s + hlen, strlen(s) - hlen, &used), HTTP_ERROR);
	cr_assert_eq(m.status, 413);
	cr_assert_leq(used, strlen("5\r\nabcde\r\n6\r\n"));
}

Test(http_reject, errors_are_sticky)
{
	struct http_msg m;
	size_t used;

	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL, "GET / HTTP/1.1\r\nHost : h\r\n\r\n", &used),
		     HTTP_ERROR);
	cr_assert_eq(http_msg_head(&m, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, &used),
		     HTTP_ERROR);
	cr_assert_eq(m.status, 400);
	cr_assert_eq(http_msg_body(&m, "x", 1, &used), HTTP_ERROR);
	cr_assert_eq(used, 0);
	http_msg_reset(&m);
	cr_assert_eq(http_msg_head(&m, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, &used),
		     HTTP_HEAD_DONE, "reset clears the error");
}

/* ---- responses --------------------------------------------------------- */

Test(http_response, content_length)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nServer: x\r\n\r\nabcHTTP/1.1";
	struct http_msg m;
	size_t used;

	cr_assert_eq(whole(&m, HTTP_MSG_RESPONSE, NULL, s, &used), HTTP_MSG_DONE);
	cr_assert_eq(used, strlen(s) - 8);
	cr_assert_eq(m.status, 200);
	cr_assert(span_is(s, m.reason_text, "OK"));
	cr_assert(m.keep_alive);
	cr_assert_not(m.body_until_eof);
}

Test(http_response, chunked)
{
	const char *s =
		"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n";
	struct http_msg m;
	size_t used;

	cr_assert_eq(whole(&m, HTTP_MSG_RESPONSE, NULL, s, &used), HTTP_MSG_DONE);
	cr_assert_eq(used, strlen(s));
	cr_assert_eq(m.status, 404);
	cr_assert(span_is(s, m.reason_text, "Not Found"));
	cr_assert(m.chunked);
}

Test(http_response, until_eof)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome bytes";
	struct http_msg m;
	size_t used;

	cr_assert_eq(whole(&m, HTTP_MSG_RESPONSE, NULL, s, &used), HTTP_NEED_MORE);
	cr_assert_eq(used, strlen(s));
	cr_assert(m.body_until_eof);
	cr_assert_not(m.keep_alive);
	cr_assert(http_msg_has_body(&m));
	cr_assert_eq(http_msg_eof(&m), HTTP_MSG_DONE);

	/* a Transfer-Encoding without final chunked also reads until close */
	cr_assert_eq(whole(&m, HTTP_MSG_RESPONSE, NULL,
			   "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", &used),
		     HTTP_NEED_MORE);
	cr_assert(m.body_until_eof);
	cr_assert_eq(http_msg_eof(&m), HTTP_MSG_DONE);
}

Test(http_response, truncated_is_error)
{
	struct http_msg m;
	size_t used;

	cr_assert_eq(whole(&m, HTTP_MSG_RESPONSE, NULL,
			   "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", &used),
		     HTTP_NEED_MORE);
	cr_assert_eq(http_msg_eof(&m), HTTP_ERROR);
	cr_assert_eq(m.status, 502);
	http_msg_init(&m, HTTP_MSG_RESPONSE, &lim);
	cr_assert_eq(http_msg_head(&m, "HTTP/1.1 200 OK\r\n", 17, &used), HTTP_NEED_MORE);
	cr_assert_eq(http_msg_eof(&m), HTTP_ERROR);
	cr_assert_eq(m.status, 502);
}

Test(http_response, head_request_has_no_body)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 200 OK\r\n";
	struct http_msg m;
	size_t used;

	http_msg_init(&m, HTTP_MSG_RESPONSE, &lim);
	http_msg_expect_no_body(&m);
	cr_assert_eq(http_msg_head(&m, s, strlen(s), &used), HTTP_HEAD_DONE);
	cr_assert_eq(used, strlen(s) - 17);
	cr_assert_not(http_msg_has_body(&m));
	cr_assert_eq(m.content_length, 1234);
	cr_assert(m.keep_alive);

	http_msg_init(&m, HTTP_MSG_RESPONSE, &lim);
	http_msg_expect_no_body(&m);
	cr_assert_eq(http_msg_head(&m, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 47,
				   &used),
		     HTTP_HEAD_DONE);
	cr_assert_not(http_msg_has_body(&m));
	http_msg_init(&m, HTTP_MSG_RESPONSE, &lim);
	http_msg_expect_no_body(&m);
	cr_assert_eq(http_msg_head(&m, "HTTP/1.1 200 OK\r\n\r\n", 19, &used), HTTP_HEAD_DONE);
	cr_assert_not(http_msg_has_body(&m));
	cr_assert_not(m.body_until_eof);
	cr_assert(m.keep_alive);
}

Test(http_response, no_body_statuses)
{
	static const char *const s[] = {
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
	};
	struct http_msg m;
	size_t used;

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		cr_assert_eq(head(&m, HTTP_MSG_RESPONSE, NULL, s[i], &used), HTTP_HEAD_DONE, "%s",
			     s[i]);
		cr_assert_eq(used, strlen(s[i]));
		cr_assert_not(http_msg_has_body(&m), "%s", s[i]);
		cr_assert(m.keep_alive);
	}
}

Test(http_response, continue_then_final)
{
	const char *s =
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
	struct http_msg m;
	size_t used, bused;

	cr_assert_eq(head(&m, HTTP_MSG_RESPONSE, NULL, s, &used), HTTP_HEAD_DONE);
	cr_assert_eq(m.status, 100);
	cr_assert_eq(used, 25);
	cr_assert_not(http_msg_has_body(&m));
	http_msg_reset(&m);
	s += used;
	cr_assert_eq(http_msg_head(&m, s, strlen(s), &used), HTTP_HEAD_DONE);
	cr_assert_eq(m.status, 201);
	cr_assert(http_msg_has_body(&m));
	cr_assert_eq(http_msg_body(&m, s + used, 2, &bused), HTTP_MSG_DONE);
	cr_assert_eq(bused, 2);
}

Test(http_response, switching_protocols)
{
	const char *s =
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello";
	struct http_msg m;
	size_t used;

	cr_assert_eq(head(&m, HTTP_MSG_RESPONSE, NULL, s, &used), HTTP_HEAD_DONE);
	cr_assert_eq(m.status, 101);
	cr_assert(m.upgrade);
	cr_assert_not(http_msg_has_body(&m));
	cr_assert_eq(used, strlen(s) - 7, "tunnelled bytes after the head are not consumed");
	cr_assert_eq(used, m.head_len);
}

Test(http_response, rejections_are_502)
{
	static const char *const bad[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n",
		"HTTP/1.1 0200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 099 OK\r\n\r\n",
		"HTTP/1.1 600 Odd\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
		"ICY 200 OK\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_reject(HTTP_MSG_RESPONSE, NULL, bad[i], 502);
}

Test(http_response, max_body_until_eof)
{
	struct http_limits l = { .max_head = 8192, .max_body = 4 };
	struct http_msg m;
	size_t used;

	cr_assert_eq(whole(&m, HTTP_MSG_RESPONSE, &l, "HTTP/1.1 200 OK\r\n\r\n12345", &used),
		     HTTP_ERROR);
	cr_assert_eq(m.status, 502);
}

/* ---- helpers ----------------------------------------------------------- */

Test(http_helpers, find_and_hop_headers)
{
	const char *s =
		"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive , X-Private,Content-Length\r\n"
		"X-Private: secret\r\nKeep-Alive: 5\r\nTE: trailers\r\nX-Dup: 1\r\nx-dup: 2\r\n"
		"Content-Length: 0\r\nUpgrade: h2c\r\nX-Private-Not: 1\r\nProxy-Connection: x\r\n\r\n";
	struct http_msg m;
	size_t used;

	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL, s, &used), HTTP_HEAD_DONE);
	cr_assert_eq(http_find_header(&m, s, "X-DUP", 0), 5);
	cr_assert_eq(http_find_header(&m, s, "x-dup", 1), 6);
	cr_assert_eq(http_find_header(&m, s, "x-dup", 2), -1);
	cr_assert_eq(http_find_header(&m, s, "x-du", 0), -1);
	cr_assert(http_is_hop_header(&m, s, 1));     /* Connection */
	cr_assert(http_is_hop_header(&m, s, 2));     /* listed in Connection */
	cr_assert(http_is_hop_header(&m, s, 3));     /* Keep-Alive */
	cr_assert(http_is_hop_header(&m, s, 4));     /* TE */
	cr_assert(http_is_hop_header(&m, s, 8));     /* Upgrade */
	cr_assert(http_is_hop_header(&m, s, 10));    /* Proxy-Connection */
	cr_assert_not(http_is_hop_header(&m, s, 0)); /* Host */
	cr_assert_not(http_is_hop_header(&m, s, 5)); /* X-Dup */
	cr_assert_not(http_is_hop_header(&m, s, 7), "Content-Length stays even if listed");
	cr_assert_not(http_is_hop_header(&m, s, 9),
		      "a longer name than a listed one is not listed");
	cr_assert_not(http_is_hop_header(&m, s, 99));
}

Test(http_helpers, status_text)
{
	static const unsigned codes[] = { 100, 101, 200, 204, 301, 302, 304, 400, 403, 404, 405,
					  408, 413, 414, 431, 500, 501, 502, 503, 504, 505 };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		cr_assert_str_neq(http_status_text(codes[i]), "Unknown", "%u", codes[i]);
	cr_assert_str_eq(http_status_text(502), "Bad Gateway");
	cr_assert_str_eq(http_status_text(431), "Request Header Fields Too Large");
	cr_assert_str_eq(http_status_text(799), "Unknown");
}

/* ---- regressions found by the fuzzers ---------------------------------- */

/* The first defect in byte order decides the status, however the input is
 * sliced: a request-target over max_uri followed by a byte http-parser
 * rejects used to give 400 at once but 414 when split inside the target. */
Test(http_fuzz_regress, status_independent_of_slicing)
{
	static const char *const tails[] = { "\x01 HTTP/1.1\r\n\r\n", "\r\x97",
					     " HTTP/1.1\r\nHost : h\r\n\r\n" };
	struct http_limits l = { .max_head = 8192, .max_uri = 32 };
	char buf[256];
	struct http_msg m;
	size_t used;

	for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
		int n = snprintf(buf, sizeof(buf), "PUT /f%040d%s", 0, tails[t]);

		for (size_t split = 1; split <= (size_t)n; split++) {
			int rc;

			http_msg_init(&m, HTTP_MSG_REQUEST, &l);
			rc = http_msg_head(&m, buf, split, &used);
			if (rc == HTTP_NEED_MORE)
				rc = http_msg_head(&m, buf, (size_t)n, &used);
			cr_assert_eq(rc, HTTP_ERROR, "tail %zu split %zu", t, split);
			cr_assert_eq(m.status, 414, "tail %zu split %zu: %u %s", t, split,
				     m.status, m.reason);
		}
	}
}

/* A Content-Length over max_body in a response that has no body (HEAD,
 * 304) is not a body over max_body. */
Test(http_fuzz_regress, bodyless_response_ignores_max_body)
{
	struct http_limits l = { .max_head = 8192, .max_body = 16 };
	struct http_msg m;
	size_t used;

	http_msg_init(&m, HTTP_MSG_RESPONSE, &l);
	http_msg_expect_no_body(&m);
	cr_assert_eq(http_msg_head(&m, "HTTP/1.0 200 OK\r\nContent-Length: 50\r\n\r\n", 39, &used),
		     HTTP_HEAD_DONE);
	cr_assert_not(http_msg_has_body(&m));
	cr_assert_eq(head(&m, HTTP_MSG_RESPONSE, &l,
			  "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", &used),
		     HTTP_HEAD_DONE);
	cr_assert_not(http_msg_has_body(&m));
	cr_assert_eq(head(&m, HTTP_MSG_RESPONSE, &l,
			  "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", &used),
		     HTTP_ERROR);
	cr_assert_eq(m.status, 502);
}

/* max_head 0 means http-parser's own 80 KiB cap, checked by us so that
 * endless empty lines before the request line are bounded too. */
Test(http_reject, head_cap_without_max_head)
{
	static char buf[100 * 1024];
	struct http_limits l = { 0 };
	struct http_msg m;
	size_t used;

	for (size_t i = 0; i + 1 < sizeof(buf); i += 2)
		buf[i] = '\r', buf[i + 1] = '\n';
	http_msg_init(&m, HTTP_MSG_REQUEST, &l);
	cr_assert_eq(http_msg_head(&m, buf, sizeof(buf), &used), HTTP_ERROR);
	cr_assert_eq(m.status, 431);
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	http_msg_init(&m, HTTP_MSG_REQUEST, &l);
	cr_assert_eq(http_msg_head(&m, buf, sizeof(buf), &used), HTTP_ERROR);
	cr_assert_eq(m.status, 414);
}

/* ---- the heads the proxy sends on (core/proxy/http_rewrite.c) --------- */

#include "http_rewrite.h"

/* Rewrite the request head s with r into out (NUL-terminated). */
static void rewrite_req(const char *s, const struct rewrite_req *r, char *out, size_t cap)
{
	struct http_msg m;
	size_t used;
	int n;

	cr_assert_eq(head(&m, HTTP_MSG_REQUEST, NULL, s, &used), HTTP_HEAD_DONE, "%s", s);
	n = http_rewrite_request(&m, s, r, out, cap - 1);
	cr_assert_gt(n, 0);
	out[n] = '\0';
}

static void rewrite_rsp(const char *s, const struct rewrite_rsp *r, char *out, size_t cap)
{
	struct http_msg m;
	size_t used;
	int n;

	cr_assert_eq(head(&m, HTTP_MSG_RESPONSE, NULL, s, &used), HTTP_HEAD_DONE, "%s", s);
	n = http_rewrite_response(&m, s, r, out, cap - 1);
	cr_assert_gt(n, 0);
	out[n] = '\0';
}

static unsigned count_str(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* RFC 9110 7.6.3: a forwarded request carries our Via too. */
Test(http_rewrite, request_gets_via)
{
	struct rewrite_req r = { .client_ip = "198.18.0.2",
				 .request_id = "id-1",
				 .via_name = "lb1" };
	char out[1024];

	rewrite_req("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &r, out, sizeof(out));
	cr_expect_not_null(strstr(out, "\r\nVia: 1.1 lb1\r\n"), "%s", out);
	cr_expect_not_null(strstr(out, "\r\nX-Request-Id: id-1\r\n"), "%s", out);
	/* The received-protocol is the client's version. */
	rewrite_req("GET / HTTP/1.0\r\n\r\n", &r, out, sizeof(out));
	cr_expect_not_null(strstr(out, "\r\nVia: 1.0 lb1\r\n"), "%s", out);
}

/* A TLS listener says https; a client's own X-Forwarded-Proto is dropped. */
Test(http_rewrite, forwarded_proto_follows_the_listener)
{
	struct rewrite_req r = { .client_ip = "198.18.0.2", .request_id = "id-1" };
	char out[1024];
	const char *in = "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\n\r\n";

	rewrite_req(in, &r, out, sizeof(out));
	cr_expect_not_null(strstr(out, "\r\nX-Forwarded-Proto: http\r\n"), "%s", out);
	cr_expect_eq(count_str(out, "X-Forwarded-Proto"), 1, "%s", out);
	r.https = true;
	rewrite_req(in, &r, out, sizeof(out));
	cr_expect_not_null(strstr(out, "\r\nX-Forwarded-Proto: https\r\n"), "%s", out);
	cr_expect_eq(count_str(out, "X-Forwarded-Proto"), 1, "%s", out);
}

Test(http_rewrite, request_via_appends_to_received_ones)
{
	struct rewrite_req r = { .request_id = "id-1", .via_name = "lb1" };
	char out[1024];

	rewrite_req("GET / HTTP/1.1\r\nHost: a\r\nVia: 1.0 fred, 1.1 p.example.net\r\nX-A: 1\r\n"
		    "via: 1.1 other\r\n\r\n",
		    &r, out, sizeof(out));
	cr_expect_not_null(
		strstr(out, "\r\nVia: 1.0 fred, 1.1 p.example.net, 1.1 other, 1.1 lb1\r\n"), "%s",
		out);
	cr_expect_eq(count_str(out, "ia: "), 1, "one Via line:\n%s", out);
	cr_expect_not_null(strstr(out, "\r\nX-A: 1\r\n"), "%s", out);
}

/* via = no: nothing of ours, and what came in goes on unchanged. */
Test(http_rewrite, via_no_leaves_received_via_alone)
{
	struct rewrite_req r = { .request_id = "id-1" };
	struct rewrite_rsp p = { .request_id = "id-1", .keep_alive = true };
	char out[1024];

	rewrite_req("GET / HTTP/1.1\r\nHost: a\r\nVia: 1.1 fred\r\n\r\n", &r, out, sizeof(out));
	cr_expect_not_null(strstr(out, "\r\nVia: 1.1 fred\r\n"), "%s", out);
	cr_expect_eq(count_str(out, "Via:"), 1, "%s", out);
	rewrite_rsp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &p, out, sizeof(out));
	cr_expect_null(strstr(out, "Via:"), "%s", out);
	rewrite_rsp("HTTP/1.1 200 OK\r\nVia: 1.1 cache\r\nContent-Length: 0\r\n\r\n", &p, out,
		    sizeof(out));
	cr_expect_not_null(strstr(out, "\r\nVia: 1.1 cache\r\n"), "%s", out);
}

Test(http_rewrite, response_via_appends_and_request_id_is_ours)
{
	struct rewrite_rsp p = { .via_name = "lb1", .request_id = "id-7", .keep_alive = true };
	char out[1024];

	rewrite_rsp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &p, out, sizeof(out));
	cr_expect_not_null(strstr(out, "\r\nVia: 1.1 lb1\r\n"), "%s", out);
	cr_expect_not_null(strstr(out, "\r\nX-Request-Id: id-7\r\n"), "%s", out);
	/* A backend's own Via (a cache behind us) comes first; its echo of
	 * another X-Request-Id is replaced by the request's. */
	rewrite_rsp(
		"HTTP/1.0 200 OK\r\nVia: 1.1 cache\r\nX-Request-Id: theirs\r\nContent-Length: 0\r\n\r\n",
		&p, out, sizeof(out));
	cr_expect_not_null(strstr(out, "\r\nVia: 1.1 cache, 1.0 lb1\r\n"), "%s", out);
	cr_expect_eq(count_str(out, "X-Request-Id:"), 1, "%s", out);
	cr_expect_null(strstr(out, "theirs"), "%s", out);
	p.request_id = NULL;
	rewrite_rsp("HTTP/1.1 204 No Content\r\nX-Request-Id: theirs\r\n\r\n", &p, out,
		    sizeof(out));
	cr_expect_not_null(strstr(out, "\r\nX-Request-Id: theirs\r\n"), "%s", out);
}

/* Every error of the balancer's own carries the request's id. */
Test(http_rewrite, error_responses_carry_the_request_id)
{
	static const unsigned codes[] = { 400, 408, 413, 414, 431, 502, 503, 504 };
	char out[1024], want[64];
	int n;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		n = http_error_response(codes[i], "lb1", "id-9", out, sizeof(out) - 1);
		cr_assert_gt(n, 0);
		out[n] = '\0';
		snprintf(want, sizeof(want), "HTTP/1.1 %u ", codes[i]);
		cr_expect(!strncmp(out, want, strlen(want)), "%s", out);
		cr_expect_not_null(strstr(out, "\r\nX-Request-Id: id-9\r\n"), "%u: %s", codes[i],
				   out);
		cr_expect_not_null(strstr(out, "\r\nVia: 1.1 lb1\r\n"), "%u: %s", codes[i], out);
	}
	n = http_error_response(503, NULL, NULL, out, sizeof(out) - 1);
	cr_assert_gt(n, 0);
	out[n] = '\0';
	cr_expect_null(strstr(out, "X-Request-Id"), "%s", out);
	cr_expect_null(strstr(out, "Via"), "%s", out);
}
