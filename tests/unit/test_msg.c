/* test_msg.c - the authenticated envelope: round trips, known-answer
 * vectors computed with the openssl command line, every drop cause
 * (truncation at every length, oversize, magic, version, type, MAC, bit
 * flips, replay, stale first contact), the key file and msg_next_seq. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"

/* ---- helpers ---- */

static struct msg_key key_range(uint8_t first, size_t len)
{
	struct msg_key k = { .len = len };

	for (size_t i = 0; i < len; i++)
		k.bytes[i] = (uint8_t)(first + i);
	return k;
}

static uint32_t ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* Decode from a heap copy of exactly len bytes, so ASan reports any read
 * past the end. */
static enum msg_drop decode_exact(const struct msg_key *k, const uint8_t *buf, size_t len,
				  struct msg *m)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum msg_drop d;

	cr_assert_not_null(copy);
	memcpy(copy, buf, len);
	d = msg_decode(k, copy, len, m);
	free(copy);
	return d;
}

/* A valid message with a patterned payload of plen bytes. */
static size_t make(const struct msg_key *k, uint8_t type, size_t plen, uint8_t *out, size_t cap)
{
	uint8_t payload[MSG_MAX_PAYLOAD];
	int n;

	for (size_t i = 0; i < plen; i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	n = msg_encode(k, type, ip("198.18.0.11"), 1000, 2000, payload, plen, out, cap);
	cr_assert_eq(n, (int)(MSG_HDR_LEN + plen + MSG_MAC_LEN));
	return (size_t)n;
}

/* ---- round trip and known answers ---- */

Test(msg, round_trip_every_type_and_size)
{
	static const size_t sizes[] = { 0, 1, MSG_MAX_PAYLOAD };
	struct msg_key k = key_range(0, MSG_KEY_MIN);
	uint8_t payload[MSG_MAX_PAYLOAD], buf[MSG_MAX_LEN];

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i ^ 0x5a);
	for (uint8_t t = 1; t <= MSG_TYPE_MAX; t++) {
		for (size_t s = 0; s < 3; s++) {
			struct msg m;
			uint64_t seq = 0x0102030405060708ull + t, ts = 0x1122334455667788ull;
			int n = msg_encode(&k, t, ip("198.18.0.12"), seq, ts, payload, sizes[s],
					   buf, sizeof(buf));

			cr_assert_eq(n, (int)(MSG_HDR_LEN + sizes[s] + MSG_MAC_LEN),
				     "type %u size %zu", t, sizes[s]);
			cr_assert_eq(decode_exact(&k, buf, (size_t)n, &m), MSG_OK);
			cr_expect_eq(m.type, t);
			cr_expect_eq(m.sender, ip("198.18.0.12"));
			cr_expect_eq(m.seq, seq);
			cr_expect_eq(m.ts_ms, ts);
			cr_expect_eq(m.len, sizes[s]);
			cr_assert_eq(msg_decode(&k, buf, (size_t)n, &m), MSG_OK);
			cr_expect_eq(m.payload, buf + MSG_HDR_LEN,
				     "payload points into the buffer");
			cr_expect_eq(memcmp(m.payload, payload, sizes[s]), 0);
		}
	}
}

/* Vector 1: key 00 01 .. 1f (32 bytes), ANNOUNCE from 198.18.0.21,
 * seq 1700000000000000 (us), ts 1700000000000 (ms), payload "web1".
 * MAC computed independently with
 *   echo 414e445201040004c612001500060a24181e40000000018bcfe5680077656231 |
 *   xxd -r -p | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102..1f */
static const uint8_t kat1[] = {
	'A',  'N',  'D',  'R',                          /* magic */
	0x01,                                           /* version */
	0x04,                                           /* type ANNOUNCE */
	0x00, 0x04,                                     /* payload length 4 */
	198,  18,   0,    21,                           /* sender */
	0x00, 0x06, 0x0a, 0x24, 0x18, 0x1e, 0x40, 0x00, /* seq */
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* timestamp */
	'w',  'e',  'b',  '1',                          /* payload */
	0xa0, 0x15, 0xdd, 0x00, 0x96, 0xda, 0xe2, 0x0e, 0x39, 0x41, 0x0b,
	0xbe, 0x0a, 0x63, 0x34, 0x5b, 0x38, 0x8a, 0x08, 0x27, 0x03, 0x13,
	0x5b, 0x00, 0x3b, 0xe4, 0xa7, 0xfc, 0x4b, 0xaa, 0x65, 0xbe,
};

/* Vector 2: key 40 41 .. 7f (64 bytes, the maximum, exactly one SHA-256
 * block), SNAP_REQUEST from 198.18.0.11, seq 1, ts 1700000000000, no
 * payload.  Same openssl command with hexkey:404142..7f. */
