/* vrrp.c - the VRRPv3 election state machine (RFC 5798 6.4, RFC 9568 6.4).
 *
 *               start (priority 255 only)
 *      +-----------------------------------------------------+
 *      |                                                     v
 *   +--------+   start    +--------+  Master_Down_Timer   +--------+
 *   |  INIT  |----------->| BACKUP |--------------------->| MASTER |
 *   +--------+            +--------+                      +--------+
 *     |    ^                ^    |  ^   better advert:        |   |
 *     |    |                |    |  +-- higher priority, or --+   |
 *     |    | stop           |    |      equal priority and        |
 *     |    +-- (from every  |    |      higher primary address    |
 *     |        state)       |    |                                |
 *     | start after         |    | link                  link down|
 *     | link down    link up|    | down                           |
 *     |                     |    v                                |
 *     |                   +--------+                              |
 *     +------------------>| FAULT  |<-----------------------------+
 *                         +--------+
 *
 * "link down" also stands for "no IPv4 address of our own" (startup
 * without one, or vrrp_set_primary(0.0.0.0)) and for a weight-0 tracked
 * item down (vrrp_track_fault: a MASTER first releases with priority 0,
 * its link works); FAULT is left only when the carrier, an address and
 * every such item are there (boot order: the interface may get its
 * address after we start).
 *
 * Inputs that keep the state (each input function's switch says so too):
 *   BACKUP  advert priority 0, or master_lost  -> Master_Down_Timer = Skew_Time
 *   BACKUP  advert priority >= ours, or preempt off, or preempt_delay running
 *                                              -> learn interval, timer = MDI
 *   BACKUP  advert priority < ours, preempt on -> discard
 *   MASTER  Adver_Timer                        -> send advert, re-arm
 *   MASTER  advert priority 0                  -> send advert at once, re-arm
 *   MASTER  worse advert (another MASTER)      -> send advert at once, re-arm,
 *           and a GARP burst unless one went out within the last MDI
 *
 * A MASTER that steps down sends one last advert at its own priority first
 * (not in the RFC): after a partition heals, the winner's advert may reach
 * the loser before the loser's reaches the winner, and the winner must
 * still learn that clients were told another MAC, so it bursts GARP.
 *
 * vrrp_set_state() is the only writer of v->state: it runs the entry action
 * of the new state from enter_actions[], logs "A -> B (reason)", counts and
 * notifies.  Entry actions make VIP ownership follow the state: only
 * MASTER holds them. */
#include "vrrp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "vrrp_auth.h"

/* Why Master_Down_Timer was last armed, for the transition's reason. */
enum md_cause {
	MD_SILENCE,
	MD_RELEASED,
	MD_LOST,
	MD_SUCCESSOR,
	MD_LIVENESS,
	MD_ALONE
};

/* Limiters for causes that are not drops but still log once. */
enum {
	LIM_ADDRS,
	LIM_INTERVAL,
	LIM_SPLIT,
	LIM_KEY,
	LIM_N
};

struct vrrp {
	struct loop *loop;
	const struct vrrp_ops *ops;
	void *ctx;
	enum vrrp_state state;
	uint8_t vrid;
	uint8_t priority; /* effective (vrrp_set_priority) */
	uint8_t base_priority;
	bool preempt;
	bool link_up;
	bool track_fault; /* vrrp_track_fault */
	bool vip_held;
	enum vrrp_cksum_mode cksum;
	uint32_t adver_interval_ms;        /* Advertisement_Interval */
	uint32_t master_adver_interval_ms; /* Master_Adver_Interval */
	uint32_t preempt_delay_ms;
	uint64_t preempt_at_ms;
	uint64_t sync_hold_until_ms;    /* no preemption before the state is synced */
	uint64_t restart_hold_until_ms; /* the MASTER restarts: no takeover before */
	uint64_t since_ms;
	uint64_t split_seen_ms; /* last lower-priority MASTER seen */
	struct in_addr primary;
	struct in_addr master;
	uint8_t master_priority;
	struct in_addr vips[CFG_MAX_VIPS];
	size_t nvips;
	/* IPv6 family (vrrp_create6): the link-local address is the primary,
	 * the IPv6 VIPs are advertised; the IPv4 fields above stay 0. */
	uint8_t family;
	struct in6_addr primary6;
	struct in6_addr master6;
	struct in6_addr vips6[CFG_MAX_VIPS];
	struct in_addr ucast[CFG_MAX_PEERS]; /* unicast peers; empty = multicast */
	size_t nucast;
	struct loop_timer master_down;
	enum md_cause md_cause;
	struct loop_timer adver;
	struct vrrp_peer peers[VRRP_MAX_PEERS];
	size_t npeers;
	bool interop;          /* count adverts from sources without the key */
	struct vrrp_auth auth; /* sources that proved the key (interop = no) */
	struct vrrp_stats stats;
	struct log_limit drop_limit[VRRP_RX_NCAUSES];
	struct log_limit limit[LIM_N];
	char reason[96];
};

static const char *const state_names[VRRP_NSTATES] = {
	[VRRP_INIT] = "INIT",
	[VRRP_BACKUP] = "BACKUP",
	[VRRP_MASTER] = "MASTER",
	[VRRP_FAULT] = "FAULT",
};

const char *vrrp_state_name(enum vrrp_state s)
{
	return (unsigned)s < VRRP_NSTATES ? state_names[s] : "?";
}

