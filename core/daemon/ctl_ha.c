/* ctl_ha.c - "peers" and the node, election and replication parts of
 * "status": what ha.h and sync.h report, rendered as JSON for andromedactl. */
#include "ctl_ha.h"
#include "ctl_ha6.h"

#include <arpa/inet.h>
#include <errno.h>

#include "config.h"
#include "control.h"
#include "ha.h"
#include "msg.h"
#include "stats_metrics.h"
#include "sync.h"

/* ---- peers ---- */

/* The balancers we know of: those heard advertising (VRRP; only a MASTER
 * does) and the BACKUPs holding a sync session to us, named from sync. */
static json_t *peers_json(const struct ctl_ha *h)
{
	struct sync_node nodes[SYNC_MAX_NODES];
	struct ha_peer hp[VRRP_MAX_PEERS + SYNC_MAX_NODES];
	size_t nn = h->sync ? sync_nodes(h->sync, nodes, SYNC_MAX_NODES) : 0;
	size_t n = h->ha ? ha_get_peers(h->ha, nodes, nn, hp, sizeof(hp) / sizeof(hp[0])) : 0;
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		char addr[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &hp[i].addr, addr, sizeof(addr));
		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:s, s:I}", "name", hp[i].name,
						   "address", addr, "priority", hp[i].priority,
						   "role", hp[i].role, "last_seen_ms",
						   (json_int_t)hp[i].last_seen_ms));
	}
	return a;
}

static json_t *cmd_peers(int argc, char **argv, void *arg)
{
	if (argc != 1)
		return control_error("usage: peers");
	return peers_json(arg);
}

int ctl_ha_register(struct control *c, struct ctl_ha *h)
{
	return control_register(c, "peers", "peers - balancers heard on the HA interface",
				cmd_peers, h);
}

/* ---- the node block of status ---- */

static json_t *vips_json(const struct config *cfg)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < cfg->ha.nvips; i++)
		json_array_append_new(a, json_string(cfg->ha.vips[i].text));
	for (size_t i = 0; a && i < cfg->ha.nvips6; i++)
		json_array_append_new(a, json_string(cfg->ha.vips6[i].text));
	return a;
}

static json_t *vrrp_drops_json(const struct vrrp_stats *s)
{
	json_t *o = json_object();

	for (int c = 1; o && c < VRRP_RX_NCAUSES; c++)
		json_object_set_new(o, vrrp_rx_result_str(c),
				    json_integer((json_int_t)s->rx_drops[c]));
	return o;
}

static json_t *transitions_json(const struct vrrp_stats *s)
{
	json_t *o = json_object();

	for (int st = 0; o && st < VRRP_NSTATES; st++)
		json_object_set_new(o, vrrp_state_name(st),
				    json_integer((json_int_t)s->entered[st]));
	return o;
}

/* The "vrrp" object: the election's timers, master, counters, and why it
 * is in its state (FAULT: no carrier, no address yet). */
static json_t *vrrp_json(const struct ha_status *hs, const char *interface)
{
	const struct vrrp_status *st = &hs->vrrp;
	const struct vrrp_stats *s = &hs->stats;
	char master[INET_ADDRSTRLEN], primary[INET_ADDRSTRLEN];
	json_t *v;

	inet_ntop(AF_INET, &st->master, master, sizeof(master));
	inet_ntop(AF_INET, &st->primary, primary, sizeof(primary));
	v = json_pack("{s:i, s:s, s:i, s:i, s:i, s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "vrid",
		      st->vrid, "interface", interface, "advert_interval_ms",
		      (int)st->adver_interval_ms, "master_down_interval_ms",
		      (int)st->master_down_interval_ms, "skew_time_ms", (int)st->skew_time_ms,
		      "master", master, "adverts_sent", (json_int_t)s->tx_adverts,
		      "adverts_received", (json_int_t)s->rx_adverts, "transitions",
		      (json_int_t)s->transitions, "vip_restored", (json_int_t)hs->vip_restored,
		      "entered", transitions_json(s), "dropped", vrrp_drops_json(s));
	if (v) {
		json_object_set_new(v, "reason", json_string(st->reason));
		json_object_set_new(v, "primary", json_string(primary));
	}
	return v;
}