static const uint8_t kat2[] = {
	'A',  'N',  'D',  'R',  0x01, 0x03, 0x00, 0x00, 198,  18,   0,    11,   0,    0,    0,
	0,    0,    0,    0,    1,    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0xa7, 0x38,
	0xe2, 0x17, 0x7c, 0xb5, 0xe4, 0x35, 0x4d, 0xf7, 0x17, 0xeb, 0x4f, 0x19, 0x7e, 0x19, 0x71,
	0xca, 0x87, 0xe5, 0xd3, 0x72, 0xa9, 0xd9, 0xa9, 0x61, 0x0a, 0xd9, 0x9f, 0x5a, 0x00, 0x5f,
};

Test(msg, known_answer_vectors)
{
	struct msg_key k1 = key_range(0x00, 32), k2 = key_range(0x40, 64);
	uint8_t buf[MSG_MAX_LEN];
	struct msg m;
	int n;

	n = msg_encode(&k1, MSG_ANNOUNCE, ip("198.18.0.21"), 1700000000000000ull, 1700000000000ull,
		       "web1", 4, buf, sizeof(buf));
	cr_assert_eq(n, (int)sizeof(kat1));
	cr_assert_arr_eq(buf, kat1, sizeof(kat1));
	cr_assert_eq(decode_exact(&k1, kat1, sizeof(kat1), &m), MSG_OK);
	cr_expect_eq(m.seq, 1700000000000000ull);
	cr_expect_eq(m.ts_ms, 1700000000000ull);

	n = msg_encode(&k2, MSG_SNAP_REQUEST, ip("198.18.0.11"), 1, 1700000000000ull, NULL, 0, buf,
		       sizeof(buf));
	cr_assert_eq(n, (int)sizeof(kat2));
	cr_assert_arr_eq(buf, kat2, sizeof(kat2));
	cr_assert_eq(decode_exact(&k2, kat2, sizeof(kat2), &m), MSG_OK);
	cr_expect_eq(m.type, MSG_SNAP_REQUEST);
	cr_expect_eq(m.len, 0);
	/* Each vector fails under the other's key. */
	cr_expect_eq(decode_exact(&k2, kat1, sizeof(kat1), &m), MSG_DROP_MAC);
	cr_expect_eq(decode_exact(&k1, kat2, sizeof(kat2), &m), MSG_DROP_MAC);
}

