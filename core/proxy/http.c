/* http.c - HTTP/1.1 framing (RFC 9112) on top of Debian's http-parser 2.9.4.
 *
 * http-parser does the framing: request/status line, field syntax,
 * Content-Length, chunked coding, and the smuggling checks it already has
 * (CL with TE, repeated CL, a request TE whose final coding is not chunked,
 * bad chunk sizes).  This file adds what a proxy needs on top:
 *
 *  - a line checker (http_scan.c) that sees every head, trailer and
 *    chunk-size byte before http-parser does and rejects what http-parser tolerates but a backend
 *    may read differently: bare LF, CR not followed by LF, obs-fold, white
 *    space between a field name and its colon, control bytes in chunk
 *    extensions (RFC 9112 2.2, 5.1, 5.2, 7.1.1);
 *  - HTTP versions other than 1.0/1.1, Host rules, our size limits, and the
 *    body rules for 1xx/204/304 and responses to HEAD (RFC 9112 6.3);
 *  - pauses at the end of the head, at each chunk boundary and at the end of
 *    the message, so the caller learns exact byte counts and never has bytes
 *    of the next (pipelined) message consumed.
 *
 * The head buffer is re-fed from its first byte on every call; we keep the
 * parser state and give it only the bytes after m->fed, so a head that
 * trickles in byte by byte costs O(n), not O(n^2).
 */
#include <string.h>
#include <strings.h>

/* http_parser.h and http.h both declare an "enum http_method": rename the
 * library's one while including it (this is its only includer). */
#define http_method hp_method
#include <http_parser.h>
#undef http_method

#include "http.h"
#include "http_scan.h"
#include "macros.h"

_Static_assert(sizeof(http_parser) <= sizeof(((struct http_msg *)0)->priv),
	       "struct http_msg.priv too small for http_parser");
_Static_assert(_Alignof(http_parser) <= 8, "struct http_msg.priv under-aligned");

/* http-parser's own cap on a head (HTTP_MAX_HEADER_SIZE); also our
 * max_head when the caller gives 0, so that fed/offsets stay bounded. */
#define HEAD_CAP (80 * 1024)

/* Which data callback ran last: consecutive calls of the same kind are
 * pieces of one token split across execute calls. */
enum cb_kind {
	CB_NONE,
	CB_URL,
	CB_STATUS,
	CB_FIELD,
	CB_VALUE
};

static int on_url(http_parser *p, const char *at, size_t len);
static int on_status(http_parser *p, const char *at, size_t len);
static int on_header_field(http_parser *p, const char *at, size_t len);
static int on_header_value(http_parser *p, const char *at, size_t len);
static int on_headers_complete(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t len);
static int on_message_complete(http_parser *p);
static int on_chunk_header(http_parser *p);
static int on_chunk_complete(http_parser *p);

static const http_parser_settings settings = {
	.on_url = on_url,
	.on_status = on_status,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
	.on_chunk_header = on_chunk_header,
	.on_chunk_complete = on_chunk_complete,
};

static http_parser *parser_of(struct http_msg *m) { return (http_parser *)(void *)m->priv; }

/* Record the first failure; a response's problems are always the
 * backend's, so the client gets 502 whatever the cause. */
static int fail(struct http_msg *m, unsigned status, const char *reason)
{
	if (!m->failed) {
		m->failed = true;
		m->status = m->kind == HTTP_MSG_RESPONSE ? 502 : status;
		m->reason = reason;
	}
	return HTTP_ERROR;
}

static int parser_failed(struct http_msg *m)
{
	enum http_errno e = HTTP_PARSER_ERRNO(parser_of(m));

	if (m->failed)
		return HTTP_ERROR;
	if (e == HPE_HEADER_OVERFLOW && !m->head_done) /* trailers over 80 KiB: 400 */
		return fail(m, 431, "header section over http-parser's 80 KiB");
	return fail(m, 400, http_errno_description(e));
}