const char *vrrp_peer_role_name(enum vrrp_peer_role r)
{
	switch (r) {
	case VRRP_PEER_MASTER:
		return "MASTER";
	case VRRP_PEER_RELEASED:
		return "released";
	case VRRP_PEER_SILENT:
		return "silent";
	case VRRP_PEER_UNKNOWN:
		break;
	}
	return "unknown";
}

/* ---- timer arithmetic (RFC 5798 6.1) ---------------------------------- */

uint32_t vrrp_skew_time_ms(uint8_t priority, uint32_t master_adver_interval_ms)
{
	return (uint32_t)(((uint64_t)(256u - priority) * master_adver_interval_ms) / 256u);
}

uint32_t vrrp_master_down_interval_ms(uint8_t priority, uint32_t master_adver_interval_ms)
{
	return 3u * master_adver_interval_ms +
	       vrrp_skew_time_ms(priority, master_adver_interval_ms);
}

static uint32_t skew_ms(const struct vrrp *v)
{
	return vrrp_skew_time_ms(v->priority, v->master_adver_interval_ms);
}

static uint32_t mdi_ms(const struct vrrp *v)
{
	return vrrp_master_down_interval_ms(v->priority, v->master_adver_interval_ms);
}

static uint64_t now_ms(const struct vrrp *v) { return loop_now_ms(v->loop); }

/* An address of our own: the IPv4 primary, or the IPv6 link-local. */
static bool has_primary(const struct vrrp *v)
{
	return v->family == AF_INET6 ? !IN6_IS_ADDR_UNSPECIFIED(&v->primary6)
				     : v->primary.s_addr != 0;
}

/* A takeover at once (the named successor, its fast liveness, no other
 * live backup) is armed to run within ms and has not run yet (a
 * restart hold may have put it later: then not). */
static bool at_once_pending(const struct vrrp *v, uint32_t ms)
{
	return loop_timer_armed(&v->master_down) && v->master_down.when_ms <= now_ms(v) + ms &&
	       (v->md_cause == MD_SUCCESSOR || v->md_cause == MD_LIVENESS ||
		v->md_cause == MD_ALONE);
}

/* Master_Down_Timer = Master_Down_Interval (master alive) or Skew_Time
 * (master gone: priority 0 or crash detector).  A second "master gone"
 * signal in the same turn must not put a pending takeover at once back
 * by Skew_Time: a named successor whose session reconnected to the dying
 * MASTER's still open listener sees that session reset too, without a
 * successor named on it (docs/vrrp.md "Failover paths"). */
static void arm_master_down(struct vrrp *v, enum md_cause why)
{
	uint32_t ms = skew_ms(v); /* MD_RELEASED, MD_LOST: as priority 0 */

	if ((why == MD_RELEASED || why == MD_LOST) && at_once_pending(v, ms))
		return;
	if (why == MD_SILENCE)
		ms = mdi_ms(v);
	else if (why == MD_SUCCESSOR || why == MD_LIVENESS || why == MD_ALONE)
		ms = 0; /* only this node moves early: no skew needed */
	v->md_cause = why;
	loop_timer_arm(v->loop, &v->master_down, ms);
}

/* " (N more since last report)" for a rate-limited line, or "". */
static const char *more(char buf[48], uint64_t suppressed)
{
	if (!suppressed)
		return "";
	snprintf(buf, 48, " (%llu more since last report)", (unsigned long long)suppressed);
	return buf;
}

static const char *ip4(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN) ? buf : "?";
}

/* An advert's source, either family, for log lines. */
static const char *src_text(const struct vrrp_advert *a, char buf[INET6_ADDRSTRLEN])
{
	if (a->family == AF_INET6)
		return inet_ntop(AF_INET6, &a->src6, buf, INET6_ADDRSTRLEN) ? buf : "?";
	return ip4(a->src, buf);
}

/* ---- side effects, counted ------------------------------------------- */

static void send_advert(struct vrrp *v, uint8_t priority)
{
	int err = v->ops->send_advert(v->ctx, priority);

	if (err) {
		v->stats.tx_errors++;
		log_errno(err, "vrrp %u: sending advert (priority %u)", v->vrid, priority);
		return;
	}
	v->stats.tx_adverts++;
}

static void vips_release(struct vrrp *v)
{
	int err;

	if (!v->vip_held)
		return;
	err = v->ops->vip_remove(v->ctx);
	if (err) {
		v->stats.vip_errors++;
		log_errno(err, "vrrp %u: removing VIPs", v->vrid);
	}
	v->vip_held = false; /* a retry belongs to the VIP module's watcher */
}

static void vips_claim(struct vrrp *v)
{
	int err = v->ops->vip_add(v->ctx);

	if (err) {
		v->stats.vip_errors++;
		log_errno(err, "vrrp %u: adding VIPs", v->vrid);
		return;
	}
	v->vip_held = true;
}

/* ---- entry actions and the single writer of v->state ------------------ */

static void enter_init(struct vrrp *v)
{
	loop_timer_cancel(v->loop, &v->master_down);
	loop_timer_cancel(v->loop, &v->adver);
	vips_release(v);
}

/* 6.4.1 / 6.4.3: Master_Down_Timer = Master_Down_Interval, with
 * Master_Adver_Interval set by the caller (ours, or the new master's). */
