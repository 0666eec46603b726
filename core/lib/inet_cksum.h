/* inet_cksum.h - the Internet checksum (RFC 1071) over an IPv6
 * pseudo-header (RFC 8200 section 8.1), for the codecs that build and
 * check ICMPv6 (netlink/ndisc_packet.c) and VRRPv3 over IPv6
 * (ha/vrrp6_packet.c); the sum and fold alone serve VRRPv3 over IPv4
 * (ha/vrrp_packet.c: the IPv4 header and both checksum variants).  Pure,
 * header-only. */
#ifndef ANDROMEDA_INET_CKSUM_H
#define ANDROMEDA_INET_CKSUM_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* One's complement sum of big-endian 16-bit words, not folded; an odd
 * last byte is padded with zero. */
static inline uint32_t inet_sum16(uint32_t acc, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	return acc;
}

static inline uint16_t inet_fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* The checksum of msg[0..len) for upper-layer protocol nexthdr between
 * src and dst.  With the message's checksum field zero it is the value to
 * store (host order); over a message that holds its checksum it is 0 when
 * the message verifies. */
static inline uint16_t inet6_cksum(const struct in6_addr *src, const struct in6_addr *dst,
				   uint8_t nexthdr, const void *msg, size_t len)
{
	uint8_t ph[8] = { (uint8_t)(len >> 24),
			  (uint8_t)(len >> 16),
			  (uint8_t)(len >> 8),
			  (uint8_t)len,
			  0,
			  0,
			  0,
			  nexthdr };
	uint32_t acc = inet_sum16(0, src->s6_addr, 16);

	acc = inet_sum16(acc, dst->s6_addr, 16);
	acc = inet_sum16(acc, ph, sizeof(ph));
	return inet_fold(inet_sum16(acc, msg, len));
}

#endif
