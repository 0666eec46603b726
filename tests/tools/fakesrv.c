/* fakesrv.c - a fake HTTP/1.1 (or TCP echo) backend that says who it is.
 *
 *   fakesrv -l ADDR:PORT -n NAME [-o LOGFILE] [-g GATEFILE] [-k N] [-d MS] [--tcp]
 * (ADDR:PORT is a.b.c.d:port or [v6]:port.)
 *
 * -d MS: every request (not /healthz, /stats) waits MS more before its
 * answer, on top of delay=: a slow server (tests/bench/balance.sh).
 *
 * HTTP (RFC 9112), one thread per connection with blocking I/O, keep-alive
 * by default for HTTP/1.1 and on request for HTTP/1.0:
 *   GET /anything      200 "NAME\n", header X-Server: NAME
 *   GET /healthz       200 "ok\n" (503 while unhealthy; SIGUSR1 toggles)
 *   GET /stats         {"name":..,"requests":N,"inflight_max":N,"posts":N}
 *   GET /headers       the request head as received (to check X-Forwarded-*)
 *   query parameters   delay=MS (before answering), bytes=N (N-byte body,
 *                      streamed), chunked=1 (chunked response), status=N,
 *                      hold=1 (after delay=, wait until GATEFILE exists,
 *                      60 s at most: a test holds requests in flight for
 *                      as long as it needs, on a machine of any speed)
 *   POST/PUT           body read whole (Content-Length or chunked, bounded
 *                      memory), "NAME METHOD X-Test-Id BYTES" appended to
 *                      LOGFILE, then delay=, then 200 "NAME got N bytes\n".
 *                      The line is logged as soon as the body is in, so a
 *                      backend killed during delay= has still recorded it.
 * /healthz and /stats are not counted in requests or inflight: health
 * checks must not disturb what the tests measure.  A request is in flight
 * from its head until its response starts.
 * -k N (--max-requests): close a connection after its N-th answer
 * (Connection: close), as nginx's keepalive_requests, so a balancer has
 * to open new connections all the time under load.
 * Malformed requests get 400 (or 505 for an unknown HTTP version) and the
 * connection is closed.
 *
 * --tcp: on accept writes "NAME\n", then echoes until EOF.
 * A request with "Connection: upgrade" and "Upgrade: echo" gets 101, then
 * "NAME\n", then an echo of everything until EOF (the Upgrade tunnel). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE       (64 * 1024)
#define HEAD_MAX       (32 * 1024)
#define NAME_MAX_LEN   64
#define TESTID_MAX     128
#define IDLE_TIMEOUT_S 300

/* The only global: a signal handler cannot reach anything else. */
static volatile sig_atomic_t unhealthy;

struct srv {
	char name[NAME_MAX_LEN];
	int logfd; /* -1: no POST log */
	bool tcp;
	const char *gate;      /* -g: hold=1 waits for this file */
	unsigned max_requests; /* -k: per connection, 0 = no limit */
	unsigned delay_ms;     /* -d: added to every request's delay= */
	pthread_mutex_t lock;  /* guards the counters below */
	uint64_t requests, posts;
	unsigned inflight, inflight_max;
};

struct conn {
	struct srv *srv;
	int fd;
	unsigned served; /* requests answered on this connection */
	size_t len;      /* bytes in buf */
	char buf[BUF_SIZE];
};

struct req {
	char method[16];
	char path[HEAD_MAX];
	char query[HEAD_MAX];
	int minor; /* HTTP/1.minor */
	bool has_cl, chunked, conn_close, conn_keepalive, expect_100;
	bool conn_upgrade, upgrade_echo; /* Connection: upgrade + Upgrade: echo */
	uint64_t cl;
	char testid[TESTID_MAX];
	size_t head_len;
};