static void enter_backup(struct vrrp *v)
{
	loop_timer_cancel(v->loop, &v->adver);
	vips_release(v);
	arm_master_down(v, MD_SILENCE);
}

/* 6.4.2 "Master_Down_Timer fires": send an advert, gratuitous ARP, arm
 * Adver_Timer.  The VIPs go up first so the GARP announces a held address. */
static void enter_master(struct vrrp *v)
{
	loop_timer_cancel(v->loop, &v->master_down);
	vips_claim(v);
	send_advert(v, v->priority);
	v->ops->garp_burst(v->ctx);
	v->master = v->primary;
	v->master6 = v->primary6;
	v->master_priority = v->priority;
	v->split_seen_ms = now_ms(v); /* this burst counts for any MASTER met now */
	loop_timer_arm(v->loop, &v->adver, v->adver_interval_ms);
}

static void enter_fault(struct vrrp *v)
{
	loop_timer_cancel(v->loop, &v->master_down);
	loop_timer_cancel(v->loop, &v->adver);
	vips_release(v);
}

static void (*const enter_actions[VRRP_NSTATES])(struct vrrp *) = {
	[VRRP_INIT] = enter_init,
	[VRRP_BACKUP] = enter_backup,
	[VRRP_MASTER] = enter_master,
	[VRRP_FAULT] = enter_fault,
};

static void vrrp_set_state(struct vrrp *v, enum vrrp_state to, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void vrrp_set_state(struct vrrp *v, enum vrrp_state to, const char *fmt, ...)
{
	enum vrrp_state from = v->state;
	va_list ap;

	if (to == from)
		return;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	v->state = to;
	v->since_ms = now_ms(v);
	v->stats.transitions++;
	v->stats.entered[to]++;
	log_info("vrrp %u%s: %s -> %s (%s)", v->vrid, v->family == AF_INET6 ? " (IPv6)" : "",
		 state_names[from], state_names[to], v->reason);
	enter_actions[to](v);
	if (v->ops->notify)
		v->ops->notify(v->ctx, from, to, v->reason);
}

/* ---- creation --------------------------------------------------------- */

static void master_down_fired(struct loop *loop, struct loop_timer *t)
{
	struct vrrp *v = t->arg;
	uint64_t now = now_ms(v);

	/* The MASTER said it restarts (vrrp_hold_restart): wait for it,
	 * whatever armed the timer, unless it released with priority 0. */
	if (v->state == VRRP_BACKUP && v->md_cause != MD_RELEASED &&
	    now < v->restart_hold_until_ms) {
		loop_timer_arm(loop, t, v->restart_hold_until_ms - now);
		return;
	}
	vrrp_input_master_down(v);
}

void vrrp_hold_restart(struct vrrp *v, uint32_t hold_ms)
{
	if (v->state != VRRP_BACKUP)
		return;
	v->restart_hold_until_ms = now_ms(v) + hold_ms;
	log_info("vrrp %u: the MASTER restarts: no takeover for %u ms unless it comes back "
		 "or releases",
		 v->vrid, (unsigned)hold_ms);
}

static void adver_fired(struct loop *loop, struct loop_timer *t)
{
	vrrp_input_adver_timer(t->arg);
}

static void peers_seed(struct vrrp *v, const struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->ha.npeers && i < CFG_MAX_PEERS; i++) {
		v->ucast[i] = cfg->ha.peers[i];
		v->peers[i].addr = cfg->ha.peers[i];
	}
	v->nucast = v->npeers = i;
}

int vrrp_create(struct loop *loop, const struct config *cfg, struct in_addr primary,
		const struct vrrp_ops *ops, void *ctx, struct vrrp **out)
{
	struct vrrp *v;
	uint32_t ivl = cfg->ha.advert_interval_ms;

	if (cfg->ha.vrid < 1 || cfg->ha.vrid > 255 || cfg->ha.priority < 1 ||
	    cfg->ha.priority > 255 || ivl < 10 || ivl > 10u * VRRP_MAX_INTERVAL_CS ||
	    cfg->ha.nvips > CFG_MAX_VIPS)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->loop = loop;
	v->ops = ops;
	v->ctx = ctx;
	v->state = VRRP_INIT;
	v->vrid = (uint8_t)cfg->ha.vrid;
	v->priority = (uint8_t)cfg->ha.priority;
	v->base_priority = v->priority;
	v->preempt = cfg->ha.preempt;
	v->preempt_delay_ms = cfg->ha.preempt_delay_ms;
	v->link_up = true;
	v->cksum = cfg->ha.checksum_rfc5798 ? VRRP_CKSUM_PSEUDO : VRRP_CKSUM_PLAIN;
	v->adver_interval_ms = ivl - ivl % 10; /* the wire carries centiseconds */
	v->master_adver_interval_ms = v->adver_interval_ms;
	v->primary = primary;
	for (size_t i = 0; i < cfg->ha.nvips; i++)
		v->vips[i] = cfg->ha.vips[i].addr;
	v->nvips = cfg->ha.nvips;
	peers_seed(v, cfg);
	v->interop = cfg->ha.interop;
	vrrp_auth_init(&v->auth, VRRP_AUTH_FRESH_MS);
	loop_timer_init(&v->master_down, master_down_fired, v);
	loop_timer_init(&v->adver, adver_fired, v);
	*out = v;
	return 0;
}

