/* alog_push.c - what queueing an access-log record costs a proxy thread
 * (alog_push), in a form that callgrind's cache model can count: a
 * thread that touches a working set of its own per request, as a proxy
 * thread does, and pushes one record like tests/bench/accesslog.sh's,
 * about 40 requests a millisecond, while the writer formats them to
 * /dev/null.  tests/bench/alog_push.sh runs it (and an earlier commit's
 * alog.c) under callgrind --cache-sim=yes.
 *
 *   alog_push [REQUESTS [WORKING_SET_KIB [PUSH]]]   (100000 512 1)
 *
 * PUSH=0 runs the same loop without pushing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alog.h"

/* The working set's touches land here, so that no compiler drops them. */
static volatile unsigned sink;

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	size_t ws = (argc > 2 ? (size_t)atol(argv[2]) : 512) * 1024, off = 0;
	int push = argc > 3 ? atoi(argv[3]) : 1;
	struct alog_rec r = { .start_ms = 1796598071123ULL,
			      .client = "198.18.0.100:51234",
			      .server = "be1",
			      .method = "GET",
			      .path = "/",
			      .status = 200,
			      .bytes_in = 78,
			      .bytes_out = 312,
			      .total_ms = 4,
			      .term = "--" };
	unsigned char *w = calloc(ws ? ws : 1, 1);
	struct config cfg;
	struct alog *a;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.frontend.access_log, sizeof(cfg.frontend.access_log), "/dev/null");
	snprintf(cfg.frontend.listen.text, sizeof(cfg.frontend.listen.text), "198.18.0.10:80");
	if (!w || ws < 64 || alog_open(&a, &cfg, 1)) {
		fprintf(stderr, "alog_push: cannot start (working set >= 1 KiB)\n");
		free(w);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		/* The thread's own work: 4 KiB of its working set a request. */
		for (int k = 0; k < 64; k++, off = (off + 64) % ws)
			sink += ++w[off];
		snprintf(r.id, sizeof(r.id), "%016lx", (unsigned long)i);
		if (push)
			alog_push(a, 0, &r);
		if (i % 40 == 0) /* ~40,000 requests a second: the writer's passes */
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	alog_close(a);
	free(w);
	printf("requests=%ld\n", n);
	return 0;
}
