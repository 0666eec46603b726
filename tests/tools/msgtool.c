/* msgtool.c - send hostile or stale sync/registration datagrams and VRRP
 * packets, for the tests that check they change nothing and are counted
 * (test_ha_sync.sh, test_abuse_packets.sh).
 *
 *   msgtool ADDR PORT KEYFILE KIND MODE [SENDER_IP]
 *     KIND: announce (registration port) | delta (sync port)
 *     MODE: wrongkey     - a well-formed message under a random key
 *           truncated    - a valid message cut in half
 *           truncate-all - every truncation of a valid message, lengths
 *                          0 .. len-1 (prints "sent N")
 *           hugelen      - a valid message whose payload length field says
 *                          65535
 *           oversize     - a datagram of MSG_MAX_LEN + 100 bytes that starts
 *                          like ours
 *           replay       - valid, but with sequence 1 from SENDER_IP (a sender
 *                          the receiver knows, with higher sequences)
 *           garbage      - random bytes
 *           valid        - a valid message (controls that the path works)
 *
 *   msgtool capture PORT GROUP|- FILE WAIT_MS [TYPE]
 *       wait for one datagram of ours (of msg type TYPE) on PORT (joining
 *       multicast GROUP unless "-") and store it in FILE: a real message
 *       to replay.  Exit 1 if none came within WAIT_MS.
 *   msgtool resend ADDR PORT FILE [COUNT]
 *       send FILE as one datagram, COUNT times (default 1)
 *   msgtool tcp ADDR PORT hugelen|garbage|idle [N] [HOLD_MS]
 *       the sync port's TCP session (2-byte length framing):
 *       hugelen  a frame announcing 65535 bytes; reads what the peer
 *                sends (its HELLO, then a BYE) until it closes: prints
 *                "closed bye=REASON" (the reason of the last BYE seen,
 *                "none" if none; framing only, the MAC is not checked)
 *                if the peer closes within 2 s, else "open"
 *       garbage  N frames of 100 random bytes, then close
 *       idle     N connections that send nothing, held HOLD_MS ms; prints
 *                how many connected
 *
 *   msgtool vrrp SRC_IP MODE [COUNT] [VRID]
 *       COUNT (default 1) raw VRRP packets to 224.0.0.18 out of the
 *       interface that has SRC_IP, built with vrrp_packet_encode (priority
 *       254, VRID 51, 100 ms, VIP 198.18.0.10), TTL 255 unless said:
 *       garbage      8..64 random bytes each
 *       truncate-all every truncation of the VRRP message (COUNT ignored;
 *                    prints "sent N")
 *       ttl          a valid advert with TTL 64
 *       badsum       a wrong checksum
 *       count-huge   Count IPvX Addr 255, one address present
 *       trailing     1000 bytes after the addresses
 *       version      version 2
 *       vrid         VRID 52 (not ours)
 *       interval0    Max Adver Int 0 (checksum valid)
 *       paced        valid adverts (checksum right, TTL 255) 100 ms apart:
 *                    a forged MASTER at priority 254 (issue 20)
 *   msgtool vrrp-capture FILE WAIT_MS [SRC_IP]
 *       store the first VRRP packet seen (from SRC_IP if given), IP header
 *       included; exit 1 if none within WAIT_MS
 *   msgtool vrrp-replay FILE [COUNT]
 *       send that packet again exactly as captured (IP_HDRINCL: the
 *       original source address and TTL), COUNT times, 1 ms apart
 *
 * Every VRRP packet leaves by the interface that holds SRC_IP (or, for a
 * replay, the first non-loopback interface): tests run it inside a lab
 * namespace whose only interface is eth0. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "regmsg.h"
#include "sync_codec.h"
#include "vrrp_packet.h"

#define VRRP_TEST_VRID 51
#define CAPTURE_MAX    4096

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ok = fd >= 0 && write(fd, p, n) == (ssize_t)n;

	if (fd >= 0)
		close(fd);
	if (!ok)
		perror(path);
	return ok ? 0 : -1;
}

static ssize_t read_file(const char *path, void *p, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, p, cap) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		perror(path);
	return n;
}

/* Wait until fd is readable or the deadline (monotonic ms) passes. */
static int wait_readable(int fd, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long long left = deadline - mono_ms();

	return left > 0 ? poll(&p, 1, (int)left) : 0;
}

