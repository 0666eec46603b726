/* test_fuzz_regressions.c - inputs the libFuzzer harnesses (tests/fuzz/)
 * found to break an invariant, kept as they were found so that the fix
 * stays fixed.  One Test per finding, named after the harness; the comment
 * says what was wrong and which harness check caught it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vrrp_packet.h"

/* fuzz_vrrp, artifact crash-687e1759: with vrid 0 ("accept any") the
 * parser accepted an advert whose VRID field is 0, which names no virtual
 * router (RFC 5798 5.2.3: 1-255) and which vrrp_packet_encode refuses, so
 * the harness's re-encode check failed.  The packet is otherwise valid: a
 * correct RFC 5798 checksum (pseudo-header), TTL 255, one address. */
static const uint8_t vrid0_pkt[] = {
	0x45, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, /* IPv4, 32 bytes, DF */
	0xff, 0x70, 0xd4, 0x86,                         /* TTL 255, proto 112 */
	198,  18,   0,    2,                            /* source */
	224,  18,   0,    51,                           /* destination */
	0x31, 0x00, 0x64, 0x01,                         /* v3 advert, VRID 0, prio 100, 1 addr */
	0x00, 0x64, 0xfd, 0xa6,                         /* 100 cs, checksum */
	198,  18,   0,    10,
};

Test(fuzz_vrrp, vrid_zero_is_refused_even_when_any_vrid_is_accepted)
{
	struct vrrp_advert a;
	uint8_t pkt[sizeof(vrid0_pkt)];

	cr_assert_eq(vrrp_packet_parse(vrid0_pkt, sizeof(vrid0_pkt), 0,
				       VRRP_CKSUM_PSEUDO | VRRP_CKSUM_PLAIN, &a),
		     VRRP_RX_VRID);
	cr_assert_eq(a.vrid, 0);
	cr_assert_eq(a.cksum, VRRP_CKSUM_PSEUDO, "the checksum verified: VRID is what refused it");
	cr_assert_eq(vrrp_packet_parse(vrid0_pkt, sizeof(vrid0_pkt), 51, VRRP_CKSUM_PSEUDO, &a),
		     VRRP_RX_VRID);
	/* The encoder agrees: VRID 0 cannot be sent. */
	a.interval_cs = 100;
	cr_assert_eq(vrrp_packet_encode(&a, pkt, sizeof(pkt)), -EINVAL);
	/* The same advert as VRID 51 (checksum word adjusted by the 0x33 added
	 * to the first word: 0xfda6 - 0x0033 = 0xfd73) is accepted with any. */
	memcpy(pkt, vrid0_pkt, sizeof(pkt));
	pkt[21] = 51;
	pkt[27] = 0x73;
	cr_assert_eq(vrrp_packet_parse(pkt, sizeof(pkt), 0, VRRP_CKSUM_PSEUDO, &a), VRRP_RX_OK);
	cr_assert_eq(a.vrid, 51);
}
