/* ndisc_packet.h - the Neighbor Discovery messages andromeda builds and
 * checks (RFC 4861): the unsolicited Neighbor Advertisement that moves
 * an IPv6 VIP to our MAC, and the checks on NS/NA seen on the HA link.
 * Pure: bytes in, struct or cause out; unit-tested and fuzzed.
 *
 * Neighbor Advertisement (RFC 4861 4.4), 32 bytes as we send it:
 *
 *   type 136 | code 0 | checksum (IPv6 pseudo-header, next header 58)
 *   R S O + 29 reserved bits
 *   target address (16 bytes): the VIP
 *   option 2 (target link-layer address), length 1 (8 bytes): our MAC
 *
 * Unsolicited (7.2.6): S clear, O set (override the cached MAC, the point
 * of the exercise), sent to ff02::1 with hop limit 255 (7.1.2: receivers
 * drop any other). */
#ifndef ANDROMEDA_NDISC_PACKET_H
#define ANDROMEDA_NDISC_PACKET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ND_TYPE_NS        135
#define ND_TYPE_NA        136
#define ND_HOPLIMIT       255
#define ND_NA_LEN         32 /* the NA ndisc_na_build() writes */
#define ND_FLAG_ROUTER    0x80u
#define ND_FLAG_SOLICITED 0x40u
#define ND_FLAG_OVERRIDE  0x20u
#define ND_ALL_NODES      "ff02::1"

/* Why a received NS/NA was dropped; the order is the column order of the
 * table in docs/vrrp.md#ipv6. */
enum nd_rx_result {
	ND_RX_OK = 0,
	ND_RX_SHORT,    /* under 24 bytes, or an option past the end */
	ND_RX_HOPLIMIT, /* hop limit != 255: not from our link (7.1.1) */
	ND_RX_TYPE,     /* neither NS nor NA */
	ND_RX_CODE,     /* code != 0 */
	ND_RX_CHECKSUM, /* pseudo-header checksum does not verify */
	ND_RX_OPTION,   /* an option of length 0 */
	ND_RX_TARGET,   /* multicast target */
	ND_RX_NCAUSES
};

/* A received NS or NA. */
struct nd_msg {
	uint8_t type;  /* ND_TYPE_NS or ND_TYPE_NA */
	uint8_t flags; /* NA: R S O in the top bits */
	struct in6_addr target;
	bool has_lladdr; /* NA: target, NS: source link-layer address option */
	uint8_t lladdr[6];
};

/* Short lower-case name of a cause; never NULL. */
const char *nd_rx_result_str(enum nd_rx_result r);

/* Write an unsolicited NA for target at mac, from src to dst (the
 * checksum covers both), with flags (ND_FLAG_*).  Returns ND_NA_LEN or
 * -ENOSPC. */
int ndisc_na_build(uint8_t *buf, size_t len, const struct in6_addr *src,
		   const struct in6_addr *dst, const struct in6_addr *target, const uint8_t mac[6],
		   uint8_t flags);

/* Check an ICMPv6 message (no IPv6 header: what a raw ICMPv6 socket
 * reads) that came from src to dst with hoplimit (-1: unknown).  Returns
 * ND_RX_OK with *out filled, or the first failed check. */
enum nd_rx_result ndisc_parse(const uint8_t *msg, size_t len, const struct in6_addr *src,
			      const struct in6_addr *dst, int hoplimit, struct nd_msg *out);

#endif