static void on_usr1(int sig)
{
	(void)sig;
	unhealthy = !unhealthy;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read more into c->buf.  Returns bytes read, 0 at EOF, -1 on error/full. */
static ssize_t conn_fill(struct conn *c)
{
	ssize_t r;

	if (c->len == sizeof(c->buf))
		return -1;
	do
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		c->len += (size_t)r;
	return r;
}

static void conn_consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Read one CRLF-terminated line (chunk sizes, trailers) into line. */
static int conn_getline(struct conn *c, char *line, size_t max)
{
	for (;;) {
		char *nl = memmem(c->buf, c->len, "\r\n", 2);
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			if (n >= max)
				return -1;
			memcpy(line, c->buf, n);
			line[n] = '\0';
			conn_consume(c, n + 2);
			return 0;
		}
		if (c->len >= max || conn_fill(c) <= 0)
			return -1;
	}
}

/* Discard n body bytes, reading as needed. */
static int conn_skip(struct conn *c, uint64_t n)
{
	while (n > 0) {
		if (c->len == 0 && conn_fill(c) <= 0)
			return -1;
		size_t k = c->len < n ? c->len : (size_t)n;
		conn_consume(c, k);
		n -= k;
	}
	return 0;
}

/* Chunked body (RFC 9112 7.1): sizes in hex, optional extensions, trailers. */
static int read_chunked(struct conn *c, uint64_t *total)
{
	char line[1024];

	for (;;) {
		char *end;
		if (conn_getline(c, line, sizeof(line)) < 0 || !isxdigit((unsigned char)line[0]))
			return -1;
		errno = 0;
		unsigned long long sz = strtoull(line, &end, 16);
		if (errno || (*end && *end != ';' && *end != ' ' && *end != '\t'))
			return -1;
		if (sz == 0)
			break;
		if (conn_skip(c, sz) < 0 || conn_getline(c, line, sizeof(line)) < 0 || line[0])
			return -1;
		*total += sz;
	}
	do { /* trailer section, ends with an empty line */
		if (conn_getline(c, line, sizeof(line)) < 0)
			return -1;
	} while (line[0]);
	return 0;
}

