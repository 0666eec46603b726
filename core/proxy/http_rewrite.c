/* http_rewrite.c - building the heads the proxy forwards. */
#include "http_rewrite.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* An append-only writer that remembers overflow instead of checking every call. */
struct wr {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void wr_mem(struct wr *w, const char *s, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void wr_str(struct wr *w, const char *s) { wr_mem(w, s, strlen(s)); }
static void wr_span(struct wr *w, const char *head, struct http_span s)
{
	wr_mem(w, head + s.off, s.len);
}

static void wr_fmt(struct wr *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wr_fmt(struct wr *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->p + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->cap - w->len)
		w->overflow = true;
	else
		w->len += (size_t)n;
}

/* "HTTP/1.1 NNN " (status is three digits: the codec checked it). */
static void wr_status(struct wr *w, unsigned status)
{
	char line[13] = "HTTP/1.1 000 ";

	line[9] = (char)('0' + status / 100 % 10);
	line[10] = (char)('0' + status / 10 % 10);
	line[11] = (char)('0' + status % 10);
	wr_mem(w, line, sizeof(line));
}

static int wr_done(struct wr *w) { return w->overflow ? -ENOSPC : (int)w->len; }

static bool name_is(const char *head, struct http_span name, const char *s)
{
	return name.len == strlen(s) && !strncasecmp(head + name.off, s, name.len);
}

static void wr_header(struct wr *w, const char *head, const struct http_header *h)
{
	wr_span(w, head, h->name);
	wr_mem(w, ": ", 2);
	wr_span(w, head, h->value);
	wr_mem(w, "\r\n", 2);
}

/* Existing X-Forwarded-For values, in order, then the client's address
 * (the de facto convention: each proxy appends the address it saw). */
static void wr_forwarded_for(struct wr *w, const struct http_msg *m, const char *head,
			     const char *ip)
{
	bool first = true;

	wr_str(w, "X-Forwarded-For: ");
	for (unsigned i = 0; i < m->nheaders; i++) {
		if (!name_is(head, m->headers[i].name, "x-forwarded-for") ||
		    !m->headers[i].value.len)
			continue;
		if (!first)
			wr_mem(w, ", ", 2);
		wr_span(w, head, m->headers[i].value);
		first = false;
	}
	if (!first)
		wr_mem(w, ", ", 2);
	wr_str(w, ip);
	wr_mem(w, "\r\n", 2);
}

/* RFC 9110 7.6.3: each intermediary appends "received-protocol by" to
 * the Via it received.  The values received, in order, then ours, as one
 * header line; "1.0"/"1.1" is the version of the message we received. */
static void wr_via(struct wr *w, const struct http_msg *m, const char *head, const char *name)
{
	wr_str(w, "Via: ");
	for (unsigned i = 0; i < m->nheaders; i++) {
		if (!name_is(head, m->headers[i].name, "via") || !m->headers[i].value.len)
			continue;
		wr_span(w, head, m->headers[i].value);
		wr_mem(w, ", ", 2);
	}
	wr_str(w, m->version_minor ? "1.1 " : "1.0 ");
	wr_str(w, name);
	wr_mem(w, "\r\n", 2);
}

/* Our X-Request-Id, on the request to the backend and on the response:
 * the client can match its response to our logs and to what the backend
 * was sent, whatever the backend echoes. */
static void wr_request_id(struct wr *w, const char *id)
{
	wr_str(w, "X-Request-Id: ");
	wr_str(w, id);
	wr_mem(w, "\r\n", 2);
}

static bool request_header_replaced(const char *head, struct http_span name,
				    const struct rewrite_req *r)
{
	if (name_is(head, name, "x-request-id"))
		return true;
	if (r->via_name && name_is(head, name, "via"))
		return true;
	return r->client_ip && (name_is(head, name, "x-forwarded-for") ||
				name_is(head, name, "x-forwarded-proto"));
}

int http_rewrite_request(const struct http_msg *m, const char *head, const struct rewrite_req *r,
			 char *out, size_t cap)
{
	struct wr w = { .p = out, .cap = cap };
	int up = r->upgrade ? http_find_header(m, head, "upgrade", 0) : -1;

	wr_span(&w, head, m->method_text);
	wr_mem(&w, " ", 1);
	wr_span(&w, head, m->uri);
	wr_str(&w, m->version_minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
	for (unsigned i = 0; i < m->nheaders; i++) {
		const struct http_header *h = &m->headers[i];

		if (http_is_hop_header(m, head, i) || request_header_replaced(head, h->name, r))
			continue;
		wr_header(&w, head, h);
	}
	if (r->via_name)
		wr_via(&w, m, head, r->via_name);
	if (r->client_ip) {
		wr_forwarded_for(&w, m, head, r->client_ip);
		wr_str(&w,
		       r->https ? "X-Forwarded-Proto: https\r\n" : "X-Forwarded-Proto: http\r\n");
	}
	if (r->request_id)
		wr_request_id(&w, r->request_id);
	if (up >= 0) {
		wr_header(&w, head, &m->headers[up]);
		wr_str(&w, "Connection: upgrade\r\n");
	} else if (m->version_minor == 0) {
		/* A 1.0 request goes on as 1.0 so the backend never answers
		 * chunked; ask for keep-alive explicitly to reuse the connection. */
		wr_str(&w, "Connection: keep-alive\r\n");
	}
	wr_mem(&w, "\r\n", 2);
	return wr_done(&w);
}

int http_rewrite_response(const struct http_msg *m, const char *head, const struct rewrite_rsp *r,
			  char *out, size_t cap)
{
	struct wr w = { .p = out, .cap = cap };
	int up = r->upgrade ? http_find_header(m, head, "upgrade", 0) : -1;

	/* We speak HTTP/1.1 to clients (RFC 9110 2.5: send our own version). */
	wr_status(&w, m->status);
	wr_span(&w, head, m->reason_text);
	wr_mem(&w, "\r\n", 2);
	for (unsigned i = 0; i < m->nheaders; i++) {
		struct http_span name = m->headers[i].name;

		if (http_is_hop_header(m, head, i) ||
		    (r->via_name && name_is(head, name, "via")) ||
		    (r->request_id && name_is(head, name, "x-request-id")))
			continue;
		wr_header(&w, head, &m->headers[i]);
	}
	if (r->via_name)
		wr_via(&w, m, head, r->via_name);
	if (r->request_id)
		wr_request_id(&w, r->request_id);
	if (up >= 0) {
		wr_header(&w, head, &m->headers[up]);
		wr_str(&w, "Connection: upgrade\r\n");
	} else if (!r->keep_alive) {
		wr_str(&w, "Connection: close\r\n");
	} else if (r->client_http10) {
		wr_str(&w, "Connection: keep-alive\r\n");
	}
	wr_mem(&w, "\r\n", 2);
	return wr_done(&w);
}

int http_error_response(unsigned status, const char *via_name, const char *request_id, char *out,
			size_t cap)
{
	struct wr w = { .p = out, .cap = cap };
	const char *text = http_status_text(status);
	char body[128];
	int blen = snprintf(body, sizeof(body), "%u %s\n", status, text);

	wr_fmt(&w, "HTTP/1.1 %u %s\r\n", status, text);
	wr_fmt(&w, "Content-Type: text/plain\r\nContent-Length: %d\r\nCache-Control: no-store\r\n",
	       blen);
	if (via_name)
		wr_fmt(&w, "Via: 1.1 %s\r\n", via_name);
	if (request_id)
		wr_request_id(&w, request_id);
	wr_str(&w, "Connection: close\r\n\r\n");
	wr_mem(&w, body, (size_t)blen);
	return wr_done(&w);
}

bool http_client_request_id(const struct http_msg *m, const char *head, char *out, size_t cap)
{
	int i = http_find_header(m, head, "x-request-id", 0);
	struct http_span v;

	if (i < 0)
		return false;
	v = m->headers[i].value;
	if (!v.len || v.len > 64 || v.len >= cap)
		return false;
	for (uint32_t k = 0; k < v.len; k++)
		if (head[v.off + k] <= 0x20 || head[v.off + k] >= 0x7f)
			return false;
	memcpy(out, head + v.off, v.len);
	out[v.len] = '\0';
	return true;
}
