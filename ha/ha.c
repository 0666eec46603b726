/* ha.c - glue between the election and the kernel (see ha.h). */
#include "ha.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "garp.h"
#include "ha6.h"
#include "kwatch.h"
#include "log.h"
#include "loop.h"
#include "macros.h"
#include "notify.h"
#include "peers.h"
#include "track.h"
#include "vip.h"
#include "vrrp_packet.h"
#include "vrrp_socket.h"

struct ha {
	struct loop *loop;
	const struct config *cfg;
	struct vip *vip;
	struct garp *garp;
	struct kwatch *kwatch;
	struct vrrp_socket *sock;
	struct vrrp *vrrp;
	struct ha6 *v6; /* the IPv6 VIPs (ha6.h); NULL without any */
	struct ha_hooks hooks;
	struct notify *notify;                 /* [ha] notify (may be NULL) */
	struct track *track;                   /* track_interface, [track NAME] */
	struct kwatch *tkw[CFG_MAX_TRACK_IFS]; /* a watch per tracked interface */
	size_t ntkw;

	bool releasing;         /* ha_stop() called */
	bool handed_over;       /* ha_handover(): silent from now on */
	bool vip_on;            /* we put the VIPs on the interface */
	struct loop_timer hold; /* graceful release: VIP kept this long */
	void (*stopped)(void *arg);
	void *stopped_arg;
	uint64_t vip_restored; /* VIP removed by someone while MASTER, put back */
};

/* ---- VIP and ARP, as the election asks ---- */

static int vips_apply(struct ha *ha, bool add)
{
	int first_err = 0;

	for (size_t i = 0; i < ha->cfg->ha.nvips; i++) {
		const struct cfg_vip *cv = &ha->cfg->ha.vips[i];
		int err = add ? vip_add(ha->vip, cv->addr, cv->prefixlen)
			      : vip_remove(ha->vip, cv->addr, cv->prefixlen);

		if (err && !first_err)
			first_err = err; /* vip.c logged it */
	}
	if (!first_err) /* follow mode: the IPv6 VIPs go with the IPv4 ones */
		first_err = ha6_follow_vips(ha->v6, add);
	else if (!add)
		ha6_follow_vips(ha->v6, add);
	return first_err;
}

static int op_vip_add(void *ctx)
{
	struct ha *ha = ctx;
	int err = vips_apply(ha, true);

	if (!err) {
		ha->vip_on = true;
		log_info("VIP added on %s (label %s)", ha->cfg->ha.interface, vip_label(ha->vip));
	}
	return err;
}

static void release_now(struct ha *ha)
{
	void (*done)(void *) = ha->stopped;

	loop_timer_cancel(ha->loop, &ha->hold);
	if (ha->vip_on && vips_apply(ha, false) == 0)
		log_info("VIP removed from %s", ha->cfg->ha.interface);
	ha->vip_on = false;
	ha->stopped = NULL;
	if (done)
		done(ha->stopped_arg);
}

static void hold_expired(struct loop *loop, struct loop_timer *t) { release_now(t->arg); }

/* On a graceful stop the removal waits Master_Down_Interval: by then the
 * best backup has taken over (it needs only its Skew_Time after our
 * priority-0 advert) and announced itself with gratuitous ARP. */
static int op_vip_remove(void *ctx)
{
	struct ha *ha = ctx;
	struct vrrp_status st;

	garp_stop(ha->garp);
	ha6_follow_na_stop(ha->v6);
	if (ha->handed_over) { /* the next process holds the VIP now */
		ha->vip_on = false;
		return 0;
	}
	if (ha->releasing && ha->vip_on) {
		vrrp_get_status(ha->vrrp, &st);
		loop_timer_arm(ha->loop, &ha->hold, 3u * st.adver_interval_ms);
		return 0;
	}
	ha->vip_on = false;
	return vips_apply(ha, false);
}

static void op_garp_burst(void *ctx)
{
	struct ha *ha = ctx;
	struct in_addr ips[CFG_MAX_VIPS];

	for (size_t i = 0; i < ha->cfg->ha.nvips; i++)
		ips[i] = ha->cfg->ha.vips[i].addr;
	garp_start(ha->garp, ips, ha->cfg->ha.nvips);
	ha6_follow_burst(ha->v6);
}

