/* ctl_ha6.c - the IPv6 family in status (see ctl_ha6.h). */
#include "ctl_ha6.h"

#include <arpa/inet.h>

#include "ha.h"

static json_t *drops_json(const struct vrrp_stats *s)
{
	json_t *o = json_object();

	for (int c = 1; o && c < VRRP_RX_NCAUSES; c++)
		json_object_set_new(o, vrrp_rx_result_str(c),
				    json_integer((json_int_t)s->rx_drops[c]));
	return o;
}

/* The NS/NA seen on the link and the NAs we sent. */
static json_t *ndisc_json(const struct ha6_status *v)
{
	json_t *d = json_object();

	for (unsigned c = 1; d && c < HA6_ND_CAUSES; c++)
		json_object_set_new(d, ha6_nd_cause_name(c),
				    json_integer((json_int_t)v->nd_drops[c]));
	return json_pack("{s:I, s:I, s:I, s:I, s:o}", "na_sent", (json_int_t)v->na_sent,
			 "na_errors", (json_int_t)v->na_errors, "seen", (json_int_t)v->nd_rx,
			 "conflicts", (json_int_t)v->nd_conflicts, "dropped", d);
}

json_t *ctl_ha6_json(const struct ha_status *hs)
{
	const struct ha6_status *v = &hs->v6;
	char primary[INET6_ADDRSTRLEN] = "", master[INET6_ADDRSTRLEN] = "";

	inet_ntop(AF_INET6, &v->vrrp.primary6, primary, sizeof(primary));
	if (v->elects)
		inet_ntop(AF_INET6, &v->vrrp.master6, master, sizeof(master));
	return json_pack("{s:s, s:s, s:b, s:s, s:s, s:I, s:I, s:I, s:o, s:o}", "mode",
			 v->elects ? "election" : "follow", "role", vrrp_state_name(v->vrrp.state),
			 "vip_held", v->vip_held, "primary", primary, "master", master,
			 "adverts_sent", (json_int_t)v->stats.tx_adverts, "adverts_received",
			 (json_int_t)v->stats.rx_adverts, "transitions",
			 (json_int_t)v->stats.transitions, "dropped", drops_json(&v->stats),
			 "ndisc", ndisc_json(v));
}
