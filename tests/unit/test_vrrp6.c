/* test_vrrp6.c - VRRPv3 over IPv6 (vrrp6_packet.c) and the Neighbor
 * Advertisement codec (netlink/ndisc_packet.c): byte vectors whose
 * checksums were computed apart from our code (a Python one's-complement
 * sum over the RFC 8200 8.1 pseudo-header), and every rejection cause. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "ndisc_packet.h"
#include "vrrp6_packet.h"

/* fe80::1 -> ff02::12, VRID 51, priority 150, 10 cs, 2001:db8:18::10.
 * Pseudo-header: fe80::1, ff02::12, length 24, next header 112. */
static const uint8_t adv_msg[] = {
	0x31, 0x33, 0x96, 0x01, 0x00, 0x0a, 0x0c, 0xc1, /* checksum 0x0cc1 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x18, 0x00, 0x00, /* 2001:db8:18:: */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, /* ::10 */
};

/* Unsolicited NA: 2001:db8:18::10 -> ff02::1, O flag, target the VIP,
 * target link-layer address 02:42:c6:12:00:0a; checksum 0x327f. */
static const uint8_t na_msg[ND_NA_LEN] = {
	0x88, 0x00, 0x32, 0x7f, 0x20, 0x00, 0x00, 0x00, 0x20, 0x01, 0x0d,
	0xb8, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x10, 0x02, 0x01, 0x02, 0x42, 0xc6, 0x12, 0x00, 0x0a,
};
static const uint8_t mac[6] = { 0x02, 0x42, 0xc6, 0x12, 0x00, 0x0a };

static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;

	cr_assert_eq(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static void advert(struct vrrp_advert *a)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET6;
	a->src6 = ip6("fe80::1");
	a->dst6 = ip6("ff02::12");
	a->vrid = 51;
	a->priority = 150;
	a->interval_cs = 10;
	a->naddrs = 1;
	a->addrs6[0] = ip6("2001:db8:18::10");
}

static struct vrrp6_rx_meta meta(int hops)
{
	return (struct vrrp6_rx_meta){ ip6("fe80::1"), ip6("ff02::12"), hops };
}

static enum vrrp_rx_result parse(const uint8_t *m, size_t len, int hops, struct vrrp_advert *out)
{
	struct vrrp6_rx_meta mt = meta(hops);

	return vrrp6_msg_parse(m, len, &mt, 51, out);
}

Test(vrrp6, encode_matches_the_vector)
{
	struct vrrp_advert a;
	uint8_t buf[64];

	advert(&a);
	cr_assert_eq(vrrp6_advert_encode(&a, buf, sizeof(buf)), (int)sizeof(adv_msg));
	cr_assert_arr_eq(buf, adv_msg, sizeof(adv_msg));
	cr_expect_eq(vrrp6_advert_encode(&a, buf, 20), -ENOSPC);
	a.vrid = 0;
	cr_expect_eq(vrrp6_advert_encode(&a, buf, sizeof(buf)), -EINVAL);
}

Test(vrrp6, parse_the_vector)
{
	struct vrrp_advert out;

	cr_assert_eq(parse(adv_msg, sizeof(adv_msg), 255, &out), VRRP_RX_OK);
	cr_expect_eq(out.family, AF_INET6);
	cr_expect_eq(out.vrid, 51);
	cr_expect_eq(out.priority, 150);
	cr_expect_eq(out.interval_cs, 10);
	cr_expect_eq(out.naddrs, 1);
	cr_expect_eq(out.cksum, VRRP_CKSUM_PSEUDO);
	struct in6_addr want = ip6("2001:db8:18::10"), src = ip6("fe80::1");
	cr_expect(IN6_ARE_ADDR_EQUAL(&out.addrs6[0], &want));
	cr_expect(IN6_ARE_ADDR_EQUAL(&out.src6, &src));
}