static int op_send_advert(void *ctx, uint8_t priority)
{
	struct ha *ha = ctx;
	struct vrrp_advert adv;

	if (ha->handed_over)
		return 0; /* no priority 0: the node is not leaving */
	vrrp_advert_fill(ha->vrrp, priority, &adv);
	ha6_follow_advert(ha->v6, priority);
	return vrrp_socket_send(ha->sock, &adv);
}

/* keepalived's names: leaving the election at shutdown is STOP. */
static const char *role_name(enum vrrp_state s)
{
	return s == VRRP_INIT ? "STOP" : vrrp_state_name(s);
}

static void notify_change(struct ha *ha, enum vrrp_state from, enum vrrp_state to,
			  const char *reason)
{
	struct notify_event ev = { 0 };
	struct vrrp_status st;

	if (!ha->notify)
		return;
	vrrp_get_status(ha->vrrp, &st);
	snprintf(ev.role, sizeof(ev.role), "%s", role_name(to));
	snprintf(ev.prev, sizeof(ev.prev), "%s", vrrp_state_name(from));
	ev.priority = st.priority;
	ev.base_priority = st.base_priority;
	snprintf(ev.reason, sizeof(ev.reason), "%s", reason);
	notify_push(ha->notify, &ev);
}

static void op_notify(void *ctx, enum vrrp_state from, enum vrrp_state to, const char *reason)
{
	struct ha *ha = ctx;

	if (from == VRRP_MASTER) {
		garp_stop(ha->garp);
		ha6_follow_na_stop(ha->v6);
	}
	notify_change(ha, from, to, reason);
	if (ha->hooks.state)
		ha->hooks.state(ha->hooks.arg, from, to, reason);
}

static void op_unproven_source(void *ctx, struct in_addr src)
{
	struct ha *ha = ctx;

	if (ha->hooks.unproven)
		ha->hooks.unproven(ha->hooks.arg, src);
}

static const struct vrrp_ops ha_vrrp_ops = {
	.send_advert = op_send_advert,
	.vip_add = op_vip_add,
	.vip_remove = op_vip_remove,
	.garp_burst = op_garp_burst,
	.notify = op_notify,
	.unproven_source = op_unproven_source,
};

/* ---- the kernel watch ---- */

/* Read our primary address again.  At boot the interface may get it after
 * we started (DHCP, or a Pi's eth0 coming up late), and it may change or
 * go at any time: the adverts' source, the tie-breaker and the sender id
 * of sync and registration follow.  The hook runs first, so that a sync
 * session opened on the resulting BACKUP entry already carries it. */
static void primary_refresh(struct ha *ha, const char *why)
{
	char t[INET_ADDRSTRLEN];
	struct in_addr a;

	if (vrrp_socket_refresh_primary(ha->sock) <= 0)
		return;
	a = vrrp_socket_primary(ha->sock);
	if (a.s_addr)
		log_info("%s: primary IPv4 address is now %s (%s)", ha->cfg->ha.interface,
			 inet_ntop(AF_INET, &a, t, sizeof(t)), why);
	else
		log_warnx("%s: no IPv4 address left (%s): leaving the election",
			  ha->cfg->ha.interface, why);
	if (ha->hooks.primary)
		ha->hooks.primary(ha->hooks.arg, a);
	vrrp_set_primary(ha->vrrp, a);
}

static void watch_link(void *arg, const struct kwatch_link *l)
{
	struct ha *ha = arg;

	if (l->carrier) {
		log_info("%s: carrier back (%s)", ha->cfg->ha.interface, l->why);
		/* The address may have changed while the link was down. */
		primary_refresh(ha, "carrier back");
		vrrp_link_up(ha->vrrp);
		ha6_link(ha->v6, true);
	} else {
		log_warnx("%s: %s: leaving the election", ha->cfg->ha.interface, l->why);
		vrrp_link_down(ha->vrrp);
		ha6_link(ha->v6, false);
	}
}

static bool is_our_vip(const struct ha *ha, const struct kwatch_addr *a)
{
	for (size_t i = 0; i < ha->cfg->ha.nvips; i++)
		if (ha->cfg->ha.vips[i].addr.s_addr == a->addr.s_addr)
			return true;
	return false;
}

/* A VIP removed by hand (or by another tool) while we are MASTER is put
 * back: clients are pointed at us. */
