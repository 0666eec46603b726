/* test_rawsock.c - core/lib/rawsock.c: options applied in order, the
 * first failure logged by name and returned, optional ones passed over;
 * an IPv6 datagram in with its hop limit, destination and interface, and
 * out with our source (loopback only). */
#include <criterion/criterion.h>
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "lib/stderr_pipe.h"
#include "macros.h"
#include "rawsock.h"

#define BOGUS_OPT    12345 /* no such IPv6 socket option */
#define EXPERIMENTAL 253   /* RFC 3692: an IP protocol for experiments */

/* The log lines of the code under test, bare (no time, no journal). */
static int capture_log(void)
{
	int fd = stderr_to_pipe();

	log_set_timestamps(0);
	log_use_journal(false);
	return fd;
}

static int getopt_int(int fd, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	cr_assert_eq(getsockopt(fd, IPPROTO_IPV6, name, &v, &len), 0);
	return v;
}

Test(rawsock, setopts_stop_at_the_first_failure_and_log_it)
{
	char out[512], want[256];
	int hops = 200, mhops = 7, bogus = 1;
	const struct rawsock_opt opts[] = {
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_UNICAST_HOPS, hops),
		{ .level = IPPROTO_IPV6,
		  .name = BOGUS_OPT,
		  .val = &bogus,
		  .len = sizeof(bogus),
		  .what = "BOGUS" },
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, mhops),
	};
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	int log = capture_log();

	cr_assert_geq(fd, 0);
	cr_expect_eq(rawsock_setopts(fd, "test socket", "eth9", opts, ARRAY_SIZE(opts)),
		     -ENOPROTOOPT);
	cr_expect_eq(getopt_int(fd, IPV6_UNICAST_HOPS), 200, "the options before are applied");
	cr_expect_neq(getopt_int(fd, IPV6_MULTICAST_HOPS), 7, "none after the failure");
	stderr_read_all(log, out, sizeof(out));
	snprintf(want, sizeof(want),
		 "andromeda: warning: test socket on eth9: setsockopt BOGUS: %s\n",
		 strerror(ENOPROTOOPT));
	cr_expect_str_eq(out, want);
	close(fd);
}

Test(rawsock, optional_failure_is_passed_over_silently)
{
	char out[512];
	int mhops = 7, off = 0;
	const struct rawsock_opt opts[] = {
		{ .level = IPPROTO_IPV6,
		  .name = BOGUS_OPT,
		  .val = &off,
		  .len = sizeof(off),
		  .what = "BOGUS",
		  .optional = true },
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, mhops),
	};
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	int log = capture_log();

	cr_assert_geq(fd, 0);
	cr_expect_eq(rawsock_setopts(fd, "test socket", "eth9", opts, ARRAY_SIZE(opts)), 0);
	cr_expect_eq(getopt_int(fd, IPV6_MULTICAST_HOPS), 7);
	stderr_read_all(log, out, sizeof(out));
	cr_expect_str_eq(out, "");
	close(fd);
}

/* A socket of type/proto on ::1 that reports hop limit and packet info;
 * -1 when the host has no IPv6 loopback. */
static int rx_socket(int type, int proto, struct sockaddr_in6 *addr)
{
	int on = 1;
	const struct rawsock_opt opts[] = {
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, on),
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_RECVPKTINFO, on),
	};
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET6, type | SOCK_NONBLOCK, proto);

	cr_assert_geq(fd, 0, "socket (raw ones need root, as tests/test.sh runs): %s",
		      strerror(errno));
	*addr = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_addr = in6addr_loopback };
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0) {
		close(fd);
		return -1;
	}
	cr_assert_eq(getsockname(fd, (struct sockaddr *)addr, &len), 0);
	cr_assert_eq(rawsock_setopts(fd, "rx", "lo", opts, ARRAY_SIZE(opts)), 0);
	return fd;
}