/* The tracked interfaces and scripts (track.h): what moves the priority. */
static json_t *tracks_json(const struct ha_status *hs)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < hs->ntracks; i++) {
		const struct track_item_status *t = &hs->tracks[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:i}", "name", t->name, "type",
				      t->is_interface ? "interface" : "script", "state",
				      t->up ? "up" : "down", "weight", t->weight);

		if (o && !t->is_interface) {
			json_object_set_new(o, "runs", json_integer((json_int_t)t->runs));
			json_object_set_new(o, "failures", json_integer((json_int_t)t->failures));
			json_object_set_new(o, "last", json_string(t->last));
		}
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *notify_json(const struct ha_status *hs, const struct config *cfg)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I}", "script", cfg->ha.notify, "calls",
			 (json_int_t)hs->notify.calls, "failures", (json_int_t)hs->notify.failures,
			 "timeouts", (json_int_t)hs->notify.timeouts, "dropped",
			 (json_int_t)hs->notify.dropped);
}

/* One VRRP instance (SPEC "Second stage"); priority is the effective
 * one (base moved by the tracked items, which every instance shares). */
static json_t *instance_json(const struct ha_status *hs)
{
	json_t *o = json_pack("{s:s, s:i, s:s, s:i, s:i, s:o, s:b}", "name", hs->name, "vrid",
			      hs->vrrp.vrid, "role", vrrp_state_name(hs->vrrp.state), "priority",
			      hs->vrrp.priority, "base_priority", hs->vrrp.base_priority, "vips",
			      vips_json(hs->cfg), "vip_held", hs->vip_held);

	if (o) {
		json_object_set_new(o, "tracks", tracks_json(hs));
		json_object_set_new(o, "notify", notify_json(hs, hs->cfg));
		if (hs->has_v6) /* its IPv6 VIPs: role, NAs (the top-level vrrp6 is [ha]'s) */
			json_object_set_new(o, "vrrp6", ctl_ha6_json(hs));
	}
	return o;
}

/* Every instance, [ha]'s first (whose hs the caller has read). */
static json_t *instances_json(const struct ctl_ha *h, const struct ha_status *first)
{
	json_t *a = json_array();

	json_array_append_new(a, instance_json(first));
	for (size_t i = 1; a && i < ha_instances(h->ha); i++) {
		struct ha_status hs;

		ha_get_instance_status(h->ha, i, &hs);
		json_array_append_new(a, instance_json(&hs));
	}
	return a;
}

/* ha, role, priority, vip_held, vips, instances, vrrp.  0 or -ENOMEM
 * (no "vrrp"). */
static int ha_keys(json_t *status, const struct ctl_ha *h)
{
	struct ha_status hs;
	json_t *v;

	ha_get_status(h->ha, &hs);
	json_object_set_new(status, "ha", json_true());
	json_object_set_new(status, "role", json_string(vrrp_state_name(hs.vrrp.state)));
	json_object_set_new(status, "priority", json_integer(hs.vrrp.priority));
	json_object_set_new(status, "base_priority", json_integer(hs.vrrp.base_priority));
	json_object_set_new(status, "vip_held", json_boolean(hs.vip_held));
	json_object_set_new(status, "vips", vips_json(h->cfg));
	json_object_set_new(status, "instances", instances_json(h, &hs));
	if (!(v = vrrp_json(&hs, h->cfg->ha.interface)))
		return -ENOMEM;
	json_object_set_new(status, "vrrp", v);
	if (hs.has_v6 && !(v = ctl_ha6_json(&hs)))
		return -ENOMEM;
	if (hs.has_v6)
		json_object_set_new(status, "vrrp6", v);
	return 0;
}

/* The addresses of listen (tls false) or tls_listen, as written: "a, b". */
static json_t *listeners_text(const struct config *cfg, bool tls)
{
	char text[2 * CFG_MAX_LISTEN * (CFG_ADDR_TEXT_MAX + 2)] = "";
	size_t used = 0;

	if (!cfg->frontend.nlisteners)
		return tls ? NULL : json_string(cfg->frontend.listen.text);
	for (unsigned i = 0; i < cfg->frontend.nlisteners; i++)
		if (cfg->frontend.listeners[i].tls == tls)
			used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s",
						 used ? ", " : "",
						 cfg->frontend.listeners[i].ep.text);
	return used ? json_string(text) : NULL;
}