static void begin_call(struct http_msg *m, const char *buf, size_t len)
{
	parser_of(m)->data = m; /* the struct may have moved since init */
	m->cur = buf;
	m->cur_len = len;
}

/* Feed n checked bytes to http-parser; n = 0 must not reach it (that
 * means EOF to http_parser_execute). */
static size_t execute(struct http_msg *m, const char *buf, size_t n)
{
	return n ? http_parser_execute(parser_of(m), &settings, buf, n) : 0;
}

/* ---- http-parser callbacks -------------------------------------------- */

/* Callbacks may deliver one token in pieces (one per execute call, the
 * buffer ending inside it); the pieces are adjacent in the head buffer. */
static int span_add(struct http_msg *m, struct http_span *s, int cb, const char *at, size_t len)
{
	uint32_t off = (uint32_t)(at - m->cur);

	if (m->last_cb == cb) {
		if (off != s->off + s->len)
			return fail(m, 400, "token split across non-adjacent bytes");
		s->len += (uint32_t)len;
	} else {
		s->off = off;
		s->len = (uint32_t)len;
	}
	m->last_cb = cb;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_msg *m = p->data;

	if (span_add(m, &m->uri, CB_URL, at, len) < 0)
		return -1;
	if (m->limits.max_uri &&
	    m->uri.len > m->limits.max_uri) { /* backstop: http_scan() counts it first */
		fail(m, 414, http_uri_too_long);
		return -1;
	}
	return 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
	struct http_msg *m = p->data;

	return span_add(m, &m->reason_text, CB_STATUS, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_msg *m = p->data;
	struct http_header *h;

	if (m->head_done)
		return 0; /* a trailer field: forwarded verbatim, not recorded */
	if (m->last_cb != CB_FIELD) {
		if (m->nheaders == HTTP_MAX_HEADERS) {
			fail(m, 431, "more than HTTP_MAX_HEADERS header fields");
			return -1;
		}
		m->nheaders++;
	}
	h = &m->headers[m->nheaders - 1];
	if (span_add(m, &h->name, CB_FIELD, at, len) < 0)
		return -1;
	h->value = (struct http_span){ h->name.off + h->name.len, 0 }; /* until on_header_value */
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_msg *m = p->data;

	if (m->head_done)
		return 0;
	return span_add(m, &m->headers[m->nheaders - 1].value, CB_VALUE, at, len) < 0 ? -1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_msg *m = p->data;

	m->body_seen += len;
	if (m->limits.max_body && m->body_seen > m->limits.max_body) {
		fail(m, 413, "body over max_body");
		return -1;
	}
	return 0;
}

/* Pause so the caller's byte count ends exactly here: bytes after the
 * message belong to the next one (pipelining, RFC 9112 9.3.2). */
static int on_message_complete(http_parser *p)
{
	struct http_msg *m = p->data;

	m->msg_done = true;
	http_parser_pause(p, 1);
	return 0;
}

/* After a chunk-size line (content_length = chunk size): check the limit
 * before any of the chunk is forwarded, and pause so that the line checker
 * knows where the trailer section begins. */
static int on_chunk_header(http_parser *p)
{
	struct http_msg *m = p->data;
	uint64_t size = p->content_length;

	if (m->limits.max_body && size > m->limits.max_body - m->body_seen) {
		fail(m, 413, "chunked body over max_body");
		return -1;
	}
	if (size == 0) {
		m->in_trailers = true;
		m->scan = SC_LINE;
	} else {
		m->scan = SC_IDLE;
	}
	http_parser_pause(p, 1);
	return 0;
}

/* After a chunk's data and its CRLF: the next chunk-size line starts. */
static int on_chunk_complete(http_parser *p)
{
	struct http_msg *m = p->data;

	if (m->in_trailers)
		return 0; /* end of the trailer section: message_complete follows */
	m->scan = SC_CHUNK;
	m->scan_len = 0;
	http_parser_pause(p, 1);
	return 0;
}

/* ---- head checks ------------------------------------------------------- */

static bool name_is(const char *head, struct http_span s, const char *name, size_t n)
{
	return s.len == n && strncasecmp(head + s.off, name, n) == 0;
}

static bool span_ieq(const struct http_msg *m, struct http_span s, const char *text)
{
	return name_is(m->cur, s, text, strlen(text));
}

/* How many comma-separated elements of a list value equal word
 * (case-insensitive, OWS around elements ignored; RFC 9110 5.6.1). */
static unsigned count_in_list(const char *head, struct http_span list, const char *word, size_t n)
{
	const char *v = head + list.off, *end = v + list.len;
	unsigned count = 0;

	while (v < end) {
		const char *tok, *comma = memchr(v, ',', (size_t)(end - v));
		const char *stop = comma ? comma : end;

		while (v < stop && (*v == ' ' || *v == '\t'))
			v++;
		tok = v;
		while (stop > tok && (stop[-1] == ' ' || stop[-1] == '\t'))
			stop--;
		count += (size_t)(stop - tok) == n && strncasecmp(tok, word, n) == 0;
		v = comma ? comma + 1 : end;
	}
	return count;
}

static unsigned count_headers(const struct http_msg *m, const char *name)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->nheaders; i++)
		n += span_ieq(m, m->headers[i].name, name);
	return n;
}

