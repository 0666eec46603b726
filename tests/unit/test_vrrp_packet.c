/* test_vrrp_packet.c - VRRPv3 codec: byte vectors, both checksum variants,
 * every rejection cause. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vrrp_packet.h"

/* An advertisement written by hand from RFC 5798 5.1/5.2 and RFC 791 3.1,
 * byte by byte, not produced by our encoder:
 *   198.18.0.11 -> 224.0.0.18, VRID 51, priority 150, one address
 *   198.18.0.10, Max Adver Int 10 cs (100 ms).
 *
 * IPv4 header checksum: 16-bit words 45c0 0020 0000 4000 ff70 0000 c612
 * 000b e000 0012 sum to 0x32b7f; folded 0x2b82; complement 0xd47d.
 *
 * VRRP checksum with the pseudo-header (RFC 5798 5.2.8):
 *   pseudo-header c612 000b e000 0012 0070 000c (src, dst, 0, 112, len 12)
 *   message       3133 9601 000a 0000 c612 000a (checksum field zero)
 *   sum 0x33405, folded 0x3408, complement 0xcbf7.
 * Without the pseudo-header (compat variant): message words only,
 *   sum 0x18d5a, folded 0x8d5b, complement 0x72a4.
 * tcpdump -vvv decodes the first packet as "VRRPv3, Advertisement, vrid 51,
 * prio 150, intvl 10cs" with no checksum complaint, and flags the 0x72a4
 * variant as "bad vrrp cksum" (it checks the RFC variant). */
static const uint8_t rfc_pkt[] = {
	/* IPv4 */
	0x45,           /* version 4, IHL 5 */
	0xc0,           /* TOS: precedence internetwork control */
	0x00, 0x20,     /* total length 32 */
	0x00, 0x00,     /* identification */
	0x40, 0x00,     /* DF, offset 0 */
	0xff,           /* TTL 255 */
	0x70,           /* protocol 112 */
	0xd4, 0x7d,     /* header checksum */
	198, 18, 0, 11, /* source */
	224, 0, 0, 18,  /* destination */
	/* VRRP */
	0x31,           /* version 3, type 1 (ADVERTISEMENT) */
	0x33,           /* VRID 51 */
	0x96,           /* priority 150 */
	0x01,           /* Count IPvX Addr 1 */
	0x00, 0x0a,     /* rsvd 0, Max Adver Int 10 cs */
	0xcb, 0xf7,     /* checksum */
	198, 18, 0, 10, /* IPv4 Address 1 */
};
#define RFC_LEN  sizeof(rfc_pkt)
#define VRRP_OFF 20

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void rfc_advert(struct vrrp_advert *a, enum vrrp_cksum_mode mode)
{
	memset(a, 0, sizeof(*a));
	a->src = ip("198.18.0.11");
	a->dst = ip("224.0.0.18");
	a->vrid = 51;
	a->priority = 150;
	a->interval_cs = 10;
	a->cksum = mode;
	a->naddrs = 1;
	a->addrs[0] = ip("198.18.0.10");
}

/* After mutating a copy of the vector, make the VRRP checksum right again
 * so that only the intended check fails. */
static void fix_vrrp_sum(uint8_t *pkt, size_t vlen, enum vrrp_cksum_mode mode)
{
	struct in_addr s, d;
	uint16_t c;

	memcpy(&s.s_addr, pkt + 12, 4);
	memcpy(&d.s_addr, pkt + 16, 4);
	pkt[VRRP_OFF + 6] = pkt[VRRP_OFF + 7] = 0;
	c = vrrp_checksum(pkt + VRRP_OFF, vlen, s, d, mode);
	pkt[VRRP_OFF + 6] = (uint8_t)(c >> 8);
	pkt[VRRP_OFF + 7] = (uint8_t)c;
}

static enum vrrp_rx_result parse(const uint8_t *p, size_t len, struct vrrp_advert *out)
{
	return vrrp_packet_parse(p, len, 51, VRRP_CKSUM_PSEUDO, out);
}

Test(vector, encode_matches_hand_written_rfc_bytes)
{
	struct vrrp_advert a;
	uint8_t buf[64];

	rfc_advert(&a, VRRP_CKSUM_PSEUDO);
	cr_assert_eq(vrrp_packet_encode(&a, buf, sizeof(buf)), (int)RFC_LEN);
	cr_assert_arr_eq(buf, rfc_pkt, RFC_LEN);
	cr_assert_eq(vrrp_advert_encode(&a, buf, sizeof(buf)), 12);
	cr_assert_arr_eq(buf, rfc_pkt + VRRP_OFF, 12);
}