/* FAULT -> BACKUP, as after Initialize: our own interval, a fresh preempt
 * delay.  The caller checked that the link is up and we have an address. */
static void fault_leave(struct vrrp *v, const char *why)
{
	v->master_adver_interval_ms = v->adver_interval_ms;
	v->preempt_at_ms = now_ms(v) + v->preempt_delay_ms;
	vrrp_set_state(v, VRRP_BACKUP, "%s", why);
}

void vrrp_destroy(struct vrrp *v)
{
	if (!v)
		return;
	loop_timer_cancel(v->loop, &v->master_down);
	loop_timer_cancel(v->loop, &v->adver);
	free(v);
}

/* Without an address of our own we can neither send a valid advert nor
 * break a tie (6.4.3): that is a fault, like a missing carrier. */
void vrrp_set_primary(struct vrrp *v, struct in_addr primary)
{
	bool had = v->primary.s_addr != 0;

	v->primary = primary;
	if (had && !primary.s_addr && (v->state == VRRP_BACKUP || v->state == VRRP_MASTER))
		vrrp_set_state(v, VRRP_FAULT, "no IPv4 address left on the interface");
	else if (!had && primary.s_addr && v->link_up && !v->track_fault && v->state == VRRP_FAULT)
		fault_leave(v, "IPv4 address added");
}

void vrrp_hold_preempt(struct vrrp *v, uint64_t until_ms) { v->sync_hold_until_ms = until_ms; }

/* ---- the IPv6 family (docs/vrrp.md#ipv6) ------------------------------ */

int vrrp_create6(struct loop *loop, const struct config *cfg, const struct in6_addr *linklocal,
		 const struct vrrp_ops *ops, void *ctx, struct vrrp **out)
{
	struct in_addr none = { 0 };
	struct vrrp *v;
	int err;

	if (cfg->ha.nvips6 < 1 || cfg->ha.nvips6 > CFG_MAX_VIPS)
		return -EINVAL;
	if ((err = vrrp_create(loop, cfg, none, ops, ctx, &v)) < 0)
		return err;
	v->family = AF_INET6;
	v->cksum = VRRP_CKSUM_PSEUDO; /* IPv6 has no other variant */
	v->primary6 = *linklocal;
	for (size_t i = 0; i < cfg->ha.nvips6; i++)
		v->vips6[i] = cfg->ha.vips6[i].addr6;
	v->nvips = cfg->ha.nvips6;
	v->nucast = v->npeers = 0; /* the unicast peers are IPv4: multicast only */
	*out = v;
	return 0;
}

void vrrp_set_primary6(struct vrrp *v, const struct in6_addr *linklocal)
{
	bool had = has_primary(v), has = !IN6_IS_ADDR_UNSPECIFIED(linklocal);

	v->primary6 = *linklocal;
	if (had && !has && (v->state == VRRP_BACKUP || v->state == VRRP_MASTER))
		vrrp_set_state(v, VRRP_FAULT, "no IPv6 link-local address left on the interface");
	else if (!had && has && v->link_up && !v->track_fault && v->state == VRRP_FAULT)
		fault_leave(v, "IPv6 link-local address added");
}

/* ---- inputs: start, stop, link, timers -------------------------------- */

/* 6.4.1 Initialize. */
void vrrp_start(struct vrrp *v)
{
	switch (v->state) {
	case VRRP_INIT:
		v->preempt_at_ms = now_ms(v) + v->preempt_delay_ms;
		v->master_adver_interval_ms = v->adver_interval_ms;
		if (!v->link_up)
			vrrp_set_state(v, VRRP_FAULT, "startup with link down");
		else if (!has_primary(v))
			vrrp_set_state(v, VRRP_FAULT, "startup without an %s address",
				       v->family == AF_INET6 ? "IPv6 link-local" : "IPv4");
		else if (v->track_fault)
			vrrp_set_state(v, VRRP_FAULT, "startup with a tracked item down");
		else if (v->priority == 255)
			vrrp_set_state(v, VRRP_MASTER, "startup as address owner");
		else
			vrrp_set_state(v, VRRP_BACKUP, "startup");
		break;
	case VRRP_BACKUP:
	case VRRP_MASTER:
	case VRRP_FAULT:
	case VRRP_NSTATES:
		break;
	}
}

void vrrp_start_master(struct vrrp *v, const char *why)
{
	if (v->state == VRRP_INIT && v->link_up && has_primary(v)) {
		v->preempt_at_ms = now_ms(v) + v->preempt_delay_ms;
		v->master_adver_interval_ms = v->adver_interval_ms;
		vrrp_set_state(v, VRRP_MASTER, "%s", why);
		return;
	}
	vrrp_start(v);
}

/* 6.4.2 / 6.4.3 "Shutdown event". */
void vrrp_stop(struct vrrp *v)
{
	switch (v->state) {
	case VRRP_MASTER:
		/* Priority 0 first: a backup takes over after Skew_Time only. */
		loop_timer_cancel(v->loop, &v->adver);
		send_advert(v, 0);
		vrrp_set_state(v, VRRP_INIT, "shutdown, released with priority 0");
		break;
	case VRRP_BACKUP:
	case VRRP_FAULT:
		vrrp_set_state(v, VRRP_INIT, "shutdown");
		break;
	case VRRP_INIT:
	case VRRP_NSTATES:
		break;
	}
}

