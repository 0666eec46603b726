/* fuzz_msg.c - libFuzzer harness: datagrams into core/lib/msg.c.
 *
 * Built with the others by -DANDROMEDA_FUZZ=ON (clang), or by hand from the
 * repository root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icore/lib \
 *       tests/fuzz/fuzz_msg.c core/lib/msg.c core/lib/log.c -lcrypto -o fuzz_msg
 * Run (libFuzzer grows the first directory; the committed seeds come second,
 * read only; tests/fuzz/fuzz.sh does this):
 *   mkdir -p run && ./fuzz_msg -max_total_time=60 run tests/fuzz/corpus/msg
 * (libclang-rt-14-dev provides the fuzzer runtime on Debian 12.)
 *
 * Each input is used twice:
 *   1. as a received datagram, decoded with the fixed key below (the
 *      seeds are valid messages under that key): whatever the bytes, the
 *      result is a known cause, and an accepted message re-encodes to
 *      exactly the same bytes;
 *   2. as the material of a message: byte 0 picks the type, bytes 1..20
 *      the sender, sequence and timestamp, the rest is the payload.  It is
 *      encoded, must decode to the same fields, must be refused once cut
 *      short or with one bit flipped (both picked by the input), and is a
 *      replay the second time it is checked.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

/* 00 01 .. 1f, as in tests/unit/test_msg.c vector 1. */
static const struct msg_key fuzz_key = {
	.bytes = { 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
		   16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 },
	.len = 32,
};

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void check_decoded(const uint8_t *data, size_t size)
{
	static uint8_t again[MSG_MAX_LEN];
	struct msg m;
	enum msg_drop d = msg_decode(&fuzz_key, data, size, &m);
	int n;

	CHECK((unsigned)d < MSG_DROP_NCAUSES && d != MSG_DROP_REPLAY && d != MSG_DROP_STALE);
	CHECK(strcmp(msg_drop_name(d), "unknown") != 0);
	if (d != MSG_OK) {
		CHECK(m.payload == NULL && m.len == 0);
		return;
	}
	CHECK(m.type >= 1 && m.type <= MSG_TYPE_MAX);
	CHECK(m.len <= MSG_MAX_PAYLOAD && size == MSG_HDR_LEN + (size_t)m.len + MSG_MAC_LEN);
	CHECK(m.payload == data + MSG_HDR_LEN);
	/* The encoding is canonical: nothing in an accepted message is
	 * ignored by the decoder. */
	n = msg_encode(&fuzz_key, m.type, m.sender, m.seq, m.ts_ms, m.payload, m.len, again,
		       sizeof(again));
	CHECK(n == (int)size && memcmp(again, data, size) == 0);
}

static void round_trip(const uint8_t *data, size_t size)
{
	static uint8_t buf[MSG_MAX_LEN];
	struct msg_replay replay = { .trust_first = true };
	uint8_t type;
	uint32_t sender;
	uint64_t seq, ts;
	struct msg m;
	size_t plen, cut, bit;
	int n;

	if (size < 21)
		return;
	type = (uint8_t)(1 + data[0] % MSG_TYPE_MAX);
	memcpy(&sender, data + 1, 4);
	seq = get64(data + 5);
	ts = get64(data + 13);
	plen = size - 21;
	n = msg_encode(&fuzz_key, type, sender, seq, ts, data + 21, plen, buf, sizeof(buf));
	if (plen > MSG_MAX_PAYLOAD) {
		CHECK(n == -EINVAL);
		return;
	}
	CHECK(n == (int)(MSG_HDR_LEN + plen + MSG_MAC_LEN));
	CHECK(msg_decode(&fuzz_key, buf, (size_t)n, &m) == MSG_OK);
	CHECK(m.type == type && m.sender == sender && m.seq == seq && m.ts_ms == ts &&
	      m.len == plen);
	CHECK(memcmp(m.payload, data + 21, plen) == 0);

	/* A trusted first contact, then the same again. */
	CHECK(msg_replay_check(&replay, &m, ts) == MSG_OK);
	CHECK(msg_replay_check(&replay, &m, ts) == MSG_DROP_REPLAY);

	cut = seq % (size_t)n; /* 0 .. n-1 */
	CHECK(msg_decode(&fuzz_key, buf, cut, &m) == MSG_DROP_SHORT);
	bit = ts % ((size_t)n * 8);
	buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	CHECK(msg_decode(&fuzz_key, buf, (size_t)n, &m) != MSG_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decoded(data, size);
	round_trip(data, size);
	return 0;
}