Test(vrrp6, every_cause)
{
	struct vrrp_advert out;
	uint8_t m[sizeof(adv_msg) + 1];
	struct vrrp6_rx_meta mt = meta(255);

	cr_expect_eq(parse(adv_msg, sizeof(adv_msg), 64, &out), VRRP_RX_TTL);
	cr_expect_eq(parse(adv_msg, sizeof(adv_msg), -1, &out), VRRP_RX_TTL);
	cr_expect_eq(parse(adv_msg, 7, 255, &out), VRRP_RX_SHORT);
	cr_expect_eq(parse(adv_msg, sizeof(adv_msg) - 1, 255, &out), VRRP_RX_SHORT);
	memcpy(m, adv_msg, sizeof(adv_msg));
	m[sizeof(adv_msg)] = 0;
	cr_expect_eq(parse(m, sizeof(m), 255, &out), VRRP_RX_LENGTH);
	memcpy(m, adv_msg, sizeof(adv_msg));
	m[2] = 151; /* priority changed, checksum not */
	cr_expect_eq(parse(m, sizeof(adv_msg), 255, &out), VRRP_RX_CHECKSUM);
	memcpy(m, adv_msg, sizeof(adv_msg));
	m[0] = 0x21;
	cr_expect_eq(parse(m, sizeof(adv_msg), 255, &out), VRRP_RX_VERSION);
	m[0] = 0x32;
	cr_expect_eq(parse(m, sizeof(adv_msg), 255, &out), VRRP_RX_TYPE);
	cr_expect_eq(vrrp6_msg_parse(adv_msg, sizeof(adv_msg), &mt, 52, &out), VRRP_RX_VRID);
	cr_expect_eq(vrrp6_msg_parse(adv_msg, sizeof(adv_msg), &mt, 0, &out), VRRP_RX_OK);
	mt.src = ip6("2001:db8:18::1"); /* not link-local (RFC 5798 5.1.2.1) */
	cr_expect_eq(vrrp6_msg_parse(adv_msg, sizeof(adv_msg), &mt, 51, &out), VRRP_RX_NOT_VRRP);
	mt = meta(255);
	mt.dst = ip6("ff02::13"); /* the checksum covers the destination */
	cr_expect_eq(vrrp6_msg_parse(adv_msg, sizeof(adv_msg), &mt, 51, &out), VRRP_RX_CHECKSUM);
}

