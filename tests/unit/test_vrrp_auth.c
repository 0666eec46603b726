/* test_vrrp_auth.c - issue 20: which adverts count.  The table of sources
 * that proved the cluster key (ha/vrrp_auth.c, with explicit times), and
 * the election's acceptance rule on real packets (ha/vrrp.c): an unknown
 * source, a peer whose key is wrong (it never proves it), a peer known
 * then silent, a joining node whose advert comes before its HELLO, and
 * interop = yes (RFC 5798 behaviour). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "loop.h"
#include "vrrp.h"
#include "vrrp_auth.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct vrrp_advert adv_from(const char *src, uint8_t prio)
{
	struct vrrp_advert a;

	memset(&a, 0, sizeof(a));
	a.src = ip(src);
	a.dst = ip("224.0.0.18");
	a.vrid = 51;
	a.priority = prio;
	a.interval_cs = 10; /* 100 ms: held adverts last 300 ms */
	a.cksum = VRRP_CKSUM_PSEUDO;
	a.naddrs = 1;
	a.addrs[0] = ip("198.18.0.10");
	return a;
}

/* ---- the table, with explicit times ------------------------------------ */

Test(table, nothing_counts_before_a_proof)
{
	static struct vrrp_auth a;

	vrrp_auth_init(&a, 5000);
	cr_assert_not(vrrp_auth_ok(&a, ip("198.18.0.12"), 1000));
}

Test(table, a_proof_lasts_fresh_ms_then_the_silent_peer_no_longer_counts)
{
	static struct vrrp_auth a;

	vrrp_auth_init(&a, 5000);
	vrrp_auth_prove(&a, ip("198.18.0.12"), 1000);
	cr_assert(vrrp_auth_ok(&a, ip("198.18.0.12"), 1000));
	cr_assert(vrrp_auth_ok(&a, ip("198.18.0.12"), 6000));
	cr_assert_not(vrrp_auth_ok(&a, ip("198.18.0.12"), 6001), "known, then silent 5 s");
	cr_assert_not(vrrp_auth_ok(&a, ip("198.18.0.13"), 1000), "another address");
	vrrp_auth_prove(&a, ip("198.18.0.12"), 7000); /* heard again */
	cr_assert(vrrp_auth_ok(&a, ip("198.18.0.12"), 11000));
}

Test(table, when_full_the_stalest_proof_makes_room)
{
	static struct vrrp_auth a;
	char s[32];

	vrrp_auth_init(&a, 5000);
	for (int i = 0; i < VRRP_AUTH_MAX_SOURCES; i++) {
		snprintf(s, sizeof(s), "198.18.1.%d", i + 1);
		vrrp_auth_prove(&a, ip(s), 100u + (uint64_t)i);
	}
	vrrp_auth_prove(&a, ip("198.18.1.1"), 500); /* refreshed: no longer the stalest */
	vrrp_auth_prove(&a, ip("198.18.2.1"), 600);
	cr_assert(vrrp_auth_ok(&a, ip("198.18.2.1"), 600));
	cr_assert(vrrp_auth_ok(&a, ip("198.18.1.1"), 600));
	cr_assert_not(vrrp_auth_ok(&a, ip("198.18.1.2"), 600), "proven at 101: evicted");
	cr_assert(vrrp_auth_ok(&a, ip("198.18.1.3"), 600));
}

Test(table, a_held_advert_is_handed_back_once_within_three_intervals)
{
	static struct vrrp_auth a;
	struct vrrp_advert in = adv_from("198.18.0.12", 150), out;

	vrrp_auth_init(&a, 5000);
	vrrp_auth_hold(&a, &in, 1000);
	cr_assert_not(vrrp_auth_take(&a, ip("198.18.0.13"), 1010, &out), "not that source");
	cr_assert(vrrp_auth_take(&a, ip("198.18.0.12"), 1300, &out));
	cr_assert_eq(out.priority, 150);
	cr_assert_not(vrrp_auth_take(&a, ip("198.18.0.12"), 1300, &out), "handed back once");
	vrrp_auth_hold(&a, &in, 2000);
	cr_assert_not(vrrp_auth_take(&a, ip("198.18.0.12"), 2301, &out), "too old: 301 ms");
}

Test(table, the_latest_advert_of_a_source_replaces_its_older_one)
{
	static struct vrrp_auth a;
	struct vrrp_advert first = adv_from("198.18.0.12", 150), second = first, out;

	second.priority = 0;
	vrrp_auth_init(&a, 5000);
	vrrp_auth_hold(&a, &first, 1000);
	vrrp_auth_hold(&a, &second, 1050);
	cr_assert(vrrp_auth_take(&a, ip("198.18.0.12"), 1060, &out));
	cr_assert_eq(out.priority, 0);
}

