/* ha.c - glue between the elections and the kernel (see ha.h): the parts
 * every VRRP instance shares (the VRRP socket, the HA interface's kernel
 * watch, the tracked items) and the life cycle.  One instance's side
 * effects are in ha_inst.c. */
#include "ha_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
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
#include "peer_check.h"
#include "peers.h"
#include "successor.h"
#include "track.h"
#include "vip.h"
#include "vrrp_packet.h"
#include "vrrp_socket.h"

#define for_each_inst(ha, in) \
	for (size_t i_ = 0; i_ < (ha)->ninst && ((in) = (ha)->inst[i_], 1); i_++)

/* Instance i's VIPs in cfg (0: [ha]), *n of them. */
static const struct cfg_vip *cfg_vips(const struct config *cfg, size_t i, size_t *n)
{
	*n = i ? cfg->vrrps[i - 1].nvips : cfg->ha.nvips;
	return i ? cfg->vrrps[i - 1].vips : cfg->ha.vips;
}

/* ---- the kernel watch ---- */

/* Read our primary address again.  At boot the interface may get it after
 * we started (DHCP, or a Pi's eth0 coming up late), and it may change or
 * go at any time: the adverts' source, the tie-breaker and the sender id
 * of sync and registration follow.  The hook runs first, so that a sync
 * session opened on the resulting BACKUP entry already carries it. */
static void primary_refresh(struct ha *ha, const char *why)
{
	char t[INET_ADDRSTRLEN];
	struct ha_inst *in;
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
	for_each_inst(ha, in) vrrp_set_primary(in->vrrp, a);
}

static void watch_link(void *arg, const struct kwatch_link *l)
{
	struct ha *ha = arg;
	struct ha_inst *in;

	if (l->carrier) {
		log_info("%s: carrier back (%s)", ha->cfg->ha.interface, l->why);
		/* The address may have changed while the link was down. */
		primary_refresh(ha, "carrier back");
		for_each_inst(ha, in)
		{
			vrrp_link_up(in->vrrp);
			ha6_link(in->v6, true);
		}
	} else {
		log_warnx("%s: %s: leaving the election", ha->cfg->ha.interface, l->why);
		for_each_inst(ha, in)
		{
			vrrp_link_down(in->vrrp);
			ha6_link(in->v6, false);
		}
	}
}

static void watch_addr(void *arg, bool added, const struct kwatch_addr *a)
{
	struct ha *ha = arg;
	struct ha_inst *in;

	for_each_inst(ha, in) if (ha_inst_owns(in, a))
	{
		if (!added && a->family == AF_INET6)
			ha_inst_restore6(in);
		else if (!added)
			ha_inst_restore(in, "removed");
		return;
	}
	if (a->family == AF_INET) /* the primary address is IPv4 */
		primary_refresh(ha, added ? "address added" : "address removed");
}

static void watch_resync(void *arg)
{
	struct ha *ha = arg;
	const struct kwatch_link *l = kwatch_link_state(ha->kwatch);
	struct ha_inst *in;

	primary_refresh(ha, "after a netlink overrun");
	watch_link(ha, l);
	for_each_inst(ha, in) ha_inst_resync(in);
}

static const struct kwatch_ops ha_kwatch_ops = {
	.link = watch_link,
	.addr = watch_addr,
	.resync = watch_resync,
};

/* ---- tracked interfaces and scripts (track.h) ---- */

/* The tracked items moved: each election gets its new effective priority
 * (its own base moved by the same weights; a MASTER advertises it at
 * once) and the fault verdict, which is the same for all. */
