/* stats_http.c - the [stats] listener's HTTP/1.1 responder (stats_http.h).
 * Each client: READING (until the blank line, the size cap or the
 * deadline) -> WRITING (the whole reply) -> closed.  The only other user
 * of libcrypto in the daemon (base64 and a constant-time compare for
 * basic auth; HMAC stays in core/lib/msg.c). */
#include "stats_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acceptor.h"
#include "config.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "netaddr.h"

#define STATS_DRAIN_MAX 65536

struct stats_http {
	struct loop *loop;
	int fd;
	struct acceptor acceptor;
	struct list clients;
	unsigned nclients;
	char auth[512]; /* expected Authorization value; "" = none */
	stats_route_fn route;
	void *arg;
	struct log_limit full_limit;
	struct log_limit auth_limit;
	uint64_t auth_refused;
	char *spare; /* the largest reply body sent, for the next (stats_reply) */
	size_t spare_cap;
};

struct sclient {
	struct stats_http *h;
	int fd;
	bool writing;
	char peer[INET6_ADDRSTRLEN];
	size_t inlen;
	char in[STATS_HEAD_MAX];
	char head[512]; /* the reply's head, then its body as the route made it */
	char *body;
	size_t headlen, bodylen, bodycap, off; /* off: sent, head and body */
	struct loop_timer timer;
	struct list link;
};

/* ---- parsing (pure) ---- */

static bool field_char(unsigned char c) { return (c >= 0x20 && c < 0x7f) || c == '\t'; }

/* The line starting at p, up to its CRLF: returns the CR, or NULL when a
 * bare CR or LF, or a control byte, comes first. */
static const char *line_end(const char *p, const char *end)
{
	for (; p + 1 < end; p++) {
		if (p[0] == '\r')
			return p[1] == '\n' ? p : NULL;
		if (!field_char((unsigned char)*p))
			return NULL;
	}
	return NULL;
}

static unsigned parse_version(const char *v, size_t n)
{
	if (n == 8 && (!memcmp(v, "HTTP/1.1", 8) || !memcmp(v, "HTTP/1.0", 8)))
		return 0;
	if (n == 8 && !memcmp(v, "HTTP/", 5) && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
	    v[7] >= '0' && v[7] <= '9')
		return 505;
	return 400;
}

/* "METHOD SP TARGET SP VERSION", single spaces. */
static unsigned parse_request_line(const char *p, const char *eol, struct stats_req *out)
{
	const char *sp1 = memchr(p, ' ', (size_t)(eol - p)), *sp2, *q;
	size_t tlen;
	unsigned rc;

	if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))))
		return 400;
	if ((rc = parse_version(sp2 + 1, (size_t)(eol - sp2 - 1))) != 0)
		return rc;
	tlen = (size_t)(sp2 - sp1 - 1);
	if (tlen == 0 || sp1[1] != '/')
		return 400;
	for (q = sp1 + 1; q < sp2; q++)
		if (*q <= 0x20 || *q >= 0x7f)
			return 400;
	if (tlen >= STATS_PATH_MAX)
		return 414;
	memcpy(out->path, sp1 + 1, tlen);
	out->path[tlen] = '\0';
	out->path[strcspn(out->path, "?#")] = '\0';
	if ((size_t)(sp1 - p) == 3 && !memcmp(p, "GET", 3))
		return 0;
	if ((size_t)(sp1 - p) == 4 && !memcmp(p, "HEAD", 4)) {
		out->head = true;
		return 0;
	}
	for (q = p; q < sp1; q++)
		if (*q < 'A' || *q > 'Z')
			return 400;
	return sp1 == p ? 400 : 405;
}

