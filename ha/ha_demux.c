/* ha_demux.c - which VRRP instance an advert is for (ha.h, ha_demux):
 * the VRID byte after the IPv4 header.  Pure; fuzzed (fuzz_vrrp.c). */
#include "ha.h"

#include "vrrp_packet.h"

size_t ha_demux(const uint8_t *vrids, size_t n, const void *pkt, size_t len)
{
	const uint8_t *p = pkt;
	size_t ihl;

	if (len < 1 || (p[0] >> 4) != 4)
		return 0;
	ihl = 4u * (p[0] & 0x0f);
	if (ihl < VRRP_IPV4_HDR_LEN || len < ihl + 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (vrids[i] == p[ihl + 1])
			return i;
	return 0;
}
