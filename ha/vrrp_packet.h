/* vrrp_packet.h - VRRPv3 advertisement codec for IPv4 (RFC 5798 section 5,
 * RFC 9568 section 5).  Pure: bytes in, struct or rejection cause out; no
 * sockets, no clocks, no logging.  It is what the unit tests and the fuzzer
 * target.
 *
 * Wire format (RFC 5798 5.1, IPv4):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    IPv4 Fields or IPv6 Fields                 |
 *   ...                                                             ...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |(rsvd) |     Max Adver Int     |          Checksum             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       IPvX Address(es)                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Checksum variants (see docs/vrrp.md):
 *   VRRP_CKSUM_PSEUDO  RFC 5798 5.2.8 / RFC 9568 5.2.8: the sum covers an
 *                      IPv4 pseudo-header (source, destination, zero,
 *                      protocol 112, VRRP length) and the VRRP message.
 *                      Our default; what tcpdump, Wireshark, FRR and
 *                      keepalived compute.
 *   VRRP_CKSUM_PLAIN   the VRRP message only, as VRRPv2 did; sent by some
 *                      IPv4 VRRPv3 implementations (FRR's "no vrrp N
 *                      checksum-with-ipv4-pseudoheader" exists for them).
 */
#ifndef ANDROMEDA_VRRP_PACKET_H
#define ANDROMEDA_VRRP_PACKET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define VRRP_IPPROTO          112 /* RFC 5798 5.2.4 */
#define VRRP_VERSION          3
#define VRRP_TYPE_ADVERT      1 /* the only type (RFC 5798 5.2.2) */
#define VRRP_MCAST_GROUP      "224.0.0.18"
#define VRRP_MCAST_GROUP_HOST 0xe0000012u /* 224.0.0.18, host order */
#define VRRP_TTL              255         /* RFC 5798 5.1.1.3 */
#define VRRP_IP_TOS           0xc0        /* precedence "internetwork control" */
#define VRRP_HDR_LEN          8           /* fixed part of the VRRP message */
#define VRRP_IPV4_HDR_LEN     20          /* the header vrrp_packet_encode writes */
#define VRRP_MAX_ADDRS        255         /* Count IPvX Addr is 8 bits */
#define VRRP_MAX_INTERVAL_CS  4095        /* Max Adver Int is 12 bits */
/* Largest packet vrrp_packet_encode can produce (20 + 8 + 255 * 4). */
#define VRRP_PACKET_MAX       (VRRP_IPV4_HDR_LEN + VRRP_HDR_LEN + 4 * VRRP_MAX_ADDRS)

enum vrrp_cksum_mode {
	VRRP_CKSUM_PSEUDO = 1u << 0, /* with IPv4 pseudo-header (default) */
	VRRP_CKSUM_PLAIN = 1u << 1,  /* VRRP message only (compat) */
};

/* Why a received packet was dropped.  vrrp_packet_parse() returns the
 * causes up to VRRP_RX_INTERVAL, in the order it checks them (RFC 5798
 * 7.1); the last three need state and are assigned by vrrp.c.  The order is
 * the column order of the drop-counter table in docs/vrrp.md. */
enum vrrp_rx_result {
	VRRP_RX_OK = 0,
	VRRP_RX_SHORT,    /* truncated: IP header, VRRP header or addresses */
	VRRP_RX_NOT_VRRP, /* not IPv4, bad IHL or total length, fragment, protocol != 112 */
	VRRP_RX_TTL,      /* IPv4 TTL != 255: the sender is not on our link */
	VRRP_RX_VERSION,  /* VRRP version != 3 */
	VRRP_RX_TYPE,     /* type != 1 (ADVERTISEMENT) */
	VRRP_RX_LENGTH,   /* bytes after the last address */
	VRRP_RX_CHECKSUM, /* no accepted checksum variant verifies */
	VRRP_RX_VRID,     /* not the virtual router we run */
	VRRP_RX_INTERVAL, /* Max Adver Int of 0: timers would be zero */
	VRRP_RX_OWN,      /* (vrrp.c) our own advert, source = our primary */
	VRRP_RX_NOT_PEER, /* (vrrp.c) unicast mode and source is no configured peer */
	VRRP_RX_UNAUTH,   /* (vrrp.c) source has not proven the cluster key (vrrp_auth.h) */
	VRRP_RX_NCAUSES
};