void vrrp_link_down(struct vrrp *v)
{
	v->link_up = false;
	switch (v->state) {
	case VRRP_BACKUP:
	case VRRP_MASTER:
		vrrp_set_state(v, VRRP_FAULT, "link down");
		break;
	case VRRP_INIT: /* remembered for vrrp_start() */
	case VRRP_FAULT:
	case VRRP_NSTATES:
		break;
	}
}

void vrrp_link_up(struct vrrp *v)
{
	v->link_up = true;
	switch (v->state) {
	case VRRP_FAULT:
		/* else the address, or the tracked item, when it comes, ends FAULT */
		if (has_primary(v) && !v->track_fault)
			fault_leave(v, "link up");
		break;
	case VRRP_INIT:
	case VRRP_BACKUP:
	case VRRP_MASTER:
	case VRRP_NSTATES:
		break;
	}
}

void vrrp_input_master_down(struct vrrp *v)
{
	switch (v->state) {
	case VRRP_BACKUP:
		if (v->md_cause == MD_RELEASED)
			vrrp_set_state(v, VRRP_MASTER,
				       "master released with priority 0, "
				       "Skew_Time %u ms",
				       (unsigned)skew_ms(v));
		else if (v->md_cause == MD_SUCCESSOR || v->md_cause == MD_LIVENESS)
			vrrp_set_state(v, VRRP_MASTER, "master %s, named successor",
				       v->md_cause == MD_LIVENESS ? "silent (liveness and advert)"
								  : "lost (sync session reset)");
		else if (v->md_cause == MD_ALONE)
			vrrp_set_state(v, VRRP_MASTER,
				       "master lost (sync session reset), no other live backup");
		else if (v->md_cause == MD_LOST)
			vrrp_set_state(v, VRRP_MASTER,
				       "master lost (sync session reset), "
				       "Skew_Time %u ms",
				       (unsigned)skew_ms(v));
		else
			vrrp_set_state(v, VRRP_MASTER,
				       "no advert for %u ms (Master_Down_Interval)",
				       (unsigned)mdi_ms(v));
		break;
	case VRRP_INIT:
	case VRRP_MASTER:
	case VRRP_FAULT:
	case VRRP_NSTATES:
		break;
	}
}

void vrrp_input_adver_timer(struct vrrp *v)
{
	switch (v->state) {
	case VRRP_MASTER:
		send_advert(v, v->priority);
		loop_timer_arm(v->loop, &v->adver, v->adver_interval_ms);
		break;
	case VRRP_INIT:
	case VRRP_BACKUP:
	case VRRP_FAULT:
	case VRRP_NSTATES:
		break;
	}
}

void vrrp_set_priority(struct vrrp *v, uint8_t priority, const char *why)
{
	if (priority < 1 || priority > 254 || priority == v->priority)
		return;
	log_info("vrrp %u: priority %u -> %u (base %u; %s)", v->vrid, v->priority, priority,
		 v->base_priority, why);
	v->priority = priority;
	/* A MASTER says so at once (a better BACKUP with preempt takes over
	 * now, not at the next advert): what the advert timer does. */
	vrrp_input_adver_timer(v);
}

void vrrp_track_fault(struct vrrp *v, bool on, const char *why)
{
	v->track_fault = on;
	switch (v->state) {
	case VRRP_MASTER:
		if (!on)
			break;
		loop_timer_cancel(v->loop, &v->adver);
		send_advert(v, 0); /* the link works: hand over after Skew_Time */
		vrrp_set_state(v, VRRP_FAULT, "%s", why);
		break;
	case VRRP_BACKUP:
		if (on)
			vrrp_set_state(v, VRRP_FAULT, "%s", why);
		break;
	case VRRP_FAULT:
		if (!on && v->link_up && has_primary(v))
			fault_leave(v, why);
		break;
	case VRRP_INIT: /* remembered for vrrp_start() */
	case VRRP_NSTATES:
		break;
	}
}

/* Issue #4: the crash detector's reset means the master's process died;
 * act as on its priority-0 advert (6.4.2) instead of waiting 3 intervals. */
void vrrp_master_lost(struct vrrp *v)
{
	switch (v->state) {
	case VRRP_BACKUP:
		arm_master_down(v, MD_LOST);
		break;
	case VRRP_INIT:
	case VRRP_MASTER:
	case VRRP_FAULT:
	case VRRP_NSTATES:
		break;
	}
}

/* Issue 15: only the MASTER's named successor skips Skew_Time. */
void vrrp_successor_takeover(struct vrrp *v)
{
	if (v->state == VRRP_BACKUP)
		arm_master_down(v, MD_SUCCESSOR);
}

/* Issue 16: a [vrrp NAME] instance's MASTER is gone and no other node
 * could move (successor_inst_now()). */
void vrrp_alone_takeover(struct vrrp *v)
{
	if (v->state == VRRP_BACKUP)
		arm_master_down(v, MD_ALONE);
}

/* Issue 15: the named successor's fast liveness saw the MASTER silent,
 * its advert overdue and its kernel mute (ha/liveness.h). */
void vrrp_liveness_takeover(struct vrrp *v)
{
	if (v->state == VRRP_BACKUP)
		arm_master_down(v, MD_LIVENESS);
}

/* ---- input: advertisement received ------------------------------------ */

/* RFC 5798 6.4.3: higher priority wins; on a tie the higher primary
 * address, compared as an unsigned number. */
