/* ha6.c - the IPv6 VIPs: follow the IPv4 election, or run their own
 * (see ha6.h). */
#include "ha6.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "garp.h"
#include "log.h"
#include "loop.h"
#include "ndisc.h"
#include "vip.h"
#include "vrrp6_packet.h"
#include "vrrp6_socket.h"

#define LL_POLL_MS 1000

_Static_assert(
	HA6_ND_CAUSES == ND_RX_NCAUSES,
	"ha6.h copies the NS/NA causes"); /* look for a link-local address while we have none */

struct ha6 {
	struct loop *loop;
	const struct config *cfg;
	struct vip *vip; /* ha.c's */
	struct ndisc *nd;
	struct vrrp6_socket *sock;
	struct vrrp *vrrp; /* election mode only */
	bool handed_over;
	bool vip_on;
	struct loop_timer ll_poll;
	struct vrrp_stats stats; /* follow mode's counters */
};

/* ---- the VIPs and the NAs ---- */

static int vips_apply(struct ha6 *h, bool add)
{
	int first = 0;

	for (size_t i = 0; i < h->cfg->ha.nvips6; i++) {
		const struct cfg_vip *cv = &h->cfg->ha.vips6[i];
		int err = add ? vip6_add(h->vip, &cv->addr6, cv->prefixlen)
			      : vip6_remove(h->vip, &cv->addr6, cv->prefixlen);

		if (err && !first)
			first = err; /* vip.c logged it */
	}
	h->vip_on = add && !first;
	return first;
}

static void na_burst(struct ha6 *h)
{
	struct in6_addr ips[CFG_MAX_VIPS];

	for (size_t i = 0; i < h->cfg->ha.nvips6; i++)
		ips[i] = h->cfg->ha.vips6[i].addr6;
	ndisc_start(h->nd, ips, h->cfg->ha.nvips6);
}

/* ---- the link-local address (the adverts' source) ---- */

static void ll_refresh(struct ha6 *h)
{
	struct in6_addr ll;
	char b[INET6_ADDRSTRLEN];

	if (vrrp6_socket_refresh(h->sock) <= 0)
		return;
	ll = vrrp6_socket_linklocal(h->sock);
	log_info("%s: IPv6 link-local address is now %s", h->cfg->ha.interface,
		 inet_ntop(AF_INET6, &ll, b, sizeof(b)) ? b : "?");
	if (h->vrrp)
		vrrp_set_primary6(h->vrrp, &ll);
}

static void ll_poll_fired(struct loop *loop, struct loop_timer *t)
{
	struct ha6 *h = t->arg;
	struct in6_addr ll;

	ll_refresh(h);
	ll = vrrp6_socket_linklocal(h->sock);
	if (IN6_IS_ADDR_UNSPECIFIED(&ll))
		loop_timer_arm(loop, t, LL_POLL_MS);
}

/* ---- election mode: the IPv6 election's side effects ---- */

static int op_send_advert(void *ctx, uint8_t priority)
{
	struct ha6 *h = ctx;
	struct vrrp_advert adv;

	if (h->handed_over)
		return 0;
	vrrp_advert_fill(h->vrrp, priority, &adv);
	return vrrp6_socket_send(h->sock, &adv);
}

static int op_vip_add(void *ctx) { return vips_apply(ctx, true); }

static int op_vip_remove(void *ctx)
{
	struct ha6 *h = ctx;

	ndisc_stop(h->nd);
	if (h->handed_over) {
		h->vip_on = false;
		return 0;
	}
	return vips_apply(h, false);
}

static void op_burst(void *ctx) { na_burst(ctx); }

static void op_notify(void *ctx, enum vrrp_state from, enum vrrp_state to, const char *reason)
{
	struct ha6 *h = ctx;

	if (from == VRRP_MASTER)
		ndisc_stop(h->nd);
}

static const struct vrrp_ops ha6_vrrp_ops = {
	.send_advert = op_send_advert,
	.vip_add = op_vip_add,
	.vip_remove = op_vip_remove,
	.garp_burst = op_burst,
	.notify = op_notify,
};

/* ---- receiving ---- */

/* Follow mode: check and count; the IPv4 election decides. */
static void follow_rx(struct ha6 *h, enum vrrp_rx_result r, const struct vrrp_advert *a)
{
	struct in6_addr ll = vrrp6_socket_linklocal(h->sock);

	if (r == VRRP_RX_OK && IN6_ARE_ADDR_EQUAL(&a->src6, &ll))
		r = VRRP_RX_OWN;
	if (r == VRRP_RX_OK)
		h->stats.rx_adverts++;
	else
		h->stats.rx_drops[r]++;
}

