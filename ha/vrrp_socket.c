/* vrrp_socket.c - raw IPv4 socket for VRRP adverts on one interface. */
#include "vrrp_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "macros.h"
#include "rawsock.h"

#define RX_BUF 2048 /* > VRRP_PACKET_MAX with 40 bytes of IP options */

struct vrrp_socket {
	struct loop *loop;
	int fd;
	unsigned ifindex;
	char ifname[IF_NAMESIZE];
	struct in_addr primary;
	struct in_addr peers[CFG_MAX_PEERS];
	size_t npeers;
	struct in_addr vips[CFG_MAX_INSTANCES * CFG_MAX_VIPS]; /* every instance's */
	size_t nvips;
	vrrp_socket_rx_fn rx;
	void *rx_arg;
	struct log_limit tx_limit;
	struct log_limit rx_limit;
};

static bool excluded(struct in_addr a, const struct in_addr *ex, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ex[i].s_addr == a.s_addr)
			return true;
	return false;
}

int vrrp_iface_primary(const char *ifname, const struct in_addr *exclude, size_t nexclude,
		       struct in_addr *out)
{
	struct ifaddrs *list, *ifa;
	int err = -EADDRNOTAVAIL;

	if (!if_nametoindex(ifname))
		return -ENODEV;
	if (getifaddrs(&list) < 0)
		return -errno;
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ifa->ifa_addr;

		if (!sin || sin->sin_family != AF_INET || strcmp(ifa->ifa_name, ifname) != 0)
			continue;
		if (excluded(sin->sin_addr, exclude, nexclude))
			continue;
		*out = sin->sin_addr;
		err = 0;
		break;
	}
	freeifaddrs(list);
	return err;
}

/* TTL 255 (RFC 5798 5.1.1.3) for both unicast and multicast, our TOS, the
 * arrival interface on every packet, and only this device heard. */
static int configure_common(struct vrrp_socket *s)
{
	int ttl = VRRP_TTL, on = 1, tos = VRRP_IP_TOS;
	const struct rawsock_opt opts[] = {
		RAWSOCK_BINDTODEVICE(s->ifname),
		RAWSOCK_OPT(IPPROTO_IP, IP_TTL, ttl),
		RAWSOCK_OPT(IPPROTO_IP, IP_TOS, tos),
		RAWSOCK_OPT(IPPROTO_IP, IP_PKTINFO, on),
	};

	return rawsock_setopts(s->fd, "vrrp socket", s->ifname, opts, ARRAY_SIZE(opts));
}

static int configure_multicast(struct vrrp_socket *s)
{
	int ttl = VRRP_TTL, off = 0;
	struct ip_mreqn mr = { .imr_ifindex = (int)s->ifindex };
	const struct rawsock_opt opts[] = {
		RAWSOCK_OPT(IPPROTO_IP, IP_MULTICAST_TTL, ttl),
		/* our own adverts must not come back to us */
		RAWSOCK_OPT(IPPROTO_IP, IP_MULTICAST_LOOP, off),
		/* only groups joined on this socket, not every group on the host */
		RAWSOCK_OPT(IPPROTO_IP, IP_MULTICAST_ALL, off),
		RAWSOCK_OPT(IPPROTO_IP, IP_MULTICAST_IF, mr),
	};
	const struct rawsock_opt join = { .level = IPPROTO_IP,
					  .name = IP_ADD_MEMBERSHIP,
					  .val = &mr,
					  .len = sizeof(mr),
					  .what = "IP_ADD_MEMBERSHIP " VRRP_MCAST_GROUP };
	int err = rawsock_setopts(s->fd, "vrrp socket", s->ifname, opts, ARRAY_SIZE(opts));

	if (err || s->npeers)
		return err;
	mr.imr_multiaddr.s_addr = htonl(VRRP_MCAST_GROUP_HOST);
	return rawsock_setopts(s->fd, "vrrp socket", s->ifname, &join, 1);
}

static unsigned pktinfo_ifindex(struct msghdr *mh)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			return (unsigned)pi.ipi_ifindex;
		}
	}
	return 0;
}

/* Read one packet; 1 if one was handled (or dropped), 0 when drained. */
static int read_one(struct vrrp_socket *s, uint8_t *buf)
{
	union {
		char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = RX_BUF };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.b,
			     .msg_controllen = sizeof(cbuf.b) };
	ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
	uint64_t sup = 0;

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EINTR)
			return 1;
		if (log_limit_ok(&s->rx_limit, loop_now_ms(s->loop), LOG_LIMIT_LONG_MS, &sup))
			log_warn("vrrp socket on %s: recvmsg", s->ifname);
		return 0;
	}
	if (pktinfo_ifindex(&mh) != s->ifindex)
		return 1; /* arrived on another interface: not ours */
	/* MSG_TRUNC cannot happen below 2048 bytes of VRRP; if it did, the
	 * IP total length would exceed n and the parser says "short". */
	s->rx(s->rx_arg, buf, (size_t)n);
	return 1;
}

