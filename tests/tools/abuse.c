/* abuse.c - a raw HTTP client that does what curl will not, for
 * tests/integration/test_abuse_http.sh.
 *
 *   abuse ADDR PORT (-p STRING | -f FILE) [options]
 *
 *   -p STRING        the bytes to send, with escapes \r \n \t \0 \\ \xHH
 *   -f FILE          the bytes to send, from a file
 *   --drip MS        send one byte every MS ms (slowloris, slow POST) ...
 *   --drip-from N    ... after sending the first N bytes at once
 *   --shut-wr        half-close (shutdown SHUT_WR) once everything is sent
 *   --rst-after N    send N bytes, then reset the connection (SO_LINGER 0)
 *                    and stop
 *   --read-delay MS  read nothing for MS ms once everything is sent
 *                    (the proxy must apply back-pressure, not buffer)
 *   --max-body N     close once N bytes of response body have arrived
 *   --wait MS        after everything is sent, wait at most MS ms for the
 *                    server to close (default 5000)
 *   --timeout MS     bound on each exchange (default 30000)
 *   --parallel N     N exchanges at once, on N connections all made before
 *                    any request is sent (one line each, in any order)
 *   --repeat N       N exchanges one after the other, each on a new
 *                    connection, one output line each (default 1)
 *
 * Reading goes on while sending (a server may answer and close before it
 * has read everything), responses are parsed one after the other
 * (Content-Length, chunked, or until close) so pipelined answers are told
 * apart.  One line on stdout:
 *
 *   statuses=200,400 server=be1 complete=2 closed=eof body=12 rx=345
 *     sent=67/67 first_ms=3 closed_ms=4 send_err=-
 *
 * statuses: every status line seen ("-" none; 0 for one that is not
 * HTTP/1.x NNN); server: X-Server of the first final response (the fake
 * backends name themselves there; "-" none); complete: responses read to
 * their end; closed: eof | reset (by the server), client (we closed: max
 * body, rst-after) or open (still open at the end of --wait); first_ms and
 * closed_ms count from the connect.  Exit status 0 unless the tool itself
 * failed (2: usage, 1: connect or I/O setup). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RX_HEAD_MAX  (256 * 1024)
#define MAX_STATUSES 64

struct opts {
	struct sockaddr_in to;
	unsigned drip_ms;
	size_t drip_from;
	bool shut_wr;
	long long rst_after; /* -1: no */
	unsigned read_delay_ms;
	unsigned long long max_body; /* 0: no limit */
	unsigned wait_ms, timeout_ms;
	unsigned repeat;   /* exchanges, one after the other */
	unsigned parallel; /* exchanges at once (0: not parallel) */
};

/* The response parser: one response after the other. */
enum rstate {
	R_HEAD,
	R_BODY_CL,
	R_CHUNK_SIZE,
	R_CHUNK_DATA,
	R_CHUNK_CRLF,
	R_TRAILER,
	R_EOF_BODY
};

struct resp {
	enum rstate st;
	char head[RX_HEAD_MAX];
	size_t hlen;
	unsigned long long left; /* body or chunk bytes still expected */
	char line[256];          /* chunk-size line being read */
	size_t llen;
	int statuses[MAX_STATUSES];
	unsigned nstatus, complete;
	char server[64]; /* X-Server of the first final response */
	unsigned long long body, rx;
	bool bad; /* unparseable: the rest is counted as body */
};

struct run {
	struct opts o;
	const char *payload;
	size_t plen, sent;
	int fd;
	long long t0, first_ms, closed_ms, sent_all_ms, next_drip;
	const char *closed;
	char send_err[64];
	struct resp r;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "a\r\n\x00" -> bytes.  Returns the length written into out. */
static size_t unescape(const char *s, char *out)
{
	size_t n = 0;

	while (*s) {
		if (*s != '\\' || !s[1]) {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r':
			out[n++] = '\r';
			s++;
			break;
		case 'n':
			out[n++] = '\n';
			s++;
			break;
		case 't':
			out[n++] = '\t';
			s++;
			break;
		case '0':
			out[n++] = '\0';
			s++;
			break;
		case 'x': {
			/* one or two hex digits */
			char hex[3] = { s[1], '\0', '\0' }, *end;
			unsigned char byte;

			if (s[1])
				hex[1] = s[2];
			byte = (unsigned char)strtoul(hex, &end, 16);
			memcpy(out + n++, &byte, 1);
			s += 1 + (end - hex);
			break;
		}
		default:
			out[n++] = *s++;
			break;
		}
	}
	return n;
}

static char *read_file(const char *path, size_t *len)
{
	struct stat sb;
	char *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0 || fstat(fd, &sb) < 0 || !(p = malloc((size_t)sb.st_size + 1))) {
		perror(path);
		return NULL;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, p + got, (size_t)sb.st_size - got);

