/* vrrp_msg.c - the VRRPv3 message's fixed part, both families (see
 * vrrp_msg.h).  Pure: no I/O. */
#include "vrrp_msg.h"

#include <errno.h>

#include "wire.h"

/* Byte offsets inside the VRRP message (RFC 5798 5.1). */
enum {
	V_VT = 0,
	V_VRID = 1,
	V_PRIO = 2,
	V_COUNT = 3,
	V_INTVL = 4
};

int vrrp_msg_check_encode(const struct vrrp_advert *a)
{
	if (a->vrid == 0 || a->interval_cs == 0 || a->interval_cs > VRRP_MAX_INTERVAL_CS)
		return -EINVAL;
	return 0;
}

void vrrp_msg_put_hdr(const struct vrrp_advert *a, uint8_t *p)
{
	p[V_VT] = VRRP_VERSION << 4 | VRRP_TYPE_ADVERT;
	p[V_VRID] = a->vrid;
	p[V_PRIO] = a->priority;
	p[V_COUNT] = a->naddrs;
	wire_put16(p + V_INTVL, a->interval_cs); /* top 4 bits (rsvd) are zero */
	wire_put16(p + VRRP_MSG_SUM, 0);
}

enum vrrp_rx_result vrrp_msg_parse_hdr(const uint8_t *m, size_t len, size_t addr_len,
				       struct vrrp_advert *out)
{
	size_t need;

	if (len < VRRP_HDR_LEN)
		return VRRP_RX_SHORT;
	if (m[V_VT] >> 4 != VRRP_VERSION)
		return VRRP_RX_VERSION;
	if ((m[V_VT] & 0x0f) != VRRP_TYPE_ADVERT)
		return VRRP_RX_TYPE;
	out->vrid = m[V_VRID];
	out->priority = m[V_PRIO];
	out->naddrs = m[V_COUNT];
	out->interval_cs = wire_get16(m + V_INTVL) & 0x0fff; /* rsvd bits ignored (5.2.6) */
	need = VRRP_HDR_LEN + addr_len * out->naddrs;
	if (len < need)
		return VRRP_RX_SHORT;
	return len > need ? VRRP_RX_LENGTH : VRRP_RX_OK;
}

enum vrrp_rx_result vrrp_msg_check_ids(const struct vrrp_advert *a, uint8_t vrid)
{
	if (a->vrid == 0 || (vrid && a->vrid != vrid))
		return VRRP_RX_VRID;
	if (a->interval_cs == 0)
		return VRRP_RX_INTERVAL;
	return VRRP_RX_OK;
}