static void restore_vips(struct ha *ha, const char *why)
{
	if (!ha->vip_on || ha->releasing || vrrp_get_state(ha->vrrp) != VRRP_MASTER)
		return;
	ha->vip_restored++;
	log_warnx("%s: VIP %s while MASTER: putting it back", ha->cfg->ha.interface, why);
	if (vips_apply(ha, true) == 0)
		op_garp_burst(ha);
}

static void watch_addr(void *arg, bool added, const struct kwatch_addr *a)
{
	struct ha *ha = arg;

	if (!is_our_vip(ha, a))
		primary_refresh(ha, added ? "address added" : "address removed");
	else if (!added)
		restore_vips(ha, "removed");
}

static void watch_resync(void *arg)
{
	struct ha *ha = arg;
	const struct kwatch_link *l = kwatch_link_state(ha->kwatch);

	primary_refresh(ha, "after a netlink overrun");
	watch_link(ha, l);
	for (size_t i = 0; i < ha->cfg->ha.nvips; i++)
		if (vip_present(ha->vip, ha->cfg->ha.vips[i].addr,
				ha->cfg->ha.vips[i].prefixlen) == 0)
			restore_vips(ha, "missing after a netlink overrun");
}

static const struct kwatch_ops ha_kwatch_ops = {
	.link = watch_link,
	.addr = watch_addr,
	.resync = watch_resync,
};

/* ---- tracked interfaces and scripts (track.h) ---- */

/* The tracked items moved: the election gets the new effective priority
 * (a MASTER advertises it at once) and the fault verdict. */
static void track_changed(void *arg, const char *why)
{
	struct ha *ha = arg;
	const char *item = NULL;
	bool fault = track_fault(ha->track, &item);
	struct vrrp_status st;
	char r[128];

	vrrp_set_priority(ha->vrrp, (uint8_t)track_priority(ha->track), why);
	ha6_set_priority(ha->v6, (uint8_t)track_priority(ha->track), why);
	vrrp_get_status(ha->vrrp, &st);
	if (fault == st.track_fault)
		return;
	snprintf(r, sizeof(r), "%s", fault ? why : "tracked items up");
	vrrp_track_fault(ha->vrrp, fault, r);
	ha6_track_fault(ha->v6, fault, r);
}

static void tracked_link(void *arg, const struct kwatch_link *l)
{
	struct ha *ha = arg;

	track_link(ha->track, l->ifname, l->carrier, l->why);
}

static void tracked_resync(void *arg)
{
	struct ha *ha = arg;

	for (size_t i = 0; i < ha->ntkw; i++)
		tracked_link(ha, kwatch_link_state(ha->tkw[i]));
}

static const struct kwatch_ops track_kwatch_ops = {
	.link = tracked_link,
	.resync = tracked_resync,
};

/* Before vrrp_start(): the election starts with the items' verdicts. */
static int track_open(struct ha *ha)
{
	const struct config *cfg = ha->cfg;
	int err;

	if ((err = track_create(&ha->track, ha->loop, cfg, cfg->ha.priority, track_changed, ha)) <
	    0)
		return err;
	for (size_t i = 0; i < cfg->ntracks; i++) {
		char prog[CFG_SCRIPT_MAX];

		snprintf(prog, sizeof(prog), "%.*s", (int)strcspn(cfg->tracks[i].script, " \t"),
			 cfg->tracks[i].script);
		if (access(prog, X_OK) < 0)
			log_warn("track %s: %s (it fails until that changes)", cfg->tracks[i].name,
				 prog);
	}
	for (size_t i = 0; i < cfg->ha.ntrack_ifs; i++) {
		if ((err = kwatch_open(&ha->tkw[i], ha->loop, cfg->ha.track_if[i].ifname,
				       &track_kwatch_ops, ha)) < 0)
			return err;
		ha->ntkw++;
	}
	tracked_resync(ha);
	return 0;
}

static void vips_text(const struct config *cfg, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < cfg->ha.nvips && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "," : "",
					cfg->ha.vips[i].text);
}

static int notify_open(struct ha *ha)
{
	const struct config *cfg = ha->cfg;
	char vips[CFG_MAX_VIPS * CFG_ADDR_TEXT_MAX];
	struct notify_params p = { .script = cfg->ha.notify,
				   .timeout_ms = cfg->ha.notify_timeout_ms,
				   .instance = HA_INSTANCE_NAME,
				   .node = cfg->node.name,
				   .vips = vips,
				   .interface = cfg->ha.interface,
				   .vrid = cfg->ha.vrid };

	if (!cfg->ha.notify[0])
		return 0;
	/* Said at start rather than at the first role change; still run
	 * (the file may appear later: each call is a new exec). */
	if (access(cfg->ha.notify, X_OK) < 0)
		log_warn("notify %s: %s", HA_INSTANCE_NAME, cfg->ha.notify);
	vips_text(cfg, vips, sizeof(vips));
	return notify_create(&ha->notify, ha->loop, &p);
}

