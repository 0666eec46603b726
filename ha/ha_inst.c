/* ha_inst.c - one VRRP instance: its election's side effects (VIPs,
 * gratuitous ARP, the notify script, the daemon's hooks).  See ha_int.h. */
#include "ha_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "garp.h"
#include "ha6.h"
#include "kwatch.h"
#include "log.h"
#include "notify.h"
#include "vip.h"
#include "vrrp.h"
#include "vrrp_socket.h"

/* ---- VIP and ARP, as the election asks ---- */

int ha_inst_vips_apply(struct ha_inst *in, bool add)
{
	const struct config *cfg = in->cfg;
	int first_err = 0;

	for (size_t i = 0; i < cfg->ha.nvips; i++) {
		const struct cfg_vip *cv = &cfg->ha.vips[i];
		int err = add ? vip_add(in->ha->vip, cv->addr, cv->prefixlen)
			      : vip_remove(in->ha->vip, cv->addr, cv->prefixlen);

		if (err && !first_err)
			first_err = err; /* vip.c logged it */
	}
	if (!first_err) /* follow mode: the IPv6 VIPs go with the IPv4 ones */
		first_err = ha6_follow_vips(in->v6, add);
	else if (!add)
		ha6_follow_vips(in->v6, add);
	return first_err;
}

static int op_vip_add(void *ctx)
{
	struct ha_inst *in = ctx;
	int err = ha_inst_vips_apply(in, true);

	if (!err) {
		in->vip_on = true;
		log_info("%s: VIP added on %s (label %s)", in->name, in->cfg->ha.interface,
			 vip_label(in->ha->vip));
	}
	return err;
}

void ha_inst_release_now(struct ha_inst *in)
{
	loop_timer_cancel(in->ha->loop, &in->hold);
	if (in->vip_on && ha_inst_vips_apply(in, false) == 0)
		log_info("%s: VIP removed from %s", in->name, in->cfg->ha.interface);
	in->vip_on = false;
	ha_release_done(in->ha);
}

static void hold_expired(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	ha_inst_release_now(t->arg);
}

/* On a graceful stop the removal waits Master_Down_Interval: by then the
 * best backup has taken over (it needs only its Skew_Time after our
 * priority-0 advert) and announced itself with gratuitous ARP. */
static int op_vip_remove(void *ctx)
{
	struct ha_inst *in = ctx;
	struct vrrp_status st;

	garp_stop(in->garp);
	ha6_follow_na_stop(in->v6);
	if (in->ha->handed_over) { /* the next process holds the VIP now */
		in->vip_on = false;
		return 0;
	}
	if (in->ha->releasing && in->vip_on) {
		vrrp_get_status(in->vrrp, &st);
		loop_timer_arm(in->ha->loop, &in->hold, 3u * st.adver_interval_ms);
		return 0;
	}
	in->vip_on = false;
	return ha_inst_vips_apply(in, false);
}

static void op_garp_burst(void *ctx)
{
	struct ha_inst *in = ctx;
	struct in_addr ips[CFG_MAX_VIPS];

	for (size_t i = 0; i < in->cfg->ha.nvips; i++)
		ips[i] = in->cfg->ha.vips[i].addr;
	garp_start(in->garp, ips, in->cfg->ha.nvips);
	ha6_follow_burst(in->v6);
}

static int op_send_advert(void *ctx, uint8_t priority)
{
	struct ha_inst *in = ctx;
	struct vrrp_advert adv;

	if (in->ha->handed_over)
		return 0; /* no priority 0: the node is not leaving */
	vrrp_advert_fill(in->vrrp, priority, &adv);
	ha6_follow_advert(in->v6, priority);
	return vrrp_socket_send(in->ha->sock, &adv);
}

/* keepalived's names: leaving the election at shutdown is STOP. */
static const char *role_name(enum vrrp_state s)
{
	return s == VRRP_INIT ? "STOP" : vrrp_state_name(s);
}

static void notify_change(struct ha_inst *in, enum vrrp_state from, enum vrrp_state to,
			  const char *reason)
{
	struct notify_event ev = { 0 };
	struct vrrp_status st;

	if (!in->notify)
		return;
	vrrp_get_status(in->vrrp, &st);
	snprintf(ev.role, sizeof(ev.role), "%s", role_name(to));
	snprintf(ev.prev, sizeof(ev.prev), "%s", vrrp_state_name(from));
	ev.priority = st.priority;
	ev.base_priority = st.base_priority;
	snprintf(ev.reason, sizeof(ev.reason), "%s", reason);
	notify_push(in->notify, &ev);
}

