/* badsrv.c - a hostile HTTP/1.1 backend, for tests/integration/test_abuse_http.sh.
 *
 *   badsrv -l ADDR:PORT -n NAME MODE [-t PREFIX] [--chunk BYTES] [--every MS]
 *
 * MODE (exactly one) is what a request whose target starts with PREFIX
 * (default "/") gets, once its head and Content-Length body are read:
 *   --malformed        a garbage status line, then close
 *   --endless-headers  "HTTP/1.1 200 OK" and header lines forever (never the
 *                      blank line), until the peer goes or 64 MB are out
 *   --endless-body     a chunked 200 whose chunks never end: --chunk bytes
 *                      (default 16384) every --every ms (default 10), until
 *                      the peer goes or 10 minutes have passed
 *   --never-answer     nothing at all; the connection is held until the peer
 *                      closes it (at most 10 minutes)
 *   --reset-mid-body   Content-Length: 100000, 50000 body bytes, then a reset
 *                      (SO_LINGER 0 and close)
 *   --huge-header      a 100 KB header line, then a complete small response
 *   --wrong-length     Content-Length: 1000 and only 100 body bytes, then close
 *
 * Everything else is answered like a healthy server, so that health checks
 * pass and well-behaved traffic landing here still succeeds:
 *   GET /healthz  200 "ok\n"
 *   GET /stats    {"name":..,"hostile":N,"normal":N,"active":N} (active:
 *                 hostile answers still in progress, i.e. connections the
 *                 proxy has not closed yet)
 *   other         200 "NAME\n" with X-Server: NAME (keep-alive)
 * One line on stderr per hostile answer.  One thread per connection,
 * blocking I/O: this is a test tool, not a server. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX            (64 * 1024)
#define HOLD_MAX_S          600         /* never-answer / endless-body bound */
#define ENDLESS_HEADERS_MAX (64u << 20) /* bytes of endless headers, at most */
#define HUGE_HEADER_LEN     (100 * 1024)
#define RESET_CL            100000
#define WRONG_CL            1000
#define WRONG_SENT          100

enum mode {
	M_NONE,
	M_MALFORMED,
	M_ENDLESS_HEADERS,
	M_ENDLESS_BODY,
	M_NEVER_ANSWER,
	M_RESET_MID_BODY,
	M_HUGE_HEADER,
	M_WRONG_LENGTH,
};

static const char *const mode_names[] = {
	[M_NONE] = "none",
	[M_MALFORMED] = "malformed",
	[M_ENDLESS_HEADERS] = "endless-headers",
	[M_ENDLESS_BODY] = "endless-body",
	[M_NEVER_ANSWER] = "never-answer",
	[M_RESET_MID_BODY] = "reset-mid-body",
	[M_HUGE_HEADER] = "huge-header",
	[M_WRONG_LENGTH] = "wrong-length",
};

struct srv {
	char name[64];
	enum mode mode;
	const char *trigger;
	size_t chunk;
	unsigned every_ms;
	atomic_ulong hostile, normal;
	atomic_long active; /* hostile answers still going on */
};

struct conn {
	struct srv *srv;
	int fd;
	size_t len;
	char buf[HEAD_MAX];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read until the head is complete.  Returns its length, 0 at EOF, -1. */
static ssize_t read_head(struct conn *c)
{
	for (;;) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		ssize_t r;

		if (end)
			return end - c->buf + 4;
		if (c->len == sizeof(c->buf))
			return -1;
		r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : 0;
		c->len += (size_t)r;
	}
}

/* Content-Length of the head in c->buf[0..hl), 0 when absent. */
static uint64_t head_content_length(const struct conn *c, size_t hl)
{
	const char *p = c->buf, *end = c->buf + hl;

	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);

		if (!eol)
			break;
		if ((size_t)(eol - p) > 15 && !strncasecmp(p, "Content-Length:", 15))
			return strtoull(p + 15, NULL, 10);
		p = eol + 2;
	}
	return 0;
}

/* Drop the head and n body bytes from the stream.  0 or -1. */
static int consume_request(struct conn *c, size_t hl, uint64_t n)
{
	memmove(c->buf, c->buf + hl, c->len - hl);
	c->len -= hl;
	while (n > 0) {
		size_t k;

		if (c->len == 0) {
			ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1;
			c->len = (size_t)r;
		}
		k = c->len < n ? c->len : (size_t)n;
		memmove(c->buf, c->buf + k, c->len - k);
		c->len -= k;
		n -= k;
	}
	return 0;
}