/* ---- life cycle ---- */

static void sock_rx(void *arg, const void *pkt, size_t len)
{
	struct ha *ha = arg;

	vrrp_recv_packet(ha->vrrp, pkt, len);
}

static void remove_stale(struct ha *ha)
{
	for (size_t i = 0; i < ha->cfg->ha.nvips; i++) {
		const struct cfg_vip *cv = &ha->cfg->ha.vips[i];

		if (vip_remove_stale(ha->vip, cv->addr, cv->prefixlen) > 0)
			log_warnx("%s: removed VIP %s left behind by an earlier run",
				  ha->cfg->ha.interface, cv->text);
	}
}

static int open_socket(struct ha *ha)
{
	struct in_addr vips[CFG_MAX_VIPS];
	struct vrrp_socket_params p = {
		.ifname = ha->cfg->ha.interface,
		.peers = ha->cfg->ha.peers,
		.npeers = ha->cfg->ha.npeers,
		.nvips = ha->cfg->ha.nvips,
		.rx = sock_rx,
		.rx_arg = ha,
	};

	for (size_t i = 0; i < ha->cfg->ha.nvips; i++)
		vips[i] = ha->cfg->ha.vips[i].addr;
	p.vips = vips; /* after the loop: cppcheck then sees the array used */
	return vrrp_socket_open(ha->loop, &p, &ha->sock);
}

static int ha_open_all(struct ha *ha, bool adopt)
{
	const struct config *cfg = ha->cfg;
	struct garp_params gp;
	int err;

	if ((err = vip_open(&ha->vip, cfg->ha.interface)) < 0)
		return err;
	if (!adopt) /* an upgrade's VIP is the node's, held by the process we replace */
		remove_stale(ha); /* before anything else */
	garp_params_from_config(&gp, cfg);
	if ((err = garp_open(&ha->garp, ha->loop, cfg->ha.interface, &gp)) < 0)
		return err;
	if ((err = open_socket(ha)) < 0)
		return err;
	if ((err = ha6_open(&ha->v6, ha->loop, cfg, ha->vip, &gp, adopt)) < 0)
		return err;
	if ((err = vrrp_create(ha->loop, cfg, vrrp_socket_primary(ha->sock), &ha_vrrp_ops, ha,
			       &ha->vrrp)) < 0) {
		log_errno(err, "vrrp %u: cannot create the election on %s", cfg->ha.vrid,
			  cfg->ha.interface);
		return err;
	}
	if ((err = kwatch_open(&ha->kwatch, ha->loop, cfg->ha.interface, &ha_kwatch_ops, ha)) < 0)
		return err;
	if ((err = notify_open(ha)) < 0 || (err = track_open(ha)) < 0)
		return err;
	/* An address added between the socket's look-up and the watch's
	 * subscription raised no event we could see: look once more. */
	primary_refresh(ha, "address added at start-up");
	return 0;
}

static int create(struct ha **out, struct loop *loop, const struct config *cfg,
		  const struct ha_hooks *hooks, bool adopt, bool master)
{
	struct ha *ha = calloc(1, sizeof(*ha));
	int err;

	if (!ha)
		return -ENOMEM;
	ha->loop = loop;
	ha->cfg = cfg;
	if (hooks)
		ha->hooks = *hooks;
	loop_timer_init(&ha->hold, hold_expired, ha);
	if ((err = ha_open_all(ha, adopt)) < 0) {
		ha_destroy(ha);
		return err;
	}
	if (!kwatch_link_state(ha->kwatch)->carrier)
		vrrp_link_down(ha->vrrp);
	if (master)
		vrrp_start_master(ha->vrrp, "upgrade: taking over from the previous process");
	else
		vrrp_start(ha->vrrp);
	if (!kwatch_link_state(ha->kwatch)->carrier)
		ha6_link(ha->v6, false);
	ha6_start(ha->v6, master);
	*out = ha;
	return 0;
}