static unsigned ifindex_of(struct in_addr addr);

/* ---- sync and registration datagrams -------------------------------- */

static int payload(const char *kind, uint8_t *out, size_t cap, uint8_t *type)
{
	if (!strcmp(kind, "announce")) {
		struct regmsg_announce a = {
			.name = "intruder", .port = 80, .weight = 1, .interval_ms = 1000
		};

		inet_pton(AF_INET, "198.18.0.99", &a.addr);
		*type = MSG_ANNOUNCE;
		return regmsg_encode_announce(&a, out, cap);
	}
	if (!strcmp(kind, "delta")) {
		struct sync_delta d = {
			.state_seq = 1000000,
			.op = SYNC_OP_UPSERT,
			.srv = { .name = "intruder", .port = 80, .weight = 1, .up = true }
		};

		inet_pton(AF_INET, "198.18.0.99", &d.srv.addr);
		*type = MSG_DELTA;
		return sync_delta_encode(&d, out, cap);
	}
	return -1;
}

static int udp_send(const struct sockaddr_in *to, const uint8_t *buf, size_t len)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n =
		fd >= 0 ? sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to)) : -1;

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)len) {
		perror("msgtool: send");
		return -1;
	}
	return 0;
}

/* Every prefix of buf[0..len): lengths 0 .. len-1. */
static int send_truncations(const struct sockaddr_in *to, const uint8_t *buf, size_t len)
{
	for (size_t k = 0; k < len; k++)
		if (udp_send(to, buf, k) < 0)
			return 1;
	printf("sent %zu\n", len);
	return 0;
}

/* The positional form: one hostile datagram (or a series). */
static int legacy(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint8_t body[MSG_MAX_PAYLOAD], buf[MSG_MAX_LEN + 128];
	struct msg_key key, bad;
	char err[256];
	const char *mode = argv[5];
	uint8_t type = 0;
	uint32_t sender = 0;
	uint64_t seq = 0;
	int plen, len;

	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1)
		return 2;
	to.sin_port = htons((uint16_t)atoi(argv[2]));
	if (msg_key_load(argv[3], &key, err, sizeof(err)) < 0) {
		fprintf(stderr, "msgtool: %s\n", err);
		return 2;
	}
	if (argc > 6)
		inet_pton(AF_INET, argv[6], &sender);
	if ((plen = payload(argv[4], body, sizeof(body), &type)) < 0)
		return 2;
	/* Like a node whose epoch file was new when the clock was right. */
	seq = ((uint64_t)time(NULL) << 32) + 1;
	if (!strcmp(mode, "wrongkey")) {
		bad.len = 32;
		getrandom(bad.bytes, bad.len, 0);
		len = msg_encode(&bad, type, sender, seq, wall_ms(), body, (size_t)plen, buf,
				 sizeof(buf));
	} else if (!strcmp(mode, "replay")) {
		len = msg_encode(&key, type, sender, 1, wall_ms(), body, (size_t)plen, buf,
				 sizeof(buf));
	} else if (!strcmp(mode, "garbage")) {
		len = 200;
		getrandom(buf, (size_t)len, 0);
	} else if (!strcmp(mode, "oversize")) {
		len = MSG_MAX_LEN + 100;
		getrandom(buf, (size_t)len, 0);
		msg_encode(&key, type, sender, seq, wall_ms(), body, (size_t)plen, buf,
			   sizeof(buf));
	} else {
		len = msg_encode(&key, type, sender, seq, wall_ms(), body, (size_t)plen, buf,
				 sizeof(buf));
		if (len < 0)
			return 1;
		if (!strcmp(mode, "truncated"))
			len /= 2;
		else if (!strcmp(mode, "truncate-all"))
			return send_truncations(&to, buf, (size_t)len);
		else if (!strcmp(mode, "hugelen"))
			buf[6] = buf[7] = 0xff; /* payload length field (msg.h) */
		else if (strcmp(mode, "valid"))
			return 2;
	}
	return len < 0 || udp_send(&to, buf, (size_t)len) < 0 ? 1 : 0;
}

