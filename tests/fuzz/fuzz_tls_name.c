/* fuzz_tls_name.c - libFuzzer harness: the server name matcher
 * (core/proxy/tls_name.c), which sees every TLS client's SNI.
 *
 * Built with the others by -DANDROMEDA_FUZZ=ON (clang), or by hand from the
 * repository root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icore/proxy \
 *       tests/fuzz/fuzz_tls_name.c core/proxy/tls_name.c -o fuzz_tls_name
 * Run (libFuzzer grows the first directory; the committed seeds come second,
 * read only; tests/fuzz/fuzz.sh does this):
 *   mkdir -p run && ./fuzz_tls_name -max_total_time=60 run tests/fuzz/corpus/tls_name
 *
 * Input: "pattern\nhost" (up to the first newline the pattern, a
 * certificate name; the rest the client's name).  Whatever the bytes:
 *   - no match without a host or a pattern, or with a '*' in the host;
 *   - a pattern without '*' matches exactly the hosts equal to it
 *     ignoring ASCII case and one trailing dot;
 *   - a wildcard match implies the host has one more label than the
 *     pattern's rest, and the same rest;
 *   - tls_name_pick over the one entry agrees with tls_name_match.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tls_name.h"

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[600], *host;
	size_t hn;
	bool m;
	struct tls_name_entry e;

	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	host = strchr(buf, '\n');
	if (!host)
		return 0;
	*host++ = '\0';
	hn = strlen(host);
	m = tls_name_match(buf, host);
	e = (struct tls_name_entry){ buf, 7 };
	CHECK((tls_name_pick(&e, 1, host) == 7) == m);
	if (!m)
		return 0;
	CHECK(*buf && hn && !strchr(host, '*'));
	if (host[hn - 1] == '.')
		hn--;
	if (!strchr(buf, '*')) {
		CHECK(strlen(buf) == hn && strncasecmp(buf, host, hn) == 0);
		return 0;
	}
	/* "*.rest": host = label "." rest */
	{
		const char *rest = buf + 2, *dot = memchr(host, '.', hn);

		CHECK(buf[0] == '*' && buf[1] == '.' && dot && dot > host);
		CHECK((size_t)(host + hn - dot - 1) == strlen(rest));
		CHECK(strncasecmp(dot + 1, rest, strlen(rest)) == 0);
	}
	return 0;
}
