/* probe.c - failover probe: one HTTP GET on a new connection every
 * INTERVAL ms to ADDR:PORT, for at most DURATION ms (or COUNT probes),
 * each bounded by TIMEOUT ms.  One line per probe on stdout:
 *
 *     <unix ms> ok <Via node>      the balancer that answered
 *     <unix ms> fail <reason>
 *
 * Probes run one at a time; a slow probe delays the next (so a failover
 * shows as the time between the last good answer of one node and the
 * first good answer of the next).  SIGTERM/SIGINT end it cleanly.
 * Used by the HA tests, the drill and the failover benchmark. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long long now_ms(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until deadline (monotonic ms). */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left = deadline - now_ms(CLOCK_MONOTONIC);

	if (left <= 0)
		return 0;
	return poll(&p, 1, (int)left);
}

static const char *probe_once(const struct sockaddr_storage *sa, socklen_t salen, int timeout_ms,
			      char *via, size_t vlen)
{
	static const char req[] =
		"GET /?probe=1 HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n";
	long long deadline = now_ms(CLOCK_MONOTONIC) + timeout_ms;
	char buf[4096];
	size_t have = 0;
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0), err = 0;
	socklen_t len = sizeof(err);
	const char *result = "timeout";
	char *v;

	if (fd < 0)
		return "socket";
	if (connect(fd, (const struct sockaddr *)sa, salen) < 0 && errno != EINPROGRESS)
		goto out_err;
	if (wait_fd(fd, POLLOUT, deadline) <= 0)
		goto out;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		errno = err;
		goto out_err;
	}
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1)
		goto out_err;
	for (;;) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, deadline) <= 0)
			goto out;
		n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n < 0)
			goto out_err;
		if (n == 0 || (have += (size_t)n) == sizeof(buf) - 1)
			break;
	}
	buf[have] = 0;
	if (strncmp(buf, "HTTP/1.1 200", 12)) {
		result = "status";
		goto out;
	}
	v = strcasestr(buf, "\r\nVia: 1.1 ");
	snprintf(via, vlen, "%.*s", v ? (int)strcspn(v + 11, "\r\n") : 1, v ? v + 11 : "-");
	result = NULL;
	goto out;
out_err:
	result = strerror(errno);
out:
	close(fd);
	return result;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage sa = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sa;
	socklen_t salen = sizeof(*sin);
	int interval, timeout_ms;
	long long duration, count, end;

	/* ADDR is IPv4 or IPv6 (the IPv6 VIP drill, docs/vrrp.md#ipv6). */
	if (argc == 7 && inet_pton(AF_INET6, argv[1], &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)atoi(argv[2]));
		salen = sizeof(*sin6);
	} else if (argc == 7 && inet_pton(AF_INET, argv[1], &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(argv[2]));
	} else {
		fprintf(stderr,
			"usage: probe ADDR PORT INTERVAL_MS TIMEOUT_MS DURATION_MS COUNT\n");
		return 2;
	}
	interval = atoi(argv[3]);
	timeout_ms = atoi(argv[4]);
	duration = atoll(argv[5]);
	count = atoll(argv[6]);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	end = now_ms(CLOCK_MONOTONIC) + duration;
	for (long long i = 0; i < count && !stop && now_ms(CLOCK_MONOTONIC) < end; i++) {
		long long t0 = now_ms(CLOCK_MONOTONIC), wait;
		char via[128] = "";
		const char *fail = probe_once(&sa, salen, timeout_ms, via, sizeof(via));

		if (fail)
			printf("%lld fail %s\n", now_ms(CLOCK_REALTIME), fail);
		else
			printf("%lld ok %s\n", now_ms(CLOCK_REALTIME), via);
		wait = interval - (now_ms(CLOCK_MONOTONIC) - t0);
		if (wait > 0)
			usleep((useconds_t)wait * 1000);
	}
	return 0;
}