int ha_create(struct ha **out, struct loop *loop, const struct config *cfg,
	      const struct ha_hooks *hooks)
{
	return create(out, loop, cfg, hooks, false, false);
}

int ha_adopt(struct ha **out, struct loop *loop, const struct config *cfg,
	     const struct ha_hooks *hooks, bool master)
{
	return create(out, loop, cfg, hooks, true, master);
}

void ha_handover(struct ha *ha)
{
	ha->handed_over = true;
	ha->hooks = (struct ha_hooks){ 0 };
	garp_stop(ha->garp);
	ha6_handover(ha->v6);
}

void ha_stop(struct ha *ha, void (*done)(void *arg), void *arg)
{
	ha->releasing = true;
	ha->stopped = done;
	ha->stopped_arg = arg;
	ha6_stop(ha->v6);    /* election mode: its own priority 0, VIPs removed */
	vrrp_stop(ha->vrrp); /* MASTER: priority 0, then op_vip_remove arms the hold */
	if (!loop_timer_armed(&ha->hold))
		release_now(ha);
}

void ha_destroy(struct ha *ha)
{
	if (!ha)
		return;
	loop_timer_cancel(ha->loop, &ha->hold);
	if (ha->handed_over) { /* the role goes on in the next process: no shutdown event */
		log_info("vrrp %u: %s handed over to the next process", ha->cfg->ha.vrid,
			 vrrp_state_name(vrrp_get_state(ha->vrrp)));
		ha->vip_on = false; /* the VIP stays: the next process holds it now */
	} else if (ha->vrrp && vrrp_get_state(ha->vrrp) != VRRP_INIT) {
		ha->releasing = false;
		vrrp_stop(ha->vrrp);
	}
	if (ha->vip_on)
		vips_apply(ha, false);
	ha6_close(ha->v6);
	track_destroy(ha->track);
	for (size_t i = 0; i < ha->ntkw; i++)
		kwatch_close(ha->tkw[i]);
	if (ha->notify)
		notify_flush(ha->notify); /* the STOP call, before we exit */
	notify_destroy(ha->notify);
	vrrp_destroy(ha->vrrp);
	kwatch_close(ha->kwatch);
	vrrp_socket_close(ha->sock);
	garp_close(ha->garp);
	vip_close(ha->vip);
	free(ha);
}

enum vrrp_state ha_state(const struct ha *ha) { return vrrp_get_state(ha->vrrp); }
struct vrrp *ha_vrrp(struct ha *ha) { return ha->vrrp; }
struct in_addr ha_primary(const struct ha *ha) { return vrrp_socket_primary(ha->sock); }

int ha_release_vips(const struct config *cfg)
{
	struct vip *v;
	int r6, err = vip_open(&v, cfg->ha.interface);

	if (err < 0)
		return err;
	for (size_t i = 0; i < cfg->ha.nvips; i++) {
		int r = vip_remove(v, cfg->ha.vips[i].addr, cfg->ha.vips[i].prefixlen);

		if (r < 0 && !err)
			err = r;
	}
	r6 = ha6_release_vips(v, cfg);
	if (r6 < 0 && !err)
		err = r6;
	vip_close(v);
	return err;
}

/* ---- what andromedactl shows (core/daemon/ctl_ha.c renders it) ---- */

void ha_get_status(const struct ha *ha, struct ha_status *out)
{
	*out = (struct ha_status){ .vip_held = ha->vip_on, .vip_restored = ha->vip_restored };
	vrrp_get_status(ha->vrrp, &out->vrrp);
	out->stats = *vrrp_get_stats(ha->vrrp);
	if (ha->notify)
		out->notify = *notify_get_stats(ha->notify);
	if (ha->track)
		out->ntracks = track_get(ha->track, out->tracks, TRACK_MAX_ITEMS);
	out->has_v6 = ha->v6 != NULL;
	ha6_get_status(ha->v6, out->vrrp.state, &out->v6);
}

size_t ha_get_peers(const struct ha *ha, const struct sync_node *nodes, size_t nnodes,
		    struct ha_peer *out, size_t max)
{
	struct vrrp_peer vp[VRRP_MAX_PEERS];
	size_t nv = vrrp_get_peers(ha->vrrp, vp, VRRP_MAX_PEERS);

	return ha_peers_merge(vp, nv, nodes, nnodes, loop_now_ms(ha->loop), out, max);
}