static bool advert_beats_us(const struct vrrp *v, const struct vrrp_advert *a)
{
	if (a->priority != v->priority)
		return a->priority > v->priority;
	if (v->family == AF_INET6) /* 128-bit unsigned, big-endian */
		return memcmp(&a->src6, &v->primary6, sizeof(a->src6)) > 0;
	return ntohl(a->src.s_addr) > ntohl(v->primary.s_addr);
}

static void learn_master(struct vrrp *v, const struct vrrp_advert *a)
{
	v->master_adver_interval_ms = 10u * a->interval_cs;
	v->master = a->src;
	v->master6 = a->src6;
	v->master_priority = a->priority;
}

/* 6.4.2 Backup: "If an ADVERTISEMENT is received". */
static void backup_advert(struct vrrp *v, const struct vrrp_advert *a)
{
	bool delayed = now_ms(v) < v->preempt_at_ms || now_ms(v) < v->sync_hold_until_ms;

	if (a->priority == 0) {
		arm_master_down(v, MD_RELEASED);
	} else if (v->restart_hold_until_ms && a->priority >= v->priority) {
		v->restart_hold_until_ms = 0; /* it is back: RFC timing again */
		learn_master(v, a);
		arm_master_down(v, MD_SILENCE);
	} else if (!v->preempt || delayed || a->priority >= v->priority) {
		learn_master(v, a);
		arm_master_down(v, MD_SILENCE);
	} else {
		v->stats.rx_preempt_discards++; /* let Master_Down_Timer preempt it */
	}
}

/* A lower-priority MASTER means a split brain (only masters advertise).
 * Assert at once so it steps down, and re-announce the VIPs with a GARP
 * burst when the episode is new: its GARPs may have moved the clients. */
static void master_sees_worse(struct vrrp *v, const struct vrrp_advert *a)
{
	uint64_t now = now_ms(v);
	uint64_t suppressed = 0;
	char b[INET6_ADDRSTRLEN], m[48];

	send_advert(v, v->priority);
	loop_timer_arm(v->loop, &v->adver, v->adver_interval_ms);
	v->stats.split_brain++;
	if (now - v->split_seen_ms > mdi_ms(v)) {
		v->ops->garp_burst(v->ctx);
		if (log_limit_ok(&v->limit[LIM_SPLIT], now, LOG_LIMIT_LONG_MS, &suppressed))
			log_warnx("vrrp %u: another MASTER %s (priority %u) seen, asserting%s",
				  v->vrid, src_text(a, b), a->priority, more(m, suppressed));
	}
	v->split_seen_ms = now;
}

/* 6.4.3 Master: "If an ADVERTISEMENT is received". */
static void master_advert(struct vrrp *v, const struct vrrp_advert *a)
{
	char b[INET6_ADDRSTRLEN];

	if (a->priority == 0) {
		send_advert(v, v->priority);
		loop_timer_arm(v->loop, &v->adver, v->adver_interval_ms);
	} else if (advert_beats_us(v, a)) {
		/* Not in the RFC: one last advert at our priority.  If two
		 * MASTERs met after a partition, the winner may never have
		 * heard us; this tells it to re-announce the VIPs that our
		 * GARPs took (master_sees_worse). */
		send_advert(v, v->priority);
		loop_timer_cancel(v->loop, &v->adver);
		learn_master(v, a);
		vrrp_set_state(v, VRRP_BACKUP, "advert from %s with priority %u%s", src_text(a, b),
			       a->priority,
			       a->priority == v->priority ? " and higher address" : "");
	} else {
		master_sees_worse(v, a);
	}
}

static bool same_source(const struct vrrp_peer *p, const struct vrrp_advert *a)
{
	if (a->family == AF_INET6)
		return IN6_ARE_ADDR_EQUAL(&p->addr6, &a->src6);
	return p->addr.s_addr == a->src.s_addr;
}

static struct vrrp_peer *peer_slot(struct vrrp *v, const struct vrrp_advert *a)
{
	struct vrrp_peer *oldest = NULL;

	for (size_t i = 0; i < v->npeers; i++) {
		if (same_source(&v->peers[i], a))
			return &v->peers[i];
		if (!oldest || v->peers[i].last_seen_ms < oldest->last_seen_ms)
			oldest = &v->peers[i];
	}
	if (v->npeers < VRRP_MAX_PEERS)
		oldest = &v->peers[v->npeers++];
	memset(oldest, 0, sizeof(*oldest)); /* full: the longest silent goes */
	oldest->addr = a->src;
	oldest->addr6 = a->src6;
	return oldest;
}

static void peer_heard(struct vrrp *v, const struct vrrp_advert *a)
{
	struct vrrp_peer *p = peer_slot(v, a);

	p->priority = a->priority;
	p->interval_cs = a->interval_cs;
	p->last_seen_ms = now_ms(v) ? now_ms(v) : 1;
	p->adverts++;
}

static bool same_vips(const struct vrrp *v, const struct vrrp_advert *a)
{
	if (a->naddrs != v->nvips)
		return false;
	for (size_t i = 0; i < v->nvips; i++) {
		size_t j = 0;

		while (j < a->naddrs &&
		       (v->family == AF_INET6 ? !IN6_ARE_ADDR_EQUAL(&a->addrs6[j], &v->vips6[i])
					      : a->addrs[j].s_addr != v->vips[i].s_addr))
			j++;
		if (j == a->naddrs)
			return false;
	}
	return true;
}

