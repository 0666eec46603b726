/* test_successor.c - the named successor's rules (ha/successor.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "successor.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a;
}

static struct successor_cand cand(const char *a, uint8_t prio, bool ready)
{
	return (struct successor_cand){ .addr = ip(a), .priority = prio, .ready = ready };
}

Test(successor, highest_priority_wins)
{
	struct successor_cand c[] = { cand("198.18.0.11", 90, true),
				      cand("198.18.0.12", 120, true),
				      cand("198.18.0.13", 100, true) };

	cr_assert_eq(successor_choose(c, 3).s_addr, ip("198.18.0.12").s_addr);
}

Test(successor, tie_goes_to_the_highest_address)
{
	struct successor_cand c[] = { cand("198.18.0.13", 100, true),
				      cand("198.18.0.200", 100, true),
				      cand("198.18.0.12", 100, true) };

	cr_assert_eq(successor_choose(c, 3).s_addr, ip("198.18.0.200").s_addr);
}

/* A node without our snapshot (or unproven, or of unknown priority) is
 * never named, whatever its priority: a better node that is still
 * loading does not displace a ready one until it is ready. */
Test(successor, only_ready_nodes_with_a_priority)
{
	struct successor_cand c[] = { cand("198.18.0.11", 90, true),
				      cand("198.18.0.12", 200, false),
				      cand("198.18.0.13", 0, true) };

	cr_assert_eq(successor_choose(c, 3).s_addr, ip("198.18.0.11").s_addr);
	c[1].ready = true; /* it finished its snapshot: it takes the name */
	cr_assert_eq(successor_choose(c, 3).s_addr, ip("198.18.0.12").s_addr);
}

Test(successor, none_when_nobody_is_ready)
{
	struct successor_cand c[] = { cand("198.18.0.11", 90, false) };

	cr_assert_eq(successor_choose(c, 1).s_addr, 0);
	cr_assert_eq(successor_choose(c, 0).s_addr, 0);
}

Test(successor, codec_round_trip_and_bad_lengths)
{
	uint8_t buf[8];
	struct in_addr out;

	cr_assert_eq(successor_encode(ip("198.18.0.12"), buf, sizeof(buf)), 4);
	cr_assert_eq(successor_decode(buf, 4, &out), 0);
	cr_assert_eq(out.s_addr, ip("198.18.0.12").s_addr);
	cr_assert_eq(successor_encode(ip("198.18.0.12"), buf, 3), -ENOSPC);
	cr_assert_eq(successor_decode(buf, 3, &out), -EINVAL);
	cr_assert_eq(successor_decode(buf, 5, &out), -EINVAL);
}

static struct successor_view view(const char *succ, bool named, bool state, bool closed)
{
	return (struct successor_view){ .named = named,
					.succ = ip(succ),
					.self = ip("198.18.0.12"),
					.have_state = state,
					.peer_closed = closed };
}

/* Every order of events comes down to one of these views. */
Test(successor, crash_actions)
{
	struct successor_view v;

	/* An older MASTER, or one that named nobody: today's rule. */
	v = view("0.0.0.0", false, true, true);
	cr_assert_eq(successor_on_crash(&v), SUCC_RFC_SKEW);
	v = view("0.0.0.0", true, true, true);
	cr_assert_eq(successor_on_crash(&v), SUCC_RFC_SKEW);
	/* We are named, hold its state, its kernel closed: at once. */
	v = view("198.18.0.12", true, true, true);
	cr_assert_eq(successor_on_crash(&v), SUCC_TAKE_NOW);
	/* Named but the snapshot is not applied: no early move. */
	v = view("198.18.0.12", true, false, true);
	cr_assert_eq(successor_on_crash(&v), SUCC_RFC_SKEW);
	/* Named but a timeout, not the peer's kernel (a partition): no early move. */
	v = view("198.18.0.12", true, true, false);
	cr_assert_eq(successor_on_crash(&v), SUCC_RFC_SKEW);
	/* Another node is named: it moves, we keep the RFC timer (even if
	 * it turns out dead too: then Master_Down_Interval takes over). */
	v = view("198.18.0.13", true, true, true);
	cr_assert_eq(successor_on_crash(&v), SUCC_RFC_WAIT);
	v = view("198.18.0.11", true, false, false);
	cr_assert_eq(successor_on_crash(&v), SUCC_RFC_WAIT);
}

/* Issue 16: a [vrrp NAME] instance's MASTER is gone.  Only the first
 * instance's MASTER knows every live BACKUP (their sessions); with none
 * but the dead one it moves at once, else Skew_Time. */
Test(successor, instance_moves_now_only_when_nobody_else_could)
{
	struct successor_inst_view v = { .gone = true, .first_master = true, .others = 0 };

	cr_assert(successor_inst_now(&v));
	v.others = 1; /* a third balancer might be the better BACKUP */
	cr_assert_not(successor_inst_now(&v));
	v.others = 0;
	v.first_master = false; /* a BACKUP does not know the other BACKUPs */
	cr_assert_not(successor_inst_now(&v));
	v.first_master = true;
	v.gone = false; /* its kernel did not refuse: it may live */
	cr_assert_not(successor_inst_now(&v));
	v.gone = true;
	v.others = SIZE_MAX; /* unknown */
	cr_assert_not(successor_inst_now(&v));
}
