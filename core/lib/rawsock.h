/* rawsock.h - what the daemon's raw sockets share: the VRRP sockets of
 * ha/ (IP protocol 112 over IPv4 and IPv6) and the ICMPv6 socket of
 * netlink/ndisc.c.  Socket options applied in order, with one log line
 * naming the option that failed; datagrams out with their packet
 * information (source, interface), and IPv6 ones in with theirs.  Which options, and every check
 * of what arrives, stay with each socket: they follow different RFCs. */
#ifndef ANDROMEDA_RAWSOCK_H
#define ANDROMEDA_RAWSOCK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

/* One setsockopt(): val is read during rawsock_setopts() only. */
struct rawsock_opt {
	int level;
	int name;
	const void *val;
	socklen_t len;
	const char *what; /* the option's name in the log line */
	bool optional;    /* a failure is ignored and not logged (older kernels) */
};

/* An option set to the variable var, logged under its own name. */
#define RAWSOCK_OPT(level, name, var)                              \
	{                                                          \
		(level), (name), &(var), sizeof(var), #name, false \
	}

/* The entry that binds a socket to ifname (a NUL-terminated name). */
#define RAWSOCK_BINDTODEVICE(ifname)                                                  \
	{                                                                             \
		SOL_SOCKET, SO_BINDTODEVICE, (ifname), (socklen_t)strlen(ifname) + 1, \
			"SO_BINDTODEVICE", false                                      \
	}

/* Apply opts[0..n) to fd in order, up to the first failure that is not
 * optional, logged as "<who> on <ifname>: setsockopt <what>" with the
 * errno text.  Returns 0 or that -errno. */
int rawsock_setopts(int fd, const char *who, const char *ifname, const struct rawsock_opt *opts,
		    size_t n);

/* What recvmsg() said about a datagram on a raw IPv6 socket that has
 * IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO on. */
struct rawsock6_rx {
	struct in6_addr src; /* the sender */
	struct in6_addr dst; /* :: when the kernel gave no IPV6_PKTINFO */
	int hoplimit;        /* -1 when the kernel gave no IPV6_HOPLIMIT */
	unsigned ifindex;    /* the arrival interface; 0 when not given */
};

/* Read one datagram (MSG_DONTWAIT) into buf[0..len).  Returns its length
 * with *rx filled, or -errno (-EAGAIN when none is waiting). */
ssize_t rawsock6_recv(int fd, void *buf, size_t len, struct rawsock6_rx *rx);

/* Send msg[0..len) to dst from src out of interface ifindex (IP_PKTINFO's
 * ipi_spec_dst and ipi_ifindex), MSG_DONTWAIT.  Returns 0 or -errno. */
int rawsock4_send(int fd, const void *msg, size_t len, struct in_addr src, struct in_addr dst,
		  unsigned ifindex);

/* The same over IPv6 (the scope and IPV6_PKTINFO). */
int rawsock6_send(int fd, const void *msg, size_t len, const struct in6_addr *src,
		  const struct in6_addr *dst, unsigned ifindex);

#endif
