/* peers.h - who the other balancers are, as `andromedactl status` and
 * `peers` show them: the election's peer table (vrrp.h) merged with what
 * sync knows (sync.h).  Pure: arrays in, array out, the time given.
 *
 * VRRP hears only a MASTER (backups are silent), so a balancer that was
 * MASTER once stays in the election's table as "silent" after it stepped
 * down.  A BACKUP that holds a sync session to us says it is alive on it
 * every advert interval (MSG_ALIVE): whichever of the two was heard last
 * tells its role, priority and last_seen_ms. */
#ifndef ANDROMEDA_PEERS_H
#define ANDROMEDA_PEERS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "sync.h"
#include "vrrp.h"

struct ha_peer {
	struct in_addr addr;
	char name[64]; /* the node's name from sync, else its address */
	uint8_t priority;
	const char *role;     /* "MASTER", "BACKUP", "silent", "released", "unknown" */
	int64_t last_seen_ms; /* ms since it was last heard; -1 = never */
};

/* Merge nv election peers (roles computed, vrrp_get_peers) and ns sync
 * nodes (sync_nodes) into out (at most max entries), at loop time now_ms.
 * A VRRP peer keeps its place; a sync node with the same address names it,
 * and when that node holds a BACKUP session heard more recently than the
 * peer's last advert, the entry is that BACKUP.  A BACKUP session with no
 * VRRP entry is appended.  Returns the number of entries written. */
size_t ha_peers_merge(const struct vrrp_peer *vp, size_t nv, const struct sync_node *sn, size_t ns,
		      uint64_t now_ms, struct ha_peer *out, size_t max);

#endif
