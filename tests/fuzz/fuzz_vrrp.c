/* fuzz_vrrp.c - libFuzzer harness: raw IPv4 packets into ha/vrrp_packet.c.
 *
 * Build by hand, from the repository root (tests/test.sh and
 * tests/fuzz/fuzz.sh do the same with every module's sources):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iha -Icore/lib \
 *       tests/fuzz/fuzz_vrrp.c ha/vrrp_packet.c ha/vrrp_msg.c -o fuzz_vrrp
 * Run (libFuzzer grows the first directory; the committed seeds come second,
 * read only; tests/fuzz/fuzz.sh does this):
 *   mkdir -p run && ./fuzz_vrrp -max_total_time=60 run tests/fuzz/corpus/vrrp
 *
 * Input: byte 0 picks the accepted checksum variants (bits 0-1, as enum
 * vrrp_cksum_mode; 0 accepts none), byte 1 the VRID we run (0 = any), the
 * rest is a packet as a raw socket delivers it, IP header included.
 *
 * Checks, for every input:
 *  - the result is one of the causes the parser may return and has a name;
 *  - an accepted advert has TTL 255, a VRID that matches, an interval in
 *    1..4095, exactly one checksum variant (an accepted one), and
 *      * re-encodes (vrrp_packet_encode) to the same VRRP message, byte for
 *        byte except the reserved bits and the checksum's two spellings
 *        of zero (0x0000/0xffff, RFC 1071), and parses back to equal fields,
 *      * is refused as short at every cut of the re-encoded packet, and
 *        accepted with link padding after the IP total length;
 *  - the same bytes, read as advert fields, encode (or are refused as
 *    out of range) and parse back to the same fields;
 *  - ha_demux (ha/ha_demux.c, the instances' shared socket) names an
 *    instance there is, one whose VRID the packet carries unless it is
 *    the first, and the one of the VRID of every accepted advert. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ha.h"
#include "vrrp_packet.h"

#ifndef CHECK
#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#endif

#define MODES_ALL (VRRP_CKSUM_PSEUDO | VRRP_CKSUM_PLAIN)

static bool same_advert(const struct vrrp_advert *a, const struct vrrp_advert *b)
{
	return a->src.s_addr == b->src.s_addr && a->dst.s_addr == b->dst.s_addr &&
	       a->ttl == b->ttl && a->vrid == b->vrid && a->priority == b->priority &&
	       a->interval_cs == b->interval_cs && a->cksum == b->cksum &&
	       a->naddrs == b->naddrs &&
	       memcmp(a->addrs, b->addrs, sizeof(a->addrs[0]) * a->naddrs) == 0;
}

/* The VRRP message inside an IPv4 packet the parser accepted. */
static const uint8_t *vrrp_msg(const uint8_t *pkt, size_t *len)
{
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4, tot = (size_t)pkt[2] << 8 | pkt[3];

	*len = tot - ihl;
	return pkt + ihl;
}

/* Same message, up to the reserved bits (ignored, RFC 5798 5.2.6) and the
 * checksum: +0 and -0 verify alike in one's complement. */
static bool same_message(const uint8_t *m, const uint8_t *e, size_t len)
{
	uint16_t cm = (uint16_t)(m[6] << 8 | m[7]), ce = (uint16_t)(e[6] << 8 | e[7]);

	if (m[0] != e[0] || m[1] != e[1] || m[2] != e[2] || m[3] != e[3])
		return false;
	if ((m[4] & 0x0f) != e[4] || m[5] != e[5] || (e[4] & 0xf0))
		return false;
	if (memcmp(m + 8, e + 8, len - 8) != 0)
		return false;
	if (m[4] & 0xf0)
		return true; /* reserved bits set: the sum differs, re-parse checks it */
	return cm == ce || (cm ^ ce) == 0xffff;
}

static void check_accepted(const uint8_t *pkt, uint8_t vrid, unsigned modes,
			   const struct vrrp_advert *a)
{
	static uint8_t buf[VRRP_PACKET_MAX + 4];
	struct vrrp_advert b;
	const uint8_t *m;
	size_t mlen;
	int n;

	CHECK(a->ttl == VRRP_TTL && a->vrid != 0 && (!vrid || a->vrid == vrid));
	CHECK(a->interval_cs >= 1 && a->interval_cs <= VRRP_MAX_INTERVAL_CS);
	CHECK(a->cksum == VRRP_CKSUM_PSEUDO || a->cksum == VRRP_CKSUM_PLAIN);
	CHECK(a->cksum & modes);
	n = vrrp_packet_encode(a, buf, sizeof(buf));
	CHECK(n == VRRP_IPV4_HDR_LEN + VRRP_HDR_LEN + 4 * a->naddrs);
	m = vrrp_msg(pkt, &mlen);
	CHECK(mlen == (size_t)n - VRRP_IPV4_HDR_LEN);
	CHECK(same_message(m, buf + VRRP_IPV4_HDR_LEN, mlen));
	/* Only the variant that verified: PSEUDO may also verify a PLAIN
	 * message when the pseudo-header happens to sum to zero. */
	CHECK(vrrp_packet_parse(buf, (size_t)n, vrid, a->cksum, &b) == VRRP_RX_OK);
	CHECK(same_advert(a, &b));
	for (size_t cut = 0; cut < (size_t)n; cut++)
		CHECK(vrrp_packet_parse(buf, cut, vrid, modes, &b) == VRRP_RX_SHORT);
	buf[n] = 0xa5; /* Ethernet minimum-frame padding after the IP datagram */
	CHECK(vrrp_packet_parse(buf, (size_t)n + 1, vrid, a->cksum, &b) == VRRP_RX_OK);
	CHECK(same_advert(a, &b));
}

