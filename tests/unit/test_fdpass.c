/* test_fdpass.c - core/lib/fdpass.c: a message and listening sockets over
 * a SOCK_SEQPACKET pair (as the hitless upgrade sends them), then taken
 * back by address; loopback only. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"

static int listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	*sin = (struct sockaddr_in){ .sin_family = AF_INET,
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return fd;
}

Test(fdpass, listeners_cross_and_are_taken_by_address)
{
	struct sockaddr_in a, b, other;
	int sv[2], fds[2], got[FDPASS_MAX];
	unsigned n = 0;
	char msg[64];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	fds[0] = listener(&a);
	fds[1] = listener(&b);
	cr_assert_eq(fdpass_send(sv[0], "TAKE master=1", 13, fds, 2), 0);
	cr_assert_eq(fdpass_recv(sv[1], msg, sizeof(msg), got, &n, 1000), 13);
	cr_assert_str_eq(msg, "TAKE master=1");
	cr_assert_eq(n, 2);
	fdpass_inherit(got, n);

	other = a;
	other.sin_port = htons(1); /* no listener there */
	cr_assert_eq(fdpass_inherited_take((struct sockaddr *)&other, sizeof(other)), -1);
	int tb = fdpass_inherited_take((struct sockaddr *)&b, sizeof(b));
	cr_assert(tb >= 0);
	cr_assert_eq(fdpass_inherited_take((struct sockaddr *)&b, sizeof(b)), -1, "taken once");
	/* The same socket as the sender's: a connection to b is accepted on it. */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c, (struct sockaddr *)&b, sizeof(b)), 0);
	int acc = accept(tb, NULL, NULL);
	cr_assert(acc >= 0);
	cr_assert_eq(fdpass_inherited_close(), 1, "a's copy was left");
	cr_assert_eq(fdpass_inherited_close(), 0);
	close(acc);
	close(c);
	close(tb);
	close(fds[0]);
	close(fds[1]);
	close(sv[0]);
	close(sv[1]);
}

Test(fdpass, recv_times_out_and_sees_eof)
{
	int sv[2], got[FDPASS_MAX];
	unsigned n = 7;
	char msg[16];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	cr_assert_eq(fdpass_recv(sv[1], msg, sizeof(msg), got, &n, 10), -ETIMEDOUT);
	cr_assert_eq(n, 0);
	close(sv[0]);
	cr_assert_eq(fdpass_recv(sv[1], msg, sizeof(msg), got, &n, 1000), 0, "EOF");
	close(sv[1]);
}

/* IPv6 listeners cross too (issue 16), and are taken by family, address
 * and port: [::1]:P is not 127.0.0.1:P. */
Test(fdpass, ipv6_listeners_are_taken_by_address)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a6);
	int sv[2], fd6 = socket(AF_INET6, SOCK_STREAM, 0), got[FDPASS_MAX], t;
	unsigned n = 0;
	char msg[16];

	/* IPv6 is part of the product: no ::1 is a failure, not a skip. */
	cr_assert(fd6 >= 0 && bind(fd6, (struct sockaddr *)&a6, sizeof(a6)) == 0,
		  "IPv6 loopback [::1]: %s", strerror(errno));
	cr_assert_eq(listen(fd6, 8), 0);
	cr_assert_eq(getsockname(fd6, (struct sockaddr *)&a6, &len), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	cr_assert_eq(fdpass_send(sv[0], "TAKE", 4, &fd6, 1), 0);
	cr_assert_eq(fdpass_recv(sv[1], msg, sizeof(msg), got, &n, 1000), 4);
	cr_assert_eq(n, 1);
	fdpass_inherit(got, n);
	a4.sin_port = a6.sin6_port;
	cr_assert_eq(fdpass_inherited_take((struct sockaddr *)&a4, sizeof(a4)), -1,
		     "an IPv4 address with the same port is another listener");
	t = fdpass_inherited_take((struct sockaddr *)&a6, sizeof(a6));
	cr_assert(t >= 0);
	close(t);
	close(fd6);
	close(sv[0]);
	close(sv[1]);
}