		if (r <= 0) {
			perror(path);
			free(p);
			close(fd);
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return p;
}

/* ---- response parsing ---- */

static void resp_done(struct resp *r)
{
	r->complete++;
	r->st = R_HEAD;
	r->hlen = 0;
}

/* The head in r->head is complete: status, framing. */
static void resp_head(struct resp *r)
{
	int status = atoi(r->head + 9);
	const char *p = r->head;
	bool chunked = false, has_cl = false;

	if (strncmp(r->head, "HTTP/1.", 7) || status < 100 || status > 999) {
		r->bad = true;
		status = 0;
	}
	if (r->nstatus < MAX_STATUSES)
		r->statuses[r->nstatus++] = status;
	while ((p = strstr(p, "\r\n")) && p[2] != '\r') {
		p += 2;
		if (!strncasecmp(p, "Content-Length:", 15)) {
			has_cl = true;
			r->left = strtoull(p + 15, NULL, 10);
		} else if (!strncasecmp(p, "X-Server:", 9) && !r->server[0] && status >= 200) {
			int n = (int)strcspn(p + 9, "\r\n");

			snprintf(r->server, sizeof(r->server), "%.*s", n,
				 p + 9 + strspn(p + 9, " "));
		} else if (!strncasecmp(p, "Transfer-Encoding:", 18) && strcasestr(p, "chunked") &&
			   strcasestr(p, "chunked") < strstr(p, "\r\n")) {
			chunked = true;
		}
	}
	r->hlen = 0;
	if (r->bad) {
		r->st = R_EOF_BODY;
	} else if (status < 200) {
		r->st = R_HEAD; /* 1xx: the final answer follows */
	} else if (status == 204 || status == 304 || (has_cl && r->left == 0 && !chunked)) {
		resp_done(r);
	} else if (chunked) {
		r->st = R_CHUNK_SIZE;
		r->llen = 0;
	} else {
		r->st = has_cl ? R_BODY_CL : R_EOF_BODY;
	}
}

/* A CRLF-terminated line of the chunked framing; true once complete. */
static bool resp_line(struct resp *r, char ch)
{
	if (r->llen < sizeof(r->line) - 1)
		r->line[r->llen++] = ch;
	if (ch != '\n')
		return false;
	r->line[r->llen] = '\0';
	r->llen = 0;
	return true;
}

static void resp_chunk_byte(struct resp *r, char ch)
{
	switch (r->st) {
	case R_CHUNK_SIZE:
		if (resp_line(r, ch)) {
			r->left = strtoull(r->line, NULL, 16);
			r->st = r->left ? R_CHUNK_DATA : R_TRAILER;
		}
		break;
	case R_CHUNK_CRLF:
		if (resp_line(r, ch))
			r->st = R_CHUNK_SIZE;
		break;
	case R_TRAILER:
		if (resp_line(r, ch) && !strcmp(r->line, "\r\n"))
			resp_done(r);
		break;
	default:
		break;
	}
}

/* Feed n received bytes. */
static void resp_feed(struct resp *r, const char *p, size_t n)
{
	r->rx += n;
	while (n > 0) {
		size_t k;

		switch (r->st) {
		case R_HEAD:
			if (r->hlen < sizeof(r->head) - 1)
				r->head[r->hlen++] = *p;
			p++, n--;
			r->head[r->hlen] = '\0';
			if (r->hlen >= 4 && !memcmp(r->head + r->hlen - 4, "\r\n\r\n", 4))
				resp_head(r);
			else if (r->hlen == sizeof(r->head) - 1)
				r->bad = true, r->st = R_EOF_BODY;
			break;
		case R_BODY_CL:
		case R_CHUNK_DATA:
			k = n < r->left ? n : (size_t)r->left;
			r->body += k, r->left -= k, p += k, n -= k;
			if (r->left == 0)
				r->st == R_BODY_CL ? resp_done(r) : (void)(r->st = R_CHUNK_CRLF);
			break;
		case R_EOF_BODY:
			r->body += n;
			n = 0;
			break;
		default:
			resp_chunk_byte(r, *p);
			p++, n--;
			break;
		}
	}
}

/* ---- the connection ---- */

static int do_connect(const struct opts *o)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)&o->to, sizeof(o->to)) < 0) {
		perror("abuse: connect");
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* The abrupt end: RST instead of FIN. */
static void reset_now(struct run *u)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(u->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(u->fd);
	u->fd = -1;
	u->closed = "client";
	u->closed_ms = now_ms() - u->t0;
}

/* How much may go now (drip pacing, rst-after). */
static size_t send_budget(struct run *u, long long now)
{
	size_t left = u->plen - u->sent;

	if (u->o.rst_after >= 0 && (size_t)u->o.rst_after - u->sent < left)
		left = (size_t)u->o.rst_after - u->sent;
	if (u->o.drip_ms && u->sent >= u->o.drip_from) {
		if (now < u->next_drip)
			return 0;
		return left ? 1 : 0;
	}
	if (u->o.drip_ms && u->sent + left > u->o.drip_from)
		left = u->o.drip_from - u->sent;
	return left;
}

static void do_send(struct run *u, long long now)
{
	size_t k = send_budget(u, now);
	ssize_t n;

	if (!k)
		return;
	n = send(u->fd, u->payload + u->sent, k, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		snprintf(u->send_err, sizeof(u->send_err), "%s", strerror(errno));
		u->sent_all_ms = now; /* nothing more can go */
		return;
	}
	u->sent += (size_t)n;
	if (u->o.drip_ms && u->sent > u->o.drip_from)
		u->next_drip = now + u->o.drip_ms;
}

static void do_recv(struct run *u)
{
	char buf[65536];

	for (;;) {
		ssize_t n = recv(u->fd, buf, sizeof(buf), 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			u->closed = n == 0 ? "eof" : "reset";
			u->closed_ms = now_ms() - u->t0;
			return;
		}
		if (u->first_ms < 0)
			u->first_ms = now_ms() - u->t0;
		resp_feed(&u->r, buf, (size_t)n);
		if (u->o.max_body && u->r.body >= u->o.max_body) {
			close(u->fd);
			u->fd = -1;
			u->closed = "client";
			u->closed_ms = now_ms() - u->t0;
			return;
		}
	}
}

/* One poll round.  Returns false when the run is over. */
static bool step(struct run *u)
{
	long long now = now_ms(), deadline = u->t0 + u->o.timeout_ms;
	bool sending = u->sent_all_ms < 0;
	bool reading = sending || now >= u->sent_all_ms + u->o.read_delay_ms;
	struct pollfd p = { .fd = u->fd,
			    .events = (short)((reading ? POLLIN : 0) | (sending ? POLLOUT : 0)) };
	int wait = 100;

	if (!sending)
		deadline = u->sent_all_ms + u->o.read_delay_ms + u->o.wait_ms < deadline
				   ? u->sent_all_ms + u->o.read_delay_ms + u->o.wait_ms
				   : deadline;
	if (now >= deadline)
		return false;
	if (sending && u->o.drip_ms && u->sent >= u->o.drip_from) {
		p.events &= (short)~POLLOUT;
		wait = u->next_drip > now ? (int)(u->next_drip - now) : 0;
	}
	if (poll(&p, 1, wait) < 0 && errno != EINTR)
		return false;
	now = now_ms();
	if (sending)
		do_send(u, now);
	if (u->o.rst_after >= 0 && u->sent >= (size_t)u->o.rst_after) {
		reset_now(u);
		return false;
	}
	if (u->sent_all_ms < 0 && u->sent == u->plen) {
		u->sent_all_ms = now;
		if (u->o.shut_wr)
			shutdown(u->fd, SHUT_WR);
	}
	if (reading && (p.revents & (POLLIN | POLLHUP | POLLERR)))
		do_recv(u);
	return u->fd >= 0 && !strcmp(u->closed, "open");
}

static void report(const struct run *u)
{
	char st[MAX_STATUSES * 5 + 2] = "-";
	size_t off = 0;

	for (unsigned i = 0; i < u->r.nstatus; i++)
		off += (size_t)snprintf(st + off, sizeof(st) - off, "%s%d", i ? "," : "",
					u->r.statuses[i]);
	printf("statuses=%s server=%s complete=%u closed=%s body=%llu rx=%llu sent=%zu/%zu first_ms=%lld closed_ms=%lld send_err=%s\n",
	       st, u->r.server[0] ? u->r.server : "-", u->r.complete, u->closed, u->r.body,
	       u->r.rx, u->sent, u->plen, u->first_ms, u->closed_ms,
	       u->send_err[0] ? u->send_err : "-");
}

static int parse_args(int argc, char **argv, struct opts *o, char **payload, size_t *plen)
{
	static const struct option lo[] = {
		{ "drip", required_argument, NULL, 'd' },
		{ "drip-from", required_argument, NULL, 'D' },
		{ "shut-wr", no_argument, NULL, 's' },
		{ "rst-after", required_argument, NULL, 'R' },
		{ "read-delay", required_argument, NULL, 'y' },
		{ "max-body", required_argument, NULL, 'm' },
		{ "wait", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'P' },
		{ 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "p:f:", lo, NULL)) != -1) {
		switch (opt) {
		case 'p':
			free(*payload); /* the last -p or -f wins */
			if (!(*payload = malloc(strlen(optarg) + 1)))
				return -1;
			*plen = unescape(optarg, *payload);
			break;
		case 'f':
			free(*payload);
			if (!(*payload = read_file(optarg, plen)))
				return -1;
			break;
		case 'd':
			o->drip_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'D':
			o->drip_from = strtoul(optarg, NULL, 10);
			break;
		case 's':
			o->shut_wr = true;
			break;
		case 'R':
			o->rst_after = strtoll(optarg, NULL, 10);
			break;
		case 'y':
			o->read_delay_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			o->max_body = strtoull(optarg, NULL, 10);
			break;
		case 'w':
			o->wait_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'T':
			o->timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			o->repeat = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'P':
			o->parallel = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			return -1;
		}
	}
	if (optind + 2 != argc || !*payload || o->repeat < 1 || o->repeat > 1000 ||
	    o->parallel > 64 || inet_pton(AF_INET, argv[optind], &o->to.sin_addr) != 1)
		return -1;
	o->to.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	return 0;
}