static void check_parse(const uint8_t *pkt, size_t len, uint8_t vrid, unsigned modes)
{
	static struct vrrp_advert a;
	enum vrrp_rx_result r = vrrp_packet_parse(pkt, len, vrid, modes, &a);

	CHECK(r < VRRP_RX_OWN); /* OWN and NOT_PEER are vrrp.c's to decide */
	CHECK(strcmp(vrrp_rx_result_str(r), "unknown") != 0);
	if (r == VRRP_RX_OK)
		check_accepted(pkt, vrid, modes, &a);
	if (r != VRRP_RX_VRID && r != VRRP_RX_CHECKSUM && r != VRRP_RX_INTERVAL)
		return;
	/* Those causes come after the checksum (or instead of it): with any
	 * VRID and both variants the parser must get at least as far.  VRID
	 * 0 is refused whatever we run (RFC 5798 5.2.3). */
	r = vrrp_packet_parse(pkt, len, 0, MODES_ALL, &a);
	CHECK(r == VRRP_RX_OK || r == VRRP_RX_CHECKSUM || r == VRRP_RX_INTERVAL ||
	      (r == VRRP_RX_VRID && a.vrid == 0));
}

/* The input as advert fields: encode, then parse back. */
static void check_encode(const uint8_t *d, size_t len)
{
	static struct vrrp_advert a, b;
	static uint8_t buf[VRRP_PACKET_MAX];
	int n;

	if (len < 14)
		return;
	memset(&a, 0, sizeof(a));
	memcpy(&a.src.s_addr, d, 4);
	memcpy(&a.dst.s_addr, d + 4, 4);
	a.vrid = d[8];
	a.priority = d[9];
	a.interval_cs = (uint16_t)(d[10] << 8 | d[11]);
	a.cksum = (enum vrrp_cksum_mode)(d[12] & 3);
	d += 13, len -= 13;
	a.naddrs = (uint8_t)(len / 4 > VRRP_MAX_ADDRS ? VRRP_MAX_ADDRS : len / 4);
	memcpy(a.addrs, d, 4u * a.naddrs);
	n = vrrp_packet_encode(&a, buf, sizeof(buf));
	if (a.vrid == 0 || a.interval_cs == 0 || a.interval_cs > VRRP_MAX_INTERVAL_CS ||
	    (a.cksum != VRRP_CKSUM_PSEUDO && a.cksum != VRRP_CKSUM_PLAIN)) {
		CHECK(n == -EINVAL);
		return;
	}
	CHECK(n == VRRP_IPV4_HDR_LEN + VRRP_HDR_LEN + 4 * a.naddrs);
	CHECK(vrrp_packet_encode(&a, buf, (size_t)n - 1) == -ENOSPC);
	CHECK(vrrp_packet_encode(&a, buf, sizeof(buf)) == n);
	CHECK(vrrp_packet_parse(buf, (size_t)n, a.vrid, a.cksum, &b) == VRRP_RX_OK);
	a.ttl = VRRP_TTL;
	CHECK(same_advert(&a, &b));
	/* Another virtual router's advert is refused as such. */
	CHECK(vrrp_packet_parse(buf, (size_t)n, a.vrid == 255 ? 1 : (uint8_t)(a.vrid + 1), a.cksum,
				&b) == VRRP_RX_VRID);
}

static void check_demux(const uint8_t *pkt, size_t len, uint8_t vrid, unsigned modes)
{
	/* Three instances: the byte given, and two others. */
	const uint8_t vrids[3] = { (uint8_t)(vrid + 1), vrid, (uint8_t)(vrid + 2) };
	struct vrrp_advert a;
	size_t i = ha_demux(vrids, 3, pkt, len);

	CHECK(i < 3);
	if (i > 0) {
		size_t ihl = 4u * (pkt[0] & 0x0f);

		CHECK((pkt[0] >> 4) == 4 && ihl >= 20 && len >= ihl + 2);
		CHECK(pkt[ihl + 1] == vrids[i]);
	}
	if (vrid && vrrp_packet_parse(pkt, len, vrid, modes, &a) == VRRP_RX_OK)
		CHECK(ha_demux(vrids, 3, pkt, len) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	check_parse(data + 2, size - 2, data[1], data[0] & MODES_ALL);
	check_demux(data + 2, size - 2, data[1], data[0] & MODES_ALL);
	check_encode(data, size);
	return 0;
}
