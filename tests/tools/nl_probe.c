/* nl_probe.c - drive netlink/vip, netlink/garp and netlink/kwatch from the
 * command line, for tests/integration/test_netlink.sh.
 *
 * Needs: netlink/{vip,garp,kwatch}.c, core/lib/{loop,log}.c, libnl-route-3,
 * libnl-3 and libmnl.  CMake links it with the project libraries; to build
 * it by hand (e.g. with other flags), from the source root:
 *
 *   gcc -std=c17 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
 *       -Wno-unused-parameter -D_GNU_SOURCE -Icore/lib -Inetlink \
 *       $(pkg-config --cflags libnl-route-3.0 libmnl) \
 *       tests/tools/nl_probe.c netlink/vip.c netlink/garp.c netlink/kwatch.c \
 *       core/lib/loop.c core/lib/log.c \
 *       $(pkg-config --libs libnl-route-3.0 libmnl) -o nl_probe
 *
 * Usage:
 *   nl_probe vip add|del|present|stale IF A.B.C.D/LEN
 *   nl_probe vip label IF
 *   nl_probe vip bench IF A.B.C.D/LEN N     time N add+remove cycles
 *   nl_probe garp IF A.B.C.D [-c COUNT] [-i INTERVAL_MS] [-r REFRESH_MS]
 *                            [-R] [-t RUN_MS] [-n ROUNDS] [-q QUIET_MS]
 *       -n stops after ROUNDS rounds (RUN_MS is then only a safety cap), so
 *       what a test sees does not depend on how fast the machine is.
 *   nl_probe sample IF MS N A.B.C.D/LEN...  every MS ms, N times at most:
 *       "BEFORE AFTER ADDR..." (wall clock, us) with the addresses present
 *       (the kernel's view is read between BEFORE and AFTER)
 *   nl_probe watch IF [-t RUN_MS] [-b RCVBUF] [-s STALL_MS] [-S GO_FILE]
 *       -S stalls (reads nothing) after "ready" until GO_FILE exists (60 s
 *       at most): a test piles up events for as long as its commands take
 *       on a machine of any speed, then lets the watcher read.
 *
 * Output is one line per fact, flushed at once, so a script can poll it.
 * Exit status: 0 success, 1 failure, 2 usage. */
#include "garp.h"
#include "kwatch.h"
#include "log.h"
#include "loop.h"
#include "vip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) { stop_requested = sig; }

static int usage(void)
{
	fprintf(stderr,
		"usage: nl_probe vip add|del|present|stale IF A.B.C.D/LEN\n"
		"       nl_probe vip label IF\n"
		"       nl_probe vip bench IF A.B.C.D/LEN N\n"
		"       nl_probe garp IF A.B.C.D [-c N] [-i MS] [-r MS] [-R] [-t MS] [-n N] [-q MS]\n"
		"       nl_probe sample IF MS N A.B.C.D/LEN...\n"
		"       nl_probe watch IF [-t MS] [-b BYTES] [-s MS] [-S FILE]\n");
	return 2;
}

