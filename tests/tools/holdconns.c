/* holdconns.c - memory benchmark client: open N HTTP/1.1 keep-alive
 * connections to ADDR:PORT, send one GET on each and read its response,
 * then hold every connection open and idle for HOLD_S seconds (or until
 * SIGTERM/SIGINT), so the balancer's cost per idle keep-alive client can be
 * read from its RSS.
 *
 *   holdconns [-c] [-s SRC_ADDR]... [-p PARALLEL] [-t SETUP_S] ADDR PORT N HOLD_S
 *
 * -c connect only: send nothing; a connection is ready once the TCP
 *    handshake is done (the kernel completes it from the listen backlog,
 *    whether or not the server ever accepts it), so a server can be held
 *    with more connections than it has descriptors.
 * -s binds connections round-robin to these local addresses (each gives
 *    ~28k ephemeral ports towards one ADDR:PORT); default: the kernel picks.
 * -p connections being set up at once (default 256): a bounded SYN burst,
 *    so no listen queue overflows and nothing waits for a SYN retransmit.
 * -t gives up when the N connections are not all answered in time (60 s).
 *
 * Prints "ready N <unix ms>" once every connection has had its 200
 * response, then "held N closed M" at the end (M: connections the peer
 * closed or wrote to during the hold).  Exit 0 when N were held and none
 * closed, 1 otherwise, 2 on a usage error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SRC 16
#define RSP_MAX 4096

enum cstate {
	C_FREE,
	C_CONNECTING,
	C_READING,
	C_IDLE,
	C_CLOSED
};

struct conn {
	int fd;
	enum cstate state;
	unsigned have;
	char *buf; /* response bytes, only while C_READING */
};

struct hold {
	struct sockaddr_in dst;
	struct sockaddr_in src[MAX_SRC];
	int nsrc, parallel, setup_s, hold_s, ep;
	bool connect_only;
	long n, started, inflight, ready, closed;
	struct conn *c;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long long now_ms(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every connection is one descriptor: the soft limit must cover N. */
static int raise_nofile(long n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_max != RLIM_INFINITY && (rlim_t)n + 32 > rl.rlim_max) {
		fprintf(stderr,
			"holdconns: %ld connections need %ld descriptors, hard limit is %lu\n", n,
			n + 32, (unsigned long)rl.rlim_max);
		return -EMFILE;
	}
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

static int watch(struct hold *h, long i, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)i };

	return epoll_ctl(h->ep, op, h->c[i].fd, &ev) < 0 ? -errno : 0;
}

/* Start connection i (non-blocking); 0 or -errno. */
static int conn_start(struct hold *h, long i)
{
	struct conn *c = &h->c[i];
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (h->nsrc > 0) {
		/* Port chosen at connect(): the 4-tuple, not the source address
		 * alone, has to be unique, so each address gives a full range. */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(c->fd, (const struct sockaddr *)&h->src[i % h->nsrc], sizeof(h->src[0])) <
		    0)
			return -errno;
	}
	if (connect(c->fd, (const struct sockaddr *)&h->dst, sizeof(h->dst)) < 0 &&
	    errno != EINPROGRESS)
		return -errno;
	c->state = C_CONNECTING;
	h->started++;
	h->inflight++;
	return watch(h, i, EPOLLOUT, EPOLL_CTL_ADD);
}

