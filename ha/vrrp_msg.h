/* vrrp_msg.h - the VRRPv3 message's fixed part, the same over IPv4 and
 * IPv6 (RFC 5798 5.1, 5.2): its 8-byte header written and read, and the
 * checks of 7.1 that do not depend on the family.  Pure; the two codecs
 * (vrrp_packet.c, vrrp6_packet.c) keep what differs: the IP layer, the
 * checksum, the size and copy of the addresses. */
#ifndef ANDROMEDA_VRRP_MSG_H
#define ANDROMEDA_VRRP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "vrrp_packet.h"

#define VRRP_MSG_SUM 6 /* offset of the checksum; the addresses start at VRRP_HDR_LEN */

/* 0 when a can be sent (VRID 1-255, interval 1-4095: 5.2.3, 5.2.7), else -EINVAL. */
int vrrp_msg_check_encode(const struct vrrp_advert *a);

/* Write a's header into p[0..VRRP_HDR_LEN): version 3, ADVERTISEMENT,
 * VRID, priority, count, interval (reserved bits zero), checksum zero. */
void vrrp_msg_put_hdr(const struct vrrp_advert *a, uint8_t *p);

/* Read the header of m[0..len), whose addresses take addr_len bytes
 * each: SHORT, VERSION, TYPE, then VRID, priority, count and interval
 * (reserved bits ignored, 5.2.6) into *out, then SHORT or LENGTH when len
 * is not VRRP_HDR_LEN + addr_len * count.  VRRP_RX_OK when all hold. */
enum vrrp_rx_result vrrp_msg_parse_hdr(const uint8_t *m, size_t len, size_t addr_len,
				       struct vrrp_advert *out);

/* The checks after the checksum: VRID 0 names no virtual router (5.2.3)
 * even when the caller accepts any (vrid 0), another VRID is not ours
 * (VRRP_RX_VRID); interval 0 (VRRP_RX_INTERVAL). */
enum vrrp_rx_result vrrp_msg_check_ids(const struct vrrp_advert *a, uint8_t vrid);

#endif