Test(rawsock, recv_gives_source_destination_hop_limit_and_interface)
{
	struct sockaddr_in6 addr;
	int rx = rx_socket(SOCK_DGRAM, 0, &addr);
	int tx = socket(AF_INET6, SOCK_DGRAM, 0), hops = 255;
	struct rawsock6_rx m;
	char buf[64];

	cr_assert_geq(rx, 0, "an IPv6 UDP socket bound to ::1: %s", strerror(errno));
	cr_assert_geq(tx, 0);
	cr_expect_eq(rawsock6_recv(rx, buf, sizeof(buf), &m), -EAGAIN);
	cr_assert_eq(setsockopt(tx, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)), 0);
	cr_assert_eq(sendto(tx, "hello", 5, 0, (struct sockaddr *)&addr, sizeof(addr)), 5);
	cr_assert_eq(rawsock6_recv(rx, buf, sizeof(buf), &m), 5);
	cr_expect_eq(memcmp(buf, "hello", 5), 0);
	cr_expect(IN6_IS_ADDR_LOOPBACK(&m.src));
	cr_expect(IN6_IS_ADDR_LOOPBACK(&m.dst));
	cr_expect_eq(m.hoplimit, 255);
	cr_expect_eq(m.ifindex, if_nametoindex("lo"));
	close(tx);
	close(rx);
}

/* Wait up to a second for our marked datagram on rx: another program's
 * experiment on the loopback could come first. */
static bool recv_marked(int rx, const char *mark, struct rawsock6_rx *m)
{
	char buf[64];

	for (int i = 0; i < 100; i++) {
		ssize_t n = rawsock6_recv(rx, buf, sizeof(buf), m);

		if (n == (ssize_t)strlen(mark) && memcmp(buf, mark, (size_t)n) == 0)
			return true;
		cr_assert(n >= 0 || n == -EAGAIN, "recv: %s", strerror((int)-n));
		if (n < 0)
			usleep(10000);
	}
	return false;
}

/* What a raw socket sends is what the other end of the loopback reads:
 * the payload, from the source named in IPV6_PKTINFO. */
Test(rawsock, send_from_our_source_out_of_our_interface)
{
	struct sockaddr_in6 addr;
	struct rawsock6_rx m;
	int rx, tx;

	rx = rx_socket(SOCK_RAW, EXPERIMENTAL, &addr);
	cr_assert_geq(rx, 0, "a raw IPv6 socket on ::1 (root, as tests/test.sh runs): %s",
		      strerror(errno));
	tx = socket(AF_INET6, SOCK_RAW, EXPERIMENTAL);
	cr_assert_geq(tx, 0);
	cr_assert_eq(rawsock6_send(tx, "rawsock-test", 12, &in6addr_loopback, &in6addr_loopback,
				   if_nametoindex("lo")),
		     0);
	cr_assert(recv_marked(rx, "rawsock-test", &m));
	cr_expect(IN6_IS_ADDR_LOOPBACK(&m.src));
	cr_expect(IN6_IS_ADDR_LOOPBACK(&m.dst));
	cr_expect_eq(m.ifindex, if_nametoindex("lo"));
	close(tx);
	close(rx);
}

/* Over IPv4 the kernel writes the IP header: its source is the address
 * IP_PKTINFO named (127.0.0.2, not the route's 127.0.0.1). */
Test(rawsock, send4_from_the_source_named)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	struct in_addr src = { .s_addr = htonl(0x7f000002) };
	uint8_t buf[128];
	bool seen = false;
	int rx, tx;

	rx = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, EXPERIMENTAL);
	tx = socket(AF_INET, SOCK_RAW, EXPERIMENTAL);
	cr_assert_geq(rx, 0, "a raw IPv4 socket (root, as tests/test.sh runs): %s",
		      strerror(errno));
	cr_assert_geq(tx, 0);
	cr_assert_eq(bind(rx, (struct sockaddr *)&addr, sizeof(addr)), 0);
	cr_assert_eq(rawsock4_send(tx, "rawsock4", 8, src, addr.sin_addr, if_nametoindex("lo")),
		     0);
	for (int i = 0; i < 100 && !seen; i++) {
		ssize_t n = recv(rx, buf, sizeof(buf), 0);

		if (n == 20 + 8 && memcmp(buf + 20, "rawsock4", 8) == 0) {
			seen = true;
			cr_expect_eq(memcmp(buf + 12, &src.s_addr, 4), 0, "IPv4 source");
		} else if (n < 0) {
			usleep(10000);
		}
	}
	cr_expect(seen);
	close(tx);
	close(rx);
}