static int parse_prefix(const char *s, struct in_addr *a, unsigned *len)
{
	char buf[INET_ADDRSTRLEN + 4], *slash, *end;
	unsigned long l;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	l = strtoul(slash + 1, &end, 10);
	if (*end || end == slash + 1 || l > 32 || inet_pton(AF_INET, buf, a) != 1)
		return -1;
	*len = (unsigned)l;
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* N add/remove cycles on one open vip: the failover cost of vip_add. */
static int vip_bench(struct vip *v, struct in_addr a, unsigned len, long n)
{
	uint64_t *t = calloc((size_t)n, sizeof(*t)), sum = 0;
	long i;

	if (!t)
		return 1;
	log_set_level(LOG_LVL_WARN); /* time the netlink work, not our log lines */
	for (i = 0; i < n; i++) {
		uint64_t t0 = now_us();

		if (vip_add(v, a, len) < 0) {
			free(t);
			return 1;
		}
		t[i] = now_us() - t0;
		sum += t[i];
		if (vip_remove(v, a, len) < 0) {
			free(t);
			return 1;
		}
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_u64);
	printf("bench add runs %ld min %llu us median %llu us mean %llu us max %llu us\n", n,
	       (unsigned long long)t[0], (unsigned long long)t[n / 2],
	       (unsigned long long)(sum / (uint64_t)n), (unsigned long long)t[n - 1]);
	free(t);
	return 0;
}

static int vip_cmd(int argc, char **argv)
{
	struct vip *v;
	struct in_addr a = { 0 };
	unsigned len = 0;
	int r = 0;
	const char *op;

	if (argc < 2)
		return usage();
	op = argv[0];
	if (strcmp(op, "label") && (argc < 3 || parse_prefix(argv[2], &a, &len) < 0))
		return usage();
	if (vip_open(&v, argv[1]) < 0)
		return 1;
	if (!strcmp(op, "label")) {
		printf("label %s\n", vip_label(v));
	} else if (!strcmp(op, "add")) {
		uint64_t t0 = now_us();

		r = vip_add(v, a, len);
		if (r == 0)
			printf("added %s dev %s label %s in %llu us\n", argv[2], argv[1],
			       vip_label(v), (unsigned long long)(now_us() - t0));
	} else if (!strcmp(op, "del")) {
		r = vip_remove(v, a, len);
		if (r == 0)
			printf("removed %s dev %s\n", argv[2], argv[1]);
	} else if (!strcmp(op, "present")) {
		r = vip_present(v, a, len);
		if (r >= 0)
			printf("%s\n", r ? "present" : "absent");
	} else if (!strcmp(op, "stale")) {
		r = vip_remove_stale(v, a, len);
		if (r >= 0)
			printf("%s\n", r ? "removed stale" : "no stale");
	} else if (!strcmp(op, "bench") && argc >= 4 && atol(argv[3]) > 0) {
		r = vip_bench(v, a, len, atol(argv[3])) ? -1 : 0;
	} else {
		vip_close(v);
		return usage();
	}
	vip_close(v);
	return r < 0 ? 1 : 0;
}

static uint64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Which of the addresses the interface has, every ms, n times at most
 * (or until SIGTERM): an ip addr sampler without a fork per sample. */
static int sample_cmd(int argc, char **argv)
{
	struct in_addr a[16];
	unsigned len[16];
	long ms, n;
	int na = argc - 3;
	struct vip *v;

	if (argc < 4 || na > 16 || (ms = atol(argv[1])) <= 0 || (n = atol(argv[2])) <= 0)
		return usage();
	for (int i = 0; i < na; i++)
		if (parse_prefix(argv[3 + i], &a[i], &len[i]) < 0)
			return usage();
	if (vip_open(&v, argv[0]) < 0)
		return 1;
	for (long k = 0; k < n && !stop_requested; k++) {
		char line[16 * (INET_ADDRSTRLEN + 1)] = "", t[INET_ADDRSTRLEN];
		uint64_t before = wall_us();

		for (int i = 0; i < na; i++)
			if (vip_present(v, a[i], len[i]) > 0)
				snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s",
					 inet_ntop(AF_INET, &a[i], t, sizeof(t)));
		printf("%llu %llu%s\n", (unsigned long long)before, (unsigned long long)wall_us(),
		       line);
		usleep((useconds_t)ms * 1000);
	}
	vip_close(v);
	return 0;
}

/* Run the loop for ms milliseconds, or until SIGTERM/SIGINT. */
static void run_for(struct loop *loop, uint64_t ms)
{
	uint64_t end = loop_clock_ms() + ms;

	while (!stop_requested && loop_clock_ms() < end)
		loop_run_once(loop, 50);
}

/* Run the loop until g has sent `rounds` rounds, for at most ms. */
static void run_rounds(struct loop *loop, const struct garp *g, uint64_t rounds, uint64_t ms)
{
	uint64_t end = loop_clock_ms() + ms;

	while (!stop_requested && garp_get_stats(g)->rounds < rounds && loop_clock_ms() < end)
		loop_run_once(loop, 50);
}