/* "Name: value": no blank before the colon; Authorization kept. */
static unsigned parse_header(const char *p, const char *eol, struct stats_req *out, bool *seen)
{
	const char *colon = memchr(p, ':', (size_t)(eol - p)), *v;
	size_t vlen;

	if (!colon || colon == p)
		return 400;
	for (const char *q = p; q < colon; q++)
		if (*q <= 0x20 || *q >= 0x7f)
			return 400;
	if ((size_t)(colon - p) != 13 || strncasecmp(p, "Authorization", 13))
		return 0;
	if (*seen)
		return 400; /* two credentials: which one? */
	*seen = true;
	for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
		;
	for (vlen = (size_t)(eol - v); vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t');)
		vlen--;
	if (vlen >= sizeof(out->auth))
		return 400;
	memcpy(out->auth, v, vlen);
	out->auth[vlen] = '\0';
	return 0;
}

unsigned stats_http_parse(const char *buf, size_t len, struct stats_req *out)
{
	const char *p = buf, *end = buf + len, *eol;
	bool seen_auth = false;
	unsigned rc;

	memset(out, 0, sizeof(*out));
	if (len < 4 || memcmp(end - 4, "\r\n\r\n", 4) || !(eol = line_end(p, end)))
		return 400;
	if ((rc = parse_request_line(p, eol, out)) != 0)
		return rc;
	for (p = eol + 2; p < end - 2; p = eol + 2) {
		if (!(eol = line_end(p, end)) || eol == p)
			return 400;
		if ((rc = parse_header(p, eol, out, &seen_auth)) != 0)
			return rc;
	}
	return 0;
}

int stats_http_auth_value(const char *userpass, char *out, size_t cap)
{
	size_t n = strlen(userpass);
	const char *colon = strchr(userpass, ':');

	/* base64 makes 4 bytes of every 3, plus "Basic " and a NUL. */
	if (!colon || colon == userpass || 6 + 4 * ((n + 2) / 3) + 1 > cap)
		return -EINVAL;
	snprintf(out, cap, "Basic ");
	EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)userpass, (int)n);
	return 0;
}

/* ---- replies ---- */