static void track_changed(void *arg, const char *why)
{
	struct ha *ha = arg;
	bool fault = track_fault(ha->track, NULL);
	struct ha_inst *in;
	char r[128];

	snprintf(r, sizeof(r), "%s", fault ? why : "tracked items up");
	for_each_inst(ha, in)
	{
		struct vrrp_status st;

		uint8_t prio = (uint8_t)track_priority_of(ha->track, in->cfg->ha.priority);

		vrrp_set_priority(in->vrrp, prio, why);
		ha6_set_priority(in->v6, prio, why);
		vrrp_get_status(in->vrrp, &st);
		if (fault != st.track_fault) {
			vrrp_track_fault(in->vrrp, fault, r);
			ha6_track_fault(in->v6, fault, r);
		}
	}
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

/* Before vrrp_start(): the elections start with the items' verdicts. */
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

/* ---- the shared socket: an advert goes to the instance of its VRID
 * (ha_demux.c) ---- */

static void sock_rx(void *arg, const void *pkt, size_t len)
{
	struct ha *ha = arg;
	uint8_t vrids[CFG_MAX_INSTANCES];

	for (size_t i = 0; i < ha->ninst; i++)
		vrids[i] = (uint8_t)ha->inst[i]->cfg->ha.vrid;
	vrrp_recv_packet(ha->inst[ha_demux(vrids, ha->ninst, pkt, len)]->vrrp, pkt, len);
}

static int open_socket(struct ha *ha)
{
	struct in_addr vips[CFG_MAX_INSTANCES * CFG_MAX_VIPS];
	struct vrrp_socket_params p = {
		.ifname = ha->cfg->ha.interface,
		.peers = ha->cfg->ha.peers,
		.npeers = ha->cfg->ha.npeers,
		.rx = sock_rx,
		.rx_arg = ha,
	};
	size_t n = 0;

	/* No instance's VIP is ever taken for our own address. */
	for (size_t i = 0; i <= ha->cfg->nvrrps; i++) {
		size_t nv;
		const struct cfg_vip *v = cfg_vips(ha->cfg, i, &nv);

		for (size_t j = 0; j < nv; j++)
			vips[n++] = v[j].addr;
	}
	p.vips = vips; /* after the loop: cppcheck then sees the array used */
	p.nvips = n;
	return vrrp_socket_open(ha->loop, &p, &ha->sock);
}

/* ---- life cycle ---- */

static void remove_stale(struct ha *ha)
{
	for (size_t i = 0; i <= ha->cfg->nvrrps; i++) {
		size_t n;
		const struct cfg_vip *cv = cfg_vips(ha->cfg, i, &n);

		for (size_t j = 0; j < n; j++)
			if (vip_remove_stale(ha->vip, cv[j].addr, cv[j].prefixlen) > 0)
				log_warnx("%s: removed VIP %s left behind by an earlier run",
					  ha->cfg->ha.interface, cv[j].text);
	}
}

static int ha_open_all(struct ha *ha, bool adopt)
{
	const struct config *cfg = ha->cfg;
	int err;

	if ((err = vip_open(&ha->vip, cfg->ha.interface)) < 0)
		return err;
	if (!adopt) /* an upgrade's VIP is the node's, held by the process we replace */
		remove_stale(ha); /* before anything else */
	if ((err = open_socket(ha)) < 0)
		return err;
	for (size_t i = 0; i <= cfg->nvrrps; i++) {
		err = ha_inst_create(ha, i, vrrp_socket_primary(ha->sock), adopt, &ha->inst[i]);
		ha->ninst = i + 1; /* on error too: ha_destroy() closes what it opened */
		if (err < 0)
			return err;
	}
	if ((err = kwatch_open(&ha->kwatch, ha->loop, cfg->ha.interface, &ha_kwatch_ops, ha)) < 0)
		return err;
	if ((err = track_open(ha)) < 0)
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
	struct ha_inst *in;
	int err;

	if (!ha)
		return -ENOMEM;
	ha->loop = loop;
	ha->cfg = cfg;
	if (hooks)
		ha->hooks = *hooks;
	if ((err = ha_open_all(ha, adopt)) < 0) {
		ha_destroy(ha);
		return err;
	}
	if (!kwatch_link_state(ha->kwatch)->carrier)
		for_each_inst(ha, in) vrrp_link_down(in->vrrp);
	for_each_inst(ha, in)
	{
		/* An upgrade is told the first instance's role (upgrade.h); of
		 * the others, the process we replace was MASTER where it left
		 * their VIPs on the interface (a hand-over removes none). */
		bool was_master = in->idx == 0 ? master : adopt && ha_inst_vips_present(in);

		if (was_master)
			vrrp_start_master(in->vrrp,
					  "upgrade: taking over from the previous process");
		else
			vrrp_start(in->vrrp);
		if (!kwatch_link_state(ha->kwatch)->carrier)
			ha6_link(in->v6, false);
		ha6_start(in->v6, was_master);
	}
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
	struct ha_inst *in;

	ha->handed_over = true;
	ha->hooks = (struct ha_hooks){ 0 };
	for_each_inst(ha, in)
	{
		garp_stop(in->garp);
		ha6_handover(in->v6);
	}
}

/* ha_stop()'s callback runs once no instance holds its VIPs back. */
void ha_release_done(struct ha *ha)
{
	void (*done)(void *) = ha->stopped;
	struct ha_inst *in;

	if (!done)
		return;
	for_each_inst(ha, in) if (loop_timer_armed(&in->hold)) return;
	ha->stopped = NULL;
	done(ha->stopped_arg);
}

void ha_stop(struct ha *ha, void (*done)(void *arg), void *arg)
{
	struct ha_inst *in;

	ha->releasing = true;
	ha->stopped = done;
	ha->stopped_arg = arg;
	/* MASTER: priority 0, then op_vip_remove arms the instance's hold */
	for_each_inst(ha, in)
	{
		ha6_stop(in->v6); /* election mode: its own priority 0, VIPs removed */
		vrrp_stop(in->vrrp);
	}
	for_each_inst(ha, in) if (!loop_timer_armed(&in->hold)) ha_inst_release_now(in);
	ha_release_done(ha);
}

void ha_destroy(struct ha *ha)
{
	if (!ha)
		return;
	ha->releasing = false; /* what is still held goes now */
	ha->stopped = NULL;
	peer_check_destroy(ha->check);
	track_destroy(ha->track);
	for (size_t i = 0; i < ha->ntkw; i++)
		kwatch_close(ha->tkw[i]);
	for (size_t i = 0; i < ha->ninst; i++)
		ha_inst_destroy(ha->inst[i]);
	kwatch_close(ha->kwatch);
	vrrp_socket_close(ha->sock);
	vip_close(ha->vip);
	free(ha);
}

enum vrrp_state ha_state(const struct ha *ha) { return vrrp_get_state(ha->inst[0]->vrrp); }
struct vrrp *ha_vrrp(struct ha *ha) { return ha->inst[0]->vrrp; }
struct in_addr ha_primary(const struct ha *ha) { return vrrp_socket_primary(ha->sock); }

int ha_release_vips(const struct config *cfg)
{
	struct vip *v;
	int r6, err = vip_open(&v, cfg->ha.interface);

	if (err < 0)
		return err;
	for (size_t i = 0; i <= cfg->nvrrps; i++) {
		size_t n;
		const struct cfg_vip *vips = cfg_vips(cfg, i, &n);

		for (size_t j = 0; j < n; j++) {
			int r = vip_remove(v, vips[j].addr, vips[j].prefixlen);

			if (r < 0 && !err)
				err = r;
		}
	}
	r6 = ha6_release_vips(v, cfg); /* every instance's IPv6 VIPs */
	if (r6 < 0 && !err)
		err = r6;
	vip_close(v);
	return err;
}

/* ---- the election's inputs that concern every instance ---- */

void ha_source_proven(struct ha *ha, struct in_addr src)
{
	for (size_t i = 1; i < ha->ninst; i++)
		vrrp_source_proven(ha->inst[i]->vrrp, src);
}

void ha_source_key_differs(struct ha *ha, struct in_addr src)
{
	for (size_t i = 1; i < ha->ninst; i++)
		vrrp_source_key_differs(ha->inst[i]->vrrp, src);
}

void ha_hold_restart(struct ha *ha, uint32_t hold_ms)
{
	struct ha_inst *in;

	for (size_t i = 1; i < ha->ninst; i++)
		vrrp_hold_restart(ha->inst[i]->vrrp, hold_ms);
	for_each_inst(ha, in) ha6_hold_restart(in->v6, hold_ms); /* IPv6 elections */
}

void ha_hold_preempt(struct ha *ha, uint64_t until_ms)
{
	for (size_t i = 1; i < ha->ninst; i++)
		vrrp_hold_preempt(ha->inst[i]->vrrp, until_ms);
}

/* RFC 5798 6.4.2 reads a priority-0 advert as "take over after
 * Skew_Time", so of the BACKUPs of an instance the best one moves first
 * and the others hear it; now: no other node could move (check_verdict). */
static void peer_lost(struct ha *ha, struct in_addr peer, bool now)
{
	for (size_t i = 1; i < ha->ninst; i++) {
		struct vrrp_status st;

		vrrp_get_status(ha->inst[i]->vrrp, &st);
		if (st.state != VRRP_BACKUP || st.master.s_addr != peer.s_addr)
			continue;
		log_warnx("%s: its MASTER %s is gone (sync session reset): taking over %s",
			  ha->inst[i]->name, inet_ntoa(peer),
			  now ? "now, no other live balancer known" : "as after priority 0");
		if (now)
			vrrp_alone_takeover(ha->inst[i]->vrrp);
		else
			vrrp_master_lost(ha->inst[i]->vrrp);
	}
}

void ha_peer_lost(struct ha *ha, struct in_addr peer) { peer_lost(ha, peer, false); }

static void check_verdict(void *arg, struct in_addr peer, bool gone, const char *how)
{
	struct ha *ha = arg;
	struct successor_inst_view v = {
		.gone = gone,
		.first_master = ha_state(ha) == VRRP_MASTER,
		.others = ha->hooks.others_alive ? ha->hooks.others_alive(ha->hooks.arg, peer)
						 : SIZE_MAX,
	};

	if (!gone) {
		log_info("peer %s %s: it may live, the RFC timers run on", inet_ntoa(peer), how);
		return;
	}
	log_warnx("peer %s %s: its process is gone", inet_ntoa(peer), how);
	peer_lost(ha, peer, successor_inst_now(&v));
}

/* Its MASTER in an instance other than the first where we are BACKUP. */
static bool master_of_other(const struct ha *ha, struct in_addr peer)
{
	for (size_t i = 1; i < ha->ninst; i++) {
		struct vrrp_status st;

		vrrp_get_status(ha->inst[i]->vrrp, &st);
		if (st.state == VRRP_BACKUP && st.master.s_addr == peer.s_addr)
			return true;
	}
	return false;
}

void ha_peer_closed(struct ha *ha, struct in_addr peer)
{
	if (!master_of_other(ha, peer))
		return;
	if (!ha->check && peer_check_create(&ha->check, ha->loop, ha->cfg->ha.sync_port,
					    check_verdict, ha) < 0) {
		log_warnx("sync: no memory to check %s's sync port", inet_ntoa(peer));
		return;
	}
	log_info("sync: %s ended its session to us, and it is the MASTER of another instance: "
		 "checking its sync port",
		 inet_ntoa(peer));
	peer_check_start(ha->check, peer, ha->cfg->ha.advert_interval_ms);
}

/* ---- what andromedactl shows (core/daemon/ctl_ha.c renders it) ---- */

size_t ha_instances(const struct ha *ha) { return ha->ninst; }

void ha_get_instance_status(const struct ha *ha, size_t i, struct ha_status *out)
{
	const struct ha_inst *in = ha->inst[i];

	*out = (struct ha_status){ .vip_held = in->vip_on, .vip_restored = in->vip_restored };
	snprintf(out->name, sizeof(out->name), "%s", in->name);
	out->cfg = in->cfg;
	vrrp_get_status(in->vrrp, &out->vrrp);
	out->stats = *vrrp_get_stats(in->vrrp);
	if (in->notify)
		out->notify = *notify_get_stats(in->notify);
	if (ha->track)
		out->ntracks = track_get(ha->track, out->tracks, TRACK_MAX_ITEMS);
	out->has_v6 = in->v6 != NULL;
	ha6_get_status(in->v6, out->vrrp.state, &out->v6);
}

void ha_get_status(const struct ha *ha, struct ha_status *out)
{
	ha_get_instance_status(ha, 0, out);
}

size_t ha_get_peers(const struct ha *ha, const struct sync_node *nodes, size_t nnodes,
		    struct ha_peer *out, size_t max)
{
	struct vrrp_peer vp[VRRP_MAX_PEERS];
	size_t nv = vrrp_get_peers(ha->inst[0]->vrrp, vp, VRRP_MAX_PEERS);

	return ha_peers_merge(vp, nv, nodes, nnodes, loop_now_ms(ha->loop), out, max);
}