/* RFC 9112 6.1: chunked is applied at most once.  http-parser looks only
 * at the final coding, so "chunked, chunked" would pass to the backend,
 * which must then dechunk twice. */
static unsigned count_chunked(const struct http_msg *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->nheaders; i++)
		if (span_ieq(m, m->headers[i].name, "transfer-encoding"))
			n += count_in_list(m->cur, m->headers[i].value, "chunked", 7);
	return n;
}

/* http-parser leaves trailing OWS in values (RFC 9110 5.5 excludes it). */
static void trim_values(struct http_msg *m)
{
	for (unsigned i = 0; i < m->nheaders; i++) {
		struct http_span *v = &m->headers[i].value;

		while (v->len &&
		       (m->cur[v->off + v->len - 1] == ' ' || m->cur[v->off + v->len - 1] == '\t'))
			v->len--;
	}
}

/* RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT; we speak 1.0/1.1. */
static int check_version(struct http_msg *m, const http_parser *p)
{
	size_t after_uri = (size_t)m->uri.off + m->uri.len;

	if (m->kind == HTTP_MSG_REQUEST && after_uri < m->cur_len &&
	    (m->cur[after_uri] == '\r' || m->cur[after_uri] == '\n')) {
		fail(m, 400, "request line without HTTP version (HTTP/0.9)");
		return -1;
	}
	if (p->http_major != 1 || p->http_minor > 1) {
		fail(m, 505, "HTTP version other than 1.0 or 1.1");
		return -1;
	}
	m->version_minor = p->http_minor;
	return 0;
}

static enum http_method map_method(unsigned method)
{
	switch (method) {
	case HTTP_GET:
		return HTTP_M_GET;
	case HTTP_HEAD:
		return HTTP_M_HEAD;
	case HTTP_POST:
		return HTTP_M_POST;
	case HTTP_PUT:
		return HTTP_M_PUT;
	case HTTP_DELETE:
		return HTTP_M_DELETE;
	case HTTP_OPTIONS:
		return HTTP_M_OPTIONS;
	case HTTP_TRACE:
		return HTTP_M_TRACE;
	case HTTP_CONNECT:
		return HTTP_M_CONNECT;
	case HTTP_PATCH:
		return HTTP_M_PATCH;
	default:
		return HTTP_M_OTHER;
	}
}