/* Connected: send the one request and wait for its answer. */
static int conn_send(struct hold *h, long i)
{
	static const char req[] = "GET /?hold=1 HTTP/1.1\r\nHost: bench\r\n\r\n";
	struct conn *c = &h->c[i];
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	if (err)
		return -err;
	if (h->connect_only) {
		c->state = C_IDLE;
		h->inflight--;
		h->ready++;
		return watch(h, i, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
	}
	if (send(c->fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1)
		return errno ? -errno : -EIO;
	c->buf = malloc(RSP_MAX);
	if (!c->buf)
		return -ENOMEM;
	c->state = C_READING;
	c->have = 0;
	return watch(h, i, EPOLLIN, EPOLL_CTL_MOD);
}

/* 1 when buf holds one whole 200 response, 0 when more is needed,
 * -EPROTO for another status or a body we cannot frame. */
static int response_done(char *buf, unsigned have)
{
	char *end, *cl, *te;
	unsigned head;

	buf[have] = 0;
	end = strstr(buf, "\r\n\r\n");
	if (!end)
		return have >= RSP_MAX - 1 ? -EPROTO : 0;
	if (strncmp(buf, "HTTP/1.1 200 ", 13))
		return -EPROTO;
	head = (unsigned)(end - buf) + 4;
	cl = strcasestr(buf, "\r\ncontent-length:");
	if (cl && cl < end)
		return have >= head + strtoul(cl + 17, NULL, 10);
	/* RFC 9112 7.1: a chunked body ends with the last-chunk and the
	 * empty trailer section. */
	te = strcasestr(buf, "\r\ntransfer-encoding: chunked");
	if (te && te < end)
		return have >= 5 && !memcmp(buf + have - 5, "0\r\n\r\n", 5);
	return -EPROTO;
}

/* Response bytes arrived; once whole, the connection turns idle and is
 * only watched for the peer closing it. */
static int conn_read(struct hold *h, long i)
{
	struct conn *c = &h->c[i];
	ssize_t n = recv(c->fd, c->buf + c->have, RSP_MAX - 1 - c->have, 0);
	int done;

	if (n <= 0)
		return n == 0 ? -ECONNRESET : -errno;
	c->have += (unsigned)n;
	done = response_done(c->buf, c->have);
	if (done <= 0)
		return done;
	free(c->buf);
	c->buf = NULL;
	c->state = C_IDLE;
	h->inflight--;
	h->ready++;
	return watch(h, i, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
}

static void conn_close(struct hold *h, long i)
{
	struct conn *c = &h->c[i];

	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->buf = NULL;
	c->fd = -1;
	c->state = C_CLOSED;
}

/* One epoll event for connection i; 0 or -errno (setup failures only). */
static int conn_event(struct hold *h, long i)
{
	switch (h->c[i].state) {
	case C_CONNECTING:
		return conn_send(h, i);
	case C_READING:
		return conn_read(h, i);
	case C_IDLE:
		/* An idle keep-alive connection should stay silent: EOF, an
		 * error or unexpected bytes all mean the balancer gave it up. */
		h->closed++;
		conn_close(h, i);
		return 0;
	default:
		return 0;
	}
}

/* Run the event loop until deadline (monotonic ms) or a signal; during
 * set-up (setup == true) also until every connection is ready. */
static int run(struct hold *h, long long deadline, bool setup)
{
	struct epoll_event ev[256];

	while (!stop && now_ms(CLOCK_MONOTONIC) < deadline && (!setup || h->ready < h->n)) {
		int k = epoll_wait(h->ep, ev, 256, 100);

		if (k < 0 && errno != EINTR)
			return -errno;
		for (int j = 0; j < k; j++) {
			long i = (long)ev[j].data.u64;
			int rc = conn_event(h, i);

			if (rc < 0) {
				fprintf(stderr, "holdconns: connection %ld: %s\n", i,
					strerror(-rc));
				return rc;
			}
		}
		while (setup && h->started < h->n && h->inflight < h->parallel) {
			int rc = conn_start(h, h->started);

			if (rc < 0) {
				fprintf(stderr, "holdconns: connection %ld: %s\n", h->started,
					strerror(-rc));
				return rc;
			}
		}
	}
	return 0;
}

static int add_src(struct hold *h, const char *a)
{
	if (h->nsrc == MAX_SRC)
		return -E2BIG;
	h->src[h->nsrc].sin_family = AF_INET;
	if (inet_pton(AF_INET, a, &h->src[h->nsrc].sin_addr) != 1)
		return -EINVAL;
	h->nsrc++;
	return 0;
}

static int parse_args(struct hold *h, int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "cs:p:t:")) != -1) {
		switch (opt) {
		case 'c':
			h->connect_only = true;
			break;
		case 's':
			if (add_src(h, optarg) < 0)
				return -EINVAL;
			break;
		case 'p':
			h->parallel = atoi(optarg);
			break;
		case 't':
			h->setup_s = atoi(optarg);
			break;
		default:
			return -EINVAL;
		}
	}
	if (argc - optind != 4 || inet_pton(AF_INET, argv[optind], &h->dst.sin_addr) != 1)
		return -EINVAL;
	h->dst.sin_family = AF_INET;
	h->dst.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	h->n = atol(argv[optind + 2]);
	h->hold_s = atoi(argv[optind + 3]);
	if (h->n < 1 || h->n > 1000000 || h->hold_s < 0 || h->parallel < 1 || h->setup_s < 1)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct hold h = { .parallel = 256, .setup_s = 60 };
	int rc;

	if (parse_args(&h, argc, argv) < 0) {
		fprintf(stderr,
			"usage: holdconns [-c] [-s SRC_ADDR]... [-p PARALLEL] [-t SETUP_S] ADDR PORT N HOLD_S\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	h.c = calloc((size_t)h.n, sizeof(*h.c));
	h.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!h.c || h.ep < 0 || raise_nofile(h.n) < 0) {
		free(h.c);
		return 1;
	}
	rc = run(&h, now_ms(CLOCK_MONOTONIC) + h.setup_s * 1000LL, true);
	if (rc == 0 && h.ready == h.n) {
		printf("ready %ld %lld\n", h.ready, now_ms(CLOCK_REALTIME));
		rc = run(&h, now_ms(CLOCK_MONOTONIC) + h.hold_s * 1000LL, false);
	} else if (rc == 0) {
		fprintf(stderr, "holdconns: only %ld of %ld connections answered\n", h.ready, h.n);
	}
	printf("held %ld closed %ld\n", h.ready - h.closed, h.closed);
	for (long i = 0; i < h.started; i++)
		conn_close(&h, i);
	free(h.c);
	return rc == 0 && h.ready == h.n && h.closed == 0 ? 0 : 1;
}
