/* test_vrrp_election.c - several state machines on a simulated LAN, with
 * real loop timers: adverts are encoded to bytes, carried by a fake bus
 * (which can be partitioned) and parsed by the receivers, exactly as the
 * raw socket would deliver them.  Interval 100 ms; every wait polls with
 * a deadline only a hang reaches.  Black-box: only states, VIP holders,
 * GARPs and the status (reason, timers at loop time) are checked.
 *
 * No assertion depends on how fast the machine is (issue 18): the bus
 * delivers before any other due timer runs, as a LAN delivers before the
 * receiver's next timer, so a stalled loop cannot fire a Master_Down_Timer
 * ahead of the advert that would have reset it; "how long until" is read
 * at the loop's own time against the timer that must have caused it. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "vrrp.h"

#define NMAX    4
#define QMAX    64
#define HANG_MS 10000L

struct node {
	int idx;
	struct vrrp *v; /* NULL: crashed or not started */
	struct in_addr addr;
	int part; /* nodes hear each other only within a partition */
	bool vip; /* holds the VIP (vip_add without vip_remove) */
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
	/* Deliver from the loop, never from inside the sender's transition,
	 * but before any other due timer (time 0 sorts first in the heap). */
	loop_timer_arm_at(loop, &deliver_timer, 0);
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
	.send_advert = n_send,
	.vip_add = n_vip_add,
	.vip_remove = n_vip_remove,
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
	cfg.ha.interop = true; /* the RFC's election; the key check: test_vrrp_auth.c */
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

static enum vrrp_state st(int i) { return nodes[i].v ? vrrp_get_state(nodes[i].v) : VRRP_INIT; }

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

/* Run the loop until pred(arg), or -1 after HANG_MS (a hang); returns the
 * loop time of the iteration that made pred true. */
static int64_t run_until(bool (*pred)(int), int arg)
{
	uint64_t t0 = loop_clock_ms();

	while (!pred(arg)) {
		if (loop_clock_ms() - t0 > (uint64_t)HANG_MS)
			return -1;
		loop_run_once(loop, 10);
	}
	return (int64_t)loop_now_ms(loop);
}

/* Run the loop for ms of its own time: every timer due by then has run. */
static void run_for(long ms)
{
	uint64_t end = loop_now_ms(loop) + (uint64_t)ms;

	while (loop_now_ms(loop) < end)
		loop_run_once(loop, 10);
}

static struct vrrp_status status(int i)
{
	struct vrrp_status s;

	vrrp_get_status(nodes[i].v, &s);
	return s;
}

/* Stable: still exactly one MASTER, the expected one, holding the only VIP. */
static void assert_stable_master(int i)
{
	run_for(500);
	cr_assert(sole_master_is(i), "node %d should be the sole MASTER (%d masters)", i,
		  masters());
	cr_assert_eq(vip_holders(), 1);
	cr_assert(nodes[i].vip);
}

/* Priorities 200, 150, 100 on ascending addresses: priority beats address. */
static void three_nodes(void)
{
	boot(0, 200, true, 0);
	boot(1, 150, true, 0);
	boot(2, 100, true, 0);
	cr_assert_geq(run_until(sole_master_is, 0), 0);
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
	uint64_t md_at;
	int64_t t;

	three_nodes();
	md_at = status(1).master_down_at_ms; /* last advert heard + MDI */
	crash(0);
	t = run_until(sole_master_is, 1);
	cr_assert_geq(t, 0);
	/* MDI for priority 150 is 341 ms, counted from the last advert heard. */
	cr_assert_eq(status(1).master_down_interval_ms, 341);
	cr_assert_geq((uint64_t)t, md_at, "took over at %lld, master down due at %llu",
		      (long long)t, (unsigned long long)md_at);
	cr_assert_str_eq(status(1).reason, "no advert for 341 ms (Master_Down_Interval)");
	assert_stable_master(1);
	cr_assert_eq(st(2), VRRP_BACKUP);
}

Test(election, graceful_stop_takes_over_after_skew_time)
{
	three_nodes();
	vrrp_stop(nodes[0].v); /* priority 0 */
	cr_assert_geq(run_until(sole_master_is, 1), 0);
	/* Skew_Time for 150 is 41 ms, not the MDI (341 ms). */
	cr_assert_str_eq(status(1).reason, "master released with priority 0, Skew_Time 41 ms");
	cr_assert(!nodes[0].vip);
	assert_stable_master(1);
}

Test(election, crash_detector_takes_over_after_skew_time)
{
	boot(0, 150, true, 0);
	boot(1, 100, true, 0);
	cr_assert_geq(run_until(sole_master_is, 0), 0);
	crash(0);
	vrrp_master_lost(nodes[1].v); /* the sync session was reset */
	cr_assert_geq(run_until(sole_master_is, 1), 0);
	cr_assert_str_eq(status(1).reason, "master lost (sync session reset), Skew_Time 60 ms");
}

Test(election, split_brain_heals_to_one_master_with_a_fresh_garp)
{
	unsigned garps;

	boot(0, 150, true, 0);
	boot(1, 100, true, 0);
	cr_assert_geq(run_until(sole_master_is, 0), 0);
	nodes[1].part = 1; /* partition */
	cr_assert_geq(run_until(two_masters, 0), 0);
	run_for(300);
	cr_assert_eq(masters(), 2);
	cr_assert_eq(vip_holders(), 2);
	garps = nodes[0].garps;
	nodes[1].part = 0; /* heal */
	cr_assert_geq(run_until(sole_master_is, 0), 0);
	assert_stable_master(0);
	cr_assert_eq(nodes[0].garps, garps + 1, "winner re-announces the VIP once");
}

Test(election, equal_priority_tie_goes_to_the_higher_address)
{
	boot(0, 100, true, 0); /* 198.18.0.11 */
	boot(1, 100, true, 0); /* 198.18.0.12 */
	nodes[1].part = 1;
	cr_assert_geq(run_until(two_masters, 0), 0);
	nodes[1].part = 0;
	cr_assert_geq(run_until(sole_master_is, 1), 0);
	assert_stable_master(1);
}

Test(election, restarted_higher_priority_preempts_after_its_delay)
{
	uint64_t booted;
	int64_t t;

	boot(0, 200, true, 0);
	boot(1, 100, true, 0);
	cr_assert_geq(run_until(sole_master_is, 0), 0);
	crash(0);
	cr_assert_geq(run_until(sole_master_is, 1), 0);
	booted = loop_now_ms(loop); /* the time vrrp_start reads */
	boot(0, 200, true, 600);
	t = run_until(sole_master_is, 0);
	cr_assert_geq(t, 0);
	cr_assert_geq((uint64_t)t - booted, 600, "preempted %lld ms after boot, delay is 600",
		      (long long)((uint64_t)t - booted));
	assert_stable_master(0);
}

Test(election, without_preempt_a_restarted_node_stays_backup)
{
	boot(0, 200, true, 0);
	boot(1, 100, true, 0);
	cr_assert_geq(run_until(sole_master_is, 0), 0);
	crash(0);
	cr_assert_geq(run_until(sole_master_is, 1), 0);
	boot(0, 200, false, 0);
	run_for(1500);
	cr_assert_eq(st(0), VRRP_BACKUP);
	cr_assert(sole_master_is(1));
}