/* Instance 0 drives the node's role (sync, systemd); every instance
 * is journalled. */
static void op_notify(void *ctx, enum vrrp_state from, enum vrrp_state to, const char *reason)
{
	struct ha_inst *in = ctx;
	const struct ha_hooks *h = &in->ha->hooks;

	if (from == VRRP_MASTER) {
		garp_stop(in->garp);
		ha6_follow_na_stop(in->v6);
	}
	notify_change(in, from, to, reason);
	if (h->instance_state)
		h->instance_state(h->arg, in->idx, in->name, from, to, reason);
	if (in->idx == 0 && h->state)
		h->state(h->arg, from, to, reason);
}

static void op_unproven_source(void *ctx, struct in_addr src)
{
	struct ha_inst *in = ctx;

	if (in->ha->hooks.unproven)
		in->ha->hooks.unproven(in->ha->hooks.arg, src);
}

static const struct vrrp_ops inst_vrrp_ops = {
	.send_advert = op_send_advert,
	.vip_add = op_vip_add,
	.vip_remove = op_vip_remove,
	.garp_burst = op_garp_burst,
	.notify = op_notify,
	.unproven_source = op_unproven_source,
};

/* ---- the kernel's view of its VIPs ---- */

bool ha_inst_owns(const struct ha_inst *in, const struct kwatch_addr *a)
{
	if (a->family == AF_INET6)
		return ha6_owns(in->v6, &a->addr6);
	for (size_t i = 0; i < in->cfg->ha.nvips; i++)
		if (in->cfg->ha.vips[i].addr.s_addr == a->addr.s_addr)
			return true;
	return false;
}

/* A VIP removed by hand (or by another tool) while we are MASTER is put
 * back: clients are pointed at us. */
void ha_inst_restore(struct ha_inst *in, const char *why)
{
	if (!in->vip_on || in->ha->releasing || vrrp_get_state(in->vrrp) != VRRP_MASTER)
		return;
	in->vip_restored++;
	log_warnx("%s: %s VIP %s while MASTER: putting it back", in->cfg->ha.interface, in->name,
		  why);
	if (ha_inst_vips_apply(in, true) == 0)
		op_garp_burst(in);
}

/* The same for its IPv6 VIPs (ha6.c decides whether we hold them). */
void ha_inst_restore6(struct ha_inst *in)
{
	if (in->ha->releasing || !ha6_restore(in->v6))
		return;
	in->vip_restored++;
	log_warnx("%s: %s IPv6 VIP removed while we hold it: put back", in->cfg->ha.interface,
		  in->name);
}

bool ha_inst_vips_present(struct ha_inst *in)
{
	for (size_t i = 0; i < in->cfg->ha.nvips; i++)
		if (vip_present(in->ha->vip, in->cfg->ha.vips[i].addr,
				in->cfg->ha.vips[i].prefixlen) <= 0)
			return false;
	return in->cfg->ha.nvips > 0;
}

void ha_inst_resync(struct ha_inst *in)
{
	for (size_t i = 0; i < in->cfg->ha.nvips; i++)
		if (vip_present(in->ha->vip, in->cfg->ha.vips[i].addr,
				in->cfg->ha.vips[i].prefixlen) == 0)
			ha_inst_restore(in, "missing after a netlink overrun");
	if (in->ha->releasing || !ha6_resync(in->v6))
		return;
	in->vip_restored++;
	log_warnx("%s: %s IPv6 VIP missing after a netlink overrun: put back",
		  in->cfg->ha.interface, in->name);
}

/* ---- life cycle ---- */

static void vips_text(const struct config *cfg, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < cfg->ha.nvips && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "," : "",
					cfg->ha.vips[i].text);
}