Test(vector, decode_hand_written_rfc_bytes)
{
	struct vrrp_advert a;

	cr_assert_eq(parse(rfc_pkt, RFC_LEN, &a), VRRP_RX_OK);
	cr_assert_eq(a.src.s_addr, ip("198.18.0.11").s_addr);
	cr_assert_eq(a.dst.s_addr, ip("224.0.0.18").s_addr);
	cr_assert_eq(a.ttl, 255);
	cr_assert_eq(a.vrid, 51);
	cr_assert_eq(a.priority, 150);
	cr_assert_eq(a.interval_cs, 10);
	cr_assert_eq(a.naddrs, 1);
	cr_assert_eq(a.addrs[0].s_addr, ip("198.18.0.10").s_addr);
	cr_assert_eq(a.cksum, VRRP_CKSUM_PSEUDO);
}

Test(checksum, both_variants_of_the_vector)
{
	uint8_t m[12];

	memcpy(m, rfc_pkt + VRRP_OFF, sizeof(m));
	m[6] = m[7] = 0;
	cr_assert_eq(vrrp_checksum(m, 12, ip("198.18.0.11"), ip("224.0.0.18"), VRRP_CKSUM_PSEUDO),
		     0xcbf7);
	cr_assert_eq(vrrp_checksum(m, 12, ip("198.18.0.11"), ip("224.0.0.18"), VRRP_CKSUM_PLAIN),
		     0x72a4);
	/* The plain variant ignores the addresses; the pseudo one does not. */
	cr_assert_eq(vrrp_checksum(m, 12, ip("1.2.3.4"), ip("5.6.7.8"), VRRP_CKSUM_PLAIN), 0x72a4);
	cr_assert_neq(vrrp_checksum(m, 12, ip("198.18.0.12"), ip("224.0.0.18"), VRRP_CKSUM_PSEUDO),
		      0xcbf7);
}

Test(checksum, rfc1071_example_and_odd_length)
{
	/* RFC 1071 section 3: these bytes sum to 0xddf2 after folding. */
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	static const uint8_t odd[] = { 0x01 };
	struct in_addr z = { 0 };

	cr_assert_eq(vrrp_checksum(b, sizeof(b), z, z, VRRP_CKSUM_PLAIN), (uint16_t)~0xddf2);
	/* An odd trailing byte is the high half of a zero-padded word. */
	cr_assert_eq(vrrp_checksum(odd, 1, z, z, VRRP_CKSUM_PLAIN), 0xfeff);
}

Test(checksum, plain_variant_encodes_and_is_accepted_only_when_enabled)
{
	struct vrrp_advert a, out;
	uint8_t buf[64];

	rfc_advert(&a, VRRP_CKSUM_PLAIN);
	cr_assert_eq(vrrp_packet_encode(&a, buf, sizeof(buf)), (int)RFC_LEN);
	cr_assert_eq(buf[VRRP_OFF + 6], 0x72);
	cr_assert_eq(buf[VRRP_OFF + 7], 0xa4);
	cr_assert_eq(vrrp_packet_parse(buf, RFC_LEN, 51, VRRP_CKSUM_PSEUDO, &out),
		     VRRP_RX_CHECKSUM);
	cr_assert_eq(vrrp_packet_parse(buf, RFC_LEN, 51, VRRP_CKSUM_PLAIN, &out), VRRP_RX_OK);
	cr_assert_eq(out.cksum, VRRP_CKSUM_PLAIN);
	cr_assert_eq(
		vrrp_packet_parse(buf, RFC_LEN, 51, VRRP_CKSUM_PSEUDO | VRRP_CKSUM_PLAIN, &out),
		VRRP_RX_OK);
	cr_assert_eq(out.cksum, VRRP_CKSUM_PLAIN);
	/* And the RFC vector is refused when only the compat variant is on. */
	cr_assert_eq(vrrp_packet_parse(rfc_pkt, RFC_LEN, 51, VRRP_CKSUM_PLAIN, &out),
		     VRRP_RX_CHECKSUM);
	cr_assert_eq(vrrp_packet_parse(rfc_pkt, RFC_LEN, 51, 0, &out), VRRP_RX_CHECKSUM);
}

Test(checksum, unicast_destination_is_in_the_pseudo_header)
{
	struct vrrp_advert a, out;
	uint8_t buf[64];

	rfc_advert(&a, VRRP_CKSUM_PSEUDO);
	a.dst = ip("198.18.0.12");
	cr_assert_eq(vrrp_packet_encode(&a, buf, sizeof(buf)), (int)RFC_LEN);
	cr_assert_neq(memcmp(buf + VRRP_OFF + 6, rfc_pkt + VRRP_OFF + 6, 2), 0);
	cr_assert_eq(parse(buf, RFC_LEN, &out), VRRP_RX_OK);
	cr_assert_eq(out.dst.s_addr, ip("198.18.0.12").s_addr);
	/* Rewriting the destination (as a middlebox might) breaks it. */
	memcpy(buf + 16, rfc_pkt + 16, 4);
	cr_assert_eq(parse(buf, RFC_LEN, &out), VRRP_RX_CHECKSUM);
}