int ctl_ha_status(json_t *status, void *ctl_ha)
{
	const struct ctl_ha *h = ctl_ha;
	const struct config *cfg = h->cfg;
	json_t *plain = listeners_text(cfg, false);

	json_object_set_new(status, "node", json_string(cfg->node.name));
	json_object_set_new(status, "version", json_string(ANDROMEDA_VERSION));
	json_object_set_new(status, "mode",
			    json_string(cfg->frontend.mode == MODE_TCP ? "tcp" : "http"));
	json_object_set_new(status, "listen", plain ? plain : json_string(""));
	if (cfg->frontend.nlisteners > 0 &&
	    cfg->frontend.listeners[cfg->frontend.nlisteners - 1].tls)
		json_object_set_new(status, "tls_listen", listeners_text(cfg, true));
	if (h->ha) {
		int err = ha_keys(status, h);

		json_object_set_new(status, "peers", peers_json(h));
		return err;
	}
	/* A standalone balancer is always the active one. */
	json_object_set_new(status, "ha", json_boolean(false));
	json_object_set_new(status, "role", json_string("MASTER"));
	json_object_set_new(status, "priority", json_integer(0));
	json_object_set_new(status, "base_priority", json_integer(0));
	json_object_set_new(status, "vip_held", json_boolean(false));
	json_object_set_new(status, "vips", json_array());
	json_object_set_new(status, "instances", json_array());
	json_object_set_new(status, "peers", json_array());
	return 0;
}

/* ---- sync ---- */

/* Issue 15: sync.liveness, the fast liveness exchange (ha/liveness.h). */
static json_t *liveness_json(const struct liveness_status *l)
{
	char peer[INET_ADDRSTRLEN] = "";

	if (l->peer.s_addr)
		inet_ntop(AF_INET, &l->peer, peer, sizeof(peer));
	return json_pack("{s:i, s:i, s:s, s:s, s:I, s:i, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "interval_ms", (int)l->interval_ms, "detect_ms", (int)l->detect_ms,
			 "state", liveness_state_name(l->state), "peer", peer, "last_seen_ms",
			 (json_int_t)l->last_seen_ms, "paths_up", (int)l->paths_up, "sent",
			 (json_int_t)l->sent, "received", (json_int_t)l->received, "silences",
			 (json_int_t)l->silences, "confirms", (json_int_t)l->confirms, "vetoed",
			 (json_int_t)l->vetoed, "takeovers", (json_int_t)l->takeovers);
}

static json_t *sync_json(const struct sync_stats *st)
{
	json_t *o, *drops = json_object();

	for (int d = 1; drops && d < MSG_DROP_NCAUSES; d++)
		json_object_set_new(drops, msg_drop_name(d),
				    json_integer((json_int_t)st->drops[d]));
	o = json_pack("{s:I, s:I, s:s, s:b, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
		      "seq", (json_int_t)st->state_seq, "last_snapshot_ms",
		      (json_int_t)st->last_snapshot_age_ms, "session",
		      st->has_session ? inet_ntoa(st->session_peer) : "", "session_up",
		      st->session_up, "sessions_served", (int)st->sessions_served,
		      "snapshots_sent", (json_int_t)st->snapshots_sent, "deltas_sent",
		      (json_int_t)st->deltas_sent, "snapshots_applied",
		      (json_int_t)st->snapshots_applied, "deltas_applied",
		      (json_int_t)st->deltas_applied, "gaps", (json_int_t)st->gaps, "master_lost",
		      (json_int_t)st->master_lost, "bad_payload", (json_int_t)st->bad_payload,
		      "requests_served", (json_int_t)st->requests_served, "dropped", drops);
	if (o) {
		char succ[INET_ADDRSTRLEN] = "";

		if (st->successor.s_addr)
			inet_ntop(AF_INET, &st->successor, succ, sizeof(succ));
		json_object_set_new(o, "successor", json_string(succ)); /* issue 15 */
		json_object_set_new(o, "liveness", liveness_json(&st->liveness));
		json_object_set_new(o, "byes_sent", json_integer((json_int_t)st->byes_sent));
		json_object_set_new(o, "byes_received",
				    json_integer((json_int_t)st->byes_received));
	}
	return o;
}

int ctl_ha_sync_status(json_t *status, void *ctl_ha)
{
	const struct ctl_ha *h = ctl_ha;
	struct sync_stats st;

	if (!h->sync) {
		json_object_set_new(status, "sync",
				    json_pack("{s:i, s:n}", "seq", 0, "last_snapshot_ms"));
		return 0;
	}
	sync_get_stats(h->sync, &st);
	/* Out of memory leaves the key out: status still answers. */
	json_object_set_new(status, "sync", sync_json(&st));
	return 0;
}
