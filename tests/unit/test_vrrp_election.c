/* test_vrrp_election.c - several state machines on a simulated LAN, with
 * real loop timers: adverts are encoded to bytes, carried by a fake bus
 * (which can be partitioned) and parsed by the receivers, exactly as the
 * raw socket would deliver them.  Interval 100 ms; every wait polls with
 * a deadline.  Black-box: only states, VIP holders and GARPs are checked. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "vrrp.h"

#define NMAX 4
#define QMAX 64

struct node {
	int idx;
	struct vrrp *v;          /* NULL: crashed or not started */
	struct in_addr addr;
	int part;                /* nodes hear each other only within a partition */
	bool vip;                /* holds the VIP (vip_add without vip_remove) */
	unsigned garps;
};

struct msg {
	int from;
	size_t len;
	uint8_t buf[64];
};

static struct loop *loop;
static struct node nodes[NMAX];
static int nnodes;
static struct msg queue[QMAX], inflight[QMAX];
static size_t qlen;
static struct loop_timer deliver_timer;

static int n_send(void *ctx, uint8_t prio)
{
	struct node *n = ctx;
	struct vrrp_advert a;
	int len;

	if (qlen == QMAX)
		return -ENOBUFS;
	vrrp_advert_fill(n->v, prio, &a);
	a.src = n->addr;
	inet_pton(AF_INET, VRRP_MCAST_GROUP, &a.dst);
	len = vrrp_packet_encode(&a, queue[qlen].buf, sizeof(queue[qlen].buf));
	cr_assert_gt(len, 0);
	queue[qlen].from = n->idx;
	queue[qlen].len = (size_t)len;
	qlen++;
	/* Deliver from the loop, never from inside the sender's transition. */
	loop_timer_arm(loop, &deliver_timer, 0);
	return 0;
}

static void deliver(struct loop *l, struct loop_timer *t)
{
	size_t n = qlen;

	memcpy(inflight, queue, n * sizeof(queue[0]));
	qlen = 0;
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < nnodes; j++) {
			const struct msg *m = &inflight[i];

			if (j != m->from && nodes[j].v && nodes[j].part == nodes[m->from].part)
				vrrp_recv_packet(nodes[j].v, m->buf, m->len);
		}
}

static int n_vip_add(void *ctx)
{
	((struct node *)ctx)->vip = true;
	return 0;
}

static int n_vip_remove(void *ctx)
{
	((struct node *)ctx)->vip = false;
	return 0;
}

static void n_garp(void *ctx) { ((struct node *)ctx)->garps++; }

static const struct vrrp_ops ops = {
	.send_advert = n_send, .vip_add = n_vip_add, .vip_remove = n_vip_remove,
	.garp_burst = n_garp,
};

static void setup(void)
{
	cr_assert_eq(loop_create(&loop), 0);
	loop_timer_init(&deliver_timer, deliver, NULL);
	memset(nodes, 0, sizeof(nodes));
	nnodes = 0;
	qlen = 0;
	log_set_level(LOG_LVL_WARN);
}

static void teardown(void)
{
	for (int i = 0; i < nnodes; i++)
		vrrp_destroy(nodes[i].v);
	loop_timer_cancel(loop, &deliver_timer);
	loop_destroy(loop);
}

TestSuite(election, .init = setup, .fini = teardown, .timeout = 60);

/* Create and start node i (a fresh process) with this priority. */
static void boot(int i, unsigned prio, bool preempt, uint32_t delay_ms)
{
	struct config cfg;
	struct node *n = &nodes[i];

	memset(&cfg, 0, sizeof(cfg));
	cfg.ha.vrid = 51;
	cfg.ha.priority = prio;
	cfg.ha.advert_interval_ms = 100;
	cfg.ha.preempt = preempt;
	cfg.ha.preempt_delay_ms = delay_ms;
	cfg.ha.checksum_rfc5798 = true;
	inet_pton(AF_INET, "198.18.0.10", &cfg.ha.vips[0].addr);
	cfg.ha.nvips = 1;
	vrrp_destroy(n->v);
	n->idx = i;
	n->addr.s_addr = htonl(0xc6120000u + 11u + (unsigned)i); /* 198.18.0.11 + i */
	n->vip = false;
	cr_assert_eq(vrrp_create(loop, &cfg, n->addr, &ops, n, &n->v), 0);
	if (i >= nnodes)
		nnodes = i + 1;
	vrrp_start(n->v);
}

/* kill -9: no priority-0 advert, the VIP is left to the kernel's fate. */
static void crash(int i)
{
	vrrp_destroy(nodes[i].v);
	nodes[i].v = NULL;
	nodes[i].vip = false;
}

static enum vrrp_state st(int i)
{
	return nodes[i].v ? vrrp_get_state(nodes[i].v) : VRRP_INIT;
}

static int masters(void)
{
	int n = 0;

	for (int i = 0; i < nnodes; i++)
		n += st(i) == VRRP_MASTER;
	return n;
}

static int vip_holders(void)
{
	int n = 0;

	for (int i = 0; i < nnodes; i++)
		n += nodes[i].vip;
	return n;
}

static bool sole_master_is(int i) { return masters() == 1 && st(i) == VRRP_MASTER; }
static bool two_masters(int unused) { return masters() == 2; }