static const char *reason(unsigned status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

/* The reply's head into c->head; the body stays the route's. */
static void render_head(struct sclient *c, const struct stats_reply *r)
{
	const char *extra = r->status == 401   ? "WWW-Authenticate: Basic realm=\"andromeda\"\r\n"
			    : r->status == 405 ? "Allow: GET, HEAD\r\n"
					       : "";
	int n = snprintf(c->head, sizeof(c->head),
			 "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
			 "Connection: close\r\n%s\r\n",
			 r->status, reason(r->status), r->type ? r->type : "text/plain", r->len,
			 extra);

	c->headlen = n < 0 ? 0 : (size_t)n < sizeof(c->head) ? (size_t)n : sizeof(c->head) - 1;
}

/* Keep the largest body for the next reply (stats_reply), free the other. */
static void keep_buffer(struct stats_http *h, char *buf, size_t cap)
{
	if (!buf)
		return;
	if (cap <= h->spare_cap) {
		free(buf);
		return;
	}
	free(h->spare);
	h->spare = buf;
	h->spare_cap = cap;
}

char *stats_http_take_buffer(struct stats_http *h, size_t *cap)
{
	char *b = h->spare;

	*cap = h->spare_cap;
	h->spare = NULL;
	h->spare_cap = 0;
	return b;
}

/* A plain-text error reply (its body a literal, copied). */
static struct stats_reply error_reply(unsigned status)
{
	char text[64];
	int n = snprintf(text, sizeof(text), "%u %s\n", status, reason(status));
	struct stats_reply r = { .status = status, .type = "text/plain; charset=utf-8" };

	if ((r.body = malloc((size_t)n))) {
		memcpy(r.body, text, (size_t)n);
		r.len = (size_t)n;
	}
	return r;
}

/* ---- clients ---- */

static void client_free(struct sclient *c)
{
	struct stats_http *h = c->h;

	loop_timer_cancel(h->loop, &c->timer);
	loop_del_fd(h->loop, c->fd);
	close(c->fd);
	list_del(&c->link);
	h->nclients--;
	keep_buffer(h, c->body, c->bodycap);
	free(c);
	acceptor_kick(&h->acceptor);
}

/* Done: discard what the client still sends (so closing does not reset
 * the connection before it read the reply), then close. */
static void client_finish(struct sclient *c)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	shutdown(c->fd, SHUT_WR);
	while (total < STATS_DRAIN_MAX && (n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
	client_free(c);
}

static void client_flush(struct sclient *c)
{
	while (c->off < c->headlen + c->bodylen) {
		struct iovec iov[2];
		struct msghdr mh = { .msg_iov = iov };
		ssize_t n;

		if (c->off < c->headlen)
			iov[mh.msg_iovlen++] =
				(struct iovec){ c->head + c->off, c->headlen - c->off };
		if (c->bodylen) {
			size_t b = c->off > c->headlen ? c->off - c->headlen : 0;

			iov[mh.msg_iovlen++] = (struct iovec){ c->body + b, c->bodylen - b };
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			loop_set_mask(c->h->loop, c->fd, LOOP_WRITE);
			return;
		}
		if (n < 0) {
			client_free(c);
			return;
		}
		c->off += (size_t)n;
		loop_timer_arm(c->h->loop, &c->timer, STATS_WRITE_TIMEOUT_MS);
	}
	client_finish(c);
}

/* Send r (its body consumed) and close after it. */
static void client_reply(struct sclient *c, struct stats_reply *r, bool head_only)
{
	c->writing = true;
	loop_set_mask(c->h->loop, c->fd, 0);
	render_head(c, r);
	c->body = r->body;
	c->bodycap = r->cap > r->len ? r->cap : r->len;
	c->bodylen = head_only ? 0 : r->len;
	r->body = NULL;
	loop_timer_arm(c->h->loop, &c->timer, STATS_WRITE_TIMEOUT_MS);
	client_flush(c);
}

static void client_error(struct sclient *c, unsigned status)
{
	struct stats_reply r = error_reply(status);

	client_reply(c, &r, false);
}

static bool authorized(const struct stats_http *h, const char *given)
{
	size_t n = strlen(h->auth);

	if (!n)
		return true;
	return strlen(given) == n && CRYPTO_memcmp(given, h->auth, n) == 0;
}

/* One line per episode, not per request: a scanner guessing passwords
 * must not fill the journal (the count says how many it tried). */
static void refused_auth(struct stats_http *h, const char *peer, bool had_credentials)
{
	uint64_t more;

	h->auth_refused++;
	if (log_limit_ok(&h->auth_limit, loop_now_ms(h->loop), LOG_LIMIT_SHORT_MS, &more))
		log_warnx("stats: refused a request from %s: %s (%llu refused so far)", peer,
			  had_credentials ? "wrong credentials" : "no credentials",
			  (unsigned long long)h->auth_refused);
}

static void client_dispatch(struct sclient *c, size_t headlen)
{
	struct stats_req req;
	struct stats_reply r = { 0 };
	unsigned rc = stats_http_parse(c->in, headlen, &req);

	if (rc) {
		client_error(c, rc);
		return;
	}
	if (!authorized(c->h, req.auth)) {
		refused_auth(c->h, c->peer, *req.auth != '\0');
		client_error(c, 401);
		return;
	}
	c->h->route(c->h->arg, req.path, &r);
	if (!r.status) {
		free(r.body);
		r = error_reply(500);
	}
	client_reply(c, &r, req.head);
}

static void client_read(struct sclient *c)
{
	size_t from = c->inlen > 3 ? c->inlen - 3 : 0;
	ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	const char *blank;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(c); /* gone before its request was whole */
		return;
	}
	c->inlen += (size_t)n;
	blank = memmem(c->in + from, c->inlen - from, "\r\n\r\n", 4);
	if (blank)
		client_dispatch(c, (size_t)(blank - c->in) + 4);
	else if (c->inlen == sizeof(c->in))
		client_error(c, 431);
}

static void on_client_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct sclient *c = arg;

	if (c->writing)
		client_flush(c);
	else if (events & LOOP_READ)
		client_read(c);
}