static int request_head_ok(struct http_msg *m, const http_parser *p)
{
	uint32_t i = m->start_off;
	unsigned hosts = count_headers(m, "host");

	if (check_version(m, p) < 0)
		return -1;
	while (i < m->uri.off && m->cur[i] != ' ')
		i++;
	m->method_text = (struct http_span){ m->start_off, i - m->start_off };
	m->method = map_method(p->method);
	/* RFC 9112 3.2: exactly one Host in 1.1, never more than one. */
	if (hosts > 1 || (hosts == 0 && m->version_minor == 1)) {
		fail(m, 400,
		     hosts ? "more than one Host header" : "HTTP/1.1 request without Host");
		return -1;
	}
	return 0;
}

/* status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] (RFC 9112 4);
 * http-parser accepts 1 to 4 digits. */
static int response_head_ok(struct http_msg *m, const http_parser *p)
{
	const char *s = m->cur + m->start_off;
	size_t room = m->cur_len - m->start_off;

	if (check_version(m, p) < 0)
		return -1;
	if (room < 13 || s[8] != ' ' || s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' ||
	    s[11] < '0' || s[11] > '9' || (s[12] != ' ' && s[12] != '\r')) {
		fail(m, 502, "malformed status code");
		return -1;
	}
	m->status = p->status_code;
	return 0;
}

/* keep-alive per version and Connection (RFC 9112 9.3); a 1.0 message with
 * Transfer-Encoding has faulty framing and ends the connection (6.1). */
static bool keep_alive(const struct http_msg *m, const http_parser *p)
{
	if (m->body_until_eof || (m->version_minor == 0 && p->uses_transfer_encoding))
		return false;
	if (m->version_minor == 1)
		return !(p->flags & F_CONNECTION_CLOSE);
	return (p->flags & F_CONNECTION_KEEP_ALIVE) != 0;
}

static bool expects_continue(const struct http_msg *m)
{
	int i = http_find_header(m, m->cur, "expect", 0);

	/* RFC 9110 10.1.1: ignored in an HTTP/1.0 request. */
	return i >= 0 && m->version_minor == 1 && span_ieq(m, m->headers[i].value, "100-continue");
}

/* Framing fields; returns true if the message has no body whatever its
 * headers say (RFC 9112 6.3 items 1 and 2). */
static bool set_framing(struct http_msg *m, const http_parser *p)
{
	bool no_body = false;

	m->chunked = (p->flags & F_CHUNKED) != 0;
	m->has_content_length = (p->flags & F_CONTENTLENGTH) != 0;
	m->content_length = m->has_content_length ? p->content_length : 0;
	if (m->kind == HTTP_MSG_RESPONSE) {
		m->upgrade = m->status == 101;
		no_body = m->skip_body || m->status / 100 == 1 || m->status == 204 ||
			  m->status == 304;
		m->body_until_eof = !no_body && !m->chunked && !m->has_content_length;
	} else {
		/* http-parser also flags CONNECT; that is told by the method. */
		m->upgrade = p->upgrade && p->method != HTTP_CONNECT;
		m->expect_continue = expects_continue(m);
	}
	m->keep_alive = keep_alive(m, p);
	return no_body;
}

static int on_headers_complete(http_parser *p)
{
	struct http_msg *m = p->data;
	int rc;
	bool no_body;

	m->last_cb = CB_NONE;
	trim_values(m);
	rc = m->kind == HTTP_MSG_REQUEST ? request_head_ok(m, p) : response_head_ok(m, p);
	if (rc < 0)
		return -1;
	if (count_chunked(m) > 1) {
		fail(m, 400, "chunked transfer coding applied more than once");
		return -1;
	}
	no_body = set_framing(m, p);
	if (!no_body && !m->chunked && m->limits.max_body &&
	    m->content_length > m->limits.max_body) {
		fail(m, 413, "Content-Length over max_body");
		return -1;
	}
	m->head_done = true;
	/* http-parser stops before the final LF; http_msg_head feeds it. */
	http_parser_pause(p, 1);
	return no_body ? 1 : 0; /* 1: F_SKIPBODY */
}

