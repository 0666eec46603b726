/* peers.c - the election's peers merged with sync's nodes (see peers.h). */
#include "peers.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int64_t age(uint64_t now_ms, uint64_t then_ms)
{
	if (!then_ms)
		return -1;
	return now_ms > then_ms ? (int64_t)(now_ms - then_ms) : 0;
}

static const struct sync_node *node_of(const struct sync_node *sn, size_t ns, struct in_addr a)
{
	for (size_t i = 0; i < ns; i++)
		if (sn[i].addr.s_addr == a.s_addr)
			return &sn[i];
	return NULL;
}

static void from_backup(struct ha_peer *p, const struct sync_node *n, uint64_t now_ms)
{
	p->addr = n->addr;
	snprintf(p->name, sizeof(p->name), "%s", n->name);
	p->priority = n->priority;
	p->role = "BACKUP";
	p->last_seen_ms = age(now_ms, n->last_ms);
}

/* One election peer; its sync node (if any) names it, and wins when it is
 * a live BACKUP heard since the peer's last advert (it stepped down). */
static void from_vrrp(struct ha_peer *p, const struct vrrp_peer *v, const struct sync_node *n,
		      uint64_t now_ms)
{
	if (n && n->backup_session && n->last_ms >= v->last_seen_ms) {
		from_backup(p, n, now_ms);
		return;
	}
	p->addr = v->addr;
	if (n && n->name[0])
		snprintf(p->name, sizeof(p->name), "%s", n->name);
	else
		inet_ntop(AF_INET, &v->addr, p->name, sizeof(p->name));
	p->priority = v->priority;
	p->role = vrrp_peer_role_name(v->role);
	p->last_seen_ms = age(now_ms, v->last_seen_ms);
}

static bool in_vrrp(const struct vrrp_peer *vp, size_t nv, struct in_addr a)
{
	for (size_t i = 0; i < nv; i++)
		if (vp[i].addr.s_addr == a.s_addr)
			return true;
	return false;
}

size_t ha_peers_merge(const struct vrrp_peer *vp, size_t nv, const struct sync_node *sn, size_t ns,
		      uint64_t now_ms, struct ha_peer *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < nv && n < max; i++)
		from_vrrp(&out[n++], &vp[i], node_of(sn, ns, vp[i].addr), now_ms);
	for (size_t k = 0; k < ns && n < max; k++)
		if (sn[k].backup_session && !in_vrrp(vp, nv, sn[k].addr))
			from_backup(&out[n++], &sn[k], now_ms);
	return n;
}
