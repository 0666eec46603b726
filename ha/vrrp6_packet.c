/* vrrp6_packet.c - VRRPv3 advertisement codec for IPv6.  Pure: no I/O. */
#include "vrrp6_packet.h"

#include <errno.h>
#include <string.h>

#include "inet_cksum.h"
#include "vrrp_msg.h"
#include "wire.h"

/* Byte offsets inside the fixed IPv6 header (RFC 8200 3). */
enum {
	IP6_VTF = 0,
	IP6_PLEN = 4,
	IP6_NH = 6,
	IP6_HLIM = 7,
	IP6_SRC = 8,
	IP6_DST = 24
};

int vrrp6_advert_encode(const struct vrrp_advert *a, void *buf, size_t len)
{
	size_t need = VRRP_HDR_LEN + 16u * a->naddrs;
	uint8_t *p = buf;

	if (vrrp_msg_check_encode(a))
		return -EINVAL;
	if (len < need)
		return -ENOSPC;
	vrrp_msg_put_hdr(a, p);
	for (size_t i = 0; i < a->naddrs; i++)
		memcpy(p + VRRP_HDR_LEN + 16 * i, a->addrs6[i].s6_addr, 16);
	wire_put16(p + VRRP_MSG_SUM, inet6_cksum(&a->src6, &a->dst6, VRRP_IPPROTO, p, need));
	return (int)need;
}

int vrrp6_packet_encode(const struct vrrp_advert *a, void *buf, size_t len)
{
	uint8_t *p = buf;
	int n;

	if (len < VRRP6_IPV6_HDR_LEN)
		return -ENOSPC;
	n = vrrp6_advert_encode(a, p + VRRP6_IPV6_HDR_LEN, len - VRRP6_IPV6_HDR_LEN);
	if (n < 0)
		return n;
	/* version 6, traffic class 0xc0 (as IPv4's TOS), flow label 0 */
	wire_put32(p + IP6_VTF, 6u << 28 | (uint32_t)VRRP_IP_TOS << 20);
	wire_put16(p + IP6_PLEN, (uint16_t)n);
	p[IP6_NH] = VRRP_IPPROTO;
	p[IP6_HLIM] = VRRP6_HOPLIMIT;
	memcpy(p + IP6_SRC, a->src6.s6_addr, 16);
	memcpy(p + IP6_DST, a->dst6.s6_addr, 16);
	return VRRP6_IPV6_HDR_LEN + n;
}

enum vrrp_rx_result vrrp6_msg_parse(const void *msg, size_t len, const struct vrrp6_rx_meta *mt,
				    uint8_t vrid, struct vrrp_advert *out)
{
	const uint8_t *m = msg;
	enum vrrp_rx_result r;

	memset(out, 0, offsetof(struct vrrp_advert, addrs));
	out->family = AF_INET6;
	out->src6 = mt->src;
	out->dst6 = mt->dst;
	out->ttl = mt->hoplimit < 0 ? 0 : (uint8_t)mt->hoplimit;
	if (mt->hoplimit != VRRP6_HOPLIMIT)
		return VRRP_RX_TTL;
	if (!IN6_IS_ADDR_LINKLOCAL(&mt->src))
		return VRRP_RX_NOT_VRRP;
	r = vrrp_msg_parse_hdr(m, len, 16, out);
	if (r != VRRP_RX_OK)
		return r;
	if (inet6_cksum(&mt->src, &mt->dst, VRRP_IPPROTO, m, len) != 0)
		return VRRP_RX_CHECKSUM;
	out->cksum = VRRP_CKSUM_PSEUDO;
	r = vrrp_msg_check_ids(out, vrid);
	if (r != VRRP_RX_OK)
		return r;
	for (size_t i = 0; i < out->naddrs; i++)
		memcpy(out->addrs6[i].s6_addr, m + VRRP_HDR_LEN + 16 * i, 16);
	return VRRP_RX_OK;
}

enum vrrp_rx_result vrrp6_packet_parse(const void *buf, size_t len, uint8_t vrid,
				       struct vrrp_advert *out)
{
	const uint8_t *p = buf;
	struct vrrp6_rx_meta mt;
	size_t plen;

	memset(out, 0, offsetof(struct vrrp_advert, addrs));
	out->family = AF_INET6;
	if (len < VRRP6_IPV6_HDR_LEN)
		return VRRP_RX_SHORT;
	if (p[IP6_VTF] >> 4 != 6 || p[IP6_NH] != VRRP_IPPROTO)
		return VRRP_RX_NOT_VRRP; /* extension headers are not expected on a link */
	plen = wire_get16(p + IP6_PLEN);
	if (len - VRRP6_IPV6_HDR_LEN < plen)
		return VRRP_RX_SHORT;
	memcpy(mt.src.s6_addr, p + IP6_SRC, 16);
	memcpy(mt.dst.s6_addr, p + IP6_DST, 16);
	mt.hoplimit = p[IP6_HLIM];
	return vrrp6_msg_parse(p + VRRP6_IPV6_HDR_LEN, plen, &mt, vrid, out);
}