static int notify_open(struct ha_inst *in)
{
	const struct config *cfg = in->cfg;
	char vips[CFG_MAX_VIPS * CFG_ADDR_TEXT_MAX];
	struct notify_params p = { .script = cfg->ha.notify,
				   .timeout_ms = cfg->ha.notify_timeout_ms,
				   .instance = in->name,
				   .node = cfg->node.name,
				   .vips = vips,
				   .interface = cfg->ha.interface,
				   .vrid = cfg->ha.vrid };

	if (!cfg->ha.notify[0])
		return 0;
	/* Said at start rather than at the first role change; still run
	 * (the file may appear later: each call is a new exec).  Once. */
	if (in->idx == 0 && access(cfg->ha.notify, X_OK) < 0)
		log_warn("notify %s: %s", in->name, cfg->ha.notify);
	vips_text(cfg, vips, sizeof(vips));
	return notify_create(&in->notify, in->ha->loop, &p);
}

/* A [vrrp NAME]'s view: the daemon's configuration with the instance's
 * keys in its ha block (the rest of [ha] is shared). */
static struct config *view_of(const struct config *cfg, const struct cfg_vrrp *v)
{
	struct config *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	*c = *cfg; /* shallow: c->servers is the daemon's, never freed here */
	c->ha.vrid = v->vrid;
	c->ha.priority = v->priority;
	c->ha.advert_interval_ms = v->advert_interval_ms;
	c->ha.preempt = v->preempt;
	c->ha.preempt_delay_ms = v->preempt_delay_ms;
	memcpy(c->ha.vips, v->vips, sizeof(c->ha.vips));
	c->ha.nvips = v->nvips;
	memcpy(c->ha.vips6, v->vips6, sizeof(c->ha.vips6));
	c->ha.nvips6 = v->nvips6; /* its own ha6 (ha6.h): NAs, follow mode */
	return c;
}

static int inst_open(struct ha_inst *in, struct in_addr primary, bool adopt)
{
	struct garp_params gp;
	int err;

	garp_params_from_config(&gp, in->cfg);
	if ((err = garp_open(&in->garp, in->ha->loop, in->cfg->ha.interface, &gp)) < 0)
		return err;
	if ((err = ha6_open(&in->v6, in->ha->loop, in->cfg, in->ha->vip, &gp, adopt)) < 0)
		return err;
	if ((err = vrrp_create(in->ha->loop, in->cfg, primary, &inst_vrrp_ops, in, &in->vrrp)) <
	    0) {
		log_errno(err, "vrrp %u (%s): cannot create the election on %s", in->cfg->ha.vrid,
			  in->name, in->cfg->ha.interface);
		return err;
	}
	return notify_open(in);
}

int ha_inst_create(struct ha *ha, size_t idx, struct in_addr primary, bool adopt,
		   struct ha_inst **out)
{
	struct ha_inst *in = calloc(1, sizeof(*in));
	int err;

	if (!in)
		return -ENOMEM;
	in->ha = ha;
	in->idx = idx;
	in->cfg = ha->cfg;
	loop_timer_init(&in->hold, hold_expired, in);
	snprintf(in->name, sizeof(in->name), "%s",
		 idx ? ha->cfg->vrrps[idx - 1].name : HA_INSTANCE_NAME);
	*out = in; /* ha_inst_destroy() frees what was opened, even on error */
	if (idx && !(in->cfg = in->own = view_of(ha->cfg, &ha->cfg->vrrps[idx - 1])))
		return -ENOMEM;
	if ((err = inst_open(in, primary, adopt)) < 0)
		return err;
	return 0;
}

void ha_inst_destroy(struct ha_inst *in)
{
	if (!in)
		return;
	loop_timer_cancel(in->ha->loop, &in->hold);
	if (in->ha->handed_over) { /* the role goes on in the next process: no shutdown event */
		if (in->vrrp)
			log_info("vrrp %u (%s): %s handed over to the next process",
				 in->cfg->ha.vrid, in->name,
				 vrrp_state_name(vrrp_get_state(in->vrrp)));
		in->vip_on = false; /* the VIP stays: the next process holds it now */
	} else if (in->vrrp && vrrp_get_state(in->vrrp) != VRRP_INIT) {
		vrrp_stop(in->vrrp);
	}
	if (in->vip_on)
		ha_inst_vips_apply(in, false);
	ha6_close(in->v6);
	if (in->notify)
		notify_flush(in->notify); /* the STOP call, before we exit */
	notify_destroy(in->notify);
	vrrp_destroy(in->vrrp);
	garp_close(in->garp);
	free(in->own);
	free(in);
}