/* ---- public API -------------------------------------------------------- */

void http_msg_init(struct http_msg *m, enum http_kind kind, const struct http_limits *limits)
{
	/* Everything but the header table (only headers[0..nheaders) is
	 * ever read): this runs twice per request. */
	memset(m, 0, offsetof(struct http_msg, headers));
	memset(&m->nheaders, 0, sizeof(*m) - offsetof(struct http_msg, nheaders));
	m->kind = kind;
	if (limits)
		m->limits = *limits;
	m->scan = SC_LEAD;
	http_parser_init(parser_of(m), kind == HTTP_MSG_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE);
}

void http_msg_reset(struct http_msg *m)
{
	struct http_limits limits = m->limits;

	http_msg_init(m, m->kind, &limits);
}

void http_msg_expect_no_body(struct http_msg *m) { m->skip_body = true; }

/* The parser paused on the head's final LF: feed that byte, which moves
 * it into the body, or completes a message that has none. */
static int finish_head(struct http_msg *m, const char *buf, size_t *used)
{
	http_parser *p = parser_of(m);
	size_t n;

	http_parser_pause(p, 0);
	n = http_parser_execute(p, &settings, buf + m->fed, 1);
	if (m->failed)
		return HTTP_ERROR;
	if (n != 1 || (HTTP_PARSER_ERRNO(p) != HPE_OK && HTTP_PARSER_ERRNO(p) != HPE_PAUSED))
		return parser_failed(m);
	http_parser_pause(p, 0);
	m->fed++;
	m->head_len = m->fed;
	m->expect_body = !m->msg_done;
	m->scan = m->expect_body && m->chunked ? SC_CHUNK : SC_IDLE;
	m->scan_len = 0;
	*used = m->head_len;
	return HTTP_HEAD_DONE;
}

/* The head did not end within max_head bytes. */
static int head_too_large(struct http_msg *m)
{
	if (m->scan == SC_METHOD || m->scan == SC_TARGET)
		return fail(m, 414, "request-target runs past max_head");
	return fail(m, 431, "header section over max_head");
}

int http_msg_head(struct http_msg *m, const char *buf, size_t len, size_t *used)
{
	size_t max = m->limits.max_head && m->limits.max_head < HEAD_CAP ? m->limits.max_head
									 : HEAD_CAP;
	size_t lim = len < max ? len : max, want, n;
	const char *why;

	*used = 0;
	if (m->failed)
		return HTTP_ERROR;
	if (m->head_len) {
		*used = m->head_len;
		return HTTP_HEAD_DONE;
	}
	if (len < m->fed)
		return fail(m, 500, "head buffer shrank between calls");
	begin_call(m, buf, len);
	if (lim > m->fed) {
		want = http_scan(m, buf + m->fed, lim - m->fed, &why);
		n = execute(m, buf + m->fed, want);
		m->fed += (uint32_t)n;
		if (m->failed)
			return HTTP_ERROR;
		if (m->head_done)
			return finish_head(m, buf, used);
		if (HTTP_PARSER_ERRNO(parser_of(m)) != HPE_OK)
			return parser_failed(m);
		if (why)
			return fail(m, why == http_uri_too_long ? 414 : 400, why);
		if (n != want)
			return fail(m, 400, "http-parser stopped early");
	}
	if (len >= max)
		return head_too_large(m);
	*used = len;
	return HTTP_NEED_MORE;
}

bool http_msg_has_body(const struct http_msg *m) { return m->expect_body; }

/* One execute call over body bytes; *n = bytes consumed.  Stops at every
 * pause (chunk boundary or end of message). */