/* Mismatches that RFC 5798 7.1 / 6.4.2 let us accept: count, log once. */
static void check_config_match(struct vrrp *v, const struct vrrp_advert *a)
{
	uint64_t sup = 0;
	char b[INET6_ADDRSTRLEN], m[48];

	if (a->priority && !same_vips(v, a)) {
		v->stats.rx_addr_mismatch++;
		if (log_limit_ok(&v->limit[LIM_ADDRS], now_ms(v), LOG_LIMIT_LONG_MS, &sup))
			log_warnx("vrrp %u: advert from %s lists other VIPs than ours%s", v->vrid,
				  src_text(a, b), more(m, sup));
	}
	if (10u * a->interval_cs != v->adver_interval_ms) {
		v->stats.rx_interval_mismatch++;
		if (log_limit_ok(&v->limit[LIM_INTERVAL], now_ms(v), LOG_LIMIT_LONG_MS, &sup))
			log_warnx("vrrp %u: advert from %s has interval %u ms, ours is %u ms%s",
				  v->vrid, src_text(a, b), 10u * a->interval_cs,
				  (unsigned)v->adver_interval_ms, more(m, sup));
	}
}

void vrrp_input_advert(struct vrrp *v, const struct vrrp_advert *a)
{
	v->stats.rx_adverts++;
	peer_heard(v, a);
	check_config_match(v, a);
	switch (v->state) {
	case VRRP_BACKUP:
		backup_advert(v, a);
		break;
	case VRRP_MASTER:
		master_advert(v, a);
		break;
	case VRRP_INIT:
	case VRRP_FAULT:
	case VRRP_NSTATES:
		break; /* not in the election: only the peer table and counters moved */
	}
}

/* ---- packet validation and drop accounting ---------------------------- */

/* quiet: counted, not logged (see UNAUTH_QUIET_MS). */
static void drop(struct vrrp *v, enum vrrp_rx_result why, const struct vrrp_advert *a, bool quiet)
{
	uint64_t sup = 0;
	char b[INET6_ADDRSTRLEN], m[48];
	bool known = a->family == AF_INET6 ? !IN6_IS_ADDR_UNSPECIFIED(&a->src6) : a->src.s_addr;

	v->stats.rx_drops[why]++;
	if (!quiet && log_limit_ok(&v->drop_limit[why], now_ms(v), LOG_LIMIT_LONG_MS, &sup))
		log_warnx("vrrp %u: dropped %spacket from %s: %s%s", v->vrid,
			  a->family == AF_INET6 ? "IPv6 " : "", known ? src_text(a, b) : "?",
			  vrrp_rx_result_str(why), more(m, sup));
}

static bool from_unicast_peer(const struct vrrp *v, struct in_addr src)
{
	for (size_t i = 0; i < v->nucast; i++)
		if (v->ucast[i].s_addr == src.s_addr)
			return true;
	return false;
}

/* An advert from a balancer whose sync messages fail our MAC: it runs
 * with another key_file, and neither side can tell whose key is right.
 * A BACKUP neither follows it nor takes over from it while it advertises
 * (whatever its priority), so a node with the wrong key that joins never
 * takes the VIP; a MASTER ignores it, as any unproven source. */
static void key_differs_advert(struct vrrp *v, const struct vrrp_advert *a)
{
	uint64_t sup = 0;
	char b[INET6_ADDRSTRLEN], m[48];

	if (v->state != VRRP_BACKUP || !a->priority)
		return;
	arm_master_down(v, MD_SILENCE);
	if (log_limit_ok(&v->limit[LIM_KEY], now_ms(v), LOG_LIMIT_LONG_MS, &sup))
		log_warnx("vrrp %u: %s advertises with priority %u but its sync messages fail "
			  "our key (key_file differs?): not following it, not taking over%s",
			  v->vrid, src_text(a, b), a->priority, more(m, sup));
}

/* A balancer with the key proves it within one round trip of its first
 * advert: until then its drops are counted but not logged, so a node that
 * joins or restarts does not read as an attack in the others' logs. */
#define UNAUTH_QUIET_MS 1000

/* Issue 20: by default only a balancer that proved the cluster key on
 * the sync channel takes part (a look-up, no round trip).  An advert from
 * any other source is kept aside, in case that source proves the key
 * next (vrrp_source_proven), and the caller is told so it can ask. */
static bool source_counts(struct vrrp *v, const struct vrrp_advert *a, bool *quiet)
{
	if (v->interop)
		return true;
	if (a->family == AF_INET6) /* no IPv6 proofs: see docs/vrrp.md#ipv6 */
		return false;
	if (vrrp_auth_ok(&v->auth, a->src, now_ms(v)))
		return true;
	if (vrrp_auth_differs(&v->auth, a->src, now_ms(v))) {
		key_differs_advert(v, a);
		return false;
	}
	*quiet = vrrp_auth_hold(&v->auth, a, now_ms(v)) < UNAUTH_QUIET_MS;
	if (v->ops->unproven_source)
		v->ops->unproven_source(v->ctx, a->src);
	return false;
}

static bool from_us(const struct vrrp *v, const struct vrrp_advert *a)
{
	if (a->family == AF_INET6)
		return IN6_ARE_ADDR_EQUAL(&a->src6, &v->primary6);
	return a->src.s_addr == v->primary.s_addr;
}