static void on_readable(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct vrrp_socket *s = arg;
	uint8_t buf[RX_BUF];

	for (int i = 0; i < LOOP_IO_BATCH; i++)
		if (!read_one(s, buf))
			break;
}

static int open_fd(struct vrrp_socket *s)
{
	int err;

	s->fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_IPPROTO);
	if (s->fd < 0) {
		err = -errno;
		log_errno(err, "vrrp socket on %s: socket(AF_INET, SOCK_RAW, 112)", s->ifname);
		return err;
	}
	err = configure_common(s);
	if (!err)
		err = configure_multicast(s);
	if (!err)
		err = loop_add_fd(s->loop, s->fd, LOOP_READ, on_readable, s);
	if (err) {
		close(s->fd);
		s->fd = -1;
	}
	return err;
}

static int socket_init(struct vrrp_socket *s, const struct vrrp_socket_params *p)
{
	int err;

	if (p->npeers > CFG_MAX_PEERS || p->nvips > CFG_MAX_INSTANCES * CFG_MAX_VIPS || !p->rx ||
	    strlen(p->ifname) >= IF_NAMESIZE)
		return -EINVAL;
	snprintf(s->ifname, sizeof(s->ifname), "%s", p->ifname);
	memcpy(s->peers, p->peers, p->npeers * sizeof(*p->peers));
	s->npeers = p->npeers;
	memcpy(s->vips, p->vips, p->nvips * sizeof(*p->vips));
	s->nvips = p->nvips;
	s->rx = p->rx;
	s->rx_arg = p->rx_arg;
	s->ifindex = if_nametoindex(s->ifname);
	if (!s->ifindex) {
		log_errno(-ENODEV, "vrrp socket: interface %s", s->ifname);
		return -ENODEV;
	}
	err = vrrp_iface_primary(s->ifname, s->vips, s->nvips, &s->primary);
	if (err == -EADDRNOTAVAIL) /* boot order: the address may come later */
		log_warnx("vrrp socket: no IPv4 address on %s yet: waiting for one", s->ifname);
	else if (err) {
		log_errno(err, "vrrp socket: reading the addresses of %s", s->ifname);
		return err;
	}
	/* Every option below works on an interface that is down and has no
	 * address: they name it by index, never by address. */
	return open_fd(s);
}

int vrrp_socket_open(struct loop *loop, const struct vrrp_socket_params *p,
		     struct vrrp_socket **out)
{
	struct vrrp_socket *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->fd = -1;
	err = socket_init(s, p);
	if (err) {
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

void vrrp_socket_close(struct vrrp_socket *s)
{
	if (!s)
		return;
	if (s->fd >= 0) {
		loop_del_fd(s->loop, s->fd);
		close(s->fd);
	}
	free(s);
}

/* One copy to dst, with our primary as source (IP_PKTINFO ipi_spec_dst)
 * and leaving by our interface (ipi_ifindex). */
static int send_to(struct vrrp_socket *s, struct vrrp_advert *adv, struct in_addr dst)
{
	uint8_t msg[VRRP_HDR_LEN + 4 * VRRP_MAX_ADDRS];
	int n;

	adv->src = s->primary;
	adv->dst = dst;
	n = vrrp_advert_encode(adv, msg, sizeof(msg));
	if (n < 0)
		return n;
	return rawsock4_send(s->fd, msg, (size_t)n, s->primary, dst, s->ifindex);
}

int vrrp_socket_send(struct vrrp_socket *s, struct vrrp_advert *adv)
{
	struct in_addr group = { .s_addr = htonl(VRRP_MCAST_GROUP_HOST) };
	size_t ndst = s->npeers ? s->npeers : 1;
	int first = 0;
	uint64_t sup = 0;
	char b[INET_ADDRSTRLEN];

	if (!s->primary.s_addr)
		return -EADDRNOTAVAIL; /* never an advert from 0.0.0.0 */

	for (size_t i = 0; i < ndst; i++) {
		struct in_addr dst = s->npeers ? s->peers[i] : group;
		int err = send_to(s, adv, dst);

		if (!err)
			continue;
		if (!first)
			first = err;
		if (log_limit_ok(&s->tx_limit, loop_now_ms(s->loop), LOG_LIMIT_LONG_MS, &sup))
			log_errno(err,
				  "vrrp socket on %s: sending advert to %s (%llu failures "
				  "not logged since last report)",
				  s->ifname, inet_ntop(AF_INET, &dst, b, sizeof(b)) ? b : "?",
				  (unsigned long long)sup);
	}
	return first;
}

struct in_addr vrrp_socket_primary(const struct vrrp_socket *s) { return s->primary; }

int vrrp_socket_refresh_primary(struct vrrp_socket *s)
{
	struct in_addr a = { 0 };
	int err = vrrp_iface_primary(s->ifname, s->vips, s->nvips, &a);

	if (err && err != -EADDRNOTAVAIL)
		return err;
	if (a.s_addr == s->primary.s_addr)
		return 0;
	s->primary = a;
	return 1;
}