/* Interval 0 passes every byte check but names no timer (VRRP_RX_INTERVAL). */
Test(vrrp6, zero_interval_is_refused)
{
	struct vrrp_advert a, out;
	uint8_t buf[VRRP6_PACKET_MAX];
	int n;

	advert(&a);
	a.interval_cs = 4095;
	n = vrrp6_packet_encode(&a, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	/* 0x0fff -> 0x0000 lowers the sum by 0x0fff: raise the checksum by as much. */
	buf[40 + 4] = buf[40 + 5] = 0;
	{
		uint32_t c = (uint32_t)(buf[40 + 6] << 8 | buf[40 + 7]) + 0x0fff;

		c = (c & 0xffff) + (c >> 16);
		buf[40 + 6] = (uint8_t)(c >> 8);
		buf[40 + 7] = (uint8_t)c;
	}
	cr_expect_eq(vrrp6_packet_parse(buf, (size_t)n, 51, &out), VRRP_RX_INTERVAL);
}

Test(vrrp6, whole_packet_round_trip)
{
	struct vrrp_advert a, out;
	uint8_t buf[VRRP6_PACKET_MAX];
	int n;

	advert(&a);
	a.naddrs = 3;
	a.addrs6[1] = ip6("2001:db8:18::11");
	a.addrs6[2] = ip6("fd00:18::1");
	n = vrrp6_packet_encode(&a, buf, sizeof(buf));
	cr_assert_eq(n, 40 + 8 + 48);
	cr_expect_eq(buf[0] >> 4, 6);
	cr_expect_eq(buf[6], 112);
	cr_expect_eq(buf[7], 255);
	cr_assert_eq(vrrp6_packet_parse(buf, (size_t)n, 51, &out), VRRP_RX_OK);
	cr_expect_eq(out.naddrs, 3);
	cr_expect(IN6_ARE_ADDR_EQUAL(&out.addrs6[2], &a.addrs6[2]));
	cr_expect_eq(vrrp6_packet_parse(buf, 39, 51, &out), VRRP_RX_SHORT);
	cr_expect_eq(vrrp6_packet_parse(buf, (size_t)n - 1, 51, &out), VRRP_RX_SHORT);
	buf[6] = 58;
	cr_expect_eq(vrrp6_packet_parse(buf, (size_t)n, 51, &out), VRRP_RX_NOT_VRRP);
	buf[6] = 112;
	buf[7] = 1;
	cr_expect_eq(vrrp6_packet_parse(buf, (size_t)n, 51, &out), VRRP_RX_TTL);
}

/* ---- Neighbor Advertisement ---- */

Test(ndisc, na_matches_the_vector)
{
	struct in6_addr vip = ip6("2001:db8:18::10"), all = ip6("ff02::1");
	uint8_t buf[64];

	cr_assert_eq(ndisc_na_build(buf, sizeof(buf), &vip, &all, &vip, mac, ND_FLAG_OVERRIDE),
		     ND_NA_LEN);
	cr_assert_arr_eq(buf, na_msg, ND_NA_LEN);
	cr_expect_eq(ndisc_na_build(buf, ND_NA_LEN - 1, &vip, &all, &vip, mac, 0), -ENOSPC);
}

Test(ndisc, parse_the_vector)
{
	struct in6_addr vip = ip6("2001:db8:18::10"), all = ip6("ff02::1");
	struct nd_msg m;

	cr_assert_eq(ndisc_parse(na_msg, sizeof(na_msg), &vip, &all, 255, &m), ND_RX_OK);
	cr_expect_eq(m.type, ND_TYPE_NA);
	cr_expect_eq(m.flags, ND_FLAG_OVERRIDE);
	cr_expect(IN6_ARE_ADDR_EQUAL(&m.target, &vip));
	cr_expect(m.has_lladdr);
	cr_expect_arr_eq(m.lladdr, mac, 6);
}

Test(ndisc, every_cause)
{
	struct in6_addr vip = ip6("2001:db8:18::10"), all = ip6("ff02::1"), g = ip6("ff02::2");
	uint8_t b[ND_NA_LEN];
	struct nd_msg m;

	cr_expect_eq(ndisc_parse(na_msg, sizeof(na_msg), &vip, &all, 64, &m), ND_RX_HOPLIMIT);
	cr_expect_eq(ndisc_parse(na_msg, 23, &vip, &all, 255, &m), ND_RX_SHORT);
	cr_expect_eq(ndisc_parse(na_msg, 30, &vip, &all, 255, &m), ND_RX_CHECKSUM);
	cr_expect_eq(ndisc_parse(na_msg, sizeof(na_msg), &vip, &g, 255, &m), ND_RX_CHECKSUM);
	memcpy(b, na_msg, sizeof(b));
	b[0] = 134;
	cr_expect_eq(ndisc_parse(b, sizeof(b), &vip, &all, 255, &m), ND_RX_TYPE);
	memcpy(b, na_msg, sizeof(b));
	b[1] = 1;
	cr_expect_eq(ndisc_parse(b, sizeof(b), &vip, &all, 255, &m), ND_RX_CODE);
	/* option length 0: rebuild, then fix the checksum through the builder's sum */
	memcpy(b, na_msg, sizeof(b));
	b[25] = 0;
	b[2] = 0x32;
	b[3] = 0x80; /* 0x327f + 1: the option length byte went down by one */
	cr_expect_eq(ndisc_parse(b, sizeof(b), &vip, &all, 255, &m), ND_RX_OPTION);
	memcpy(b, na_msg, sizeof(b));
	b[25] = 2; /* 16 bytes of option in 8: past the end */
	b[2] = 0x32;
	b[3] = 0x7e;
	cr_expect_eq(ndisc_parse(b, sizeof(b), &vip, &all, 255, &m), ND_RX_SHORT);
	cr_expect_str_eq(nd_rx_result_str(ND_RX_HOPLIMIT), "hop limit not 255");
	cr_expect_str_eq(nd_rx_result_str(ND_RX_NCAUSES), "unknown");
}

Test(ndisc, multicast_target_is_refused)
{
	struct in6_addr src = ip6("fe80::1"), all = ip6("ff02::1"), t = ip6("ff02::12");
	uint8_t b[ND_NA_LEN];
	struct nd_msg m;

	cr_assert_eq(ndisc_na_build(b, sizeof(b), &src, &all, &t, mac, ND_FLAG_OVERRIDE),
		     ND_NA_LEN);
	cr_expect_eq(ndisc_parse(b, sizeof(b), &src, &all, 255, &m), ND_RX_TARGET);
}
