/* vrrp_packet.c - VRRPv3 advertisement codec for IPv4.  Pure: no I/O. */
#include "vrrp_packet.h"

#include <errno.h>
#include <string.h>

#include "inet_cksum.h"
#include "vrrp_msg.h"
#include "wire.h"

/* Byte offsets inside the fixed IPv4 header (RFC 791 3.1). */
enum {
	IPH_VHL = 0,
	IPH_TOS = 1,
	IPH_LEN = 2,
	IPH_ID = 4,
	IPH_FRAG = 6,
	IPH_TTL = 8,
	IPH_PROTO = 9,
	IPH_SUM = 10,
	IPH_SRC = 12,
	IPH_DST = 16,
};
#define IPH_DF      0x4000u
#define IPH_MF      0x2000u
#define IPH_OFFMASK 0x1fffu

static const char *const rx_names[VRRP_RX_NCAUSES] = {
	[VRRP_RX_OK] = "ok",
	[VRRP_RX_SHORT] = "short packet",
	[VRRP_RX_NOT_VRRP] = "not a VRRP/IPv4 packet",
	[VRRP_RX_TTL] = "TTL not 255",
	[VRRP_RX_VERSION] = "version not 3",
	[VRRP_RX_TYPE] = "type not ADVERTISEMENT",
	[VRRP_RX_LENGTH] = "trailing bytes after addresses",
	[VRRP_RX_CHECKSUM] = "bad checksum",
	[VRRP_RX_VRID] = "other VRID",
	[VRRP_RX_INTERVAL] = "advert interval 0",
	[VRRP_RX_OWN] = "own advert",
	[VRRP_RX_NOT_PEER] = "source is not a configured peer",
	[VRRP_RX_UNAUTH] = "unauthenticated source",
};

const char *vrrp_rx_result_str(enum vrrp_rx_result r)
{
	if ((unsigned)r >= VRRP_RX_NCAUSES)
		return "unknown";
	return rx_names[r];
}

uint16_t vrrp_checksum(const void *msg, size_t len, struct in_addr src, struct in_addr dst,
		       enum vrrp_cksum_mode mode)
{
	uint32_t acc = 0;

	if (mode == VRRP_CKSUM_PSEUDO) {
		/* IPv4 pseudo-header: src, dst, zero, protocol, length (RFC 768
		 * layout; RFC 5798 5.2.8 names it via RFC 2460 8.1). */
		uint8_t ph[12];

		memcpy(ph, &src.s_addr, 4);
		memcpy(ph + 4, &dst.s_addr, 4);
		ph[8] = 0;
		ph[9] = VRRP_IPPROTO;
		wire_put16(ph + 10, (uint16_t)len);
		acc = inet_sum16(acc, ph, sizeof(ph));
	}
	return inet_fold(inet_sum16(acc, msg, len));
}

static int advert_check(const struct vrrp_advert *a)
{
	if (vrrp_msg_check_encode(a))
		return -EINVAL;
	if (a->cksum != VRRP_CKSUM_PSEUDO && a->cksum != VRRP_CKSUM_PLAIN)
		return -EINVAL;
	return 0;
}

int vrrp_advert_encode(const struct vrrp_advert *a, void *buf, size_t len)
{
	size_t need = VRRP_HDR_LEN + 4u * a->naddrs;
	uint8_t *p = buf;
	int err = advert_check(a);

	if (err)
		return err;
	if (len < need)
		return -ENOSPC;
	vrrp_msg_put_hdr(a, p);
	for (size_t i = 0; i < a->naddrs; i++)
		memcpy(p + VRRP_HDR_LEN + 4 * i, &a->addrs[i].s_addr, 4);
	wire_put16(p + VRRP_MSG_SUM, vrrp_checksum(p, need, a->src, a->dst, a->cksum));
	return (int)need;
}

