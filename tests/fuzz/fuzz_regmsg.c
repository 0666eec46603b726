/* fuzz_regmsg.c - libFuzzer harness: registration payloads into
 * core/lib/regmsg.c.
 *
 * Built with the others by -DANDROMEDA_FUZZ=ON (clang), or by hand from the
 * repository root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icore/lib \
 *       tests/fuzz/fuzz_regmsg.c core/lib/regmsg.c -o fuzz_regmsg
 * Run (libFuzzer grows the first directory; the committed seeds come second,
 * read only; tests/fuzz/fuzz.sh does this):
 *   mkdir -p run && ./fuzz_regmsg -max_total_time=60 run tests/fuzz/corpus/regmsg
 * (libclang-rt-14-dev provides the fuzzer runtime on Debian 12.)
 *
 * Input: byte 0 picks the decoder (announce, withdraw, ack), the rest is
 * the payload.  Whatever the bytes: the result is a known cause, the
 * reason text is a terminated string, and an accepted payload
 *   - holds only valid fields (names, address, port, ranges, flags, the
 *     health host present exactly with REGMSG_F_HOST, an IPv6 address
 *     exactly with REGMSG_F_V6 / REGMSG_WD_F_V6 and then no IPv4 one),
 *   - re-encodes to exactly the same bytes (one encoding per message),
 *   - is refused as "short" when cut at any length and as "trailing"
 *     with one more byte.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "regmsg.h"

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

union any {
	struct regmsg_announce a;
	struct regmsg_withdraw w;
	struct regmsg_ack k;
};

static enum regmsg_err decode(unsigned kind, const uint8_t *p, size_t n, union any *u, char *why,
			      size_t wl)
{
	switch (kind) {
	case 0:
		return regmsg_decode_announce(p, n, &u->a, why, wl);
	case 1:
		return regmsg_decode_withdraw(p, n, &u->w, why, wl);
	default:
		return regmsg_decode_ack(p, n, &u->k, why, wl);
	}
}

static int encode(unsigned kind, const union any *u, uint8_t *out, size_t cap)
{
	switch (kind) {
	case 0:
		return regmsg_encode_announce(&u->a, out, cap);
	case 1:
		return regmsg_encode_withdraw(&u->w, out, cap);
	default:
		return regmsg_encode_ack(&u->k, out, cap);
	}
}

static void check_service(bool v6, uint32_t addr, const uint8_t *addr6)
{
	CHECK(v6 ? addr == 0 && regmsg_addr6_ok(addr6) : regmsg_addr_ok(addr));
}

static void check_fields(unsigned kind, const union any *u)
{
	if (kind == 0) {
		CHECK(regmsg_name_ok(u->a.name) && u->a.port);
		check_service(u->a.v6, u->a.addr, u->a.addr6);
		CHECK(!!(u->a.flags & REGMSG_F_V6) == u->a.v6);
		CHECK(u->a.weight >= REGMSG_WEIGHT_MIN && u->a.weight <= REGMSG_WEIGHT_MAX);
		CHECK(u->a.interval_ms >= REGMSG_INTERVAL_MIN_MS);
		CHECK(u->a.interval_ms <= REGMSG_INTERVAL_MAX_MS);
		CHECK(!(u->a.flags & ~REGMSG_F_ALL));
		/* The optional health host is there exactly when its flag says so. */
		CHECK(!!(u->a.flags & REGMSG_F_HOST) == !!u->a.health_host[0]);
		CHECK(!u->a.health_host[0] || regmsg_host_ok(u->a.health_host));
	} else if (kind == 1) {
		CHECK(regmsg_name_ok(u->w.name) && u->w.port);
		check_service(u->w.v6, u->w.addr, u->w.addr6);
		CHECK(strcmp(regmsg_withdraw_why_name(u->w.why), "?") != 0);
	} else {
		CHECK(regmsg_name_ok(u->k.name) && regmsg_name_ok(u->k.node));
		CHECK(u->k.of == MSG_ANNOUNCE || u->k.of == MSG_WITHDRAW);
		CHECK(u->k.accepted == (u->k.reason == REGMSG_ACK_OK));
		CHECK(strcmp(regmsg_ack_reason_name(u->k.reason), "?") != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[REGMSG_MAX + 1], more[REGMSG_MAX + 1];
	char why[96];
	union any u, v;
	unsigned kind;
	enum regmsg_err e;
	int n;

	if (size < 1)
		return 0;
	kind = data[0] % 3;
	data++, size--;
	memset(why, 'x', sizeof(why));
	e = decode(kind, data, size, &u, why, sizeof(why));
	CHECK((unsigned)e < REGMSG_E_NCAUSES);
	CHECK(strcmp(regmsg_err_name(e), "?") != 0);
	if (e != REGMSG_OK) {
		CHECK(memchr(why, '\0', sizeof(why)) != NULL);
		return 0;
	}
	CHECK(size <= REGMSG_MAX);
	check_fields(kind, &u);
	n = encode(kind, &u, out, sizeof(out));
	CHECK(n == (int)size && memcmp(out, data, size) == 0);
	for (size_t cut = 0; cut < size; cut++)
		CHECK(decode(kind, data, cut, &v, NULL, 0) == REGMSG_E_SHORT);
	memcpy(more, data, size);
	more[size] = (uint8_t)size;
	CHECK(decode(kind, more, size + 1, &v, NULL, 0) == REGMSG_E_TRAILING);
	return 0;
}
