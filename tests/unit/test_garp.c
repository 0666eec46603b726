/* test_garp.c - the gratuitous ARP frame builder, byte by byte (RFC 826
 * layout; RFC 5227 section 3 announcement; RFC 5944 section 4.6 reply). */
#include "garp.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static const uint8_t mac[6] = { 0x02, 0x42, 0xc6, 0x12, 0x00, 0x0a };

static struct in_addr vip(void)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, "198.18.0.10", &a), 1);
	return a;
}

Test(garp, request_is_an_rfc5227_announcement)
{
	static const uint8_t want[GARP_PKT_LEN] = {
		0x00, 0x01,                         /* htype Ethernet */
		0x08, 0x00,                         /* ptype IPv4 */
		0x06, 0x04,                         /* hlen, plen */
		0x00, 0x01,                         /* op request */
		0x02, 0x42, 0xc6, 0x12, 0x00, 0x0a, /* sender MAC */
		198,  18,   0,    10,               /* sender IP = VIP */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* target MAC zero */
		198,  18,   0,    10,               /* target IP = VIP */
	};
	uint8_t buf[GARP_PKT_LEN];

	memset(buf, 0xa5, sizeof(buf));
	cr_assert_eq(garp_build(buf, sizeof(buf), GARP_REQUEST, mac, vip()), GARP_PKT_LEN);
	cr_assert_arr_eq(buf, want, sizeof(want));
}

Test(garp, reply_carries_sender_mac_as_target)
{
	static const uint8_t want[GARP_PKT_LEN] = {
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, /* op reply */
		0x02, 0x42, 0xc6, 0x12, 0x00, 0x0a, 198,  18,
		0,    10,   0x02, 0x42, 0xc6, 0x12, 0x00, 0x0a, /* target MAC = sender MAC */
		198,  18,   0,    10,
	};
	uint8_t buf[GARP_PKT_LEN];

	memset(buf, 0xa5, sizeof(buf));
	cr_assert_eq(garp_build(buf, sizeof(buf), GARP_REPLY, mac, vip()), GARP_PKT_LEN);
	cr_assert_arr_eq(buf, want, sizeof(want));
}

Test(garp, writes_exactly_the_packet_length)
{
	uint8_t buf[GARP_PKT_LEN + 16];
	size_t i;

	memset(buf, 0xa5, sizeof(buf));
	cr_assert_eq(garp_build(buf, sizeof(buf), GARP_REQUEST, mac, vip()), GARP_PKT_LEN);
	for (i = GARP_PKT_LEN; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0xa5, "byte %zu past the packet was written", i);
}

Test(garp, short_buffer_is_refused_untouched)
{
	uint8_t buf[GARP_PKT_LEN];
	size_t i;

	memset(buf, 0xa5, sizeof(buf));
	cr_assert_eq(garp_build(buf, GARP_PKT_LEN - 1, GARP_REQUEST, mac, vip()), -ENOSPC);
	cr_assert_eq(garp_build(buf, 0, GARP_REPLY, mac, vip()), -ENOSPC);
	for (i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0xa5);
}

Test(garp, unknown_op_is_refused)
{
	uint8_t buf[GARP_PKT_LEN];

	cr_assert_eq(garp_build(buf, sizeof(buf), (enum garp_op)0, mac, vip()), -EINVAL);
	cr_assert_eq(garp_build(buf, sizeof(buf), (enum garp_op)3, mac, vip()), -EINVAL);
}

Test(garp, address_is_copied_in_network_order)
{
	struct in_addr a = { .s_addr = htonl(0xc6130102u) }; /* 198.19.1.2 */
	uint8_t buf[GARP_PKT_LEN];

	cr_assert_eq(garp_build(buf, sizeof(buf), GARP_REQUEST, mac, a), GARP_PKT_LEN);
	cr_assert_eq(buf[14], 198);
	cr_assert_eq(buf[15], 19);
	cr_assert_eq(buf[16], 1);
	cr_assert_eq(buf[17], 2);
	cr_assert_arr_eq(buf + 14, buf + 24, 4);
}