static int capture(int argc, char **argv)
{
	struct sockaddr_in any = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)atoi(argv[2])) };
	long long deadline = mono_ms() + atoll(argv[5]);
	int want = argc > 6 ? atoi(argv[6]) : -1, one = 1;
	uint8_t buf[MSG_MAX_LEN + 1];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0) {
		perror("msgtool capture: bind");
		return 1;
	}
	if (strcmp(argv[3], "-")) {
		struct ip_mreqn m = { .imr_ifindex = (int)ifindex_of((struct in_addr){ 0 }) };

		inet_pton(AF_INET, argv[3], &m.imr_multiaddr);
		if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)) < 0) {
			perror("msgtool capture: IP_ADD_MEMBERSHIP");
			close(fd);
			return 1;
		}
	}
	while (wait_readable(fd, deadline) > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n >= MSG_HDR_LEN && !memcmp(buf, MSG_MAGIC, 4) && (want < 0 || buf[5] == want))
			return write_file(argv[4], buf, (size_t)n) < 0;
	}
	fprintf(stderr, "msgtool capture: nothing on port %s within %s ms\n", argv[2], argv[5]);
	return 1;
}

static int resend(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)atoi(argv[3])) };
	uint8_t buf[CAPTURE_MAX];
	ssize_t n = read_file(argv[4], buf, sizeof(buf));
	int count = argc > 5 ? atoi(argv[5]) : 1;

	if (n <= 0 || inet_pton(AF_INET, argv[2], &to.sin_addr) != 1)
		return 2;
	for (int i = 0; i < count; i++)
		if (udp_send(&to, buf, (size_t)n) < 0)
			return 1;
	return 0;
}

/* ---- the sync port's TCP sessions ------------------------------------ */

static int tcp_connect(const struct sockaddr_in *to)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (const struct sockaddr *)to, sizeof(*to)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The reason of a framed MSG_BYE at f (len bytes after the length
 * field), or NULL: the header's type and the payload's one byte. */
static const char *bye_in_frame(const uint8_t *f, size_t len)
{
	if (len != MSG_HDR_LEN + 1 + MSG_MAC_LEN || memcmp(f, MSG_MAGIC, 4) || f[5] != MSG_BYE)
		return NULL;
	return sync_bye_name(f[MSG_HDR_LEN]);
}

/* Read the peer's frames until it closes or the deadline passes; print
 * "closed bye=REASON|none" or "open". */
static void read_to_close(int fd, long long deadline)
{
	uint8_t in[4 * (2 + MSG_MAX_LEN)];
	size_t have = 0;
	const char *bye = "none", *r;
	ssize_t n = 1;

	while (n > 0 && wait_readable(fd, deadline) > 0 &&
	       (n = recv(fd, in + have, sizeof(in) - have, 0)) > 0) {
		size_t len;

		have += (size_t)n;
		while (have >= 2 && have >= 2 + (len = (size_t)in[0] << 8 | in[1])) {
			if ((r = bye_in_frame(in + 2, len)))
				bye = r;
			memmove(in, in + 2 + len, have - 2 - len);
			have -= 2 + len;
		}
		if (have == sizeof(in))
			break; /* not our framing: give up */
	}
	if (n == 0)
		printf("closed bye=%s\n", bye);
	else
		printf("open\n");
}

static int tcp_mode(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)atoi(argv[3])) };
	int n = argc > 5 ? atoi(argv[5]) : 1, fd;
	uint8_t frame[102] = { 0, 100 };

	if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1 || n < 1 || n > 1024)
		return 2;
	if (!strcmp(argv[4], "idle")) {
		int fds[1024], ok = 0;

		for (int i = 0; i < n; i++)
			if ((fds[i] = tcp_connect(&to)) >= 0)
				ok++;
		printf("connected %d\n", ok);
		fflush(stdout);
		usleep((useconds_t)(argc > 6 ? atoi(argv[6]) : 1000) * 1000u);
		for (int i = 0; i < n; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return 0;
	}
	if ((fd = tcp_connect(&to)) < 0) {
		perror("msgtool tcp: connect");
		return 1;
	}
	if (!strcmp(argv[4], "hugelen")) {
		uint8_t hdr[8] = { 0xff, 0xff, 'A', 'N', 'D', 'R', MSG_VERSION, MSG_DELTA };

		if (send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) != (ssize_t)sizeof(hdr))
			return 1;
		read_to_close(fd, mono_ms() + 2000);
	} else {
		for (int i = 0; i < n; i++) {
			getrandom(frame + 2, 100, 0);
			if (send(fd, frame, sizeof(frame), MSG_NOSIGNAL) != (ssize_t)sizeof(frame))
				break;
		}
		usleep(200 * 1000); /* let the receiver read before the close */
	}
	close(fd);
	return 0;
}

