/* notify_sink.c - stands in for systemd's notification socket: binds a
 * unix datagram socket at PATH and prints "<monotonic ms> <message>" for
 * each datagram (newlines in a message become spaces) for at most
 * SECONDS.  Used by test_sdnotify.sh. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	struct timespec ts;
	char buf[4096];
	long long end;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: notify_sink PATH SECONDS\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("notify_sink");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 + atoi(argv[2]) * 1000LL;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		long long now;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
		if (n > 0) {
			buf[n] = 0;
			for (char *p = buf; *p; p++)
				if (*p == '\n')
					*p = ' ';
			printf("%lld %s\n", now, buf);
		}
		if (now >= end)
			break;
	}
	unlink(argv[1]);
	return 0;
}