static int send_normal(struct conn *c, const char *body)
{
	char out[512];
	int n = snprintf(
		out, sizeof(out),
		"HTTP/1.1 200 OK\r\nX-Server: %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
		c->srv->name, strlen(body), body);

	return write_all(c->fd, out, (size_t)n);
}

static int answer_normal(struct conn *c, const char *target)
{
	char body[256];

	atomic_fetch_add(&c->srv->normal, 1);
	if (!strcmp(target, "/healthz"))
		return send_normal(c, "ok\n");
	if (!strcmp(target, "/stats")) {
		snprintf(body, sizeof(body),
			 "{\"name\":\"%s\",\"hostile\":%lu,\"normal\":%lu,\"active\":%ld}\n",
			 c->srv->name, atomic_load(&c->srv->hostile), atomic_load(&c->srv->normal),
			 atomic_load(&c->srv->active));
		return send_normal(c, body);
	}
	snprintf(body, sizeof(body), "%s\n", c->srv->name);
	return send_normal(c, body);
}

/* Wait until the peer closes (or HOLD_MAX_S), discarding what it sends. */
static void hold_until_eof(int fd)
{
	struct timeval tv = { .tv_sec = HOLD_MAX_S };
	char sink[4096];

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (recv(fd, sink, sizeof(sink), 0) > 0)
		;
}

static void endless_headers(int fd)
{
	char line[128];
	size_t sent = 0;

	if (write_all(fd, "HTTP/1.1 200 OK\r\n", 17) < 0)
		return;
	for (unsigned i = 0; sent < ENDLESS_HEADERS_MAX; i++) {
		int n = snprintf(
			line, sizeof(line), "X-Endless-%08u: %s\r\n", i,
			"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh");
		if (write_all(fd, line, (size_t)n) < 0)
			return;
		sent += (size_t)n;
	}
}

static void endless_body(const struct srv *s, int fd)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	uint64_t stop = mono_ms() + HOLD_MAX_S * 1000u;
	char *chunk = malloc(s->chunk + 32);
	int hl;

	if (!chunk || write_all(fd, head, sizeof(head) - 1) < 0) {
		free(chunk);
		return;
	}
	hl = snprintf(chunk, 32, "%zx\r\n", s->chunk);
	memset(chunk + hl, 'e', s->chunk);
	memcpy(chunk + hl + s->chunk, "\r\n", 2);
	while (mono_ms() < stop && write_all(fd, chunk, (size_t)hl + s->chunk + 2) == 0)
		sleep_ms(s->every_ms);
	free(chunk);
}

/* Half a Content-Length body, then a reset instead of the rest. */
static void reset_mid_body(int fd)
{
	static char half[RESET_CL / 2];
	char head[128];
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
			 RESET_CL);

	memset(half, 'r', sizeof(half));
	if (write_all(fd, head, (size_t)n) == 0 && write_all(fd, half, sizeof(half)) == 0)
		sleep_ms(200); /* let the proxy forward the half before the reset */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static void huge_header(int fd)
{
	static char value[HUGE_HEADER_LEN];
	static const char tail[] = "\r\nContent-Length: 3\r\n\r\nok\n";

	memset(value, 'v', sizeof(value));
	if (write_all(fd, "HTTP/1.1 200 OK\r\nX-Huge: ", 25) == 0 &&
	    write_all(fd, value, sizeof(value)) == 0)
		write_all(fd, tail, sizeof(tail) - 1);
}

static void wrong_length(int fd)
{
	char out[256];
	int n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
			 WRONG_CL);

	memset(out + n, 'w', WRONG_SENT);
	write_all(fd, out, (size_t)n + WRONG_SENT);
}

/* The hostile answer.  The connection is closed after it. */
static void answer_hostile(struct conn *c, const char *target)
{
	struct srv *s = c->srv;

	atomic_fetch_add(&s->hostile, 1);
	atomic_fetch_add(&s->active, 1);
	fprintf(stderr, "badsrv %s: %s answer to %s\n", s->name, mode_names[s->mode], target);
	switch (s->mode) {
	case M_MALFORMED:
		write_all(c->fd, "HTPT/1.1 two hundred OK\r\n\r\n", 27);
		break;
	case M_ENDLESS_HEADERS:
		endless_headers(c->fd);
		break;
	case M_ENDLESS_BODY:
		endless_body(s, c->fd);
		break;
	case M_NEVER_ANSWER:
		hold_until_eof(c->fd);
		break;
	case M_RESET_MID_BODY:
		reset_mid_body(c->fd);
		break;
	case M_HUGE_HEADER:
		huge_header(c->fd);
		break;
	case M_WRONG_LENGTH:
		wrong_length(c->fd);
		break;
	case M_NONE:
		break;
	}
	/* A complete (if bad) answer is out: the proxy must close this
	 * connection now; count it as active until it does.  (The other modes
	 * end by closing or resetting themselves.) */
	if (s->mode == M_MALFORMED || s->mode == M_HUGE_HEADER)
		hold_until_eof(c->fd);
	atomic_fetch_sub(&s->active, 1);
}