static void sock_rx(void *arg, const void *msg, size_t len, const struct vrrp6_rx_meta *m)
{
	struct ha6 *h = arg;
	struct vrrp_advert a;
	enum vrrp_rx_result r = vrrp6_msg_parse(msg, len, m, (uint8_t)h->cfg->ha.vrid, &a);

	if (h->vrrp)
		vrrp_recv_parsed(h->vrrp, r, &a);
	else
		follow_rx(h, r, &a);
}

/* ---- life cycle ---- */

static void remove_stale(struct ha6 *h)
{
	for (size_t i = 0; i < h->cfg->ha.nvips6; i++) {
		const struct cfg_vip *cv = &h->cfg->ha.vips6[i];

		if (vip6_remove_stale(h->vip, &cv->addr6, cv->prefixlen) > 0)
			log_warnx("%s: removed VIP %s left behind by an earlier run",
				  h->cfg->ha.interface, cv->text);
	}
}

static int open_all(struct ha6 *h, const struct garp_params *gp, bool adopt)
{
	struct in6_addr ll;
	int err;

	if (!adopt)
		remove_stale(h);
	if ((err = ndisc_open(&h->nd, h->loop, h->cfg->ha.interface, gp)) < 0)
		return err;
	if ((err = vrrp6_socket_open(h->loop, h->cfg->ha.interface, sock_rx, h, &h->sock)) < 0)
		return err;
	ll = vrrp6_socket_linklocal(h->sock);
	if (IN6_IS_ADDR_UNSPECIFIED(&ll))
		loop_timer_arm(h->loop, &h->ll_poll, LL_POLL_MS);
	if (!h->cfg->ha.interop)
		return 0; /* follow mode */
	err = vrrp_create6(h->loop, h->cfg, &ll, &ha6_vrrp_ops, h, &h->vrrp);
	if (err < 0)
		log_errno(err, "vrrp %u: cannot create the IPv6 election on %s", h->cfg->ha.vrid,
			  h->cfg->ha.interface);
	return err;
}

int ha6_open(struct ha6 **out, struct loop *loop, const struct config *cfg, struct vip *vip,
	     const struct garp_params *gp, bool adopt)
{
	struct ha6 *h;
	int err;

	*out = NULL;
	if (!cfg->ha.nvips6)
		return 0;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->cfg = cfg;
	h->vip = vip;
	loop_timer_init(&h->ll_poll, ll_poll_fired, h);
	if ((err = open_all(h, gp, adopt)) < 0) {
		ha6_close(h);
		return err;
	}
	*out = h;
	return 0;
}

void ha6_close(struct ha6 *h)
{
	if (!h)
		return;
	loop_timer_cancel(h->loop, &h->ll_poll);
	if (h->vrrp && !h->handed_over && vrrp_get_state(h->vrrp) != VRRP_INIT)
		vrrp_stop(h->vrrp);
	if (h->vip_on && !h->handed_over)
		vips_apply(h, false);
	vrrp_destroy(h->vrrp);
	vrrp6_socket_close(h->sock);
	ndisc_close(h->nd);
	free(h);
}

bool ha6_owns(const struct ha6 *h, const struct in6_addr *a)
{
	for (size_t i = 0; h && i < h->cfg->ha.nvips6; i++)
		if (IN6_ARE_ADDR_EQUAL(&h->cfg->ha.vips6[i].addr6, a))
			return true;
	return false;
}

/* Only while we hold them: in follow mode vip_on is the IPv4 MASTER's
 * (ha_inst.c), in election mode the IPv6 election's MASTER's. */
bool ha6_restore(struct ha6 *h)
{
	if (!h || h->handed_over || !h->vip_on ||
	    (h->vrrp && vrrp_get_state(h->vrrp) != VRRP_MASTER))
		return false;
	if (vips_apply(h, true) < 0)
		return false; /* vip.c logged it; vip_on is false now */
	na_burst(h);          /* clients may have dropped us meanwhile */
	return true;
}

/* After a netlink overrun the removal of a VIP may have been among the
 * events lost: look at the kernel's list, as ha_inst_resync does for
 * the IPv4 ones. */
bool ha6_resync(struct ha6 *h)
{
	if (!h || h->handed_over || !h->vip_on)
		return false;
	for (size_t i = 0; i < h->cfg->ha.nvips6; i++) {
		const struct cfg_vip *cv = &h->cfg->ha.vips6[i];

		if (vip6_present(h->vip, &cv->addr6, cv->prefixlen) == 0)
			return ha6_restore(h);
	}
	return false;
}

void ha6_handover(struct ha6 *h)
{
	if (!h)
		return;
	h->handed_over = true;
	ndisc_stop(h->nd);
}

/* ---- follow mode ---- */