static int garp_cmd(int argc, char **argv)
{
	struct garp_params p = { .count = 3, .interval_ms = 100, .refresh_ms = 0 };
	uint64_t run_ms = 1000, quiet_ms = 0, rounds = 0;
	struct in_addr ip;
	struct loop *loop;
	struct garp *g;
	const uint8_t *m;
	uint64_t sent_at_stop;
	int opt, r;

	if (argc < 2 || inet_pton(AF_INET, argv[1], &ip) != 1)
		return usage();
	optind = 2;
	while ((opt = getopt(argc, argv, "c:i:r:Rt:n:q:")) != -1) {
		switch (opt) {
		case 'c':
			p.count = (unsigned)atoi(optarg);
			break;
		case 'i':
			p.interval_ms = (uint32_t)atoi(optarg);
			break;
		case 'r':
			p.refresh_ms = (uint32_t)atoi(optarg);
			break;
		case 'R':
			p.reply_too = true;
			break;
		case 't':
			run_ms = (uint64_t)atol(optarg);
			break;
		case 'n':
			rounds = (uint64_t)atol(optarg);
			break;
		case 'q':
			quiet_ms = (uint64_t)atol(optarg);
			break;
		default:
			return usage();
		}
	}
	if (loop_create(&loop) < 0)
		return 1;
	if (garp_open(&g, loop, argv[0], &p) < 0) {
		loop_destroy(loop);
		return 1;
	}
	m = garp_mac(g);
	printf("mac %02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1], m[2], m[3], m[4], m[5]);
	r = garp_start(g, &ip, 1);
	if (rounds)
		run_rounds(loop, g, rounds, run_ms);
	else
		run_for(loop, run_ms);
	garp_stop(g);
	sent_at_stop = garp_get_stats(g)->sent;
	printf("stopped running %d sent %llu rounds %llu errors %llu\n", garp_running(g),
	       (unsigned long long)sent_at_stop, (unsigned long long)garp_get_stats(g)->rounds,
	       (unsigned long long)garp_get_stats(g)->errors);
	run_for(loop, quiet_ms);
	printf("after stop sent %llu\n", (unsigned long long)garp_get_stats(g)->sent);
	garp_close(g);
	loop_destroy(loop);
	return r < 0 ? 1 : 0;
}

static void print_link(const char *tag, const struct kwatch_link *l)
{
	printf("%s %s index %d carrier %s (%s) flags 0x%x operstate %u\n", tag, l->ifname,
	       l->ifindex, l->carrier ? "up" : "down", l->why, l->flags, l->operstate);
}

static void on_link(void *arg, const struct kwatch_link *l) { print_link("event link", l); }

static void on_addr(void *arg, bool added, const struct kwatch_addr *a)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->addr, s, sizeof(s));
	printf("event addr %s %s/%u index %d label %s\n", added ? "added" : "removed", s,
	       a->prefixlen, a->ifindex, a->label[0] ? a->label : "-");
}

static void on_resync(void *arg) { printf("event resync\n"); }

static int watch_cmd(int argc, char **argv)
{
	static const struct kwatch_ops ops = { .link = on_link,
					       .addr = on_addr,
					       .resync = on_resync };
	uint64_t run_ms = 10000, stall_ms = 0;
	const char *go = NULL;
	int rcvbuf = 0, opt;
	const struct kwatch_stats *st;
	struct loop *loop;
	struct kwatch *k;

	if (argc < 1)
		return usage();
	optind = 1;
	while ((opt = getopt(argc, argv, "t:b:s:S:")) != -1) {
		switch (opt) {
		case 't':
			run_ms = (uint64_t)atol(optarg);
			break;
		case 'b':
			rcvbuf = atoi(optarg);
			break;
		case 's':
			stall_ms = (uint64_t)atol(optarg);
			break;
		case 'S':
			go = optarg;
			break;
		default:
			return usage();
		}
	}
	if (loop_create(&loop) < 0)
		return 1;
	if (kwatch_open(&k, loop, argv[0], &ops, NULL) < 0) {
		loop_destroy(loop);
		return 1;
	}
	if (rcvbuf > 0)
		kwatch_set_rcvbuf(k, rcvbuf);
	print_link("initial link", kwatch_link_state(k));
	printf("ready\n");
	/* A stall lets a test pile up events beyond the receive buffer. */
	if (stall_ms)
		usleep((useconds_t)(stall_ms * 1000));
	for (int i = 0; go && i < 6000 && access(go, F_OK) < 0; i++)
		usleep(10000);
	run_for(loop, run_ms);
	st = kwatch_get_stats(k);
	printf("stats messages %llu overruns %llu dumps %llu bad %llu\n",
	       (unsigned long long)st->messages, (unsigned long long)st->overruns,
	       (unsigned long long)st->dumps, (unsigned long long)st->bad);
	kwatch_close(k);
	loop_destroy(loop);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_ident("nl_probe");
	log_set_level(LOG_LVL_DEBUG);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (argc < 3)
		return usage();
	if (!strcmp(argv[1], "vip"))
		return vip_cmd(argc - 2, argv + 2);
	if (!strcmp(argv[1], "garp"))
		return garp_cmd(argc - 2, argv + 2);
	if (!strcmp(argv[1], "sample"))
		return sample_cmd(argc - 2, argv + 2);
	if (!strcmp(argv[1], "watch"))
		return watch_cmd(argc - 2, argv + 2);
	return usage();
}