Test(msg, encode_rejects_bad_arguments)
{
	struct msg_key k = key_range(0, 32), shortk = key_range(0, MSG_KEY_MIN - 1);
	uint8_t buf[MSG_MAX_LEN + 1], big[MSG_MAX_PAYLOAD + 1] = { 0 };

	cr_expect_eq(msg_encode(&k, 0, 0, 1, 1, NULL, 0, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(msg_encode(&k, MSG_TYPE_MAX + 1, 0, 1, 1, NULL, 0, buf, sizeof(buf)),
		     -EINVAL);
	cr_expect_eq(msg_encode(&k, MSG_DELTA, 0, 1, 1, big, sizeof(big), buf, sizeof(buf)),
		     -EINVAL);
	cr_expect_eq(msg_encode(&k, MSG_DELTA, 0, 1, 1, NULL, 5, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(msg_encode(&shortk, MSG_DELTA, 0, 1, 1, "x", 1, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(msg_encode(NULL, MSG_DELTA, 0, 1, 1, "x", 1, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(
		msg_encode(&k, MSG_DELTA, 0, 1, 1, "x", 1, buf, MSG_HDR_LEN + 1 + MSG_MAC_LEN - 1),
		-ENOSPC);
	cr_expect_eq(
		msg_encode(&k, MSG_DELTA, 0, 1, 1, "x", 1, buf, MSG_HDR_LEN + 1 + MSG_MAC_LEN),
		MSG_HDR_LEN + 1 + MSG_MAC_LEN);
}

Test(msg, encode_payload_built_in_place)
{
	struct msg_key k = key_range(0, 32);
	uint8_t a[MSG_MAX_LEN], b[MSG_MAX_LEN];
	struct msg m;
	int na, nb;

	memcpy(a + MSG_HDR_LEN, "in place", 8);
	na = msg_encode(&k, MSG_DELTA, ip("198.18.0.11"), 5, 6, a + MSG_HDR_LEN, 8, a, sizeof(a));
	nb = msg_encode(&k, MSG_DELTA, ip("198.18.0.11"), 5, 6, "in place", 8, b, sizeof(b));
	cr_assert_eq(na, nb);
	cr_assert_arr_eq(a, b, (size_t)na);
	cr_assert_eq(msg_decode(&k, a, (size_t)na, &m), MSG_OK);
	cr_expect_eq(memcmp(m.payload, "in place", 8), 0);
}

/* ---- framing drops ---- */

Test(msg, every_truncation_is_short)
{
	static const size_t sizes[] = { 0, 1, 57, MSG_MAX_PAYLOAD };
	struct msg_key k = key_range(0, 32);
	uint8_t buf[MSG_MAX_LEN];
	struct msg m;

	for (size_t s = 0; s < 4; s++) {
		size_t n = make(&k, MSG_SNAPSHOT, sizes[s], buf, sizeof(buf));

		for (size_t len = 0; len < n; len++) {
			enum msg_drop d = decode_exact(&k, buf, len, &m);

			cr_assert_eq(d, MSG_DROP_SHORT, "payload %zu cut at %zu: %s", sizes[s],
				     len, msg_drop_name(d));
			cr_assert_eq(m.payload, NULL, "no fields on a drop");
		}
	}
}

Test(msg, oversize)
{
	struct msg_key k = key_range(0, 32);
	uint8_t buf[MSG_MAX_LEN + 64];
	struct msg m;
	size_t n = make(&k, MSG_DELTA, 10, buf, sizeof(buf));

	/* Trailing garbage after the MAC. */
	buf[n] = 0;
	cr_expect_eq(decode_exact(&k, buf, n + 1, &m), MSG_DROP_OVERSIZE);
	/* A datagram longer than any message can be, even with a plausible
	 * header. */
	n = make(&k, MSG_SNAPSHOT, MSG_MAX_PAYLOAD, buf, sizeof(buf));
	cr_expect_eq(decode_exact(&k, buf, MSG_MAX_LEN + 1, &m), MSG_DROP_OVERSIZE);
	cr_expect_eq(decode_exact(&k, buf, sizeof(buf), &m), MSG_DROP_OVERSIZE);
	/* A length field above MSG_MAX_PAYLOAD. */
	n = make(&k, MSG_DELTA, 10, buf, sizeof(buf));
	buf[6] = (MSG_MAX_PAYLOAD + 1) >> 8;
	buf[7] = (MSG_MAX_PAYLOAD + 1) & 0xff;
	cr_expect_eq(decode_exact(&k, buf, n, &m), MSG_DROP_OVERSIZE);
	buf[6] = buf[7] = 0xff;
	cr_expect_eq(decode_exact(&k, buf, n, &m), MSG_DROP_OVERSIZE);
	/* A length field larger than the datagram holds: short, not
	 * oversize. */
	buf[6] = 0;
	buf[7] = 11;
	cr_expect_eq(decode_exact(&k, buf, n, &m), MSG_DROP_SHORT);
}

Test(msg, bad_magic_version_type)
{
	struct msg_key k = key_range(0, 32);
	uint8_t buf[MSG_MAX_LEN], bad[MSG_MAX_LEN];
	struct msg m;
	size_t n = make(&k, MSG_ACK, 3, buf, sizeof(buf));
	static const uint8_t versions[] = { 0, 2, 0x81, 0xff };
	static const uint8_t types[] = { 0, MSG_TYPE_MAX + 1, 0x80, 0xff };

	for (int i = 0; i < 4; i++) {
		memcpy(bad, buf, n);
		bad[i] ^= 0x20;
		cr_expect_eq(decode_exact(&k, bad, n, &m), MSG_DROP_MAGIC, "magic byte %d", i);
	}
	/* Not ours even when it is only 4 bytes long. */
	cr_expect_eq(decode_exact(&k, (const uint8_t *)"VRRP", 4, &m), MSG_DROP_MAGIC);
	for (int i = 0; i < 4; i++) {
		memcpy(bad, buf, n);
		bad[4] = versions[i];
		cr_expect_eq(decode_exact(&k, bad, n, &m), MSG_DROP_VERSION, "version %u",
			     versions[i]);
		memcpy(bad, buf, n);
		bad[5] = types[i];
		cr_expect_eq(decode_exact(&k, bad, n, &m), MSG_DROP_TYPE, "type %u", types[i]);
	}
}

/* ---- MAC ---- */

Test(msg, wrong_key_is_bad_mac)
{
	struct msg_key k = key_range(0, 32), other = k, longer = key_range(0, 33),
		       none = { .len = 0 };
	uint8_t buf[MSG_MAX_LEN];
	struct msg m;
	size_t n = make(&k, MSG_ANNOUNCE, 20, buf, sizeof(buf));

	other.bytes[31] ^= 1;
	cr_expect_eq(decode_exact(&other, buf, n, &m), MSG_DROP_MAC);
	cr_expect_eq(decode_exact(&longer, buf, n, &m), MSG_DROP_MAC,
		     "key prefix does not verify");
	cr_expect_eq(decode_exact(&none, buf, n, &m), MSG_DROP_MAC, "no key: fail closed");
	cr_expect_eq(decode_exact(NULL, buf, n, &m), MSG_DROP_MAC);
	cr_expect_eq(decode_exact(&k, buf, n, &m), MSG_OK);
}

Test(msg, every_mac_bit_flip)
{
	struct msg_key k = key_range(0, 32);
	uint8_t buf[MSG_MAX_LEN];
	struct msg m;
	size_t n = make(&k, MSG_DELTA, 16, buf, sizeof(buf));

	for (size_t bit = 0; bit < MSG_MAC_LEN * 8; bit++) {
		buf[n - MSG_MAC_LEN + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(decode_exact(&k, buf, n, &m), MSG_DROP_MAC, "MAC bit %zu", bit);
		buf[n - MSG_MAC_LEN + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	cr_assert_eq(decode_exact(&k, buf, n, &m), MSG_OK);
}

/* The cause a flip of bit `bit` in the header must produce. */
static enum msg_drop header_flip_cause(const uint8_t *orig, size_t bit)
{
	size_t byte = bit / 8;
	uint8_t v = orig[byte] ^ (uint8_t)(1u << (bit % 8));

	if (byte < 4)
		return MSG_DROP_MAGIC;
	if (byte == 4)
		return MSG_DROP_VERSION;
	if (byte == 5)
		return v >= 1 && v <= MSG_TYPE_MAX ? MSG_DROP_MAC : MSG_DROP_TYPE;
	if (byte == 6 || byte == 7) {
		unsigned len =
			byte == 6 ? (unsigned)(v << 8 | orig[7]) : (unsigned)(orig[6] << 8 | v);
		unsigned have = (unsigned)(orig[6] << 8 | orig[7]);

		if (len > MSG_MAX_PAYLOAD)
			return MSG_DROP_OVERSIZE;
		return len > have ? MSG_DROP_SHORT : MSG_DROP_OVERSIZE;
	}
	return MSG_DROP_MAC; /* sender, sequence, timestamp */
}

Test(msg, every_header_and_payload_bit_flip)
{
	struct msg_key k = key_range(0, 32);
	uint8_t buf[MSG_MAX_LEN], orig[MSG_MAX_LEN];
	struct msg m;
	size_t n = make(&k, MSG_DELTA, 16, buf, sizeof(buf));

	memcpy(orig, buf, n);
	for (size_t bit = 0; bit < (n - MSG_MAC_LEN) * 8; bit++) {
		enum msg_drop want =
			bit < MSG_HDR_LEN * 8 ? header_flip_cause(orig, bit) : MSG_DROP_MAC;
		enum msg_drop got;

		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		got = decode_exact(&k, buf, n, &m);
		cr_assert_eq(got, want, "bit %zu: %s, want %s", bit, msg_drop_name(got),
			     msg_drop_name(want));
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

Test(msg, sampled_bit_flips_in_a_full_payload)
{
	struct msg_key k = key_range(0, 32);
	uint8_t buf[MSG_MAX_LEN];
	struct msg m;
	size_t n = make(&k, MSG_SNAPSHOT, MSG_MAX_PAYLOAD, buf, sizeof(buf));

	/* Every 7th bit walks every bit position within a byte. */
	for (size_t bit = MSG_HDR_LEN * 8; bit < n * 8; bit += 7) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(decode_exact(&k, buf, n, &m), MSG_DROP_MAC, "bit %zu", bit);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

Test(msg, drop_names)
{
	for (int i = 0; i < MSG_DROP_NCAUSES; i++) {
		cr_assert_str_neq(msg_drop_name(i), "unknown");
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(msg_drop_name(i), msg_drop_name(j));
	}
	cr_expect_str_eq(msg_drop_name(MSG_DROP_NCAUSES), "unknown");
	cr_expect_str_eq(msg_drop_name((enum msg_drop) - 1), "unknown");
}

/* ---- replay ---- */

#define NOW 1700000000000ull
#define AGE 30000ull

static struct msg mk(uint32_t sender, uint64_t seq, uint64_t ts)
{
	return (struct msg){ .type = MSG_DELTA, .sender = sender, .seq = seq, .ts_ms = ts };
}

static struct msg_replay *replay_new(void)
{
	static struct msg_replay r;

	memset(&r, 0, sizeof(r));
	r.trust_first = true; /* the registration's choice; sync's is tested below */
	return &r;
}

Test(replay, same_and_lower_sequence)
{
	struct msg_replay *r = replay_new();
	struct msg a = mk(1, 500, NOW);

	cr_assert_eq(msg_replay_check(r, &a, NOW), MSG_OK);
	cr_expect_eq(msg_replay_check(r, &a, NOW + 1), MSG_DROP_REPLAY, "same message twice");
	a.seq = 499;
	cr_expect_eq(msg_replay_check(r, &a, NOW + 2), MSG_DROP_REPLAY, "lower sequence");
	a.seq = 0;
	cr_expect_eq(msg_replay_check(r, &a, NOW + 2), MSG_DROP_REPLAY);
	a.seq = 501;
	cr_expect_eq(msg_replay_check(r, &a, NOW + 3), MSG_OK);
	cr_expect_eq(msg_replay_check(r, &a, NOW + 3), MSG_DROP_REPLAY);
	a.seq = 500;
	cr_expect_eq(msg_replay_check(r, &a, NOW + 3), MSG_DROP_REPLAY, "the window moved up");
	cr_expect_eq(r->n, 1);
}

Test(replay, senders_are_independent)
{
	struct msg_replay *r = replay_new();
	struct msg a = mk(1, 500, NOW), b = mk(2, 100, NOW);

	cr_assert_eq(msg_replay_check(r, &a, NOW), MSG_OK);
	cr_expect_eq(msg_replay_check(r, &b, NOW), MSG_OK, "lower sequence from another sender");
	cr_expect_eq(msg_replay_check(r, &b, NOW), MSG_DROP_REPLAY);
	cr_expect_eq(r->n, 2);
}

Test(replay, first_contact_ignores_every_clock)
{
	struct msg_replay *r = replay_new();
	struct msg m;

	/* A sender whose clock is at 1970, or 50 years off either way, is
	 * accepted on first contact when the receiver trusts first contact:
	 * no timestamp decides anything any more. */
	m = mk(1, 10, 0);
	cr_expect_eq(msg_replay_check(r, &m, 5), MSG_OK, "clock at 1970 (Pi without RTC or NTP)");
	m = mk(2, 10, NOW - 50ull * 365 * 86400 * 1000);
	cr_expect_eq(msg_replay_check(r, &m, 5), MSG_OK, "50 years behind");
	m = mk(3, 10, UINT64_MAX);
	cr_expect_eq(msg_replay_check(r, &m, 5), MSG_OK, "far in the future");
	cr_expect_eq(r->n, 3);
}

Test(replay, untrusted_first_contact_needs_a_proof)
{
	struct msg_replay *r = replay_new();
	struct msg m = mk(7, 1000, NOW);

	r->trust_first = false;
	cr_expect_eq(msg_replay_check(r, &m, 1), MSG_DROP_STALE, "unknown and unproven");
	cr_expect_eq(r->n, 0, "a stale message records nothing");
	/* The sender answered our nonce with sequence 990: 1000 came after. */
	msg_replay_learn(r, 7, 990, 2);
	cr_expect_eq(msg_replay_check(r, &m, 3), MSG_OK);
	m.seq = 990;
	cr_expect_eq(msg_replay_check(r, &m, 3), MSG_DROP_REPLAY,
		     "the proof itself cannot be replayed");
	m.seq = 995;
	cr_expect_eq(msg_replay_check(r, &m, 3), MSG_DROP_REPLAY,
		     "nor anything before the last accepted");
}

Test(replay, a_proof_never_lowers_the_bar)
{
	struct msg_replay *r = replay_new();
	struct msg m = mk(7, 5000, NOW);

	cr_assert_eq(msg_replay_check(r, &m, 1), MSG_OK);
	msg_replay_learn(r, 7, 100, 2); /* an older proof (epoch file lost, say) */
	m.seq = 4000;
	cr_expect_eq(msg_replay_check(r, &m, 3), MSG_DROP_REPLAY,
		     "captures between 100 and 5000 stay out");
	msg_replay_learn(r, 7, 6000, 4);
	m.seq = 5500;
	cr_expect_eq(msg_replay_check(r, &m, 5), MSG_DROP_REPLAY, "a newer proof raises it");
	cr_expect_eq(r->n, 1);
}

/* sync: a datagram sent just before the session message that proved its
 * sender fresh, overtaken by it: refused, but not an attack to count. */
Test(replay, in_flight_at_the_proof)
{
	struct msg_replay *r = replay_new();
	struct msg m = mk(7, 98, NOW);

	r->trust_first = false;
	msg_replay_learn(r, 7, 100, 1000);
	cr_expect_eq(msg_replay_check(r, &m, 1001), MSG_DROP_REPLAY, "still refused");
	cr_expect(msg_replay_in_flight_at_proof(r, &m, 1001), "sent 2 before the proof");
	m.seq = 100 - MSG_PROOF_GRACE_SEQ;
	cr_expect(msg_replay_in_flight_at_proof(r, &m, 1001), "the edge of the window");
	m.seq = 100 - MSG_PROOF_GRACE_SEQ - 1;
	cr_expect_not(msg_replay_in_flight_at_proof(r, &m, 1001), "too old: a replay");
	m.seq = 98;
	cr_expect_not(msg_replay_in_flight_at_proof(r, &m, 1000 + MSG_PROOF_GRACE_MS + 1),
		      "too late: a replay");
	m.seq = 101;
	cr_expect_eq(msg_replay_check(r, &m, 1002), MSG_OK);
	cr_expect_eq(msg_replay_check(r, &m, 1003), MSG_DROP_REPLAY);
	cr_expect_not(msg_replay_in_flight_at_proof(r, &m, 1003),
		      "after the proof: a replay, counted");
	m = mk(8, 5, NOW);
	cr_expect_not(msg_replay_in_flight_at_proof(r, &m, 1003), "another sender: no proof");
}

Test(replay, known_sender_clock_does_not_matter)
{
	struct msg_replay *r = replay_new();
	struct msg m = mk(1, 10, NOW);

	cr_assert_eq(msg_replay_check(r, &m, NOW), MSG_OK);
	m = mk(1, 11, 0);
	cr_expect_eq(msg_replay_check(r, &m, NOW + 10 * AGE), MSG_OK);
}

Test(replay, eviction_is_least_recently_used)
{
	struct msg_replay *r = replay_new();
	struct msg m;
	uint64_t t = NOW;

	for (uint32_t s = 1; s <= MSG_MAX_SENDERS; s++) {
		m = mk(s, 100, t);
		cr_assert_eq(msg_replay_check(r, &m, t++), MSG_OK);
	}
	cr_assert_eq(r->n, MSG_MAX_SENDERS);
	/* Sender 1 speaks again, so sender 2 is now the least recently used. */
	m = mk(1, 101, t);
	cr_assert_eq(msg_replay_check(r, &m, t++), MSG_OK);
	m = mk(1000, 1, t);
	cr_assert_eq(msg_replay_check(r, &m, t++), MSG_OK, "a new sender when the table is full");
	cr_expect_eq(r->n, MSG_MAX_SENDERS);
	/* Sender 2 was forgotten: its old message is first contact again and
	 * passes where first contact is trusted (the documented cost). */
	m = mk(2, 100, NOW);
	cr_expect_eq(msg_replay_check(r, &m, t++), MSG_OK,
		     "evicted sender is first contact again");
	/* Sender 2's return pushed out the next oldest, sender 3; sender 1,
	 * sender 4 and the newcomer were kept. */
	m = mk(1, 101, NOW);
	cr_expect_eq(msg_replay_check(r, &m, t), MSG_DROP_REPLAY, "sender 1 kept");
	m = mk(4, 100, NOW);
	cr_expect_eq(msg_replay_check(r, &m, t), MSG_DROP_REPLAY, "sender 4 kept");
	m = mk(1000, 1, NOW);
	cr_expect_eq(msg_replay_check(r, &m, t), MSG_DROP_REPLAY, "the newcomer is recorded");
	m = mk(3, 100, NOW);
	cr_expect_eq(msg_replay_check(r, &m, t), MSG_OK, "sender 3 evicted in turn");
}

Test(replay, dropped_replay_does_not_refresh_lru)
{
	struct msg_replay *r = replay_new();
	struct msg m;
	uint64_t t = NOW;

	for (uint32_t s = 1; s <= MSG_MAX_SENDERS; s++) {
		m = mk(s, 100, t);
		cr_assert_eq(msg_replay_check(r, &m, t++), MSG_OK);
	}
	/* Replays of sender 1 must not keep it in the table. */
	m = mk(1, 100, t);
	cr_assert_eq(msg_replay_check(r, &m, t++), MSG_DROP_REPLAY);
	m = mk(1000, 1, t);
	cr_assert_eq(msg_replay_check(r, &m, t++), MSG_OK);
	m = mk(1, 100, NOW);
	cr_expect_eq(msg_replay_check(r, &m, t), MSG_OK, "sender 1 was the one evicted");
}

/* ---- boot epoch and msg_next_seq ---- */

static char edir[] = "/tmp/test_msg_epoch.XXXXXX";

static void epoch_file(char *path, size_t len, const char *content)
{
	FILE *f;

	if (!strcmp(edir + strlen(edir) - 6, "XXXXXX"))
		cr_assert_not_null(mkdtemp(edir));
	snprintf(path, len, "%s/epoch", edir);
	unlink(path);
	if (!content)
		return;
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(content, f);
	fclose(f);
}

static unsigned long file_number(const char *path)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%lu", &v), 1);
	fclose(f);
	return v;
}

Test(epoch, counts_up_whatever_the_clock)
{
	char path[128];
	uint32_t e = 0;

	epoch_file(path, sizeof(path), "41\n");
	/* Clock at 1970: the counter alone moves on. */
	cr_assert_eq(msg_epoch_next(path, 0, &e), 0);
	cr_expect_eq(e, 42);
	cr_expect_eq(file_number(path), 42, "stored before use");
	cr_assert_eq(msg_epoch_next(path, 3, &e), 0);
	cr_expect_eq(e, 43, "clock behind the counter: still +1");
}

Test(epoch, a_missing_or_corrupt_file_starts_from_the_clock)
{
	char path[128];
	uint32_t e = 0;

	epoch_file(path, sizeof(path), NULL);
	cr_assert_eq(msg_epoch_next(path, 1700000000, &e), 0);
	cr_expect_eq(e, 1700000000u, "first start with a right clock");
	epoch_file(path, sizeof(path), NULL);
	cr_assert_eq(msg_epoch_next(path, 0, &e), 0);
	cr_expect_eq(e, 1, "first start at 1970");
	epoch_file(path, sizeof(path), "12x\n");
	cr_assert_eq(msg_epoch_next(path, 500, &e), 0);
	cr_expect_eq(e, 500, "corrupt: from the clock");
	epoch_file(path, sizeof(path), "99999999999\n");
	cr_assert_eq(msg_epoch_next(path, 7, &e), 0);
	cr_expect_eq(e, 7, "out of range: from the clock");
	epoch_file(path, sizeof(path), "4294967295\n");
	cr_assert_eq(msg_epoch_next(path, 7, &e), 0);
	cr_expect_eq(e, UINT32_MAX, "saturates rather than wrapping to 0");
}

Test(epoch, an_unwritable_place_still_gives_an_epoch)
{
	uint32_t e = 0;

	cr_expect_lt(msg_epoch_next("/nonexistent-dir/epoch", 77, &e), 0);
	cr_expect_eq(e, 77);
}

Test(seq, every_message_of_a_new_boot_is_above_the_old_boot)
{
	char path[128];
	uint64_t last, old_boot_last;

	epoch_file(path, sizeof(path), "9\n");
	cr_assert_eq(msg_seq_init(&last, path), 0);
	cr_expect_geq(last >> 32, 10);
	/* A long first run: 100,000 messages. */
	for (int i = 0; i < 100000; i++)
		msg_next_seq(&last);
	old_boot_last = last;
	/* Restart: the new run's first message beats the old run's last. */
	cr_assert_eq(msg_seq_init(&last, path), 0);
	cr_expect_gt(msg_next_seq(&last), old_boot_last);
}

Test(seq, strictly_increasing_by_one)
{
	uint64_t last = 5ull << 32, prev = msg_next_seq(&last);

	cr_expect_eq(prev, (5ull << 32) + 1);
	for (int i = 0; i < 1000; i++) {
		uint64_t s = msg_next_seq(&last);

		cr_assert_eq(s, prev + 1, "call %d", i);
		cr_assert_eq(last, s);
		prev = s;
	}
}

/* ---- key file ---- */

static char dir[] = "/tmp/test_msg.XXXXXX";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void key_setup(void) { cr_assert_not_null(mkdtemp(dir)); }

static void key_teardown(void) { nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS); }

static const char *path_of(const char *name)
{
	static char p[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static const char *put(const char *name, const char *text, size_t len, mode_t mode)
{
	const char *p = path_of(name);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);

	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
	return p;
}

static const char *put_str(const char *name, const char *text, mode_t mode)
{
	return put(name, text, strlen(text), mode);
}

static const char hex64[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/* Loading must fail with rc, and the message must name the path and
 * contain the reason. */
static void expect_bad(const char *path, int rc, const char *reason)
{
	struct msg_key k;
	char err[512];

	cr_expect_eq(msg_key_load(path, &k, err, sizeof(err)), rc, "%s: %s", path, err);
	cr_expect_eq(strncmp(err, path, strlen(path)), 0, "names the path: %s", err);
	cr_expect_not_null(strstr(err, reason), "'%s' lacks '%s'", err, reason);
	cr_expect_eq(k.len, 0, "no key on failure");
}

TestSuite(key, .init = key_setup, .fini = key_teardown);

Test(key, good_files)
{
	struct msg_key k, want = key_range(0, 32);
	char err[256], buf[300];

	cr_assert_eq(
		msg_key_load(
			put_str("a",
				"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
				0600),
			&k, err, sizeof(err)),
		0, "%s", err);
	cr_expect_eq(k.len, 32);
	cr_expect_arr_eq(k.bytes, want.bytes, 32);
	/* Upper case, surrounding whitespace, owner read-only. */
	snprintf(buf, sizeof(buf), " \t\n%s\r\n\n",
		 "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
	cr_assert_eq(msg_key_load(put_str("b", buf, 0400), &k, err, sizeof(err)), 0, "%s", err);
	cr_expect_arr_eq(k.bytes, want.bytes, 32);
	/* The longest key, no newline. */
	snprintf(buf, sizeof(buf), "%s%s", hex64, hex64);
	cr_assert_eq(msg_key_load(put_str("c", buf, 0600), &k, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(k.len, MSG_KEY_MAX);
	/* Execute bits for group and others grant no access to the key. */
	cr_expect_eq(msg_key_load(put_str("d", hex64, 0711), &k, NULL, 0), 0);
}

Test(key, missing_file) { expect_bad(path_of("nope"), -ENOENT, "No such file"); }

Test(key, empty_and_blank)
{
	expect_bad(put_str("empty", "", 0600), -EINVAL, "empty");
	expect_bad(put_str("blank", " \n\t\n", 0600), -EINVAL, "empty");
}

Test(key, not_hex)
{
	char buf[200];

	snprintf(buf, sizeof(buf), "%.63sg\n", hex64);
	expect_bad(put_str("g", buf, 0600), -EINVAL, "not hexadecimal");
	snprintf(buf, sizeof(buf), "%.32s %.32s\n", hex64, hex64 + 32);
	expect_bad(put_str("space", buf, 0600), -EINVAL,
		   "not hexadecimal (byte 0x20 at offset 32)");
	snprintf(buf, sizeof(buf), "0x%s\n", hex64);
	expect_bad(put_str("0x", buf, 0600), -EINVAL, "not hexadecimal");
	/* A NUL inside the file is not the end of it. */
	expect_bad(put("nul",
		       "0001\0"
		       "0203",
		       9, 0600),
		   -EINVAL, "not hexadecimal (byte 0x00 at offset 4)");
}

Test(key, odd_short_long)
{
	char buf[2000];

	snprintf(buf, sizeof(buf), "%s0\n", hex64);
	expect_bad(put_str("odd", buf, 0600), -EINVAL, "odd number of hex digits (65)");
	snprintf(buf, sizeof(buf), "%.62s\n", hex64);
	expect_bad(put_str("short", buf, 0600), -EINVAL, "too short: 31 bytes, at least 32");
	snprintf(buf, sizeof(buf), "%s%s00\n", hex64, hex64);
	expect_bad(put_str("long", buf, 0600), -EINVAL, "too long: 65 bytes, at most 64");
	memset(buf, '0', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	expect_bad(put_str("huge", buf, 0600), -EINVAL, "too long for a key file");
}

Test(key, shared_modes_refused)
{
	static const struct {
		mode_t mode;
		const char *why;
	} cases[] = {
		{ 0644, "readable by group or other users (mode 0644); chmod 600" },
		{ 0640, "readable by group or other users (mode 0640)" },
		{ 0604, "readable by group or other users (mode 0604)" },
		{ 0620, "writable by group or other users (mode 0620)" },
		{ 0602, "writable by group or other users (mode 0602)" },
		{ 0666, "readable" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[16];

		snprintf(name, sizeof(name), "m%o", (unsigned)cases[i].mode);
		expect_bad(put_str(name, hex64, cases[i].mode), -EPERM, cases[i].why);
	}
}

Test(key, not_a_regular_file)
{
	const char *good = put_str("good", hex64, 0600);
	const char *link = path_of("link"), *d = path_of("sub"), *fifo = path_of("fifo");

	cr_assert_eq(symlink(good, link), 0);
	expect_bad(link, -ELOOP, "is a symbolic link");
	cr_assert_eq(mkdir(d, 0700), 0);
	expect_bad(d, -EINVAL, "is a directory");
	/* Must not hang waiting for a writer. */
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	expect_bad(fifo, -EINVAL, "is a FIFO");
	expect_bad("/dev/null", -EINVAL, "is a device");
}

Test(key, generate_writes_0600_and_loads)
{
	const char *a = path_of("gen-a"), *b = path_of("gen-b");
	struct msg_key ka, kb;
	struct stat st;
	char txt[100] = "";
	char err[256];
	int fd;
	ssize_t n;

	umask(0); /* generation must not depend on the caller's umask */
	cr_assert_eq(msg_key_generate(a), 0);
	cr_assert_eq(stat(a, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", (unsigned)(st.st_mode & 07777));
	cr_expect(S_ISREG(st.st_mode));
	fd = open(a, O_RDONLY);
	cr_assert_geq(fd, 0);
	n = read(fd, txt, sizeof(txt) - 1);
	close(fd);
	cr_assert_eq(n, 2 * MSG_KEY_MIN + 1, "64 hex digits and a newline");
	cr_expect_eq(txt[2 * MSG_KEY_MIN], '\n');
	cr_expect_eq(strspn(txt, "0123456789abcdef"), 2 * MSG_KEY_MIN);
	cr_assert_eq(msg_key_load(a, &ka, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(ka.len, MSG_KEY_MIN);
	cr_assert_eq(msg_key_generate(b), 0);
	cr_assert_eq(msg_key_load(b, &kb, err, sizeof(err)), 0, "%s", err);
	cr_expect_neq(memcmp(ka.bytes, kb.bytes, MSG_KEY_MIN), 0, "two keys differ");
}

Test(key, generate_refuses_to_overwrite)
{
	const char *p = put_str("existing", "keep me\n", 0600);
	const char *dangling = path_of("dangling"), *target = path_of("target");
	char txt[32] = "";
	int fd;

	cr_expect_eq(msg_key_generate(p), -EEXIST);
	fd = open(p, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_expect_eq(read(fd, txt, sizeof(txt) - 1), 8);
	close(fd);
	cr_expect_str_eq(txt, "keep me\n", "existing file unchanged");
	/* A dangling symlink is refused too, and its target not created. */
	cr_assert_eq(symlink(target, dangling), 0);
	cr_expect_eq(msg_key_generate(dangling), -EEXIST);
	cr_expect_eq(access(target, F_OK), -1);
	cr_expect_eq(msg_key_generate(path_of("no/such/dir")), -ENOENT);
}
