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

static int setopt(const struct vrrp6_socket *s, int level, int name, const void *v, socklen_t len,
		  const char *what)
{
	int err;

	if (setsockopt(s->fd, level, name, v, len) == 0)
		return 0;
	err = -errno;
	log_errno(err, "vrrp6 socket on %s: setsockopt %s", s->ifname, what);
	return err;
}

static int configure(struct vrrp6_socket *s)
{
	int hops = VRRP6_HOPLIMIT, on = 1, off = 0, tc = VRRP_IP_TOS, idx = (int)s->ifindex;
	struct ipv6_mreq mr = { .ipv6mr_multiaddr = s->group, .ipv6mr_interface = s->ifindex };
	int err;

	err = setopt(s, SOL_SOCKET, SO_BINDTODEVICE, s->ifname, (socklen_t)strlen(s->ifname) + 1,
		     "SO_BINDTODEVICE");
	if (!err)
		err = setopt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops),
			     "IPV6_MULTICAST_HOPS");
	if (!err)
		err = setopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops),
			     "IPV6_UNICAST_HOPS");
	if (!err)
		err = setopt(s, IPPROTO_IPV6, IPV6_TCLASS, &tc, sizeof(tc), "IPV6_TCLASS");
	if (!err)
		err = setopt(s, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx),
			     "IPV6_MULTICAST_IF");
	if (!err)
		err = setopt(s, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off),
			     "IPV6_MULTICAST_LOOP");
	if (!err) {
		/* older kernels lack it: only a wider delivery, not an error */
		(void)setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &off, sizeof(off));
		err = setopt(s, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on),
			     "IPV6_RECVHOPLIMIT");
	}
	if (!err)
		err = setopt(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on),
			     "IPV6_RECVPKTINFO");
	if (!err)
		err = setopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr),
			     "IPV6_JOIN_GROUP " VRRP6_MCAST_GROUP);
	return err;
}

/* Hop limit, destination and interface from the control messages. */
static unsigned rx_meta(struct msghdr *mh, struct vrrp6_rx_meta *m)
{
	unsigned ifindex = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != IPPROTO_IPV6)
			continue;
		if (c->cmsg_type == IPV6_HOPLIMIT) {
			memcpy(&m->hoplimit, CMSG_DATA(c), sizeof(m->hoplimit));
		} else if (c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			m->dst = pi.ipi6_addr;
			ifindex = pi.ipi6_ifindex;
		}
	}
	return ifindex;
}

static int read_one(struct vrrp6_socket *s, uint8_t *buf)
{
	union {
		char b[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct sockaddr_in6 from;
	struct iovec iov = { .iov_base = buf, .iov_len = RX_BUF };
	struct msghdr mh = { .msg_name = &from,
			     .msg_namelen = sizeof(from),
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.b,
			     .msg_controllen = sizeof(cbuf.b) };
	ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
	struct vrrp6_rx_meta m = { .hoplimit = -1 };

	if (n < 0)
		return errno == EINTR;
	if (rx_meta(&mh, &m) != s->ifindex)
		return 1; /* another interface: not ours */
	m.src = from.sin6_addr;
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

static int send_msg(struct vrrp6_socket *s, const uint8_t *msg, size_t len)
{
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct sockaddr_in6 to = { .sin6_family = AF_INET6,
				   .sin6_addr = s->group,
				   .sin6_scope_id = s->ifindex };
	struct in6_pktinfo pi = { .ipi6_addr = s->ll, .ipi6_ifindex = s->ifindex };
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_name = &to,
			     .msg_namelen = sizeof(to),
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.b,
			     .msg_controllen = sizeof(cbuf.b) };
	struct cmsghdr *c;

	memset(cbuf.b, 0, sizeof(cbuf.b));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	return sendmsg(s->fd, &mh, MSG_DONTWAIT) < 0 ? -errno : 0;
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
	err = send_msg(s, msg, (size_t)n);
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
