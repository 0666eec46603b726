/* fuzz_ndisc.c - libFuzzer harness: ICMPv6 messages into
 * netlink/ndisc_packet.c (the NS/NA checks of the HA link).
 *
 * Input: byte 0 the hop limit, bytes 1..32 the source and destination
 * addresses, the rest the ICMPv6 message as a raw socket reads it.
 *
 * Checks, for every input:
 *  - the result is a cause with a name;
 *  - an accepted message is an NS or NA with code 0, hop limit 255, a
 *    unicast target and only the R, S and O flags kept;
 *  - an NA built from the input's fields parses back to the same target,
 *    flags and link-layer address, and is refused at every shorter length
 *    that cuts the option. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndisc_packet.h"

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

static void check_parse(const uint8_t *m, size_t len, const struct in6_addr *src,
			const struct in6_addr *dst, int hops)
{
	static struct nd_msg out;
	enum nd_rx_result r = ndisc_parse(m, len, src, dst, hops, &out);

	CHECK((unsigned)r < ND_RX_NCAUSES);
	CHECK(strcmp(nd_rx_result_str(r), "unknown") != 0);
	if (r != ND_RX_OK)
		return;
	CHECK(hops == ND_HOPLIMIT && len >= 24 && m[1] == 0);
	CHECK(out.type == ND_TYPE_NS || out.type == ND_TYPE_NA);
	CHECK(!IN6_IS_ADDR_MULTICAST(&out.target));
	CHECK((out.flags & ~(ND_FLAG_ROUTER | ND_FLAG_SOLICITED | ND_FLAG_OVERRIDE)) == 0);
}

static void check_build(const uint8_t *d, size_t len, const struct in6_addr *src,
			const struct in6_addr *dst)
{
	static uint8_t buf[ND_NA_LEN];
	static struct nd_msg out;
	struct in6_addr target;

	if (len < 23)
		return;
	memcpy(&target, d, 16);
	CHECK(ndisc_na_build(buf, sizeof(buf), src, dst, &target, d + 16, d[22]) == ND_NA_LEN);
	if (IN6_IS_ADDR_MULTICAST(&target)) {
		CHECK(ndisc_parse(buf, sizeof(buf), src, dst, 255, &out) == ND_RX_TARGET);
		return;
	}
	CHECK(ndisc_parse(buf, sizeof(buf), src, dst, 255, &out) == ND_RX_OK);
	CHECK(out.type == ND_TYPE_NA && out.has_lladdr && !memcmp(out.lladdr, d + 16, 6));
	CHECK(!memcmp(&out.target, &target, 16));
	CHECK(out.flags == (d[22] & (ND_FLAG_ROUTER | ND_FLAG_SOLICITED | ND_FLAG_OVERRIDE)));
	CHECK(ndisc_parse(buf, sizeof(buf), src, dst, 254, &out) == ND_RX_HOPLIMIT);
	for (size_t cut = 0; cut < 24; cut++)
		CHECK(ndisc_parse(buf, cut, src, dst, 255, &out) == ND_RX_SHORT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in6_addr src, dst;

	if (size < 33)
		return 0;
	memcpy(&src, data + 1, 16);
	memcpy(&dst, data + 17, 16);
	check_parse(data + 33, size - 33, &src, &dst, data[0]);
	check_build(data + 33, size - 33, &src, &dst);
	return 0;
}