/* One advertisement.  For encoding the caller fills every field but ttl
 * and cksum_ok; for parsing every field is filled. */
struct vrrp_advert {
	struct in_addr src;         /* IPv4 source: the sender's primary address */
	struct in_addr dst;         /* IPv4 destination: 224.0.0.18 or a unicast peer */
	uint8_t ttl;                /* parsed only */
	uint8_t vrid;               /* 1..255 */
	uint8_t priority;           /* 0 = releasing, 255 = address owner */
	uint16_t interval_cs;       /* Max Adver Int, centiseconds, 1..4095 */
	enum vrrp_cksum_mode cksum; /* encode: variant to write; parse: the one that verified */
	uint8_t naddrs;             /* Count IPvX Addr */
	/* VRRPv3 over IPv6 (vrrp6_packet.h): family AF_INET6, the IPv6 fields
	 * below instead of src, dst and addrs.  0 or AF_INET: IPv4. */
	uint8_t family;
	struct in6_addr src6; /* the sender's link-local address */
	struct in6_addr dst6; /* ff02::12 */
	union {
		struct in_addr addrs[VRRP_MAX_ADDRS];   /* the VIPs, network order */
		struct in6_addr addrs6[VRRP_MAX_ADDRS]; /* IPv6: the VIPs */
	};
};

/* Short lower-case name of a cause ("bad ttl", "checksum", ...); never NULL. */
const char *vrrp_rx_result_str(enum vrrp_rx_result r);

/* The Internet checksum (RFC 1071) to store in the Checksum field of the
 * VRRP message msg[0..len) (its Checksum field must read as zero, or the
 * result is the value that makes the sum verify).  mode is one variant;
 * src/dst feed the pseudo-header and are ignored for VRRP_CKSUM_PLAIN.
 * Returned in host order. */
uint16_t vrrp_checksum(const void *msg, size_t len, struct in_addr src, struct in_addr dst,
		       enum vrrp_cksum_mode mode);

/* Write the VRRP message (no IP header) for a into buf.  Returns the number
 * of bytes written (8 + 4 * naddrs), -EINVAL if a field is out of range
 * (vrid 0, interval 0 or > 4095, unknown cksum mode) or -ENOSPC if len is
 * too small. */
int vrrp_advert_encode(const struct vrrp_advert *a, void *buf, size_t len);

/* Write a whole IPv4 packet: a 20-byte header (TOS 0xc0, ID 0, DF, TTL
 * 255, protocol 112, header checksum set) followed by the VRRP message.
 * This is what vrrp_packet_parse() takes and what a raw socket delivers.
 * Returns the byte count, -EINVAL or -ENOSPC as vrrp_advert_encode(). */
int vrrp_packet_encode(const struct vrrp_advert *a, void *buf, size_t len);

/* Parse and validate an IPv4 packet, IP header included, as a Linux raw
 * socket delivers it.  vrid: the virtual router we run (0 accepts any
 * VRID but 0, which names none).
 * cksum_modes: bitmask of accepted enum vrrp_cksum_mode variants; the one
 * that verified is stored in out->cksum (PSEUDO is tried first).  The IP
 * header checksum is not checked: the kernel drops such packets before a
 * raw socket sees them.  Returns VRRP_RX_OK with *out filled, or the first
 * failed check (*out then holds whatever was decoded so far). */
enum vrrp_rx_result vrrp_packet_parse(const void *buf, size_t len, uint8_t vrid,
				      unsigned cksum_modes, struct vrrp_advert *out);

#endif