Test(roundtrip, max_addresses_priority_zero_max_interval)
{
	static uint8_t buf[VRRP_PACKET_MAX];
	static struct vrrp_advert a, out;

	rfc_advert(&a, VRRP_CKSUM_PSEUDO);
	a.priority = 0;
	a.interval_cs = VRRP_MAX_INTERVAL_CS;
	a.naddrs = VRRP_MAX_ADDRS;
	for (unsigned i = 0; i < VRRP_MAX_ADDRS; i++)
		a.addrs[i].s_addr = htonl(0xc6120000u + i);
	cr_assert_eq(vrrp_packet_encode(&a, buf, sizeof(buf)), VRRP_PACKET_MAX);
	cr_assert_eq(vrrp_packet_parse(buf, sizeof(buf), 51, VRRP_CKSUM_PSEUDO, &out), VRRP_RX_OK);
	cr_assert_eq(out.priority, 0);
	cr_assert_eq(out.interval_cs, 4095);
	cr_assert_eq(out.naddrs, 255);
	cr_assert_arr_eq(out.addrs, a.addrs, sizeof(a.addrs));
}

Test(encode, rejects_bad_fields_and_small_buffers)
{
	struct vrrp_advert a;
	uint8_t buf[64];

	rfc_advert(&a, VRRP_CKSUM_PSEUDO);
	cr_assert_eq(vrrp_packet_encode(&a, buf, RFC_LEN - 1), -ENOSPC);
	cr_assert_eq(vrrp_packet_encode(&a, buf, 10), -ENOSPC);
	cr_assert_eq(vrrp_advert_encode(&a, buf, 11), -ENOSPC);
	a.vrid = 0;
	cr_assert_eq(vrrp_packet_encode(&a, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(vrrp_packet_encode(&a, buf, 10), -EINVAL);
	rfc_advert(&a, VRRP_CKSUM_PSEUDO);
	a.interval_cs = 0;
	cr_assert_eq(vrrp_advert_encode(&a, buf, sizeof(buf)), -EINVAL);
	a.interval_cs = 4096;
	cr_assert_eq(vrrp_advert_encode(&a, buf, sizeof(buf)), -EINVAL);
	rfc_advert(&a, VRRP_CKSUM_PSEUDO | VRRP_CKSUM_PLAIN);
	cr_assert_eq(vrrp_advert_encode(&a, buf, sizeof(buf)), -EINVAL);
}

/* ---- rejection causes, one test each ---------------------------------- */

static uint8_t pkt[64];

static void copy_vector(void) { memcpy(pkt, rfc_pkt, RFC_LEN); }

Test(reject, every_truncation_is_short)
{
	struct vrrp_advert a;

	for (size_t len = 0; len < RFC_LEN; len++)
		cr_assert_eq(parse(rfc_pkt, len, &a), VRRP_RX_SHORT, "len %zu", len);
}

Test(reject, short_vrrp_header_and_missing_addresses)
{
	struct vrrp_advert a;

	copy_vector();
	pkt[3] = 20 + 7; /* IP total length leaves 7 bytes of VRRP */
	cr_assert_eq(parse(pkt, 27, &a), VRRP_RX_SHORT);
	copy_vector();
	pkt[VRRP_OFF + 3] = 2; /* claims two addresses, carries one */
	fix_vrrp_sum(pkt, 12, VRRP_CKSUM_PSEUDO);
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_SHORT);
}

Test(reject, not_vrrp_ipv4)
{
	struct vrrp_advert a;

	copy_vector();
	pkt[0] = 0x65; /* IP version 6 */
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_NOT_VRRP);
	copy_vector();
	pkt[0] = 0x44; /* IHL 4 words */
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_NOT_VRRP);
	copy_vector();
	pkt[3] = 16; /* total length shorter than the header */
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_NOT_VRRP);
	copy_vector();
	pkt[9] = 17; /* UDP */
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_NOT_VRRP);
	copy_vector();
	pkt[6] = 0x20; /* more fragments */
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_NOT_VRRP);
	copy_vector();
	pkt[7] = 0x01; /* fragment offset 8 */
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_NOT_VRRP);
}

Test(reject, ttl_not_255)
{
	struct vrrp_advert a;

	copy_vector();
	pkt[8] = 254; /* one router hop away: RFC 5798 7.1 */
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_TTL);
	cr_assert_eq(a.ttl, 254);
	pkt[8] = 1;
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_TTL);
}

