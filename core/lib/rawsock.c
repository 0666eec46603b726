/* rawsock.c - options, receive and send for the daemon's raw sockets
 * (see rawsock.h). */
#include "rawsock.h"

#include <errno.h>
#include <string.h>

#include "log.h"

int rawsock_setopts(int fd, const char *who, const char *ifname, const struct rawsock_opt *opts,
		    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct rawsock_opt *o = &opts[i];
		int err;

		if (setsockopt(fd, o->level, o->name, o->val, o->len) == 0 || o->optional)
			continue;
		err = -errno;
		log_errno(err, "%s on %s: setsockopt %s", who, ifname, o->what);
		return err;
	}
	return 0;
}

/* Hop limit, destination and interface from the control messages. */
static void rx_meta(struct msghdr *mh, struct rawsock6_rx *rx)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != IPPROTO_IPV6)
			continue;
		if (c->cmsg_type == IPV6_HOPLIMIT) {
			memcpy(&rx->hoplimit, CMSG_DATA(c), sizeof(rx->hoplimit));
		} else if (c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			rx->dst = pi.ipi6_addr;
			rx->ifindex = pi.ipi6_ifindex;
		}
	}
}

ssize_t rawsock6_recv(int fd, void *buf, size_t len, struct rawsock6_rx *rx)
{
	union {
		char b[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct sockaddr_in6 from;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_name = &from,
			     .msg_namelen = sizeof(from),
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.b,
			     .msg_controllen = sizeof(cbuf.b) };
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	*rx = (struct rawsock6_rx){ .src = from.sin6_addr, .hoplimit = -1 };
	rx_meta(&mh, rx);
	return n;
}

/* sendmsg(MSG_DONTWAIT) to `to` with one packet-information control
 * message (level, type, pi[0..pilen), at most an in6_pktinfo). */
static int send_pktinfo(int fd, void *to, socklen_t tolen, int level, int type, const void *pi,
			size_t pilen, const void *msg, size_t len)
{
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_name = to,
			     .msg_namelen = tolen,
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.b,
			     .msg_controllen = CMSG_SPACE(pilen) };
	struct cmsghdr *c;

	memset(cbuf.b, 0, sizeof(cbuf.b));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(pilen);
	memcpy(CMSG_DATA(c), pi, pilen);
	return sendmsg(fd, &mh, MSG_DONTWAIT) < 0 ? -errno : 0;
}

int rawsock4_send(int fd, const void *msg, size_t len, struct in_addr src, struct in_addr dst,
		  unsigned ifindex)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = dst };
	struct in_pktinfo pi = { .ipi_ifindex = (int)ifindex, .ipi_spec_dst = src };

	return send_pktinfo(fd, &to, sizeof(to), IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi), msg,
			    len);
}

int rawsock6_send(int fd, const void *msg, size_t len, const struct in6_addr *src,
		  const struct in6_addr *dst, unsigned ifindex)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6,
				   .sin6_addr = *dst,
				   .sin6_scope_id = ifindex };
	struct in6_pktinfo pi = { .ipi6_addr = *src, .ipi6_ifindex = ifindex };

	return send_pktinfo(fd, &to, sizeof(to), IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi), msg,
			    len);
}
