/* fuzz_vrrp6.c - libFuzzer harness: IPv6 packets into ha/vrrp6_packet.c.
 *
 * Input: byte 0 is the VRID we run (0 = any), the rest a whole IPv6
 * packet (40-byte header, then the VRRP message), as the lab's tools and
 * tcpdump see it; the parser under test reads the same message the way
 * the socket hands it over (vrrp6_msg_parse with the header's fields).
 *
 * Checks, for every input:
 *  - the result is a cause the IPv6 parser may return, with a name, and
 *    the whole-packet and message-only forms agree;
 *  - an accepted advert came from a link-local source with hop limit
 *    255, matches the VRID, has an interval in 1..4095, re-encodes to the
 *    same message (up to the reserved bits and the checksum's two zeros),
 *    parses back to the same fields, and is refused as short at every cut;
 *  - the bytes read as advert fields encode (or are refused as out of
 *    range) and parse back to the same fields. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vrrp6_packet.h"

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

static bool same_advert(const struct vrrp_advert *a, const struct vrrp_advert *b)
{
	return a->family == b->family && !memcmp(&a->src6, &b->src6, 16) &&
	       !memcmp(&a->dst6, &b->dst6, 16) && a->vrid == b->vrid &&
	       a->priority == b->priority && a->interval_cs == b->interval_cs &&
	       a->naddrs == b->naddrs && !memcmp(a->addrs6, b->addrs6, 16u * a->naddrs);
}

static void check_accepted(const uint8_t *pkt, uint8_t vrid, const struct vrrp_advert *a)
{
	static uint8_t buf[VRRP6_PACKET_MAX];
	static struct vrrp_advert b;
	const uint8_t *m = pkt + VRRP6_IPV6_HDR_LEN, *e = buf + VRRP6_IPV6_HDR_LEN;
	int n;

	CHECK(a->ttl == VRRP6_HOPLIMIT && IN6_IS_ADDR_LINKLOCAL(&a->src6));
	CHECK(a->vrid != 0 && (!vrid || a->vrid == vrid) && a->family == AF_INET6);
	CHECK(a->interval_cs >= 1 && a->interval_cs <= VRRP_MAX_INTERVAL_CS);
	n = vrrp6_packet_encode(a, buf, sizeof(buf));
	CHECK(n == VRRP6_IPV6_HDR_LEN + VRRP_HDR_LEN + 16 * a->naddrs);
	CHECK(m[0] == e[0] && m[1] == e[1] && m[2] == e[2] && m[3] == e[3]);
	CHECK((m[4] & 0x0f) == e[4] && m[5] == e[5]);
	CHECK(!memcmp(m + 8, e + 8, (size_t)n - VRRP6_IPV6_HDR_LEN - 8));
	if (!(m[4] & 0xf0)) {
		uint16_t cm = (uint16_t)(m[6] << 8 | m[7]), ce = (uint16_t)(e[6] << 8 | e[7]);

		CHECK(cm == ce || (cm ^ ce) == 0xffff);
	}
	CHECK(vrrp6_packet_parse(buf, (size_t)n, vrid, &b) == VRRP_RX_OK);
	b.ttl = a->ttl;
	CHECK(same_advert(a, &b));
	for (size_t cut = 0; cut < (size_t)n; cut++)
		CHECK(vrrp6_packet_parse(buf, cut, vrid, &b) == VRRP_RX_SHORT);
}

static void check_parse(const uint8_t *pkt, size_t len, uint8_t vrid)
{
	static struct vrrp_advert a, b;
	enum vrrp_rx_result r = vrrp6_packet_parse(pkt, len, vrid, &a);

	CHECK(r < VRRP_RX_OWN);
	CHECK(strcmp(vrrp_rx_result_str(r), "unknown") != 0);
	if (len >= VRRP6_IPV6_HDR_LEN && r != VRRP_RX_NOT_VRRP) {
		struct vrrp6_rx_meta mt;
		size_t plen = (size_t)(pkt[4] << 8 | pkt[5]);

		memcpy(&mt.src, pkt + 8, 16);
		memcpy(&mt.dst, pkt + 24, 16);
		mt.hoplimit = pkt[7];
		if (plen <= len - VRRP6_IPV6_HDR_LEN)
			CHECK(vrrp6_msg_parse(pkt + VRRP6_IPV6_HDR_LEN, plen, &mt, vrid, &b) == r);
	}
	if (r == VRRP_RX_OK)
		check_accepted(pkt, vrid, &a);
}

static void check_encode(const uint8_t *d, size_t len)
{
	static struct vrrp_advert a, b;
	static uint8_t buf[VRRP6_PACKET_MAX];
	int n;

	if (len < 36)
		return;
	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	memcpy(&a.src6, d, 16);
	a.src6.s6_addr[0] = 0xfe; /* link-local, as the socket sends */
	a.src6.s6_addr[1] = 0x80;
	memcpy(&a.dst6, d + 16, 16);
	a.vrid = d[32];
	a.priority = d[33];
	a.interval_cs = (uint16_t)(d[34] << 8 | d[35]);
	d += 36, len -= 36;
	a.naddrs = (uint8_t)(len / 16 > VRRP_MAX_ADDRS ? VRRP_MAX_ADDRS : len / 16);
	memcpy(a.addrs6, d, 16u * a.naddrs);
	n = vrrp6_packet_encode(&a, buf, sizeof(buf));
	if (a.vrid == 0 || a.interval_cs == 0 || a.interval_cs > VRRP_MAX_INTERVAL_CS) {
		CHECK(n == -EINVAL);
		return;
	}
	CHECK(n == VRRP6_IPV6_HDR_LEN + VRRP_HDR_LEN + 16 * a.naddrs);
	CHECK(vrrp6_packet_encode(&a, buf, (size_t)n - 1) == -ENOSPC);
	CHECK(vrrp6_packet_encode(&a, buf, sizeof(buf)) == n);
	CHECK(vrrp6_packet_parse(buf, (size_t)n, a.vrid, &b) == VRRP_RX_OK);
	CHECK(same_advert(&a, &b));
	CHECK(vrrp6_packet_parse(buf, (size_t)n, a.vrid == 255 ? 1 : (uint8_t)(a.vrid + 1), &b) ==
	      VRRP_RX_VRID);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	check_parse(data + 1, size - 1, data[0]);
	check_encode(data, size);
	return 0;
}
