/* vrrp6_socket.c - raw IPv6 socket for VRRPv3 adverts on one interface. */
#include "vrrp6_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "macros.h"
#include "rawsock.h"

#ifndef IPV6_MULTICAST_ALL
#define IPV6_MULTICAST_ALL 29 /* Linux 4.20 */
#endif

#define RX_BUF (VRRP6_MSG_MAX + 64)

struct vrrp6_socket {
	struct loop *loop;
	int fd;
	unsigned ifindex;
	char ifname[IF_NAMESIZE];
	struct in6_addr ll; /* our link-local address, :: while none */
	struct in6_addr group;
	vrrp6_socket_rx_fn rx;
	void *rx_arg;
	struct log_limit tx_limit;
};

static int linklocal(const char *ifname, struct in6_addr *out)
{
	struct ifaddrs *list, *ifa;
	int err = -EADDRNOTAVAIL;

	if (getifaddrs(&list) < 0)
		return -errno;
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ifa->ifa_addr;

		if (!sin6 || sin6->sin6_family != AF_INET6 || strcmp(ifa->ifa_name, ifname) != 0 ||
		    !IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
			continue;
		*out = sin6->sin6_addr;
		err = 0;
		break;
	}
	freeifaddrs(list);
	return err;
}

/* Hop limit 255 out, unicast and multicast (RFC 5798 5.1.2.3), our
 * traffic class, out by this interface and never back to us, the hop
 * limit, destination and interface of each packet in, the group joined. */
static int configure(struct vrrp6_socket *s)
{
	int hops = VRRP6_HOPLIMIT, on = 1, off = 0, tc = VRRP_IP_TOS, idx = (int)s->ifindex;
	struct ipv6_mreq mr = { .ipv6mr_multiaddr = s->group, .ipv6mr_interface = s->ifindex };
	const struct rawsock_opt opts[] = {
		RAWSOCK_BINDTODEVICE(s->ifname),
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hops),
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_UNICAST_HOPS, hops),
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_TCLASS, tc),
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_MULTICAST_IF, idx),
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, off),
		/* older kernels lack it: only a wider delivery, not an error */
		{ .level = IPPROTO_IPV6,
		  .name = IPV6_MULTICAST_ALL,
		  .val = &off,
		  .len = sizeof(off),
		  .what = "IPV6_MULTICAST_ALL",
		  .optional = true },
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, on),
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_RECVPKTINFO, on),
		{ .level = IPPROTO_IPV6,
		  .name = IPV6_JOIN_GROUP,
		  .val = &mr,
		  .len = sizeof(mr),
		  .what = "IPV6_JOIN_GROUP " VRRP6_MCAST_GROUP },
	};

	return rawsock_setopts(s->fd, "vrrp6 socket", s->ifname, opts, ARRAY_SIZE(opts));
}

static int read_one(struct vrrp6_socket *s, uint8_t *buf)
{
	struct rawsock6_rx rx;
	ssize_t n = rawsock6_recv(s->fd, buf, RX_BUF, &rx);
	struct vrrp6_rx_meta m;

	if (n < 0)
		return n == -EINTR;
	if (rx.ifindex != s->ifindex)
		return 1; /* another interface: not ours */
	m = (struct vrrp6_rx_meta){ .src = rx.src, .dst = rx.dst, .hoplimit = rx.hoplimit };
	s->rx(s->rx_arg, buf, (size_t)n, &m);
	return 1;
}

static void on_readable(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct vrrp6_socket *s = arg;
	uint8_t buf[RX_BUF];

	for (int i = 0; i < LOOP_IO_BATCH; i++)
		if (!read_one(s, buf))
			break;
}

static int socket_init(struct vrrp6_socket *s)
{
	int err;

	s->ifindex = if_nametoindex(s->ifname);
	if (!s->ifindex)
		return -ENODEV;
	inet_pton(AF_INET6, VRRP6_MCAST_GROUP, &s->group);
	if (linklocal(s->ifname, &s->ll) < 0)
		log_warnx("vrrp6 socket: no IPv6 link-local address on %s yet: waiting for one",
			  s->ifname);
	s->fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_IPPROTO);
	if (s->fd < 0) {
		err = -errno;
		log_errno(err, "vrrp6 socket on %s: socket(AF_INET6, SOCK_RAW, 112)", s->ifname);
		return err;
	}
	if ((err = configure(s)) < 0)
		return err;
	return loop_add_fd(s->loop, s->fd, LOOP_READ, on_readable, s);
}

int vrrp6_socket_open(struct loop *loop, const char *ifname, vrrp6_socket_rx_fn rx, void *arg,
		      struct vrrp6_socket **out)
{
	struct vrrp6_socket *s;
	int err;

	if (strlen(ifname) >= IF_NAMESIZE || !rx)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->fd = -1;
	s->rx = rx;
	s->rx_arg = arg;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	err = socket_init(s);
	if (err) {
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

void vrrp6_socket_close(struct vrrp6_socket *s)
{
	if (!s)
		return;
	loop_del_fd(s->loop, s->fd);
	close(s->fd);
	free(s);
}

int vrrp6_socket_send(struct vrrp6_socket *s, struct vrrp_advert *adv)
{
	uint8_t msg[VRRP6_MSG_MAX];
	uint64_t sup = 0;
	int n, err;

	if (IN6_IS_ADDR_UNSPECIFIED(&s->ll))
		return -EADDRNOTAVAIL; /* never an advert from :: */
	adv->family = AF_INET6;
	adv->src6 = s->ll;
	adv->dst6 = s->group;
	n = vrrp6_advert_encode(adv, msg, sizeof(msg));
	if (n < 0)
		return n;
	err = rawsock6_send(s->fd, msg, (size_t)n, &s->ll, &s->group, s->ifindex);
	if (err && log_limit_ok(&s->tx_limit, loop_now_ms(s->loop), LOG_LIMIT_LONG_MS, &sup))
		log_errno(err, "vrrp6 socket on %s: sending advert (%llu failures not logged)",
			  s->ifname, (unsigned long long)sup);
	return err;
}

struct in6_addr vrrp6_socket_linklocal(const struct vrrp6_socket *s) { return s->ll; }

int vrrp6_socket_refresh(struct vrrp6_socket *s)
{
	struct in6_addr a = IN6ADDR_ANY_INIT;
	int err = linklocal(s->ifname, &a);

	if (err && err != -EADDRNOTAVAIL)
		return err;
	if (IN6_ARE_ADDR_EQUAL(&a, &s->ll))
		return 0;
	s->ll = a;
	return 1;
}