void ha6_follow_advert(struct ha6 *h, uint8_t priority)
{
	struct vrrp_advert adv = { .family = AF_INET6 };

	if (!h || h->vrrp || h->handed_over)
		return;
	adv.vrid = (uint8_t)h->cfg->ha.vrid;
	adv.priority = priority;
	adv.interval_cs = (uint16_t)(h->cfg->ha.advert_interval_ms / 10);
	adv.cksum = VRRP_CKSUM_PSEUDO;
	adv.naddrs = (uint8_t)h->cfg->ha.nvips6;
	for (size_t i = 0; i < h->cfg->ha.nvips6; i++)
		adv.addrs6[i] = h->cfg->ha.vips6[i].addr6;
	if (vrrp6_socket_send(h->sock, &adv) == 0) {
		h->stats.tx_adverts++;
		return;
	}
	h->stats.tx_errors++;
	/* Our link-local address may have gone or changed: look again soon. */
	if (!loop_timer_armed(&h->ll_poll))
		loop_timer_arm(h->loop, &h->ll_poll, LL_POLL_MS);
}

int ha6_follow_vips(struct ha6 *h, bool add)
{
	if (!h || h->vrrp)
		return 0;
	if (!add)
		ndisc_stop(h->nd);
	if (h->handed_over) {
		h->vip_on = false;
		return 0;
	}
	return vips_apply(h, add);
}

void ha6_follow_burst(struct ha6 *h)
{
	if (h && !h->vrrp && h->vip_on)
		na_burst(h);
}

void ha6_follow_na_stop(struct ha6 *h)
{
	if (h && !h->vrrp)
		ndisc_stop(h->nd);
}

/* ---- election mode ---- */

void ha6_start(struct ha6 *h, bool master)
{
	if (!h || !h->vrrp)
		return;
	if (master)
		vrrp_start_master(h->vrrp, "upgrade: taking over from the previous process");
	else
		vrrp_start(h->vrrp);
}

void ha6_stop(struct ha6 *h)
{
	if (h && h->vrrp && !h->handed_over)
		vrrp_stop(h->vrrp);
}

void ha6_link(struct ha6 *h, bool up)
{
	if (!h)
		return;
	if (up)
		ll_refresh(h); /* the link-local address may have changed meanwhile */
	if (h->vrrp && up)
		vrrp_link_up(h->vrrp);
	else if (h->vrrp)
		vrrp_link_down(h->vrrp);
}

void ha6_set_priority(struct ha6 *h, uint8_t priority, const char *why)
{
	if (h && h->vrrp)
		vrrp_set_priority(h->vrrp, priority, why);
}

void ha6_hold_restart(struct ha6 *h, uint32_t hold_ms)
{
	if (h && h->vrrp)
		vrrp_hold_restart(h->vrrp, hold_ms);
}

void ha6_track_fault(struct ha6 *h, bool on, const char *why)
{
	if (h && h->vrrp)
		vrrp_track_fault(h->vrrp, on, why);
}

/* ---- status ---- */

void ha6_get_status(const struct ha6 *h, enum vrrp_state v4_state, struct ha6_status *out)
{
	const struct ndisc_stats *nd;

	memset(out, 0, sizeof(*out));
	if (!h)
		return;
	out->elects = h->vrrp != NULL;
	out->vip_held = h->vip_on;
	if (h->vrrp) {
		vrrp_get_status(h->vrrp, &out->vrrp);
		out->stats = *vrrp_get_stats(h->vrrp);
	} else {
		out->vrrp.state = v4_state;
		out->vrrp.family = AF_INET6;
		out->vrrp.primary6 = vrrp6_socket_linklocal(h->sock);
		out->stats = h->stats;
	}
	nd = ndisc_get_stats(h->nd);
	out->na_sent = nd->sent;
	out->na_errors = nd->errors;
	out->nd_rx = nd->rx;
	out->nd_conflicts = nd->conflicts;
	for (unsigned i = 0; i < HA6_ND_CAUSES; i++) /* = ND_RX_NCAUSES (static assert) */
		out->nd_drops[i] = nd->rx_drops[i];
}

const char *ha6_nd_cause_name(unsigned i) { return nd_rx_result_str((enum nd_rx_result)i); }

int ha6_release_vips(struct vip *vip, const struct config *cfg)
{
	int first = 0;

	for (size_t i = 0; i <= cfg->nvrrps; i++) { /* [ha], then each [vrrp NAME] */
		const struct cfg_vip *v = i ? cfg->vrrps[i - 1].vips6 : cfg->ha.vips6;
		size_t n = i ? cfg->vrrps[i - 1].nvips6 : cfg->ha.nvips6;

		for (size_t j = 0; j < n; j++) {
			int r = vip6_remove(vip, &v[j].addr6, v[j].prefixlen);

			if (r < 0 && !first)
				first = r;
		}
	}
	return first;
}