Test(reject, version_2_and_type_2)
{
	struct vrrp_advert a;

	copy_vector();
	pkt[VRRP_OFF] = 0x21; /* VRRPv2 advert */
	fix_vrrp_sum(pkt, 12, VRRP_CKSUM_PSEUDO);
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_VERSION);
	copy_vector();
	pkt[VRRP_OFF] = 0x32; /* unknown type */
	fix_vrrp_sum(pkt, 12, VRRP_CKSUM_PSEUDO);
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_TYPE);
}

Test(reject, trailing_bytes)
{
	struct vrrp_advert a;

	copy_vector();
	pkt[3] = 36; /* four extra bytes inside the IP packet */
	memset(pkt + RFC_LEN, 0, 4);
	cr_assert_eq(parse(pkt, RFC_LEN + 4, &a), VRRP_RX_LENGTH);
}

Test(reject, bad_checksum)
{
	struct vrrp_advert a;

	copy_vector();
	pkt[VRRP_OFF + 11] ^= 0x01; /* a bit of the address */
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_CHECKSUM);
	copy_vector();
	pkt[VRRP_OFF + 7] ^= 0x80; /* the checksum itself */
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_CHECKSUM);
	copy_vector();
	pkt[VRRP_OFF + 2] = 200; /* priority raised without fixing the sum */
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_CHECKSUM);
}

Test(reject, other_vrid_and_vrid_zero_accepts_any)
{
	struct vrrp_advert a;

	cr_assert_eq(vrrp_packet_parse(rfc_pkt, RFC_LEN, 52, VRRP_CKSUM_PSEUDO, &a), VRRP_RX_VRID);
	cr_assert_eq(a.vrid, 51);
	cr_assert_eq(vrrp_packet_parse(rfc_pkt, RFC_LEN, 0, VRRP_CKSUM_PSEUDO, &a), VRRP_RX_OK);
}

Test(reject, interval_zero)
{
	struct vrrp_advert a;

	copy_vector();
	pkt[VRRP_OFF + 5] = 0;
	fix_vrrp_sum(pkt, 12, VRRP_CKSUM_PSEUDO);
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_INTERVAL);
}

Test(reject, checks_run_in_rfc_order)
{
	struct vrrp_advert a;

	/* Bad TTL and bad checksum: TTL is checked first (RFC 5798 7.1). */
	copy_vector();
	pkt[8] = 64;
	pkt[VRRP_OFF + 7] ^= 1;
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_TTL);
	/* Bad checksum and other VRID: the checksum comes first. */
	copy_vector();
	pkt[VRRP_OFF + 1] = 52;
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_CHECKSUM);
}

/* ---- things that must be accepted ------------------------------------- */

Test(accept, ip_options_link_padding_and_reserved_bits)
{
	struct vrrp_advert a;
	uint8_t b[64];

	/* IHL 6: one word of options (a NOP x4) between header and VRRP. */
	memcpy(b, rfc_pkt, 20);
	b[0] = 0x46;
	b[3] = 36;
	memset(b + 20, 0x01, 4);
	memcpy(b + 24, rfc_pkt + VRRP_OFF, 12);
	cr_assert_eq(parse(b, 36, &a), VRRP_RX_OK);
	cr_assert_eq(a.addrs[0].s_addr, ip("198.18.0.10").s_addr);
	/* Ethernet minimum-frame padding after the IP packet is ignored. */
	memset(b, 0, sizeof(b));
	memcpy(b, rfc_pkt, RFC_LEN);
	cr_assert_eq(parse(b, RFC_LEN + 14, &a), VRRP_RX_OK);
	/* Reserved bits above Max Adver Int are ignored (RFC 5798 5.2.6). */
	copy_vector();
	pkt[VRRP_OFF + 4] = 0xf0;
	fix_vrrp_sum(pkt, 12, VRRP_CKSUM_PSEUDO);
	cr_assert_eq(parse(pkt, RFC_LEN, &a), VRRP_RX_OK);
	cr_assert_eq(a.interval_cs, 10);
}

Test(names, every_cause_has_a_name)
{
	for (int r = 0; r < VRRP_RX_NCAUSES; r++) {
		cr_assert_not_null(vrrp_rx_result_str(r));
		cr_assert_neq(strcmp(vrrp_rx_result_str(r), "unknown"), 0, "cause %d", r);
	}
	cr_assert_str_eq(vrrp_rx_result_str(VRRP_RX_NCAUSES), "unknown");
	cr_assert_str_eq(vrrp_rx_result_str(VRRP_RX_TTL), "TTL not 255");
}