static void trim(char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static bool token_in(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= n; i++)
		if (!strncasecmp(v + i, tok, tl) &&
		    (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ') &&
		    (i + tl == n || v[i + tl] == ',' || v[i + tl] == ' '))
			return true;
	return false;
}

/* One header line "name: value".  Returns 0 or a status (400). */
static int parse_header(struct req *r, char *line, size_t n)
{
	char *colon = memchr(line, ':', n);
	if (!colon || colon == line || line[0] == ' ' || line[0] == '\t')
		return 400; /* obs-fold or no name */
	size_t nl = (size_t)(colon - line);
	if (line[nl - 1] == ' ' || line[nl - 1] == '\t')
		return 400; /* RFC 9112 5.1: no whitespace before the colon */
	char *v = colon + 1;
	size_t vl = n - nl - 1;
	trim(&v, &vl);
	if (nl == 14 && !strncasecmp(line, "Content-Length", 14)) {
		char *end;
		if (!vl || !isdigit((unsigned char)v[0]))
			return 400;
		uint64_t cl = strtoull(v, &end, 10);
		if (end != v + vl || (r->has_cl && cl != r->cl))
			return 400;
		r->has_cl = true;
		r->cl = cl;
	} else if (nl == 17 && !strncasecmp(line, "Transfer-Encoding", 17)) {
		if (vl != 7 || strncasecmp(v, "chunked", 7))
			return 400;
		r->chunked = true;
	} else if (nl == 10 && !strncasecmp(line, "Connection", 10)) {
		r->conn_close |= token_in(v, vl, "close");
		r->conn_keepalive |= token_in(v, vl, "keep-alive");
		r->conn_upgrade |= token_in(v, vl, "upgrade");
	} else if (nl == 7 && !strncasecmp(line, "Upgrade", 7)) {
		r->upgrade_echo = token_in(v, vl, "echo");
	} else if (nl == 6 && !strncasecmp(line, "Expect", 6)) {
		r->expect_100 = vl == 12 && !strncasecmp(v, "100-continue", 12);
	} else if (nl == 9 && !strncasecmp(line, "X-Test-Id", 9)) {
		snprintf(r->testid, sizeof(r->testid), "%.*s", (int)vl, v);
	}
	return 0;
}

/* Request line "METHOD SP target SP HTTP/1.x".  Returns 0 or a status. */
static int parse_request_line(struct req *r, const char *line, size_t n)
{
	const char *sp1 = memchr(line, ' ', n);
	if (!sp1 || sp1 == line || (size_t)(sp1 - line) >= sizeof(r->method))
		return 400;
	const char *tgt = sp1 + 1;
	const char *sp2 = memchr(tgt, ' ', n - (size_t)(tgt - line));
	if (!sp2 || sp2 == tgt || *tgt != '/')
		return 400;
	const char *ver = sp2 + 1;
	size_t vl = n - (size_t)(ver - line);
	if (vl != 8 || strncmp(ver, "HTTP/", 5) || !isdigit((unsigned char)ver[5]) ||
	    ver[6] != '.' || !isdigit((unsigned char)ver[7]))
		return 400;
	if (ver[5] != '1' || (ver[7] != '0' && ver[7] != '1'))
		return 505;
	memcpy(r->method, line, (size_t)(sp1 - line));
	r->method[sp1 - line] = '\0';
	size_t tl = (size_t)(sp2 - tgt);
	const char *q = memchr(tgt, '?', tl);
	size_t pl = q ? (size_t)(q - tgt) : tl;
	memcpy(r->path, tgt, pl);
	r->path[pl] = '\0';
	if (q)
		memcpy(r->query, q + 1, tl - pl - 1), r->query[tl - pl - 1] = '\0';
	r->minor = ver[7] - '0';
	return 0;
}

/* Wait for and parse one request head.  Returns 0, -1 (EOF/IO: just
 * close) or an HTTP status to answer before closing. */
static int read_head(struct conn *c, struct req *r)
{
	char *end;

	memset(r, 0, sizeof(*r));
	while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
		if (c->len >= HEAD_MAX)
			return 431;
		ssize_t got = conn_fill(c);
		if (got <= 0)
			return c->len ? 400 : -1;
	}
	r->head_len = (size_t)(end - c->buf) + 4;
	char *line = c->buf, *stop = end + 2;
	bool first = true;
	while (line < stop) {
		char *eol = memmem(line, (size_t)(stop - line), "\r\n", 2);
		size_t n = (size_t)(eol - line);
		if (memchr(line, '\0', n) || memchr(line, '\n', n) || memchr(line, '\r', n))
			return 400;
		int st = first ? parse_request_line(r, line, n) : parse_header(r, line, n);
		if (st)
			return st;
		first = false;
		line = eol + 2;
	}
	if (r->has_cl && r->chunked)
		return 400; /* RFC 9112 6.1: a smuggling shape, refuse it */
	return 0;
}

/* Value of key in "a=1&b=2", as an unsigned number (def if absent). */
static uint64_t query_num(const char *q, const char *key, uint64_t def)
{
	size_t kl = strlen(key);

	for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == '=')
			return strtoull(p + kl + 1, NULL, 10);
	return def;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* hold=1: wait until the gate file exists (polled; 60 s at most). */
static void hold(const struct srv *s, const struct req *r)
{
	if (!s->gate || !query_num(r->query, "hold", 0))
		return;
	for (int i = 0; i < 6000 && access(s->gate, F_OK) < 0; i++)
		sleep_ms(10);
}

static const char *status_text(int st)
{
	switch (st) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Status";
	}
}

/* Send a head and, unless head_only, a small body, in one write. */
static int send_small(struct conn *c, int st, const char *body, size_t bl, bool close_it,
		      bool head_only, bool ka10)
{
	char out[HEAD_MAX + 1024];
	int n = snprintf(out, sizeof(out),
			 "HTTP/1.1 %d %s\r\nX-Server: %s\r\nContent-Type: text/plain\r\n"
			 "Content-Length: %zu\r\n%s\r\n",
			 st, status_text(st), c->srv->name, bl,
			 close_it ? "Connection: close\r\n"
			 : ka10   ? "Connection: keep-alive\r\n"
				  : "");
	if (n < 0 || (size_t)n >= sizeof(out))
		return -1;
	if (!head_only && bl <= sizeof(out) - (size_t)n) {
		memcpy(out + n, body, bl);
		return write_all(c->fd, out, (size_t)n + bl);
	}
	if (write_all(c->fd, out, (size_t)n) < 0)
		return -1;
	return head_only ? 0 : write_all(c->fd, body, bl);
}

