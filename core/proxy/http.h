/* http.h - HTTP/1.1 message framing (RFC 9112), a pure codec.
 *
 * Wraps Debian's http-parser (the only file that includes <http_parser.h>)
 * and adds the strictness a proxy needs: obs-fold, whitespace before the
 * colon, HTTP versions other than 1.0/1.1, CL+TE, conflicting lengths,
 * bad chunk sizes and oversized heads/URIs are rejected with the status a
 * client should get.
 *
 * Usage, one struct http_msg per direction of a connection:
 *   http_msg_init(&m, HTTP_MSG_REQUEST, &limits);
 *   feed the head: http_msg_head(&m, buf, len, &used) until HTTP_HEAD_DONE.
 *     buf is the whole head received so far, from its first byte; it must
 *     stay unchanged between calls (headers are stored as offsets into it),
 *     len grows as bytes arrive; bytes beyond the head are not consumed.
 *   then, if http_msg_has_body(&m): feed body bytes (any slicing) to
 *     http_msg_body() and forward exactly the consumed bytes verbatim; it
 *     returns HTTP_MSG_DONE at the end of the message (chunked trailers
 *     included).  A response with neither length nor chunking ends at EOF:
 *     call http_msg_eof().
 *   http_msg_reset() before the next message on the same connection.
 *   On HTTP_ERROR, m->status / m->reason are set (sticky until reset) and
 *   *used is meaningless: send the status (requests) or 502 and close.
 *   A response with status 1xx other than 101 is a complete message without
 *   a body: forward it, reset, and parse the real response after it.
 * Checks that look at bytes (bare LF, obs-fold, field-name whitespace,
 * max_uri) and http-parser's own run in byte order, so the first defect in
 * the stream decides the status however the input is sliced.
 * docs/http.md lists every rejection and its status.
 */
#ifndef ANDROMEDA_HTTP_H
#define ANDROMEDA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_kind {
	HTTP_MSG_REQUEST,
	HTTP_MSG_RESPONSE
};

enum http_result {
	HTTP_NEED_MORE = 0, /* all input consumed, message not finished */
	HTTP_HEAD_DONE = 1, /* head complete; *used = head length */
	HTTP_MSG_DONE = 2,  /* message complete; *used = bytes up to its end */
	HTTP_ERROR = -1,    /* see m->status / m->reason */
};

/* Request methods we distinguish (others are HTTP_M_OTHER and passed on). */
enum http_method {
	HTTP_M_OTHER,
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_POST,
	HTTP_M_PUT,
	HTTP_M_DELETE,
	HTTP_M_OPTIONS,
	HTTP_M_TRACE,
	HTTP_M_CONNECT,
	HTTP_M_PATCH,
};

struct http_limits {
	uint32_t max_head; /* bytes of request line + headers -> 431 (414 if the URI alone);
			    * 0 or over 80 KiB: http-parser's cap of 80 KiB */
	uint32_t max_uri;  /* -> 414 */
	uint64_t max_body; /* 0 = unlimited -> 413 (a chunk is refused at its size line) */
};

struct http_span {
	uint32_t off, len; /* into the head buffer */
};

#define HTTP_MAX_HEADERS 100 /* more -> 431 */

struct http_header {
	struct http_span name, value;
};

struct http_msg {
	enum http_kind kind;
	struct http_limits limits;

	/* Filled while parsing the head. */
	enum http_method method;
	struct http_span method_text; /* request: as received */
	struct http_span uri;         /* request */
	unsigned version_minor;       /* 0 or 1 (major is always 1) */
	unsigned status;              /* response: status code; on error: our status to send */
	struct http_span reason_text; /* response: reason phrase */
	struct http_header headers[HTTP_MAX_HEADERS];
	unsigned nheaders;
	uint32_t head_len; /* once HTTP_HEAD_DONE */

	/* Framing, valid once HTTP_HEAD_DONE. */
	bool keep_alive; /* per version + Connection header */
	bool chunked;
	bool has_content_length;
	uint64_t content_length;
	bool upgrade;         /* Upgrade + Connection: upgrade (request; not set
			       * for CONNECT: see method) / 101 (response) */
	bool expect_continue; /* request: Expect: 100-continue */
	bool body_until_eof;  /* response without length: body ends at close */

	const char *reason; /* on HTTP_ERROR: short text for logs */

	/* private */
	unsigned char priv[96] __attribute__((aligned(8))); /* http_parser state */
	uint64_t body_seen;
	int last_cb;
	bool head_done, msg_done, skip_body;
	bool failed;        /* sticky: status/reason are set */
	bool expect_body;   /* fixed once HTTP_HEAD_DONE */
	bool in_trailers;   /* chunked: last chunk seen */
	uint8_t scan;       /* line checker state (http_scan.c) */
	uint32_t scan_len;  /* bytes of the current chunk-size line */
	uint32_t fed;       /* head bytes given to http_parser */
	uint32_t start_off; /* first byte of the start line */
	const char *cur;    /* buffer of the running call */
	size_t cur_len;
};

void http_msg_init(struct http_msg *m, enum http_kind kind, const struct http_limits *limits);
void http_msg_reset(struct http_msg *m);
/* For a response to HEAD (or to a request whose response never has a
 * body), call before feeding the response head; http_msg_init/reset clear
 * it, so call it again after a reset that follows a 1xx. */
void http_msg_expect_no_body(struct http_msg *m);

int http_msg_head(struct http_msg *m, const char *buf, size_t len, size_t *used);
bool http_msg_has_body(const struct http_msg *m);
int http_msg_body(struct http_msg *m, const char *buf, size_t len, size_t *used);
/* Peer closed: HTTP_MSG_DONE if that legitimately ends the message
 * (body_until_eof), HTTP_ERROR otherwise (truncated). */
int http_msg_eof(struct http_msg *m);

/* Idempotent per RFC 9110 9.2.2 (GET HEAD OPTIONS TRACE PUT DELETE). */
bool http_method_idempotent(enum http_method m);

/* Find a header by name (case-insensitive); the n-th occurrence (0-based).
 * Returns its index or -1. */
int http_find_header(const struct http_msg *m, const char *head, const char *name, unsigned nth);
/* True if header idx is hop-by-hop and must not be forwarded (RFC 9110
 * 7.6.1: Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade, and
 * any name listed in the message's Connection header).  Transfer-Encoding
 * and Content-Length are NOT reported: bodies are forwarded verbatim, so
 * their framing headers travel with them. */
bool http_is_hop_header(const struct http_msg *m, const char *head, unsigned idx);

/* Canonical reason phrase for our own error responses. */
const char *http_status_text(unsigned status);

#endif