/* Run the loop until pred(arg) or timeout; returns the elapsed ms or -1. */
static long run_until(bool (*pred)(int), int arg, long timeout_ms)
{
	uint64_t t0 = loop_clock_ms();

	loop_update_time(loop);
	while (!pred(arg)) {
		if (loop_clock_ms() - t0 > (uint64_t)timeout_ms)
			return -1;
		loop_run_once(loop, 10);
	}
	return (long)(loop_clock_ms() - t0);
}

static bool never(int unused) { return false; }

static void run_for(long ms) { run_until(never, 0, ms); }

/* Stable: still exactly one MASTER, the expected one, holding the only VIP. */
static void assert_stable_master(int i)
{
	run_for(500);
	cr_assert(sole_master_is(i), "node %d should be the sole MASTER (%d masters)", i, masters());
	cr_assert_eq(vip_holders(), 1);
	cr_assert(nodes[i].vip);
}

/* Priorities 200, 150, 100 on ascending addresses: priority beats address. */
static void three_nodes(void)
{
	boot(0, 200, true, 0);
	boot(1, 150, true, 0);
	boot(2, 100, true, 0);
	cr_assert_geq(run_until(sole_master_is, 0, 3000), 0);
	assert_stable_master(0);
}

Test(election, highest_priority_of_three_wins)
{
	three_nodes();
	cr_assert_eq(st(1), VRRP_BACKUP);
	cr_assert_eq(st(2), VRRP_BACKUP);
}

Test(election, crash_next_best_takes_over_after_master_down_interval)
{
	long t;

	three_nodes();
	crash(0);
	t = run_until(sole_master_is, 1, 3000);
	/* MDI for priority 150 is 341 ms, counted from the last advert heard,
	 * which left at most one interval (100 ms) before the crash. */
	cr_assert_geq(t, 200, "took over after %ld ms", t);
	assert_stable_master(1);
	cr_assert_eq(st(2), VRRP_BACKUP);
}

Test(election, graceful_stop_takes_over_after_skew_time)
{
	long t;

	three_nodes();
	vrrp_stop(nodes[0].v); /* priority 0 */
	t = run_until(sole_master_is, 1, 3000);
	/* Skew_Time for 150 is 41 ms; MDI (341 ms) would take at least 241. */
	cr_assert(t >= 0 && t < 200, "took over after %ld ms", t);
	cr_assert(!nodes[0].vip);
	assert_stable_master(1);
}

Test(election, crash_detector_takes_over_after_skew_time)
{
	long t;

	boot(0, 150, true, 0);
	boot(1, 100, true, 0);
	cr_assert_geq(run_until(sole_master_is, 0, 3000), 0);
	crash(0);
	vrrp_master_lost(nodes[1].v); /* the sync session was reset */
	t = run_until(sole_master_is, 1, 3000);
	cr_assert(t >= 0 && t < 200, "took over after %ld ms (Skew_Time 60)", t);
}

Test(election, split_brain_heals_to_one_master_with_a_fresh_garp)
{
	unsigned garps;

	boot(0, 150, true, 0);
	boot(1, 100, true, 0);
	cr_assert_geq(run_until(sole_master_is, 0, 3000), 0);
	nodes[1].part = 1; /* partition */
	cr_assert_geq(run_until(two_masters, 0, 3000), 0);
	run_for(300);
	cr_assert_eq(masters(), 2);
	cr_assert_eq(vip_holders(), 2);
	garps = nodes[0].garps;
	nodes[1].part = 0; /* heal */
	cr_assert_geq(run_until(sole_master_is, 0, 2000), 0);
	assert_stable_master(0);
	cr_assert_eq(nodes[0].garps, garps + 1, "winner re-announces the VIP once");
}

Test(election, equal_priority_tie_goes_to_the_higher_address)
{
	boot(0, 100, true, 0); /* 198.18.0.11 */
	boot(1, 100, true, 0); /* 198.18.0.12 */
	nodes[1].part = 1;
	cr_assert_geq(run_until(two_masters, 0, 3000), 0);
	nodes[1].part = 0;
	cr_assert_geq(run_until(sole_master_is, 1, 2000), 0);
	assert_stable_master(1);
}

Test(election, restarted_higher_priority_preempts_after_its_delay)
{
	long t;

	boot(0, 200, true, 0);
	boot(1, 100, true, 0);
	cr_assert_geq(run_until(sole_master_is, 0, 3000), 0);
	crash(0);
	cr_assert_geq(run_until(sole_master_is, 1, 3000), 0);
	boot(0, 200, true, 600);
	t = run_until(sole_master_is, 0, 4000);
	cr_assert_geq(t, 600, "preempted after %ld ms, delay is 600", t);
	assert_stable_master(0);
}

Test(election, without_preempt_a_restarted_node_stays_backup)
{
	boot(0, 200, true, 0);
	boot(1, 100, true, 0);
	cr_assert_geq(run_until(sole_master_is, 0, 3000), 0);
	crash(0);
	cr_assert_geq(run_until(sole_master_is, 1, 3000), 0);
	boot(0, 200, false, 0);
	run_for(1500);
	cr_assert_eq(st(0), VRRP_BACKUP);
	cr_assert(sole_master_is(1));
}