/* "GET /x HTTP/1.1": the target, into out. */
static void request_target(const char *head, char *out, size_t cap)
{
	const char *sp = strchr(head, ' ');
	size_t n = sp ? strcspn(sp + 1, " \r\n") : 0;

	if (n >= cap)
		n = cap - 1;
	memcpy(out, sp ? sp + 1 : "", n);
	out[n] = '\0';
}

static void serve(struct conn *c)
{
	char target[1024];

	for (;;) {
		ssize_t hl = read_head(c);

		if (hl <= 0)
			return;
		c->buf[hl - 1] = '\0'; /* the last LF: the head is now a string */
		request_target(c->buf, target, sizeof(target));
		if (consume_request(c, (size_t)hl, head_content_length(c, (size_t)hl)) < 0)
			return;
		if (strcmp(target, "/healthz") && strcmp(target, "/stats") &&
		    !strncmp(target, c->srv->trigger, strlen(c->srv->trigger))) {
			answer_hostile(c, target);
			return;
		}
		if (answer_normal(c, target) < 0)
			return;
	}
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;

	serve(c);
	close(c->fd);
	free(c);
	return NULL;
}

static int listen_on(const char *spec)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int one = 1, fd;
	long port;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 || port <= 0 || port > 65535)
		return -1;
	sin.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 256) < 0) {
		perror("badsrv: bind/listen");
		close(fd);
		return -1;
	}
	return fd;
}

static void accept_loop(struct srv *s, int lfd)
{
	pthread_attr_t attr;
	int one = 1;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		struct conn *c;
		pthread_t t;

		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				perror("badsrv: accept"), sleep_ms(10);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!(c = malloc(sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->srv = s, c->fd = fd, c->len = 0;
		if (pthread_create(&t, &attr, conn_thread, c)) {
			close(fd);
			free(c);
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: badsrv -l ADDR:PORT -n NAME --malformed|--endless-headers|--endless-body|\n"
		"       --never-answer|--reset-mid-body|--huge-header|--wrong-length\n"
		"       [-t PREFIX] [--chunk BYTES] [--every MS]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "malformed", no_argument, NULL, M_MALFORMED },
		{ "endless-headers", no_argument, NULL, M_ENDLESS_HEADERS },
		{ "endless-body", no_argument, NULL, M_ENDLESS_BODY },
		{ "never-answer", no_argument, NULL, M_NEVER_ANSWER },
		{ "reset-mid-body", no_argument, NULL, M_RESET_MID_BODY },
		{ "huge-header", no_argument, NULL, M_HUGE_HEADER },
		{ "wrong-length", no_argument, NULL, M_WRONG_LENGTH },
		{ "chunk", required_argument, NULL, 'c' },
		{ "every", required_argument, NULL, 'e' },
		{ "trigger", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct srv s = { .trigger = "/", .chunk = 16384, .every_ms = 10 };
	const char *listen_spec = NULL;
	int opt, lfd;

	while ((opt = getopt_long(argc, argv, "l:n:t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_spec = optarg;
			break;
		case 'n':
			snprintf(s.name, sizeof(s.name), "%s", optarg);
			break;
		case 't':
			s.trigger = optarg;
			break;
		case 'c':
			s.chunk = strtoul(optarg, NULL, 10);
			break;
		case 'e':
			s.every_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (opt > M_NONE && opt <= M_WRONG_LENGTH && s.mode == M_NONE) {
				s.mode = (enum mode)opt;
				break;
			}
			usage(stderr);
			return 2;
		}
	}
	if (!listen_spec || !s.name[0] || s.mode == M_NONE || optind != argc || s.chunk == 0 ||
	    s.chunk > (1u << 20)) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((lfd = listen_on(listen_spec)) < 0) {
		fprintf(stderr, "badsrv: cannot listen on %s\n", listen_spec);
		return 1;
	}
	fprintf(stderr, "badsrv %s: listening on %s (%s, trigger %s)\n", s.name, listen_spec,
		mode_names[s.mode], s.trigger);
	accept_loop(&s, lfd);
	return 0;
}
