/* test_peers.c - the peers that status shows: the election's table merged
 * with sync's nodes (ha/peers.c), after the failovers of issue 11 item 6. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "peers.h"

#define NOW 100000u

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct vrrp_peer vpeer(const char *addr, uint8_t prio, uint64_t seen,
			      enum vrrp_peer_role role)
{
	struct vrrp_peer p = { .addr = ip(addr),
			       .priority = prio,
			       .interval_cs = 10,
			       .last_seen_ms = seen,
			       .role = role };

	return p;
}

static struct sync_node node(const char *addr, const char *name, uint8_t prio, bool session,
			     uint64_t last)
{
	struct sync_node n = {
		.addr = ip(addr), .priority = prio, .backup_session = session, .last_ms = last
	};

	snprintf(n.name, sizeof(n.name), "%s", name);
	return n;
}

/* The bug: lb2 was MASTER, lb1 preempted it back; lb2 is a live BACKUP
 * with a session to lb1, but its old VRRP entry said "silent" and its
 * last_seen_ms grew with the time since its last advert. */
Test(peers, a_backup_that_was_master_is_shown_by_its_session)
{
	struct vrrp_peer vp[] = { vpeer("198.18.0.12", 100, NOW - 20000, VRRP_PEER_SILENT) };
	struct sync_node sn[] = { node("198.18.0.12", "lb2", 100, true, NOW - 40) };
	struct ha_peer out[4];

	cr_assert_eq(ha_peers_merge(vp, 1, sn, 1, NOW, out, 4), 1);
	cr_assert_str_eq(out[0].name, "lb2");
	cr_assert_str_eq(out[0].role, "BACKUP");
	cr_assert_eq(out[0].priority, 100);
	cr_assert_eq(out[0].last_seen_ms, 40);
}

/* The other bug: a backup known only through its session showed 0. */
Test(peers, a_backup_known_by_its_session_only_has_its_age)
{
	struct sync_node sn[] = { node("198.18.0.12", "lb2", 100, true, NOW - 75),
				  node("198.18.0.13", "lb3", 50, false, NOW - 5000) };
	struct ha_peer out[4];

	cr_assert_eq(ha_peers_merge(NULL, 0, sn, 2, NOW, out, 4), 1,
		     "a node without a session is not listed");
	cr_assert_str_eq(out[0].name, "lb2");
	cr_assert_str_eq(out[0].role, "BACKUP");
	cr_assert_eq(out[0].last_seen_ms, 75);
}

/* A MASTER heard more recently than the session's last word (it took over
 * and its session is not closed yet) is the MASTER. */
Test(peers, the_newer_evidence_wins)
{
	struct vrrp_peer vp[] = { vpeer("198.18.0.11", 150, NOW - 30, VRRP_PEER_MASTER) };
	struct sync_node sn[] = { node("198.18.0.11", "lb1", 150, true, NOW - 900) };
	struct ha_peer out[4];

	cr_assert_eq(ha_peers_merge(vp, 1, sn, 1, NOW, out, 4), 1);
	cr_assert_str_eq(out[0].name, "lb1");
	cr_assert_str_eq(out[0].role, "MASTER");
	cr_assert_eq(out[0].last_seen_ms, 30);
}

/* A dead former MASTER without a session stays silent, and its age grows;
 * a unicast peer never heard is unknown with -1; a node we follow (not a
 * session of ours) only names the peer. */
Test(peers, silent_unknown_and_named)
{
	struct vrrp_peer vp[] = { vpeer("198.18.0.11", 150, NOW - 7000, VRRP_PEER_SILENT),
				  vpeer("198.18.0.14", 0, 0, VRRP_PEER_UNKNOWN) };
	struct sync_node sn[] = { node("198.18.0.11", "lb1", 150, false, NOW - 6000) };
	struct ha_peer out[4];

	cr_assert_eq(ha_peers_merge(vp, 2, sn, 1, NOW, out, 4), 2);
	cr_assert_str_eq(out[0].name, "lb1");
	cr_assert_str_eq(out[0].role, "silent");
	cr_assert_eq(out[0].last_seen_ms, 7000);
	cr_assert_str_eq(out[1].name, "198.18.0.14");
	cr_assert_str_eq(out[1].role, "unknown");
	cr_assert_eq(out[1].last_seen_ms, -1);
}

Test(peers, never_more_than_max)
{
	struct vrrp_peer vp[] = { vpeer("198.18.0.11", 150, NOW - 10, VRRP_PEER_MASTER) };
	struct sync_node sn[] = { node("198.18.0.12", "lb2", 100, true, NOW - 1),
				  node("198.18.0.13", "lb3", 50, true, NOW - 1) };
	struct ha_peer out[2];

	cr_assert_eq(ha_peers_merge(vp, 1, sn, 2, NOW, out, 2), 2);
	cr_assert_str_eq(out[1].name, "lb2");
}