/* The request head did not arrive in time (a slowloris), or the reply
 * stopped moving: say 408 if we can, and close. */
static void on_client_timeout(struct loop *loop, struct loop_timer *t)
{
	struct sclient *c = t->arg;
	static const char msg[] = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n"
				  "Connection: close\r\n\r\n";

	if (!c->writing)
		(void)!send(c->fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	client_free(c);
}

static void refuse(struct stats_http *h, int fd)
{
	static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
				  "Retry-After: 1\r\nConnection: close\r\n\r\n";
	uint64_t more;

	(void)!send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	if (log_limit_ok(&h->full_limit, loop_now_ms(h->loop), LOG_LIMIT_SHORT_MS, &more))
		log_warnx("stats: %u clients connected, refusing more (%llu more refused)",
			  h->nclients, (unsigned long long)more);
}

static int on_accept(void *arg, int fd, const struct sockaddr_storage *peer)
{
	struct stats_http *h = arg;
	struct sclient *c;
	int err;

	if (h->nclients >= STATS_MAX_CLIENTS) {
		refuse(h, fd);
		return 0;
	}
	if (!(c = malloc(sizeof(*c)))) {
		close(fd);
		return -ENOMEM;
	}
	*c = (struct sclient){ .h = h, .fd = fd };
	netaddr_ip((const struct sockaddr *)peer, c->peer, sizeof(c->peer));
	loop_timer_init(&c->timer, on_client_timeout, c);
	if ((err = loop_add_fd(h->loop, fd, LOOP_READ, on_client_io, c)) < 0) {
		free(c);
		close(fd);
		return err;
	}
	list_add_tail(&h->clients, &c->link);
	h->nclients++;
	/* One deadline for the whole head: a byte a second does not buy time. */
	loop_timer_arm(h->loop, &c->timer, STATS_READ_TIMEOUT_MS);
	return 0;
}

/* ---- listener ---- */

static int bind_listener(const struct cfg_endpoint *ep)
{
	int one = 1, fd = socket(ep->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* [::]:8404 is IPv6 only, as the frontend's listeners (proxy.c). */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ep->sa.sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, &ep->sa, netaddr_len(&ep->sa)) < 0 || listen(fd, 64) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int stats_http_open(struct stats_http **out, struct loop *loop, const struct cfg_endpoint *ep,
		    const char *auth, stats_route_fn route, void *arg)
{
	struct stats_http *h = calloc(1, sizeof(*h));
	char name[sizeof(ep->text) + 8];
	int err;

	if (!h)
		return -ENOMEM;
	*h = (struct stats_http){ .loop = loop, .route = route, .arg = arg };
	list_init(&h->clients);
	if (auth)
		snprintf(h->auth, sizeof(h->auth), "%s", auth);
	if ((h->fd = bind_listener(ep)) < 0) {
		err = h->fd;
		log_errno(err, "stats: cannot listen on %s", ep->text);
		free(h);
		return err;
	}
	snprintf(name, sizeof(name), "stats %s", ep->text);
	if ((err = acceptor_start(&h->acceptor, loop, h->fd, name, LOOP_IO_BATCH, on_accept, h)) <
	    0) {
		log_errno(err, "stats: cannot watch %s", ep->text);
		close(h->fd);
		free(h);
		return err;
	}
	log_info("stats: listening on http://%s/ (%s)", ep->text,
		 *h->auth ? "basic auth" : "no authentication");
	*out = h;
	return 0;
}

void stats_http_close(struct stats_http *h)
{
	struct list *pos, *tmp;

	if (!h)
		return;
	list_for_each_safe (pos, tmp, &h->clients)
		client_free(list_entry(pos, struct sclient, link));
	acceptor_stop(&h->acceptor);
	close(h->fd);
	free(h->spare);
	free(h);
}

unsigned stats_http_nclients(const struct stats_http *h) { return h->nclients; }

unsigned stats_http_port(const struct stats_http *h)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);

	if (getsockname(h->fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	return netaddr_port((const struct sockaddr *)&ss);
}
