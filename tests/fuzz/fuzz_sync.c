/* fuzz_sync.c - libFuzzer harness: replication payloads into
 * ha/sync_codec.c (snapshot chunk, delta, snapshot request).
 *
 * Build by hand, from the repository root (tests/test.sh and
 * tests/fuzz/fuzz.sh do the same with every module's sources):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iha -Icore/lib \
 *       tests/fuzz/fuzz_sync.c ha/sync_codec.c core/lib/regmsg.c -o fuzz_sync
 * Run (libFuzzer grows the first directory; the committed seeds come second,
 * read only; tests/fuzz/fuzz.sh does this):
 *   mkdir -p run && ./fuzz_sync -max_total_time=60 run tests/fuzz/corpus/sync
 *
 * Input: byte 0 picks the decoder (0 snapshot, 1 delta, 2 request), the
 * rest is the payload of a message (what msg_decode hands to sync.c).
 * A snapshot chunk is read as ha/sync.c reads it: the header, nservers
 * servers, nothing after.  Whatever the bytes:
 *  - every name that decodes is 1..63 characters of [A-Za-z0-9._-] and
 *    every server has a port, a weight of 1..256, a known source and no
 *    unknown flag, and a health host, when there is one, follows the
 *    rule of announcements (regmsg_host_ok); a header has 1 <= nchunks <= 64 and chunk < nchunks;
 *  - an accepted payload re-encodes to exactly the same bytes (nothing
 *    is ignored, one encoding per message), is refused when cut at any
 *    length and when one byte is appended. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "regmsg.h"
#include "sync_codec.h"

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

/* Larger than any message payload (msg.h), so a cap is never the limit. */
#define PAYLOAD_MAX 65536
#define SERVERS_MAX (PAYLOAD_MAX / 48) /* a server takes 48 bytes at least */

static bool name_ok(const char *s)
{
	size_t n = strnlen(s, SYNC_NAME_MAX);

	return n >= 1 && n < SYNC_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void check_server(const struct sync_server *s)
{
	CHECK(name_ok(s->name));
	CHECK(s->port != 0 && s->weight >= 1 && s->weight <= 256);
	CHECK(s->source == SYNC_SRC_STATIC || s->source == SYNC_SRC_REGISTERED);
	CHECK(!s->health_host[0] || regmsg_host_ok(s->health_host));
}

static struct sync_server servers[SERVERS_MAX];

/* As rx_snapshot() in ha/sync.c: 0 if the whole chunk is acceptable. */
static int decode_snapshot(const uint8_t *p, size_t len, struct sync_snap_hdr *h, size_t *n)
{
	size_t off = 0;

	*n = 0;
	if (sync_snap_decode(p, len, h, &off) < 0)
		return -EBADMSG;
	CHECK(off <= len && h->nchunks >= 1 && h->nchunks <= SYNC_MAX_CHUNKS &&
	      h->chunk < h->nchunks);
	CHECK(name_ok(h->master));
	for (; *n < h->nservers; (*n)++) {
		size_t before = off;

		if (sync_snap_server(p, len, &off, &servers[*n]) < 0) {
			CHECK(off == before); /* a refused server does not move the cursor */
			return -EBADMSG;
		}
		CHECK(off > before && off <= len);
		check_server(&servers[*n]);
	}
	return off == len ? 0 : -EBADMSG;
}

static int decode(unsigned kind, const uint8_t *p, size_t len)
{
	struct sync_snap_hdr h;
	struct sync_delta d;
	struct sync_request q;
	size_t n;

	switch (kind) {
	case 0:
		return decode_snapshot(p, len, &h, &n);
	case 1:
		return sync_delta_decode(p, len, &d);
	default:
		return sync_request_decode(p, len, &q);
	}
}

/* Decode as kind; if accepted, encode again into out[0..cap).  Returns
 * the decoder's result; *olen is the encoder's. */
static int round_trip(unsigned kind, const uint8_t *p, size_t len, uint8_t *out, size_t cap,
		      int *olen)
{
	struct sync_snap_hdr h;
	struct sync_delta d;
	struct sync_request q;
	size_t n;
	int rc;

	switch (kind) {
	case 0:
		if ((rc = decode_snapshot(p, len, &h, &n)) == 0)
			*olen = sync_snap_encode(&h, servers, n, out, cap);
		return rc;
	case 1:
		if ((rc = sync_delta_decode(p, len, &d)) == 0) {
			CHECK(d.op == SYNC_OP_UPSERT || d.op == SYNC_OP_REMOVE);
			check_server(&d.srv);
			*olen = sync_delta_encode(&d, out, cap);
		}
		return rc;
	default:
		if ((rc = sync_request_decode(p, len, &q)) == 0) {
			CHECK(name_ok(q.node));
			*olen = sync_request_encode(&q, out, cap);
		}
		return rc;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[PAYLOAD_MAX], more[PAYLOAD_MAX + 1];
	uint8_t *tight;
	unsigned kind;
	int rc, olen = -1;

	if (size < 1 || size > PAYLOAD_MAX)
		return 0;
	kind = data[0] % 3;
	data++, size--;
	rc = round_trip(kind, data, size, out, sizeof(out), &olen);
	CHECK(rc == 0 || rc == -EBADMSG);
	if (rc != 0)
		return 0;
	CHECK(olen == (int)size && memcmp(out, data, size) == 0);
	/* One byte short: refused, never overrun (a heap buffer of exactly
	 * that size, so ASan sees a write past it). */
	tight = malloc(size - 1 ? size - 1 : 1);
	CHECK(tight != NULL);
	CHECK(round_trip(kind, data, size, tight, size - 1, &olen) == 0 && olen == -ENOSPC);
	free(tight);
	for (size_t cut = 0; cut < size; cut++)
		CHECK(decode(kind, data, cut) == -EBADMSG);
	memcpy(more, data, size);
	more[size] = 0;
	CHECK(decode(kind, more, size + 1) == -EBADMSG);
	return 0;
}
