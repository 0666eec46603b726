/* sync_peer.c - a scripted MASTER's end of sync sessions, for
 * tests/integration/test_sync_bye.sh (issue 11 item 7): a live MASTER that
 * ends a BACKUP's session on purpose must not look like its crash.
 *
 *   sync_peer KEYFILE EPOCHFILE PORT WAIT_MS ACTION...
 *
 * Listens on the sync PORT (TCP).  For each ACTION in turn it accepts one
 * session, runs the HELLO exchange of docs/protocol.md ("Anti-replay
 * without a clock") and waits for the BACKUP's snapshot request, which the
 * BACKUP sends only once our HELLO proved us fresh (so a BYE of ours after
 * it is accepted).  Then:
 *
 *   bye:REASON  MSG_BYE with REASON (slow_reader, protocol_error, evicted,
 *               shutdown), half-close, read to the BACKUP's EOF, close
 *   close       close at once, no BYE: what a crashed MASTER's kernel does
 *   hold        keep the session until the BACKUP closes it
 *
 * One line per step, flushed: "session N proven", "session N bye REASON
 * eof", "session N closed", "session N peer closed".  Messages are signed
 * with the cluster key; the sequence starts at the boot epoch kept in
 * EPOCHFILE, like a real node's.  Exit 0 when every action is done, 1 when
 * a step does not happen within WAIT_MS, 2 on usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "sync_codec.h"

struct peer {
	struct msg_key key;
	uint64_t seq;
	uint32_t self; /* our address, network byte order: the sender id */
	int fd;
	uint64_t nonce;
	bool answered; /* we echoed the BACKUP's nonce */
	uint8_t in[2 + MSG_MAX_LEN];
	size_t inlen;
	uint8_t frame[MSG_MAX_LEN]; /* the message read_msg returned points here */
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* One framed message: [u16 length][envelope]. */
static int send_msg(struct peer *p, uint8_t type, const uint8_t *payload, size_t plen)
{
	uint8_t buf[2 + MSG_MAX_LEN];
	int len = msg_encode(&p->key, type, p->self, msg_next_seq(&p->seq), 0, payload, plen,
			     buf + 2, sizeof(buf) - 2);

	if (len < 0)
		return -1;
	buf[0] = (uint8_t)(len >> 8);
	buf[1] = (uint8_t)len;
	return send(p->fd, buf, (size_t)len + 2, MSG_NOSIGNAL) == len + 2 ? 0 : -1;
}

static int send_hello(struct peer *p, uint64_t echo)
{
	struct sync_hello h = { .nonce = p->nonce, .echo = echo };
	uint8_t payload[16];
	int plen = sync_hello_encode(&h, payload, sizeof(payload));

	return plen < 0 ? -1 : send_msg(p, MSG_HELLO, payload, (size_t)plen);
}

/* Wait for readable until the deadline: 1 readable, 0 timeout. */
static int wait_in(int fd, long long deadline)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	long long left = deadline - mono_ms();

	return left > 0 && poll(&pf, 1, (int)left) > 0;
}

/* The next message that verifies: 1, 0 at EOF, -1 on timeout or error. */
static int read_msg(struct peer *p, long long deadline, struct msg *m)
{
	for (;;) {
		size_t len = p->inlen >= 2 ? (size_t)p->in[0] << 8 | p->in[1] : 0;
		ssize_t n;

		if (len > MSG_MAX_LEN)
			return -1;
		if (p->inlen >= 2 && p->inlen >= 2 + len) {
			enum msg_drop why;

			/* m points into frame, valid until the next call. */
			memcpy(p->frame, p->in + 2, len);
			why = msg_decode(&p->key, p->frame, len, m);
			memmove(p->in, p->in + 2 + len, p->inlen - 2 - len);
			p->inlen -= 2 + len;
			if (why == MSG_OK)
				return 1;
			continue;
		}
		if (!wait_in(p->fd, deadline))
			return -1;
		n = recv(p->fd, p->in + p->inlen, sizeof(p->in) - p->inlen, 0);
		if (n <= 0)
			return n == 0 ? 0 : -1;
		p->inlen += (size_t)n;
	}
}

