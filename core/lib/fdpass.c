/* fdpass.c - SCM_RIGHTS messages and the inherited listeners (fdpass.h). */
#include "fdpass.h"
#include "netaddr.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static struct {
	int fds[FDPASS_MAX];
	unsigned n;
} inherited;

int fdpass_send(int sock, const void *msg, size_t len, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > FDPASS_MAX)
		return -E2BIG;
	if (nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void take_fds(struct msghdr *mh, int *fds, unsigned *nfds)
{
	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < FDPASS_MAX)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
}

ssize_t fdpass_recv(int sock, char *msg, size_t cap, int *fds, unsigned *nfds, int timeout_ms)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = msg, .iov_len = cap - 1 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t n;
	int r;

	*nfds = 0;
	while ((r = poll(&p, 1, timeout_ms)) < 0)
		if (errno != EINTR)
			return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) < 0)
		if (errno != EINTR)
			return -errno;
	take_fds(&mh, fds, nfds);
	msg[n] = '\0';
	return n;
}

void fdpass_inherit(const int *fds, unsigned nfds)
{
	for (unsigned i = 0; i < nfds && inherited.n < FDPASS_MAX; i++)
		inherited.fds[inherited.n++] = fds[i];
}

static bool same_addr(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 || ss.ss_family != sa->sa_family)
		return false;
	/* Address and port: sin_zero and the IPv6 flow label may differ. */
	return sl <= sizeof(ss) && len == netaddr_len(sa) &&
	       netaddr_same((struct sockaddr *)&ss, sa);
}

int fdpass_inherited_take(const struct sockaddr *sa, socklen_t len)
{
	for (unsigned i = 0; i < inherited.n; i++) {
		int fd = inherited.fds[i];

		if (!same_addr(fd, sa, len))
			continue;
		inherited.fds[i] = inherited.fds[--inherited.n];
		return fd;
	}
	return -1;
}

unsigned fdpass_inherited_close(void)
{
	unsigned n = inherited.n;

	while (inherited.n)
		close(inherited.fds[--inherited.n]);
	return n;
}