Test(table, many_forged_sources_evict_the_oldest_held_advert_only)
{
	static struct vrrp_auth a;
	struct vrrp_advert adv, out;
	char s[32];

	vrrp_auth_init(&a, 5000);
	for (int i = 0; i <= VRRP_AUTH_MAX_HELD; i++) {
		snprintf(s, sizeof(s), "198.18.3.%d", i + 1);
		adv = adv_from(s, 254);
		vrrp_auth_hold(&a, &adv, 1000u + (uint64_t)i);
	}
	cr_assert_not(vrrp_auth_take(&a, ip("198.18.3.1"), 1010, &out), "the oldest went");
	snprintf(s, sizeof(s), "198.18.3.%d", VRRP_AUTH_MAX_HELD + 1);
	cr_assert(vrrp_auth_take(&a, ip(s), 1010, &out));
	cr_assert(vrrp_auth_take(&a, ip("198.18.3.2"), 1010, &out));
}

Test(table, hold_says_how_long_a_source_has_gone_unproven)
{
	static struct vrrp_auth a;
	struct vrrp_advert adv = adv_from("198.18.0.30", 254);

	vrrp_auth_init(&a, 5000);
	cr_assert_eq(vrrp_auth_hold(&a, &adv, 1000), 0);
	cr_assert_eq(vrrp_auth_hold(&a, &adv, 1100), 100);
	cr_assert_eq(vrrp_auth_hold(&a, &adv, 2100), 1100, "a forger keeps sending");
	cr_assert_eq(vrrp_auth_hold(&a, &adv, 3101), 0, "silent over 1 s: a new streak");
}

Test(table, a_source_with_another_key_is_remembered_apart)
{
	static struct vrrp_auth a;
	char s[32];

	vrrp_auth_init(&a, 5000);
	vrrp_auth_prove(&a, ip("198.18.0.12"), 1000);
	for (int i = 0; i < 3 * VRRP_AUTH_MAX_DIFFERS; i++) {
		snprintf(s, sizeof(s), "198.18.4.%d", i + 1);
		vrrp_auth_key_differs(&a, ip(s), 1000u + (uint64_t)i);
	}
	cr_assert(vrrp_auth_ok(&a, ip("198.18.0.12"), 1100),
		  "a flood of bad MACs evicts no proof");
	cr_assert(vrrp_auth_differs(&a, ip(s), 1100));
	cr_assert_not(vrrp_auth_differs(&a, ip("198.18.4.1"), 1100), "the stalest went");
	cr_assert_not(vrrp_auth_differs(&a, ip(s), 7000), "5 s without a bad MAC");
	vrrp_auth_key_differs(&a, ip("198.18.0.13"), 2000);
	vrrp_auth_prove(&a, ip("198.18.0.13"), 2100); /* restarted with our key */
	cr_assert_not(vrrp_auth_differs(&a, ip("198.18.0.13"), 2100));
	cr_assert(vrrp_auth_ok(&a, ip("198.18.0.13"), 2100));
}

/* ---- the election's rule, on packets ----------------------------------- */

#define PRIMARY  "198.18.0.11"
#define BALANCER "198.18.0.12"
#define FORGER   "198.18.0.30"

static struct loop *loop;
static struct vrrp *v;
static struct config cfg;
static int unproven_calls;
static struct in_addr unproven_last;

static int f_send(void *c, uint8_t prio) { return 0; }
static int f_vip(void *c) { return 0; }
static void f_garp(void *c) {}
static void f_unproven(void *c, struct in_addr src)
{
	unproven_calls++;
	unproven_last = src;
}

static const struct vrrp_ops ops = {
	.send_advert = f_send,
	.vip_add = f_vip,
	.vip_remove = f_vip,
	.garp_burst = f_garp,
	.unproven_source = f_unproven,
};

static void make(bool interop)
{
	vrrp_destroy(v);
	memset(&cfg, 0, sizeof(cfg));
	cfg.ha.vrid = 51;
	cfg.ha.priority = 100;
	cfg.ha.advert_interval_ms = 100;
	cfg.ha.preempt = true;
	cfg.ha.checksum_rfc5798 = true;
	cfg.ha.interop = interop;
	cfg.ha.vips[0].addr = ip("198.18.0.10");
	cfg.ha.nvips = 1;
	unproven_calls = 0;
	cr_assert_eq(vrrp_create(loop, &cfg, ip(PRIMARY), &ops, NULL, &v), 0);
}

static void setup(void)
{
	cr_assert_eq(loop_create(&loop), 0);
	make(false);
}

static void teardown(void)
{
	vrrp_destroy(v);
	v = NULL;
	loop_destroy(loop);
}