/* Both HELLOs, then the BACKUP's snapshot request: 0, or -1. */
static int handshake(struct peer *p, long long deadline)
{
	struct msg m;
	struct sync_hello h;

	if (send_hello(p, 0) < 0)
		return -1;
	while (read_msg(p, deadline, &m) == 1) {
		if (m.type == MSG_SNAP_REQUEST && p->answered)
			return 0;
		if (m.type != MSG_HELLO || sync_hello_decode(m.payload, m.len, &h) < 0)
			continue;
		if (h.echo != p->nonce && !p->answered) {
			p->answered = true;
			if (send_hello(p, h.nonce) < 0)
				return -1;
		}
	}
	return -1;
}

/* Read and drop until the BACKUP closes: 0 at its EOF, -1 on timeout. */
static int drain_to_eof(struct peer *p, long long deadline)
{
	struct msg m;
	int rc;

	while ((rc = read_msg(p, deadline, &m)) == 1)
		;
	return rc == 0 ? 0 : -1;
}

static int bye_reason(const char *name)
{
	for (int r = 1; r <= SYNC_BYE_MAX; r++)
		if (!strcmp(sync_bye_name((uint8_t)r), name))
			return r;
	return -1;
}

static int act(struct peer *p, int n, const char *action, long long deadline)
{
	uint8_t payload[4];
	int reason, plen;

	if (!strcmp(action, "close")) {
		close(p->fd); /* everything sent to us was read: a FIN, as after kill -9 */
		say("session %d closed", n);
		return 0;
	}
	if (!strcmp(action, "hold")) {
		if (drain_to_eof(p, deadline) < 0)
			return -1;
		say("session %d peer closed", n);
		return close(p->fd);
	}
	reason = strncmp(action, "bye:", 4) ? -1 : bye_reason(action + 4);
	plen = reason < 0 ? -1 : sync_bye_encode((uint8_t)reason, payload, sizeof(payload));
	if (plen < 0 || send_msg(p, MSG_BYE, payload, (size_t)plen) < 0 ||
	    shutdown(p->fd, SHUT_WR) < 0 || drain_to_eof(p, deadline) < 0)
		return -1;
	say("session %d bye %s eof", n, action + 4);
	return close(p->fd);
}

static int session(struct peer *p, int lfd, int n, const char *action, int wait_ms)
{
	long long deadline = mono_ms() + wait_ms;
	struct sockaddr_in me = { 0 }; /* the analyzer cannot see getsockname fill it */
	socklen_t len = sizeof(me);

	if (!wait_in(lfd, deadline) || (p->fd = accept(lfd, NULL, NULL)) < 0) {
		say("session %d: no connection within %d ms", n, wait_ms);
		return -1;
	}
	if (getsockname(p->fd, (struct sockaddr *)&me, &len) < 0) {
		say("session %d: getsockname: %s", n, strerror(errno));
		return -1;
	}
	p->self = me.sin_addr.s_addr;
	p->answered = false;
	p->inlen = 0;
	p->nonce = 0;
	while (!p->nonce)
		getrandom(&p->nonce, sizeof(p->nonce), 0);
	if (handshake(p, deadline) < 0) {
		say("session %d: no HELLO exchange and snapshot request within %d ms", n, wait_ms);
		return -1;
	}
	say("session %d proven", n);
	if (act(p, n, action, mono_ms() + wait_ms) < 0) {
		say("session %d: %s failed or timed out", n, action);
		return -1;
	}
	return 0;
}

static int listen_on(int port)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0 || listen(fd, 4) < 0) {
		perror("sync_peer: listen");
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct peer p = { .fd = -1 };
	char err[256];
	int lfd, wait_ms;

	if (argc < 6) {
		fprintf(stderr,
			"usage: sync_peer KEYFILE EPOCHFILE PORT WAIT_MS bye:REASON|close|hold...\n");
		return 2;
	}
	if (msg_key_load(argv[1], &p.key, err, sizeof(err)) < 0) {
		fprintf(stderr, "sync_peer: %s\n", err);
		return 2;
	}
	msg_seq_init(&p.seq, argv[2]);
	wait_ms = atoi(argv[4]);
	if ((lfd = listen_on(atoi(argv[3]))) < 0 || wait_ms <= 0)
		return 2;
	say("listening");
	for (int i = 5; i < argc; i++)
		if (session(&p, lfd, i - 4, argv[i], wait_ms) < 0)
			return 1;
	close(lfd);
	return 0;
}