/* ---- VRRP --------------------------------------------------------------- */

/* The index of the interface holding addr (or the first non-loopback one
 * when addr is 0). */
static unsigned ifindex_of(struct in_addr addr)
{
	struct ifaddrs *ifa, *i;
	unsigned idx = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && !idx; i = i->ifa_next) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;

		if (!sin || sin->sin_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (!addr.s_addr || sin->sin_addr.s_addr == addr.s_addr)
			idx = if_nametoindex(i->ifa_name);
	}
	freeifaddrs(ifa);
	return idx;
}

/* A raw socket for protocol 112 sending out of ifindex with TTL ttl. */
static int vrrp_socket(unsigned ifindex, int ttl, int hdrincl)
{
	struct ip_mreqn m = { .imr_ifindex = (int)ifindex };
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, VRRP_IPPROTO);

	if (fd < 0 || !ifindex || setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof(m)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &hdrincl, sizeof(hdrincl)) < 0) {
		perror("msgtool vrrp: raw socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int vrrp_send(int fd, const void *p, size_t n)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(VRRP_MCAST_GROUP_HOST) };

	if (sendto(fd, p, n, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)n) {
		perror("msgtool vrrp: sendto");
		return -1;
	}
	return 0;
}

/* The VRRP message (no IP header) for mode into m; returns its length. */
static int vrrp_build(const char *mode, struct in_addr src, uint8_t vrid, uint8_t *m, size_t cap)
{
	struct vrrp_advert a = { .src = src,
				 .dst.s_addr = htonl(VRRP_MCAST_GROUP_HOST),
				 .vrid = vrid,
				 .priority = 254,
				 .interval_cs = 10,
				 .cksum = VRRP_CKSUM_PSEUDO,
				 .naddrs = 1 };
	uint8_t pkt[VRRP_PACKET_MAX + 1024];
	int n, len;

	inet_pton(AF_INET, "198.18.0.10", &a.addrs[0]);
	if (!strcmp(mode, "vrid"))
		a.vrid = (uint8_t)(vrid + 1);
	if ((n = vrrp_packet_encode(&a, pkt, sizeof(pkt))) < 0)
		return n;
	len = n - VRRP_IPV4_HDR_LEN;
	memcpy(m, pkt + VRRP_IPV4_HDR_LEN, (size_t)len);
	if (!strcmp(mode, "badsum")) {
		m[7] ^= 0x5a;
	} else if (!strcmp(mode, "count-huge")) {
		m[3] = 255;
	} else if (!strcmp(mode, "trailing")) {
		memset(m + len, 't', 1000);
		len += 1000;
	} else if (!strcmp(mode, "version") || !strcmp(mode, "interval0")) {
		if (!strcmp(mode, "version"))
			m[0] = 2 << 4 | VRRP_TYPE_ADVERT;
		else
			m[4] = m[5] = 0;
		m[6] = m[7] = 0; /* a valid checksum over the changed message */
		uint16_t s = vrrp_checksum(m, (size_t)len, a.src, a.dst, VRRP_CKSUM_PSEUDO);
		m[6] = (uint8_t)(s >> 8);
		m[7] = (uint8_t)s;
	}
	return (size_t)len <= cap ? len : -ENOSPC;
}

static int vrrp_mode(int argc, char **argv)
{
	struct in_addr src;
	const char *mode = argv[3];
	int count = argc > 4 ? atoi(argv[4]) : 1, fd, len;
	uint8_t vrid = (uint8_t)(argc > 5 ? atoi(argv[5]) : VRRP_TEST_VRID);
	uint8_t m[VRRP_PACKET_MAX + 1024];

	if (inet_pton(AF_INET, argv[2], &src) != 1 || count < 1 || count > 100000)
		return 2;
	if ((fd = vrrp_socket(ifindex_of(src), strcmp(mode, "ttl") ? VRRP_TTL : 64, 0)) < 0)
		return 1;
	if (!strcmp(mode, "garbage")) {
		for (int i = 0; i < count; i++) {
			uint8_t r;

			getrandom(&r, 1, 0);
			getrandom(m, 8u + r % 57u, 0);
			if (vrrp_send(fd, m, 8u + r % 57u) < 0)
				return 1;
		}
		return 0;
	}
	len = vrrp_build(!strcmp(mode, "truncate-all") || !strcmp(mode, "ttl") ? "valid" : mode,
			 src, vrid, m, sizeof(m));
	if (len < 0)
		return 2;
	if (!strcmp(mode, "truncate-all")) {
		for (int k = 0; k < len; k++)
			if (vrrp_send(fd, m, (size_t)k) < 0)
				return 1;
		printf("sent %d\n", len);
		return 0;
	}
	for (int i = 0; i < count; i++) {
		if (i && !strcmp(mode, "paced"))
			usleep(100 * 1000); /* the advert interval it claims */
		if (vrrp_send(fd, m, (size_t)len) < 0)
			return 1;
	}
	close(fd);
	return 0;
}

static int vrrp_capture(int argc, char **argv)
{
	long long deadline = mono_ms() + atoll(argv[3]);
	struct in_addr from = { 0 };
	struct ip_mreqn mr = { .imr_multiaddr.s_addr = htonl(VRRP_MCAST_GROUP_HOST),
			       .imr_ifindex = (int)ifindex_of(from) };
	uint8_t buf[CAPTURE_MAX];
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, VRRP_IPPROTO);

	if (argc > 4)
		inet_pton(AF_INET, argv[4], &from);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		perror("msgtool vrrp-capture: socket");
		return 1;
	}
	while (wait_readable(fd, deadline) > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n >= VRRP_IPV4_HDR_LEN + VRRP_HDR_LEN &&
		    (!from.s_addr || !memcmp(buf + 12, &from.s_addr, 4)))
			return write_file(argv[2], buf, (size_t)n) < 0;
	}
	fprintf(stderr, "msgtool vrrp-capture: no advert within %s ms\n", argv[3]);
	return 1;
}

