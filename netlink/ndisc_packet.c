/* ndisc_packet.c - NA builder and NS/NA checks (RFC 4861).  Pure. */
#include "ndisc_packet.h"

#include <errno.h>
#include <string.h>

#include "inet_cksum.h"
#include "wire.h"

#define ICMP6_PROTO 58
#define ND_MIN_LEN  24 /* ICMPv6 header, flags/reserved, target */
#define OPT_SLLA    1
#define OPT_TLLA    2

static const char *const rx_names[ND_RX_NCAUSES] = {
	[ND_RX_OK] = "ok",
	[ND_RX_SHORT] = "short packet",
	[ND_RX_HOPLIMIT] = "hop limit not 255",
	[ND_RX_TYPE] = "not NS or NA",
	[ND_RX_CODE] = "code not 0",
	[ND_RX_CHECKSUM] = "bad checksum",
	[ND_RX_OPTION] = "option of length 0",
	[ND_RX_TARGET] = "multicast target",
};

const char *nd_rx_result_str(enum nd_rx_result r)
{
	return (unsigned)r < ND_RX_NCAUSES ? rx_names[r] : "unknown";
}

int ndisc_na_build(uint8_t *buf, size_t len, const struct in6_addr *src,
		   const struct in6_addr *dst, const struct in6_addr *target, const uint8_t mac[6],
		   uint8_t flags)
{
	if (len < ND_NA_LEN)
		return -ENOSPC;
	memset(buf, 0, ND_NA_LEN);
	buf[0] = ND_TYPE_NA;
	buf[4] = flags & (ND_FLAG_ROUTER | ND_FLAG_SOLICITED | ND_FLAG_OVERRIDE);
	memcpy(buf + 8, target->s6_addr, 16);
	buf[24] = OPT_TLLA;
	buf[25] = 1; /* in units of 8 bytes */
	memcpy(buf + 26, mac, 6);
	wire_put16(buf + 2, inet6_cksum(src, dst, ICMP6_PROTO, buf, ND_NA_LEN));
	return ND_NA_LEN;
}

/* Walk the options (4.6): each has a length in 8-byte units, never 0;
 * keep the link-layer address of the kind this message carries. */
static enum nd_rx_result parse_options(const uint8_t *p, size_t len, struct nd_msg *out)
{
	uint8_t want = out->type == ND_TYPE_NA ? OPT_TLLA : OPT_SLLA;

	while (len >= 2) {
		size_t olen = (size_t)p[1] * 8;

		if (olen == 0)
			return ND_RX_OPTION;
		if (olen > len)
			return ND_RX_SHORT;
		if (p[0] == want && olen >= 8) {
			out->has_lladdr = true;
			memcpy(out->lladdr, p + 2, 6);
		}
		p += olen;
		len -= olen;
	}
	return len ? ND_RX_SHORT : ND_RX_OK;
}

enum nd_rx_result ndisc_parse(const uint8_t *msg, size_t len, const struct in6_addr *src,
			      const struct in6_addr *dst, int hoplimit, struct nd_msg *out)
{
	memset(out, 0, sizeof(*out));
	if (hoplimit != ND_HOPLIMIT)
		return ND_RX_HOPLIMIT;
	if (len < ND_MIN_LEN)
		return ND_RX_SHORT;
	if (msg[0] != ND_TYPE_NS && msg[0] != ND_TYPE_NA)
		return ND_RX_TYPE;
	if (msg[1] != 0)
		return ND_RX_CODE;
	if (inet6_cksum(src, dst, ICMP6_PROTO, msg, len) != 0)
		return ND_RX_CHECKSUM;
	out->type = msg[0];
	out->flags = msg[4] & (ND_FLAG_ROUTER | ND_FLAG_SOLICITED | ND_FLAG_OVERRIDE);
	memcpy(out->target.s6_addr, msg + 8, 16);
	if (IN6_IS_ADDR_MULTICAST(&out->target))
		return ND_RX_TARGET;
	return parse_options(msg + ND_MIN_LEN, len - ND_MIN_LEN, out);
}