/* One advert from src at prio, as the raw socket delivers it (TTL 255,
 * valid checksum): the forged packets of the issue. */
static void rx(const char *src, uint8_t prio)
{
	static uint8_t buf[VRRP_PACKET_MAX];
	struct vrrp_advert a = adv_from(src, prio);
	int n = vrrp_packet_encode(&a, buf, sizeof(buf));

	cr_assert_gt(n, 0);
	vrrp_recv_packet(v, buf, (size_t)n);
}

static uint64_t unauth(void) { return vrrp_get_stats(v)->rx_drops[VRRP_RX_UNAUTH]; }

static struct in_addr master_of(void)
{
	struct vrrp_status st;

	vrrp_get_status(v, &st);
	return st.master;
}

TestSuite(rule, .init = setup, .fini = teardown, .timeout = 30);

Test(rule, a_forged_advert_does_not_move_a_master)
{
	vrrp_start(v);
	vrrp_input_master_down(v);
	for (int i = 0; i < 30; i++)
		rx(FORGER, 254);
	cr_assert_eq(vrrp_get_state(v), VRRP_MASTER);
	cr_assert_eq(unauth(), 30);
	cr_assert_eq(vrrp_get_stats(v)->rx_adverts, 0);
	cr_assert_eq(vrrp_get_stats(v)->split_brain, 0, "not even taken for a second MASTER");
	cr_assert_eq(unproven_calls, 30, "each one is reported, so sync may ask it to prove");
	cr_assert_eq(unproven_last.s_addr, ip(FORGER).s_addr);
	cr_assert_str_eq(vrrp_rx_result_str(VRRP_RX_UNAUTH), "unauthenticated source");
}

Test(rule, a_backup_does_not_defer_to_a_forged_master)
{
	vrrp_start(v);
	rx(FORGER, 254);
	cr_assert_eq(master_of().s_addr, 0, "not learned as the master");
	/* Its timer was not re-armed by the advert: it takes over. */
	vrrp_input_master_down(v);
	cr_assert_eq(vrrp_get_state(v), VRRP_MASTER);
}

/* A balancer with the wrong key never proves it (its HELLO fails the MAC
 * in ha/sync.c): vrrp_source_proven is never called for it. */
Test(rule, a_peer_with_the_wrong_key_never_counts)
{
	vrrp_start(v);
	vrrp_input_master_down(v);
	vrrp_source_proven(v, ip(BALANCER)); /* another, good balancer */
	for (int i = 0; i < 50; i++)
		rx(FORGER, 200);
	cr_assert_eq(vrrp_get_state(v), VRRP_MASTER);
	cr_assert_eq(unauth(), 50);
}

Test(rule, a_proven_balancer_counts_at_once)
{
	vrrp_start(v);
	vrrp_input_master_down(v);
	vrrp_source_proven(v, ip(BALANCER));
	rx(BALANCER, 150);
	cr_assert_eq(vrrp_get_state(v), VRRP_BACKUP);
	cr_assert_eq(master_of().s_addr, ip(BALANCER).s_addr);
	cr_assert_eq(unauth(), 0);
	cr_assert_eq(unproven_calls, 0);
}

/* The boot/join path: the joining node's advert arrives before its HELLO
 * has landed; it is counted when the HELLO lands, not an interval later. */
Test(rule, an_advert_before_the_hello_counts_when_the_hello_lands)
{
	vrrp_start(v);
	vrrp_input_master_down(v);
	rx(BALANCER, 150);
	cr_assert_eq(vrrp_get_state(v), VRRP_MASTER);
	cr_assert_eq(unauth(), 1);
	vrrp_source_proven(v, ip(BALANCER));
	cr_assert_eq(vrrp_get_state(v), VRRP_BACKUP, "counted as the HELLO landed");
	cr_assert_eq(vrrp_get_stats(v)->rx_adverts, 1);
	vrrp_source_proven(v, ip(BALANCER)); /* refreshed again: nothing replayed twice */
	cr_assert_eq(vrrp_get_stats(v)->rx_adverts, 1);
}

Test(rule, a_backup_follows_a_joining_master_as_its_hello_lands)
{
	vrrp_start(v);
	rx(BALANCER, 150);
	cr_assert_eq(master_of().s_addr, 0);
	vrrp_source_proven(v, ip(BALANCER));
	cr_assert_eq(master_of().s_addr, ip(BALANCER).s_addr);
}

Test(rule, an_old_held_advert_is_not_replayed)
{
	vrrp_start(v);
	vrrp_input_master_down(v);
	rx(BALANCER, 150);
	usleep(350 * 1000); /* more than 3 of its 100 ms intervals */
	loop_update_time(loop);
	vrrp_source_proven(v, ip(BALANCER));
	cr_assert_eq(vrrp_get_state(v), VRRP_MASTER);
	rx(BALANCER, 150); /* its next advert counts */
	cr_assert_eq(vrrp_get_state(v), VRRP_BACKUP);
}

