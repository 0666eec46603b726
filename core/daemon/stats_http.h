/* stats_http.h - the [stats] listener: a tiny HTTP/1.1 responder on the
 * main event loop for GET /metrics, / and /status.json (stats.c routes).
 *
 * Not a web server: one request per connection, answered in full and
 * then closed (Connection: close), GET and HEAD only, no body, a request
 * head of at most STATS_HEAD_MAX bytes parsed strictly.  It never blocks
 * the loop: sockets are non-blocking, at most STATS_MAX_CLIENTS are
 * served at once (more are told 503 and closed), a client has
 * STATS_READ_TIMEOUT_MS from its connection to the end of its request
 * head (a slowloris trickle does not extend it) and the reply must make
 * progress every STATS_WRITE_TIMEOUT_MS.
 *
 * Optional basic auth (RFC 7617): with a "user:password" the request must
 * carry "Authorization: Basic base64(user:password)", else 401. */
#ifndef ANDROMEDA_STATS_HTTP_H
#define ANDROMEDA_STATS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct loop;
struct cfg_endpoint;
struct stats_http;

#define STATS_HEAD_MAX         8192
#define STATS_PATH_MAX         256
#define STATS_MAX_CLIENTS      16
#define STATS_READ_TIMEOUT_MS  5000
#define STATS_WRITE_TIMEOUT_MS 10000

/* What a route answers: status (200, 404, 500...), a content type, and a
 * body it allocated with malloc (handed over; NULL with len 0 is an
 * empty body), cap bytes allocated (0: len).  The body is sent as it is,
 * never copied, and the largest one sent is kept for the next reply
 * (stats_http_take_buffer): a 1,000-server /metrics is 1.6 MB, and
 * allocating and faulting in that much per scrape cost more than
 * rendering it. */
struct stats_reply {
	unsigned status;
	const char *type;
	char *body;
	size_t len, cap;
};
/* path: the request target without its query string. */
typedef void (*stats_route_fn)(void *arg, const char *path, struct stats_reply *r);

/* A parsed request head. */
struct stats_req {
	bool head;                 /* HEAD, not GET */
	char path[STATS_PATH_MAX]; /* "/metrics" ("?..." cut off) */
	char auth[512];            /* the Authorization value, "" if none */
};

/* Parse a whole request head: buf holds len bytes ending with the blank
 * line ("\r\n\r\n").  Strict: "METHOD SP /target SP HTTP/1.x" CRLF, then
 * "Name: value" lines of visible ASCII, CRLF each.  Returns 0 (out
 * filled), or the HTTP status to refuse it with: 400 (malformed), 405
 * (not GET/HEAD), 414 (target too long), 505 (not HTTP/1.0 or 1.1). */
unsigned stats_http_parse(const char *buf, size_t len, struct stats_req *out);

/* Build the expected Authorization value from "user:password" (the
 * first line of the auth file): "Basic <base64>" into out.  Returns 0 or
 * -EINVAL (no colon, empty user, does not fit). */
int stats_http_auth_value(const char *userpass, char *out, size_t cap);

/* Listen on ep (a.b.c.d:port or [v6]:port) and serve.  auth: the expected
 * Authorization value (stats_http_auth_value) or NULL for none, copied.
 * route is called on the loop for each authorised GET/HEAD.  Returns 0
 * or -errno (logged). */
int stats_http_open(struct stats_http **out, struct loop *loop, const struct cfg_endpoint *ep,
		    const char *auth, stats_route_fn route, void *arg);
void stats_http_close(struct stats_http *h);
/* The port it listens on (host order; useful with port 0 in tests). */
unsigned stats_http_port(const struct stats_http *h);
/* Clients connected now (tests). */
unsigned stats_http_nclients(const struct stats_http *h);
/* The buffer of an earlier reply, for the next one (handed over, *cap
 * bytes), or NULL. */
char *stats_http_take_buffer(struct stats_http *h, size_t *cap);

#endif