/* Connect for one exchange: 0, or 1 when the connect failed. */
static int exchange_connect(struct run *u)
{
	memset(&u->r, 0, sizeof(u->r));
	u->sent = 0;
	u->first_ms = u->closed_ms = u->sent_all_ms = -1;
	u->closed = "open";
	u->send_err[0] = '\0';
	u->fd = do_connect(&u->o);
	return u->fd < 0;
}

/* Run a connected exchange to its end and print its line. */
static int exchange_run(struct run *u)
{
	u->t0 = now_ms();
	u->next_drip = u->t0;
	while (step(u))
		;
	if (u->fd >= 0)
		close(u->fd);
	report(u);
	return 0;
}

/* One exchange on a new connection; prints its line.  0, or 1 when the
 * connect failed. */
static int exchange(struct run *u) { return exchange_connect(u) ? 1 : exchange_run(u); }

/* --parallel N: N exchanges at once, one process each.  All connect first;
 * none sends before all have connected (the "go" pipe's EOF is the
 * barrier), so the N requests reach the server within microseconds of each
 * other and their failures land together: a test counting consecutive
 * failures is not at the mercy of how fast processes start. */
static int parallel(struct run *u, unsigned n)
{
	int ready[2], go[2], st, rc = 0;
	char c;

	if (pipe(ready) < 0 || pipe(go) < 0)
		return 1;
	for (unsigned i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			int r = exchange_connect(u);

			close(ready[0]);
			close(go[1]);
			if (write(ready[1], "x", 1) != 1 || r)
				_exit(1);
			if (read(go[0], &c, 1) < 0)
				_exit(1);
			_exit(exchange_run(u));
		}
	}
	close(ready[1]);
	close(go[0]);
	for (unsigned i = 0; i < n; i++)
		if (read(ready[0], &c, 1) != 1)
			rc = 1;
	close(go[1]);
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			rc = 1;
	close(ready[0]);
	return rc;
}

int main(int argc, char **argv)
{
	static struct run u = { .o = { .to = { .sin_family = AF_INET },
				       .rst_after = -1,
				       .wait_ms = 5000,
				       .timeout_ms = 30000,
				       .repeat = 1 } };
	char *payload = NULL;
	int rc = 0;

	if (parse_args(argc, argv, &u.o, &payload, &u.plen) < 0) {
		free(payload);
		fprintf(stderr,
			"usage: abuse ADDR PORT (-p STRING | -f FILE) [--drip MS] [--drip-from N]\n"
			"       [--shut-wr] [--rst-after N] [--read-delay MS] [--max-body N]\n"
			"       [--wait MS] [--timeout MS] [--repeat N | --parallel N]\n");
		return 2;
	}
	u.payload = payload;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (u.o.parallel)
		rc = parallel(&u, u.o.parallel);
	for (unsigned i = 0; i < u.o.repeat && rc == 0 && !u.o.parallel; i++)
		rc = exchange(&u);
	free(payload);
	return rc;
}