/* bytes=N: a body of N 'x' streamed in BUF_SIZE pieces, optionally chunked. */
static int send_bytes(struct conn *c, uint64_t total, bool chunked, bool close_it, bool head_only,
		      bool ka10)
{
	static const char fill[BUF_SIZE] = { [0 ... BUF_SIZE - 1] = 'x' };
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nX-Server: %s\r\n"
			 "Content-Type: application/octet-stream\r\n",
			 c->srv->name);
	if (chunked)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
			      "Transfer-Encoding: chunked\r\n");
	else
		n += snprintf(head + n, sizeof(head) - (size_t)n,
			      "Content-Length: %" PRIu64 "\r\n", total);
	n += snprintf(head + n, sizeof(head) - (size_t)n, "%s\r\n",
		      close_it ? "Connection: close\r\n"
		      : ka10   ? "Connection: keep-alive\r\n"
			       : "");
	if (write_all(c->fd, head, (size_t)n) < 0)
		return -1;
	if (head_only)
		return 0;
	for (uint64_t left = total; left > 0;) {
		size_t k = left < BUF_SIZE ? (size_t)left : BUF_SIZE;
		char sz[32];
		int sl = snprintf(sz, sizeof(sz), "%zx\r\n", k);
		if ((chunked && write_all(c->fd, sz, (size_t)sl) < 0) ||
		    write_all(c->fd, fill, k) < 0 || (chunked && write_all(c->fd, "\r\n", 2) < 0))
			return -1;
		left -= k;
	}
	return chunked ? write_all(c->fd, "0\r\n\r\n", 5) : 0;
}

static void stats_enter(struct srv *s)
{
	pthread_mutex_lock(&s->lock);
	s->requests++;
	if (++s->inflight > s->inflight_max)
		s->inflight_max = s->inflight;
	pthread_mutex_unlock(&s->lock);
}

static void stats_leave(struct srv *s, bool post)
{
	pthread_mutex_lock(&s->lock);
	s->inflight--;
	s->posts += post;
	pthread_mutex_unlock(&s->lock);
}

static void log_post(struct srv *s, const struct req *r, uint64_t bytes)
{
	char line[512];

	if (s->logfd < 0)
		return;
	int n = snprintf(line, sizeof(line), "%s %s %s %" PRIu64 "\n", s->name, r->method,
			 r->testid[0] ? r->testid : "-", bytes);
	/* One write on an O_APPEND fd: lines from threads never interleave. */
	if (n > 0 && write_all(s->logfd, line, (size_t)n) < 0)
		perror("fakesrv: log");
}

static int answer_internal(struct conn *c, const struct req *r, bool close_it, bool ka10)
{
	char body[256];
	int n;

	if (!strcmp(r->path, "/healthz")) {
		bool bad = unhealthy;
		return send_small(c, bad ? 503 : 200, bad ? "unhealthy\n" : "ok\n", bad ? 10 : 3,
				  close_it, !strcmp(r->method, "HEAD"), ka10);
	}
	pthread_mutex_lock(&c->srv->lock);
	n = snprintf(body, sizeof(body),
		     "{\"name\":\"%s\",\"requests\":%" PRIu64
		     ",\"inflight_max\":%u,\"posts\":%" PRIu64 "}\n",
		     c->srv->name, c->srv->requests, c->srv->inflight_max, c->srv->posts);
	pthread_mutex_unlock(&c->srv->lock);
	return send_small(c, 200, body, (size_t)n, close_it, false, ka10);
}