Test(rule, a_peer_known_then_silent_on_sync_stops_counting, .timeout = 30)
{
	vrrp_start(v);
	vrrp_source_proven(v, ip(BALANCER));
	rx(BALANCER, 150);
	cr_assert_eq(vrrp_get_stats(v)->rx_adverts, 1);
	usleep((VRRP_AUTH_FRESH_MS + 100) * 1000);
	loop_update_time(loop);
	rx(BALANCER, 150);
	cr_assert_eq(vrrp_get_stats(v)->rx_adverts, 1, "no proof for over 5 s");
	cr_assert_eq(unauth(), 1);
	cr_assert_eq(unproven_calls, 1);
	vrrp_source_proven(v, ip(BALANCER)); /* it proves the key again */
	cr_assert_eq(vrrp_get_stats(v)->rx_adverts, 2, "the dropped one counted then");
}

static uint64_t master_down_in(void)
{
	struct vrrp_status st;

	vrrp_get_status(v, &st);
	return st.master_down_at_ms ? st.master_down_at_ms - loop_now_ms(loop) : 0;
}

/* A balancer with the wrong key that joins at a higher priority: its sync
 * messages fail our MAC.  A BACKUP neither follows it nor preempts it nor
 * takes over from it; a MASTER ignores it. */
Test(rule, a_peer_with_another_key_is_neither_followed_nor_taken_over_from)
{
	vrrp_start(v);
	rx(BALANCER, 200); /* held: nothing known of it yet */
	cr_assert_eq(master_of().s_addr, 0);
	usleep(20 * 1000);
	loop_update_time(loop);
	vrrp_source_key_differs(v, ip(BALANCER)); /* its HELLO failed our MAC */
	cr_assert_eq(master_down_in(), 360, "the held advert holds the takeover off");
	cr_assert_eq(master_of().s_addr, 0, "not followed");
	rx(BALANCER, 50); /* even when below us: no preemption of it */
	cr_assert_eq(master_down_in(), 360);
	cr_assert_eq(unauth(), 2);
	cr_assert_eq(unproven_calls, 1, "no more probes once its key is known to differ");
	cr_assert_eq(vrrp_get_stats(v)->rx_adverts, 0);
	cr_assert_eq(vrrp_get_state(v), VRRP_BACKUP);
	vrrp_input_master_down(v); /* it fell silent: we take over */
	rx(BALANCER, 200);
	cr_assert_eq(vrrp_get_state(v), VRRP_MASTER, "a MASTER ignores it");
}

static int count_lines(FILE *f, const char *needle)
{
	char line[512];
	int n = 0;

	rewind(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	return n;
}

/* A joining balancer's first adverts (before its HELLO lands) are counted
 * but not logged; a source still unproven after a second is logged, once
 * a minute (the limiter of every drop cause). */
Test(rule, unproven_drops_are_logged_only_after_a_second)
{
	FILE *capture = tmpfile();
	int saved = dup(2);

	cr_assert_not_null(capture);
	fflush(stderr);
	dup2(fileno(capture), 2);
	vrrp_start(v);
	rx(FORGER, 254);
	rx(BALANCER, 150);
	vrrp_source_proven(v, ip(BALANCER));
	fflush(stderr);
	cr_assert_eq(count_lines(capture, "unauthenticated source"), 0);
	for (int i = 0; i < 12; i++) { /* the forger goes on, 10 a second */
		usleep(100 * 1000);
		loop_update_time(loop);
		rx(FORGER, 254);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	cr_assert_eq(unauth(), 14);
	cr_assert_eq(
		count_lines(capture, "dropped packet from " FORGER ": unauthenticated source"), 1);
	fclose(capture);
}

/* interop = yes: RFC 5798 as written; any VRRPv3 speaker takes part. */
Test(rule, interop_keeps_the_rfc_behaviour)
{
	make(true);
	vrrp_start(v);
	vrrp_input_master_down(v);
	rx(FORGER, 254);
	cr_assert_eq(vrrp_get_state(v), VRRP_BACKUP, "steps down to the higher priority");
	cr_assert_eq(master_of().s_addr, ip(FORGER).s_addr);
	cr_assert_eq(unauth(), 0);
	cr_assert_eq(unproven_calls, 0);
	vrrp_source_key_differs(v, ip(FORGER)); /* nothing to it with interop */
	rx(FORGER, 254);
	cr_assert_eq(vrrp_get_stats(v)->rx_adverts, 2);
}
