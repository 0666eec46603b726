/* http_rewrite.h - the heads the proxy sends on: pure functions from a
 * parsed message (core/proxy/http.h) to bytes.
 *
 * Requests to a backend keep the method, URI and version, drop hop-by-hop
 * headers (RFC 9110 7.6.1), merge X-Forwarded-For, set X-Forwarded-Proto
 * and X-Request-Id.  Responses to a client drop hop-by-hop headers, set
 * X-Request-Id and add the Connection header our keep-alive decision
 * needs.  Both directions get Via (RFC 9110 7.6.3): our entry appended to
 * the ones received, in one header. */
#ifndef ANDROMEDA_HTTP_REWRITE_H
#define ANDROMEDA_HTTP_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

struct rewrite_req {
	const char *client_ip;  /* appended to X-Forwarded-For; NULL: no X-Forwarded-* */
	bool https;             /* X-Forwarded-Proto: https (a TLS listener), else http */
	const char *request_id; /* X-Request-Id value (replaces any received) */
	const char *via_name;   /* NULL: no Via of ours (received ones pass unchanged) */
	bool upgrade;           /* keep Upgrade and send Connection: upgrade */
};

struct rewrite_rsp {
	const char *via_name;   /* NULL: no Via of ours (received ones pass unchanged) */
	const char *request_id; /* X-Request-Id value (replaces the backend's); NULL: none */
	bool keep_alive;        /* the client connection stays open after this response */
	bool client_http10;     /* client spoke HTTP/1.0: keep-alive must be explicit */
	bool upgrade;           /* 101: keep Upgrade, send Connection: upgrade */
};

/* Write the request head for a backend into out[0..cap).  Returns the
 * length, or -ENOSPC if it does not fit. */
int http_rewrite_request(const struct http_msg *m, const char *head, const struct rewrite_req *r,
			 char *out, size_t cap);
/* Write the response head for the client.  Returns the length or -ENOSPC. */
int http_rewrite_response(const struct http_msg *m, const char *head, const struct rewrite_rsp *r,
			  char *out, size_t cap);
/* A complete error response of our own (status line, a few headers, a short
 * text body), Connection: close.  Returns the length or -ENOSPC. */
int http_error_response(unsigned status, const char *via_name, const char *request_id, char *out,
			size_t cap);

/* The X-Request-Id a client sent, if it is safe to reuse (1..64 visible
 * ASCII characters): copied into out (NUL-terminated) and true. */
bool http_client_request_id(const struct http_msg *m, const char *head, char *out, size_t cap);

#endif