/* Serve one parsed request whose head is still at the start of c->buf.
 * Returns 0 to keep the connection, -1 to close it. */
/* "Upgrade: echo": 101, then "NAME\n" and an echo of every byte until EOF
 * (a stand-in for WebSocket: what matters is the tunnel). */
static int serve_upgrade(struct conn *c, struct req *r)
{
	char hello[NAME_MAX_LEN + 160];
	int n = snprintf(
		hello, sizeof(hello),
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n%s\n",
		c->srv->name);

	conn_consume(c, r->head_len);
	if (write_all(c->fd, hello, (size_t)n) < 0 ||
	    (c->len && write_all(c->fd, c->buf, c->len) < 0))
		return -1;
	c->len = 0;
	for (;;) {
		ssize_t got = read(c->fd, c->buf, sizeof(c->buf));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || write_all(c->fd, c->buf, (size_t)got) < 0)
			return -1;
	}
}

static int serve(struct conn *c, struct req *r)
{
	bool ka10 = r->minor == 0 && r->conn_keepalive && !r->conn_close;
	bool close_it = r->conn_close || (r->minor == 0 && !r->conn_keepalive) ||
			(c->srv->max_requests && ++c->served >= c->srv->max_requests);
	bool head_only = !strcmp(r->method, "HEAD");
	bool has_body = r->chunked || (r->has_cl && r->cl > 0);
	bool post = !strcmp(r->method, "POST") || !strcmp(r->method, "PUT");
	char body[NAME_MAX_LEN + 64];
	uint64_t got = 0;
	int rc;

	if (r->conn_upgrade && r->upgrade_echo && !has_body)
		return serve_upgrade(c, r);
	if (!has_body && (!strcmp(r->path, "/healthz") || !strcmp(r->path, "/stats"))) {
		conn_consume(c, r->head_len);
		return answer_internal(c, r, close_it, ka10) < 0 || close_it ? -1 : 0;
	}
	stats_enter(c->srv);
	if (!strcmp(r->path, "/headers"))
		rc = send_small(c, 200, c->buf, r->head_len, close_it, head_only, ka10);
	else
		rc = 0;
	conn_consume(c, r->head_len);
	if (rc == 0 && has_body && r->expect_100)
		rc = write_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	if (rc == 0 && has_body)
		rc = r->chunked ? read_chunked(c, &got) : (got = r->cl, conn_skip(c, r->cl));
	if (rc < 0) {
		send_small(c, 400, "bad body\n", 9, true, false, false);
		stats_leave(c->srv, false);
		return -1;
	}
	if (post || has_body)
		log_post(c->srv, r, got);
	sleep_ms(query_num(r->query, "delay", 0) + c->srv->delay_ms);
	hold(c->srv, r);
	/* Done before the answer goes out: once written, the response can
	 * reach the balancer and its next request arrive on another thread
	 * of ours before this one runs again, which would count as two at
	 * once although the balancer never overlapped them. */
	stats_leave(c->srv, post);
	if (!strcmp(r->path, "/headers")) {
		/* already answered */
	} else if (post || has_body) {
		int n = snprintf(body, sizeof(body), "%s got %" PRIu64 " bytes\n", c->srv->name,
				 got);
		rc = send_small(c, 200, body, (size_t)n, close_it, head_only, ka10);
	} else if (query_num(r->query, "bytes", UINT64_MAX) != UINT64_MAX) {
		rc = send_bytes(c, query_num(r->query, "bytes", 0),
				query_num(r->query, "chunked", 0), close_it, head_only, ka10);
	} else {
		int n = snprintf(body, sizeof(body), "%s\n", c->srv->name);
		int st = (int)query_num(r->query, "status", 200);
		rc = send_small(c, st >= 200 && st <= 599 ? st : 200, body, (size_t)n, close_it,
				head_only, ka10);
	}
	return rc < 0 || close_it ? -1 : 0;
}

