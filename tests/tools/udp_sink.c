/* udp_sink.c - the balancer's end of registration, for tests: prints every
 * datagram that reaches a UDP port, decoded, and can answer with acks.
 *
 *   udp_sink -p PORT -k KEYFILE [-a NODE [-s SENDER_IP] [-f FORGED_KEYFILE] [-R]]
 *
 * One line per datagram on stdout (line-buffered), fields key=value:
 *   t=MS from=IP:PORT to=DST_IP len=N type=announce seq=S name=be1
 *     service=IP:PORT weight=W interval=MS flags=F
 *   ... type=withdraw seq=S name=be1 service=IP:PORT why=shutdown|unhealthy
 *   ... drop=CAUSE        (envelope: bad_mac, truncated, ...; or payload:
 *                          payload_CAUSE, with the codec's detail)
 * to= is the datagram's destination (IP_PKTINFO), so a test can tell a
 * broadcast from a unicast copy.  t= is when the kernel received it
 * (SO_TIMESTAMPNS, wall clock, ms): a sink that is slow to be scheduled on a
 * loaded machine does not move it, so gaps between t= are the sender's.
 *
 * -a NODE answers each verified announce or withdraw with an accepting
 * MSG_ACK from balancer NODE (sender id -s, default 0.0.0.0); -f signs the
 * acks with another key (forgeries the agent must drop); -R sends every ack
 * twice (the copy is a replay the agent must drop).  Runs until killed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "regmsg.h"

struct sink {
	int fd;
	struct msg_key key;
	struct msg_key ack_key; /* = key unless -f */
	const char *node;       /* NULL: no acks */
	uint32_t sender;
	bool replay;
	uint64_t seq;
};

static uint64_t ts_ms(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000u + (uint64_t)ts->tv_nsec / 1000000u;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void send_ack(struct sink *s, const struct sockaddr_in *to, uint8_t of, const char *name)
{
	struct regmsg_ack k = { .accepted = true, .of = of, .reason = REGMSG_ACK_OK };
	uint8_t payload[REGMSG_MAX], buf[MSG_MAX_LEN];
	int n;

	snprintf(k.name, sizeof(k.name), "%s", name);
	snprintf(k.node, sizeof(k.node), "%s", s->node);
	n = regmsg_encode_ack(&k, payload, sizeof(payload));
	if (n > 0)
		n = msg_encode(&s->ack_key, MSG_ACK, s->sender, msg_next_seq(&s->seq), wall_ms(),
			       payload, (size_t)n, buf, sizeof(buf));
	if (n <= 0) {
		fprintf(stderr, "udp_sink: cannot encode an ack (%d)\n", n);
		return;
	}
	for (int i = 0; i < (s->replay ? 2 : 1); i++)
		if (sendto(s->fd, buf, (size_t)n, 0, (const struct sockaddr *)to, sizeof(*to)) !=
		    n)
			perror("udp_sink: sendto");
}

/* Print the payload; returns the server name for the ack, or NULL. */
static const char *show(const struct msg *m, char *name, size_t len)
{
	struct regmsg_announce a;
	struct regmsg_withdraw w;
	char ip[INET_ADDRSTRLEN], why[128];
	enum regmsg_err e;

	if (m->type == MSG_ANNOUNCE) {
		e = regmsg_decode_announce(m->payload, m->len, &a, why, sizeof(why));
		if (e == REGMSG_OK) {
			inet_ntop(AF_INET, &a.addr, ip, sizeof(ip));
			printf(" type=announce seq=%llu name=%s service=%s:%u weight=%u interval=%u "
			       "flags=%u\n",
			       (unsigned long long)m->seq, a.name, ip, a.port, a.weight,
			       a.interval_ms, a.flags);
			return snprintf(name, len, "%s", a.name), name;
		}
	} else if (m->type == MSG_WITHDRAW) {
		e = regmsg_decode_withdraw(m->payload, m->len, &w, why, sizeof(why));
		if (e == REGMSG_OK) {
			inet_ntop(AF_INET, &w.addr, ip, sizeof(ip));
			printf(" type=withdraw seq=%llu name=%s service=%s:%u why=%s\n",
			       (unsigned long long)m->seq, w.name, ip, w.port,
			       w.why == REGMSG_WD_SHUTDOWN ? "shutdown" : "unhealthy");
			return snprintf(name, len, "%s", w.name), name;
		}
	} else {
		printf(" type=%u seq=%llu\n", m->type, (unsigned long long)m->seq);
		return NULL;
	}
	printf(" drop=payload_%s (%s)\n", regmsg_err_name(e), why);
	return NULL;
}

static void one(struct sink *s)
{
	uint8_t buf[MSG_MAX_LEN + 1];
	char cbuf[256], ip[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN] = "?", name[REGMSG_NAME_MAX];
	struct sockaddr_in from;
	struct timespec rx;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_name = &from,
			     .msg_namelen = sizeof(from),
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(s->fd, &mh, 0);
	enum msg_drop d;
	struct msg m;

	if (n < 0) {
		perror("udp_sink: recvmsg");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &rx); /* if the kernel gives no stamp */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
			inet_ntop(AF_INET, &((struct in_pktinfo *)CMSG_DATA(c))->ipi_addr, dst,
				  sizeof(dst));
		else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
			memcpy(&rx, CMSG_DATA(c), sizeof(rx));
	}
	inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
	printf("t=%llu from=%s:%u to=%s len=%zd", (unsigned long long)ts_ms(&rx), ip,
	       ntohs(from.sin_port), dst, n);
	d = msg_decode(&s->key, buf, (size_t)n, &m);
	if (d != MSG_OK) {
		printf(" drop=%s\n", msg_drop_name(d));
		return;
	}
	if (show(&m, name, sizeof(name)) && s->node)
		send_ack(s, &from, m.type, name);
}

static int load_key(const char *path, struct msg_key *key)
{
	char err[512];

	if (msg_key_load(path, key, err, sizeof(err)) < 0) {
		fprintf(stderr, "udp_sink: %s\n", err);
		return -1;
	}
	return 0;
}

static int open_sock(unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_ANY) };
	int on = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	/* INADDR_ANY: a socket bound to a unicast address never sees
	 * broadcasts. */
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("udp_sink: socket");
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct sink s = { .fd = -1,
			  .seq = (uint64_t)time(NULL)
				 << 32 }; /* like an epoch from a right clock */
	const char *keyfile = NULL, *forged = NULL;
	unsigned port = 0;
	int c;

	while ((c = getopt(argc, argv, "p:k:a:s:f:R")) != -1) {
		switch (c) {
		case 'p':
			port = (unsigned)atoi(optarg);
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'a':
			s.node = optarg;
			break;
		case 's':
			inet_pton(AF_INET, optarg, &s.sender);
			break;
		case 'f':
			forged = optarg;
			break;
		case 'R':
			s.replay = true;
			break;
		default:
			fprintf(stderr,
				"usage: udp_sink -p PORT -k KEYFILE [-a NODE [-s SENDER_IP] "
				"[-f FORGED_KEYFILE] [-R]]\n");
			return 2;
		}
	}
	if (!port || port > 65535 || !keyfile || load_key(keyfile, &s.key) < 0)
		return 2;
	s.ack_key = s.key;
	if (forged && load_key(forged, &s.ack_key) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	s.fd = open_sock(port);
	if (s.fd < 0)
		return 1;
	for (;;)
		one(&s);
}
