/* fuzz_sync_inflight.c - libFuzzer harness: MSG_INFLIGHT payloads into
 * sync_inflight_decode (ha/sync_inflight.h), as ha/sync.c hands them over.
 *
 * Built with the others (cmake -DANDROMEDA_FUZZ=ON, tests/fuzz/fuzz.sh);
 * run: ./fuzz_sync_inflight -max_total_time=60 tests/fuzz/corpus/sync_inflight
 *
 * Whatever the bytes:
 *  - a decoded list has at most SYNC_INFLIGHT_MAX requests, each with a
 *    server name and an id of printable ASCII without blanks, NUL-ended;
 *  - an accepted payload re-encodes to exactly the same bytes (one
 *    encoding per message, nothing ignored), and is refused when cut at
 *    any length and when one byte is appended. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "sync_inflight.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static bool text_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == 0 || n == cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sync_inflight l, again;
	static uint8_t out[MSG_MAX_PAYLOAD * 2], more[MSG_MAX_PAYLOAD * 2 + 1];
	int len;

	if (size > MSG_MAX_PAYLOAD * 2 || sync_inflight_decode(data, size, &l) < 0)
		return 0;
	CHECK(l.n <= SYNC_INFLIGHT_MAX);
	for (unsigned i = 0; i < l.n; i++) {
		CHECK(text_ok(l.req[i].server, sizeof(l.req[i].server)));
		CHECK(text_ok(l.req[i].id, sizeof(l.req[i].id)));
	}
	len = sync_inflight_encode(&l, out, sizeof(out));
	CHECK(len >= 0 && (size_t)len == size && !memcmp(out, data, size));
	for (size_t cut = 0; cut < size; cut++)
		CHECK(sync_inflight_decode(data, cut, &again) < 0);
	memcpy(more, data, size);
	more[size] = 0;
	CHECK(sync_inflight_decode(more, size + 1, &again) < 0);
	return 0;
}