void vrrp_recv_parsed(struct vrrp *v, enum vrrp_rx_result r, const struct vrrp_advert *a)
{
	bool quiet = false;

	if (r == VRRP_RX_OK && a->family != v->family)
		r = VRRP_RX_NOT_VRRP; /* the other family's election */
	else if (r == VRRP_RX_OK && from_us(v, a))
		r = VRRP_RX_OWN;
	else if (r == VRRP_RX_OK && v->nucast && !from_unicast_peer(v, a->src))
		r = VRRP_RX_NOT_PEER;
	else if (r == VRRP_RX_OK && !source_counts(v, a, &quiet))
		r = VRRP_RX_UNAUTH;
	if (r != VRRP_RX_OK) {
		drop(v, r, a, quiet);
		return;
	}
	vrrp_input_advert(v, a);
}

void vrrp_recv_packet(struct vrrp *v, const void *pkt, size_t len)
{
	struct vrrp_advert a;
	enum vrrp_rx_result r = vrrp_packet_parse(pkt, len, v->vrid, v->cksum, &a);

	vrrp_recv_parsed(v, r, &a);
}

void vrrp_source_proven(struct vrrp *v, struct in_addr src)
{
	struct vrrp_advert a;

	vrrp_auth_prove(&v->auth, src, now_ms(v));
	if (!v->interop && vrrp_auth_take(&v->auth, src, now_ms(v), &a))
		vrrp_input_advert(v, &a); /* the joining node counts from its first advert */
}

void vrrp_source_key_differs(struct vrrp *v, struct in_addr src)
{
	struct vrrp_advert a;

	vrrp_auth_key_differs(&v->auth, src, now_ms(v));
	if (!v->interop && !vrrp_auth_ok(&v->auth, src, now_ms(v)) &&
	    vrrp_auth_take(&v->auth, src, now_ms(v), &a))
		key_differs_advert(v, &a);
}

/* ---- accessors -------------------------------------------------------- */

void vrrp_advert_fill(const struct vrrp *v, uint8_t priority, struct vrrp_advert *adv)
{
	memset(adv, 0, offsetof(struct vrrp_advert, addrs));
	adv->vrid = v->vrid;
	adv->priority = priority;
	adv->interval_cs = (uint16_t)(v->adver_interval_ms / 10);
	adv->cksum = v->cksum;
	adv->naddrs = (uint8_t)v->nvips;
	adv->family = v->family;
	if (v->family == AF_INET6)
		memcpy(adv->addrs6, v->vips6, v->nvips * sizeof(v->vips6[0]));
	else
		memcpy(adv->addrs, v->vips, v->nvips * sizeof(v->vips[0]));
}

enum vrrp_state vrrp_get_state(const struct vrrp *v) { return v->state; }

const struct vrrp_stats *vrrp_get_stats(const struct vrrp *v) { return &v->stats; }

static uint64_t deadline(const struct loop_timer *t)
{
	return loop_timer_armed(t) ? t->when_ms : 0;
}

void vrrp_get_status(const struct vrrp *v, struct vrrp_status *out)
{
	memset(out, 0, sizeof(*out));
	out->state = v->state;
	out->vrid = v->vrid;
	out->priority = v->priority;
	out->base_priority = v->base_priority;
	out->preempt = v->preempt;
	out->vip_held = v->vip_held;
	out->link_up = v->link_up;
	out->track_fault = v->track_fault;
	out->adver_interval_ms = v->adver_interval_ms;
	out->master_adver_interval_ms = v->master_adver_interval_ms;
	out->skew_time_ms = skew_ms(v);
	out->master_down_interval_ms = mdi_ms(v);
	out->primary = v->primary;
	out->master = v->master;
	out->family = v->family;
	out->primary6 = v->primary6;
	out->master6 = v->master6;
	out->master_priority = v->master_priority;
	out->master_down_at_ms = deadline(&v->master_down);
	out->adver_at_ms = deadline(&v->adver);
	out->preempt_at_ms = v->preempt_at_ms;
	out->since_ms = v->since_ms;
	snprintf(out->reason, sizeof(out->reason), "%s", v->reason);
}

/* A peer not heard since we became MASTER is not MASTER now, however
 * recent its last advert: a live one would have advertised again (and
 * made us step down or stayed below us).  This is the fast takeover's
 * case, where we win well inside its 3 intervals. */
static enum vrrp_peer_role peer_role(const struct vrrp *v, const struct vrrp_peer *p, uint64_t now)
{
	if (!p->last_seen_ms)
		return VRRP_PEER_UNKNOWN;
	if (p->priority == 0)
		return VRRP_PEER_RELEASED;
	if (v->state == VRRP_MASTER && p->last_seen_ms <= v->since_ms)
		return VRRP_PEER_SILENT;
	if (now - p->last_seen_ms <= 3u * 10u * p->interval_cs)
		return VRRP_PEER_MASTER;
	return VRRP_PEER_SILENT;
}

size_t vrrp_get_peers(const struct vrrp *v, struct vrrp_peer *out, size_t max)
{
	size_t n = v->npeers < max ? v->npeers : max;

	for (size_t i = 0; i < n; i++) {
		out[i] = v->peers[i];
		out[i].role = peer_role(v, &v->peers[i], now_ms(v));
	}
	return n;
}