static int vrrp_replay(int argc, char **argv)
{
	uint8_t buf[CAPTURE_MAX];
	ssize_t n = read_file(argv[2], buf, sizeof(buf));
	int count = argc > 3 ? atoi(argv[3]) : 1, fd;

	if (n < VRRP_IPV4_HDR_LEN ||
	    (fd = vrrp_socket(ifindex_of((struct in_addr){ 0 }), VRRP_TTL, 1)) < 0)
		return 1;
	for (int i = 0; i < count; i++) {
		if (vrrp_send(fd, buf, (size_t)n) < 0)
			return 1;
		usleep(1000); /* a replay, not a flood: no receive queue overflows */
	}
	close(fd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: msgtool ADDR PORT KEYFILE announce|delta MODE [SENDER_IP]\n"
		"         MODE: wrongkey|truncated|truncate-all|hugelen|oversize|replay|garbage|valid\n"
		"       msgtool capture PORT GROUP|- FILE WAIT_MS [TYPE]\n"
		"       msgtool resend ADDR PORT FILE [COUNT]\n"
		"       msgtool tcp ADDR PORT hugelen|garbage|idle [N] [HOLD_MS]\n"
		"       msgtool vrrp SRC_IP garbage|truncate-all|ttl|badsum|count-huge|trailing|version|vrid|interval0|paced [COUNT] [VRID]\n"
		"       msgtool vrrp-capture FILE WAIT_MS [SRC_IP]\n"
		"       msgtool vrrp-replay FILE [COUNT]\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int min_args;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "capture", 6, capture },
		{ "resend", 5, resend },
		{ "tcp", 5, tcp_mode },
		{ "vrrp", 4, vrrp_mode },
		{ "vrrp-capture", 4, vrrp_capture },
		{ "vrrp-replay", 3, vrrp_replay },
	};
	int rc = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name)) {
			rc = argc >= cmds[i].min_args ? cmds[i].fn(argc, argv) : 2;
			if (rc == 2)
				usage();
			return rc;
		}
	if (argc >= 6)
		rc = legacy(argc, argv);
	if (rc == 2)
		usage();
	return rc;
}