static int body_step(struct http_msg *m, const char *buf, size_t len, size_t *n)
{
	http_parser *p = parser_of(m);
	const char *why;
	size_t want = http_scan(m, buf, len, &why);

	*n = execute(m, buf, want);
	if (m->failed)
		return HTTP_ERROR;
	if (HTTP_PARSER_ERRNO(p) != HPE_OK && HTTP_PARSER_ERRNO(p) != HPE_PAUSED)
		return parser_failed(m);
	if (why)
		return fail(m, why == http_uri_too_long ? 414 : 400, why);
	if (HTTP_PARSER_ERRNO(p) == HPE_PAUSED) {
		http_parser_pause(p, 0);
		return m->msg_done ? HTTP_MSG_DONE : HTTP_NEED_MORE;
	}
	if (*n != want)
		return fail(m, 400, "http-parser stopped early");
	return HTTP_NEED_MORE;
}

int http_msg_body(struct http_msg *m, const char *buf, size_t len, size_t *used)
{
	size_t off = 0, n;
	int rc = HTTP_NEED_MORE;

	*used = 0;
	if (m->failed)
		return HTTP_ERROR;
	if (!m->head_len)
		return fail(m, 500, "body fed before the head was complete");
	if (m->msg_done)
		return HTTP_MSG_DONE;
	begin_call(m, buf, len);
	while (off < len && rc == HTTP_NEED_MORE) {
		rc = body_step(m, buf + off, len - off, &n);
		off += n;
	}
	*used = off;
	return rc;
}

int http_msg_eof(struct http_msg *m)
{
	http_parser *p = parser_of(m);

	if (m->failed)
		return HTTP_ERROR;
	if (m->msg_done)
		return HTTP_MSG_DONE;
	if (!m->head_len || !m->body_until_eof)
		return fail(m, 400, "connection closed before the end of the message");
	begin_call(m, "", 0);
	http_parser_execute(p, &settings, "", 0); /* len 0 tells it EOF */
	if (m->failed)
		return HTTP_ERROR;
	return m->msg_done ? HTTP_MSG_DONE : parser_failed(m);
}

/* ---- header helpers ---------------------------------------------------- */

bool http_method_idempotent(enum http_method m)
{
	switch (m) {
	case HTTP_M_GET:
	case HTTP_M_HEAD:
	case HTTP_M_OPTIONS:
	case HTTP_M_TRACE:
	case HTTP_M_PUT:
	case HTTP_M_DELETE:
		return true;
	default:
		return false;
	}
}

int http_find_header(const struct http_msg *m, const char *head, const char *name, unsigned nth)
{
	size_t n = strlen(name);

	for (unsigned i = 0; i < m->nheaders; i++)
		if (name_is(head, m->headers[i].name, name, n) && nth-- == 0)
			return (int)i;
	return -1;
}

bool http_is_hop_header(const struct http_msg *m, const char *head, unsigned idx)
{
	/* With their lengths: this runs for every header of every message. */
#define HOP(s)                   \
	{                        \
		s, sizeof(s) - 1 \
	}
	static const struct {
		const char *s;
		size_t n;
	} hop[] = {
		HOP("connection"), HOP("keep-alive"), HOP("proxy-connection"),
		HOP("te"),         HOP("trailer"),    HOP("upgrade"),
	};
#undef HOP
	struct http_span name;

	if (idx >= m->nheaders)
		return false;
	name = m->headers[idx].name;
	for (size_t i = 0; i < ARRAY_SIZE(hop); i++)
		if (name_is(head, name, hop[i].s, hop[i].n))
			return true;
	/* Framing travels with the verbatim body, whatever Connection says. */
	if (name_is(head, name, "transfer-encoding", 17) ||
	    name_is(head, name, "content-length", 14))
		return false;
	for (unsigned c = 0; c < m->nheaders; c++)
		if (name_is(head, m->headers[c].name, "connection", 10) &&
		    count_in_list(head, m->headers[c].value, head + name.off, name.len))
			return true;
	return false;
}

const char *http_status_text(unsigned status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 417:
		return "Expectation Failed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}
