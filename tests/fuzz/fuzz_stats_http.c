/* fuzz_stats_http.c - libFuzzer harness: a request head sent to the
 * [stats] listener, into stats_http_parse() (core/daemon/stats_http.c).
 *
 * Build by hand, from the repository root (tests/fuzz/fuzz.sh does the
 * same with every module's sources):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icore/lib -Icore/daemon \
 *       tests/fuzz/fuzz_stats_http.c core/daemon/stats_http.c core/lib/acceptor.c \
 *       core/lib/loop.c core/lib/log.c -lcrypto -o fuzz_stats_http
 *   ./fuzz_stats_http -max_total_time=60 tests/fuzz/corpus/stats_http
 *
 * The input is framed as the listener frames it (up to and including the
 * first blank line, at most STATS_HEAD_MAX bytes).  An accepted request
 * must be what a route may trust: a path that starts with "/", holds only
 * visible ASCII, no "?" or "#", shorter than STATS_PATH_MAX; an
 * Authorization value without control bytes.  A refusal is one of the
 * statuses the header names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stats_http.h"

static void check_accepted(const struct stats_req *r)
{
	size_t n = strlen(r->path);

	if (r->path[0] != '/' || n >= STATS_PATH_MAX || strpbrk(r->path, "?#"))
		abort();
	for (size_t i = 0; i < n; i++)
		if (r->path[i] <= 0x20 || r->path[i] >= 0x7f)
			abort();
	for (const char *a = r->auth; *a; a++)
		if ((*a < 0x20 && *a != '\t') || *a == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stats_req r;
	const char *blank;
	size_t len = size < STATS_HEAD_MAX ? size : STATS_HEAD_MAX;
	unsigned rc;

	blank = memmem(data, len, "\r\n\r\n", 4);
	if (blank)
		len = (size_t)(blank - (const char *)data) + 4;
	rc = stats_http_parse((const char *)data, len, &r);
	switch (rc) {
	case 0:
		check_accepted(&r);
		break;
	case 400:
	case 405:
	case 414:
	case 505:
		break;
	default:
		abort();
	}
	return 0;
}
