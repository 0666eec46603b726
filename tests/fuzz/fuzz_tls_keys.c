/* fuzz_tls_keys.c - libFuzzer harness: MSG_TLS_KEYS payloads into
 * core/lib/tls_keys.c (tls_keys_import).
 *
 * Build with the others (cmake -DANDROMEDA_FUZZ=ON, tests/fuzz/fuzz.sh),
 * run:  ./fuzz_tls_keys -max_total_time=60 tests/fuzz/corpus/tls_keys
 *
 * The payload is decrypted before it is parsed, so random bytes only
 * reach the framing checks and the GCM tag; the seeds are rings exported
 * under the fixed key below, so the fuzzer also mutates valid ones.
 * Whatever the bytes:
 *   - the result is 1, 0 or -EBADMSG (never -EIO: libcrypto works), and
 *     a refused payload leaves the ring as it was (same generation);
 *   - an accepted one exports again and imports into a third ring as the
 *     same keys (0: no change), and is refused cut one byte short or
 *     with its last byte (the tag) flipped.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_keys.h"

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

static const uint8_t key[32] = { 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
				 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
				 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42 };

static void accepted(struct tls_keys *r, const uint8_t *data, size_t size)
{
	uint8_t out[TLS_KEYS_WIRE_MAX], *copy = malloc(size);
	struct tls_keys *again = tls_keys_create(1000, 0);
	int len = tls_keys_export(r, key, sizeof(key), 0, out, sizeof(out));

	CHECK(copy && again && len > 0);
	CHECK(tls_keys_import(again, key, sizeof(key), 0, out, (size_t)len) == 1);
	CHECK(tls_keys_import(r, key, sizeof(key), 0, out, (size_t)len) == 0);
	memcpy(copy, data, size);
	CHECK(tls_keys_import(again, key, sizeof(key), 0, copy, size - 1) == -EBADMSG);
	copy[size - 1] ^= 1;
	CHECK(tls_keys_import(again, key, sizeof(key), 0, copy, size) == -EBADMSG);
	free(copy);
	tls_keys_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_keys *r = tls_keys_create(1000, 0);
	uint8_t *exact = malloc(size ? size : 1); /* ASan sees any read past the end */
	uint64_t g;
	int rc;

	CHECK(r && exact);
	memcpy(exact, data, size);
	g = tls_keys_generation(r);
	rc = tls_keys_import(r, key, sizeof(key), 0, exact, size);
	CHECK(rc == 1 || rc == 0 || rc == -EBADMSG);
	if (rc < 0)
		CHECK(tls_keys_generation(r) == g);
	else
		accepted(r, exact, size);
	free(exact);
	tls_keys_free(r);
	return 0;
}
