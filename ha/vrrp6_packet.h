/* vrrp6_packet.h - VRRPv3 advertisement codec for IPv6 (RFC 5798 5.1.2,
 * 5.2).  Pure: bytes in, struct vrrp_advert (family AF_INET6) or a
 * rejection cause out, like vrrp_packet.h for IPv4, whose causes and
 * struct it shares.
 *
 * The VRRP message is the IPv4 one with 16-byte addresses.  A Linux raw
 * IPv6 socket hands over the message only: the IPv6 header's fields that
 * the checks need (source, destination, hop limit) come from recvmsg()
 * and its control messages, in struct vrrp6_rx_meta.  The checksum always
 * covers the IPv6 pseudo-header (RFC 5798 5.2.8, RFC 8200 8.1: source,
 * destination, length, next header 112); there is no "plain" variant in
 * IPv6.  The *_packet_* forms take and give a whole IPv6 packet (40-byte
 * header, no extension headers): what tests, tools and the fuzzer use. */
#ifndef ANDROMEDA_VRRP6_PACKET_H
#define ANDROMEDA_VRRP6_PACKET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "vrrp_packet.h"

#define VRRP6_MCAST_GROUP  "ff02::12" /* RFC 5798 5.1.2.2 */
#define VRRP6_HOPLIMIT     255        /* RFC 5798 5.1.2.3 */
#define VRRP6_IPV6_HDR_LEN 40
#define VRRP6_MSG_MAX      (VRRP_HDR_LEN + 16 * VRRP_MAX_ADDRS)
#define VRRP6_PACKET_MAX   (VRRP6_IPV6_HDR_LEN + VRRP6_MSG_MAX)

/* What the IPv6 header said about a received message. */
struct vrrp6_rx_meta {
	struct in6_addr src;
	struct in6_addr dst;
	int hoplimit; /* from IPV6_HOPLIMIT; -1 when the kernel gave none */
};

/* Write the VRRP message for a (family AF_INET6: src6, dst6, addrs6)
 * into buf, checksum over the pseudo-header of src6 -> dst6.  Returns
 * 8 + 16 * naddrs, -EINVAL (vrid 0, interval 0 or > 4095) or -ENOSPC. */
int vrrp6_advert_encode(const struct vrrp_advert *a, void *buf, size_t len);
/* The same behind a 40-byte IPv6 header (hop limit 255, next header 112,
 * traffic class 0xc0). */
int vrrp6_packet_encode(const struct vrrp_advert *a, void *buf, size_t len);

/* Check a received VRRP message, in RFC 5798 7.1's order: hop limit 255
 * (VRRP_RX_TTL), a link-local source (5.1.2.1; else VRRP_RX_NOT_VRRP),
 * version, type, length, checksum, VRID (vrid 0: any but 0), interval.
 * Returns VRRP_RX_OK with *out filled (family AF_INET6, cksum PSEUDO), or
 * the first failed check. */
enum vrrp_rx_result vrrp6_msg_parse(const void *msg, size_t len, const struct vrrp6_rx_meta *m,
				    uint8_t vrid, struct vrrp_advert *out);
/* A whole IPv6 packet: header (version 6, next header 112, payload
 * length within the buffer; else NOT_VRRP or SHORT), then as above. */
enum vrrp_rx_result vrrp6_packet_parse(const void *buf, size_t len, uint8_t vrid,
				       struct vrrp_advert *out);

#endif