static void serve_http(struct conn *c)
{
	struct req *r = malloc(sizeof(*r));

	if (!r)
		return;
	for (;;) {
		int st = read_head(c, r);
		if (st < 0)
			break;
		if (st > 0) {
			char body[64];
			int n = snprintf(body, sizeof(body), "%d %s\n", st, status_text(st));
			send_small(c, st, body, (size_t)n, true, false, false);
			break;
		}
		if (serve(c, r) < 0)
			break;
	}
	free(r);
}

static void serve_tcp(struct conn *c)
{
	char hello[NAME_MAX_LEN + 2];
	int n = snprintf(hello, sizeof(hello), "%s\n", c->srv->name);

	if (write_all(c->fd, hello, (size_t)n) < 0)
		return;
	for (;;) {
		ssize_t r = read(c->fd, c->buf, sizeof(c->buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || write_all(c->fd, c->buf, (size_t)r) < 0)
			return;
	}
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;

	if (c->srv->tcp)
		serve_tcp(c);
	else
		serve_http(c);
	close(c->fd);
	free(c);
	return NULL;
}

static void accept_loop(struct srv *s, int lfd)
{
	pthread_attr_t attr;
	struct timeval idle = { .tv_sec = IDLE_TIMEOUT_S };
	int one = 1;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				perror("fakesrv: accept"), sleep_ms(10);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
		struct conn *c = malloc(sizeof(*c));
		pthread_t t;
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = s, c->fd = fd, c->len = 0, c->served = 0;
		if (pthread_create(&t, &attr, conn_thread, c)) {
			perror("fakesrv: pthread_create");
			close(fd);
			free(c);
		}
	}
}

/* "a.b.c.d:port" or "[v6]:port". */
static int listen_on(const char *spec)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	size_t n;
	int one = 1, fd;

	if (!colon || (n = (size_t)(colon - spec)) >= sizeof(host))
		return -1;
	if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
		memcpy(host, spec + 1, n - 2);
		host[n - 2] = '\0';
		ss.ss_family = AF_INET6;
	} else {
		memcpy(host, spec, n);
		host[n] = '\0';
		ss.ss_family = AF_INET;
	}
	long port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535 ||
	    inet_pton(ss.ss_family, host,
		      ss.ss_family == AF_INET6 ? (void *)&sin6->sin6_addr
					       : (void *)&sin->sin_addr) != 1)
		return -1;
	if (ss.ss_family == AF_INET6)
		sin6->sin6_port = htons((uint16_t)port);
	else
		sin->sin_port = htons((uint16_t)port);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss,
		 ss.ss_family == AF_INET6 ? sizeof(*sin6) : sizeof(*sin)) < 0 ||
	    listen(fd, 1024) < 0) {
		perror("fakesrv: bind/listen");
		close(fd);
		return -1;
	}
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fakesrv -l ADDR:PORT -n NAME [-o LOGFILE] [-g GATEFILE] [-k N] [-d MS] [--tcp]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tcp", no_argument, NULL, 't' },
		{ "max-requests", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct srv s = { .logfd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
	const char *listen_spec = NULL, *logpath = NULL;
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	int opt, lfd;

	while ((opt = getopt_long(argc, argv, "l:n:o:g:k:d:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_spec = optarg;
			break;
		case 'n':
			snprintf(s.name, sizeof(s.name), "%s", optarg);
			break;
		case 'o':
			logpath = optarg;
			break;
		case 'g':
			s.gate = optarg;
			break;
		case 'd':
			s.delay_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			s.tcp = true;
			break;
		case 'k':
			s.max_requests = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!listen_spec || !s.name[0] || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (logpath &&
	    (s.logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
		perror(logpath);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGUSR1, &sa, NULL);
	if ((lfd = listen_on(listen_spec)) < 0) {
		fprintf(stderr, "fakesrv: cannot listen on %s\n", listen_spec);
		return 1;
	}
	fprintf(stderr, "fakesrv %s: listening on %s (%s)\n", s.name, listen_spec,
		s.tcp ? "tcp" : "http");
	accept_loop(&s, lfd);
	return 0;
}