int vrrp_packet_encode(const struct vrrp_advert *a, void *buf, size_t len)
{
	uint8_t *p = buf;
	int n;

	if (len < VRRP_IPV4_HDR_LEN)
		return advert_check(a) ? -EINVAL : -ENOSPC;
	n = vrrp_advert_encode(a, p + VRRP_IPV4_HDR_LEN, len - VRRP_IPV4_HDR_LEN);
	if (n < 0)
		return n;
	p[IPH_VHL] = 0x45; /* version 4, 5 words, no options */
	p[IPH_TOS] = VRRP_IP_TOS;
	wire_put16(p + IPH_LEN, (uint16_t)(VRRP_IPV4_HDR_LEN + n));
	wire_put16(p + IPH_ID, 0);
	wire_put16(p + IPH_FRAG, IPH_DF);
	p[IPH_TTL] = VRRP_TTL;
	p[IPH_PROTO] = VRRP_IPPROTO;
	wire_put16(p + IPH_SUM, 0);
	memcpy(p + IPH_SRC, &a->src.s_addr, 4);
	memcpy(p + IPH_DST, &a->dst.s_addr, 4);
	wire_put16(p + IPH_SUM, inet_fold(inet_sum16(0, p, VRRP_IPV4_HDR_LEN)));
	return VRRP_IPV4_HDR_LEN + n;
}

/* IPv4 layer: fill src/dst/ttl, return the VRRP payload bounds. */
static enum vrrp_rx_result parse_ip(const uint8_t *p, size_t len, struct vrrp_advert *out,
				    const uint8_t **msg, size_t *msglen)
{
	size_t ihl, tot;

	if (len < VRRP_IPV4_HDR_LEN)
		return VRRP_RX_SHORT;
	ihl = (size_t)(p[IPH_VHL] & 0x0f) * 4;
	tot = wire_get16(p + IPH_LEN);
	if (p[IPH_VHL] >> 4 != 4 || ihl < VRRP_IPV4_HDR_LEN || tot < ihl)
		return VRRP_RX_NOT_VRRP;
	if (len < tot)
		return VRRP_RX_SHORT;
	/* The kernel reassembles before raw delivery; a fragment here is bogus. */
	if ((wire_get16(p + IPH_FRAG) & (IPH_MF | IPH_OFFMASK)) || p[IPH_PROTO] != VRRP_IPPROTO)
		return VRRP_RX_NOT_VRRP;
	memcpy(&out->src.s_addr, p + IPH_SRC, 4);
	memcpy(&out->dst.s_addr, p + IPH_DST, 4);
	out->ttl = p[IPH_TTL];
	*msg = p + ihl;
	*msglen = tot - ihl; /* bytes past the IP total length are link padding */
	return VRRP_RX_OK;
}

static enum vrrp_rx_result verify_sum(const uint8_t *m, size_t len, unsigned modes,
				      struct vrrp_advert *out)
{
	/* Summing a message that holds its checksum yields 0 when it verifies. */
	if ((modes & VRRP_CKSUM_PSEUDO) &&
	    vrrp_checksum(m, len, out->src, out->dst, VRRP_CKSUM_PSEUDO) == 0) {
		out->cksum = VRRP_CKSUM_PSEUDO;
		return VRRP_RX_OK;
	}
	if ((modes & VRRP_CKSUM_PLAIN) &&
	    vrrp_checksum(m, len, out->src, out->dst, VRRP_CKSUM_PLAIN) == 0) {
		out->cksum = VRRP_CKSUM_PLAIN;
		return VRRP_RX_OK;
	}
	return VRRP_RX_CHECKSUM;
}

enum vrrp_rx_result vrrp_packet_parse(const void *buf, size_t len, uint8_t vrid,
				      unsigned cksum_modes, struct vrrp_advert *out)
{
	const uint8_t *m;
	size_t mlen;
	enum vrrp_rx_result r;

	memset(out, 0, offsetof(struct vrrp_advert, addrs));
	r = parse_ip(buf, len, out, &m, &mlen);
	if (r != VRRP_RX_OK)
		return r;
	/* RFC 5798 7.1, in its order: TTL, version, completeness, checksum, VRID. */
	if (out->ttl != VRRP_TTL)
		return VRRP_RX_TTL;
	r = vrrp_msg_parse_hdr(m, mlen, 4, out);
	if (r == VRRP_RX_OK)
		r = verify_sum(m, mlen, cksum_modes, out);
	if (r == VRRP_RX_OK)
		r = vrrp_msg_check_ids(out, vrid);
	if (r != VRRP_RX_OK)
		return r;
	for (size_t i = 0; i < out->naddrs; i++)
		memcpy(&out->addrs[i].s_addr, m + VRRP_HDR_LEN + 4 * i, 4);
	return VRRP_RX_OK;
}
