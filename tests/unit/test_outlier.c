/* test_outlier.c - passive health (issue 19): which failed requests count,
 * how much of the pool they may take out, and panic mode; first the pure
 * rules (outlier.c), then the pool applying them (pool.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "outlier.h"
#include "pool.h"

static const struct outlier_limits lim = { .connect_timeout_ms = 1000,
					   .server_timeout_ms = 10000 };

Test(outlier_rules, hard_evidence_always_counts)
{
	struct outlier_state st = { 0 };

	for (int i = 0; i < 5; i++)
		cr_assert(outlier_counts(&st, OUTLIER_HARD, 1000, &lim), "refused #%d", i);
}

Test(outlier_rules, a_burst_of_connect_timeouts_is_one_failure)
{
	struct outlier_state st = { 0 };
	unsigned counted = 0;

	/* 512 connects that were in flight together time out within 12 ms. */
	for (unsigned i = 0; i < 512; i++)
		counted += outlier_counts(&st, OUTLIER_CONNECT_TO, 5000 + i % 12, &lim);
	cr_assert_eq(counted, 1);
	/* A connect started after that one failed, timing out a timeout later:
	 * new evidence. */
	cr_assert_not(outlier_counts(&st, OUTLIER_CONNECT_TO, 5999, &lim));
	cr_assert(outlier_counts(&st, OUTLIER_CONNECT_TO, 6000, &lim));
}

Test(outlier_rules, connect_and_response_timeouts_are_apart)
{
	struct outlier_state st = { 0 };

	cr_assert(outlier_counts(&st, OUTLIER_CONNECT_TO, 1000, &lim));
	cr_assert(outlier_counts(&st, OUTLIER_RESPONSE_TO, 1001, &lim));
	cr_assert_not(outlier_counts(&st, OUTLIER_RESPONSE_TO, 10999, &lim), "same burst");
	cr_assert(outlier_counts(&st, OUTLIER_RESPONSE_TO, 11001, &lim));
	cr_assert(outlier_counts(&st, OUTLIER_HARD, 11002, &lim), "hard evidence is never late");
}

Test(outlier_rules, ejection_cap_is_a_share_but_at_least_one)
{
	cr_assert_eq(outlier_max_ejected(0, 10), 0);
	cr_assert_eq(outlier_max_ejected(1, 10), 1);
	cr_assert_eq(outlier_max_ejected(3, 10), 1);
	cr_assert_eq(outlier_max_ejected(19, 10), 1);
	cr_assert_eq(outlier_max_ejected(20, 10), 2);
	cr_assert_eq(outlier_max_ejected(3, 0), 1);
	cr_assert_eq(outlier_max_ejected(3, 50), 1);
	cr_assert_eq(outlier_max_ejected(4, 50), 2);
	cr_assert_eq(outlier_max_ejected(3, 100), 3);
}

Test(outlier_rules, panic_below_the_threshold)
{
	cr_assert(outlier_panic(0, 3, 50));
	cr_assert(outlier_panic(1, 3, 50), "1 of 3 is below half");
	cr_assert_not(outlier_panic(2, 3, 50));
	cr_assert_not(outlier_panic(1, 2, 50), "half is not below half");
	cr_assert(outlier_panic(0, 1, 50));
	cr_assert_not(outlier_panic(0, 0, 50), "nothing eligible: nothing to panic over");
	cr_assert_not(outlier_panic(0, 3, 0), "threshold 0: never");
	cr_assert(outlier_panic(9, 10, 100));
}

/* ---- the pool applying them ---- */

static struct config cfg;
static struct pool *pool;
static struct server *s[3];

static struct server *add(const char *name, enum server_source src)
{
	struct cfg_endpoint ep = { 0 };
	int err = 0;
	struct server *srv;

	ep.sin.sin_family = AF_INET;
	snprintf(ep.text, sizeof(ep.text), "198.18.0.1:80");
	srv = pool_server_add(pool, name, &ep, 1, src, &err);
	cr_assert_not_null(srv, "add %s: %d", name, err);
	return srv;
}

static void setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.backend.maxconn = 4;
	cfg.backend.rise = 2;
	cfg.backend.fall = 3;
	cfg.backend.health_interval_ms = 1000;
	cfg.backend.connect_timeout_ms = 1000;
	cfg.backend.server_timeout_ms = 10000;
	cfg.backend.max_ejection_percent = 10;
	cfg.backend.panic_threshold = 50;
	pool = pool_create(&cfg);
	cr_assert_not_null(pool);
	s[0] = add("a", SRV_STATIC);
	s[1] = add("b", SRV_STATIC);
	s[2] = add("c", SRV_STATIC);
}

static void teardown(void) { pool_destroy(pool); }

TestSuite(outlier_pool, .init = setup, .fini = teardown);

Test(outlier_pool, refused_connects_take_a_dead_server_out)
{
	for (int i = 0; i < 3; i++)
		pool_server_failed_at(pool, s[0], FAIL_CONNECT, 1000 + i);
	cr_assert_eq(s[0]->health, SRV_DOWN);
	cr_assert(s[0]->ejected);
	cr_assert_not(pool_in_panic(pool));
	for (int i = 0; i < 4; i++)
		cr_assert_neq(pool_next_server(pool, NULL), s[0]);
}

Test(outlier_pool, a_stall_of_every_server_takes_none_out)
{
	/* Every server's SYNs dropped for 2 s under load: bursts of connect
	 * timeouts at t = 1 s and t = 2 s on each (the connects started at 0
	 * and at 1), and some requests on kept-alive connections complete. */
	for (unsigned burst = 1; burst <= 2; burst++)
		for (unsigned i = 0; i < 3; i++)
			for (unsigned k = 0; k < 170; k++)
				pool_server_failed_at(pool, s[i], FAIL_CONNECT_TMO,
						      burst * 1000 + k % 15);
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(s[i]->health, SRV_UP, "server %u taken out by one stall", i);
		cr_assert_eq(s[i]->consecutive_req_fail, 2);
		cr_assert_eq(s[i]->fail_by[FAIL_CONNECT_TMO], 340, "every one is still counted");
	}
}

Test(outlier_pool, timeouts_with_no_answer_for_fall_timeouts_take_it_out)
{
	/* A server that answers nothing at all: one counted timeout a second. */
	pool_server_failed_at(pool, s[1], FAIL_CONNECT_TMO, 1000);
	pool_server_failed_at(pool, s[1], FAIL_CONNECT_TMO, 2000);
	cr_assert_eq(s[1]->health, SRV_UP);
	pool_server_failed_at(pool, s[1], FAIL_CONNECT_TMO, 3000);
	cr_assert_eq(s[1]->health, SRV_DOWN);
}

/* Taken out on timeouts alone (a stall that outlasted (fall - 1) x
 * connect_timeout): back at the first passed check, not after `rise`. */
Test(outlier_pool, a_server_out_for_timeouts_alone_is_back_after_one_check)
{
	for (int k = 1; k <= 3; k++)
		pool_server_failed_at(pool, s[1], FAIL_CONNECT_TMO, k * 1000);
	cr_assert_eq(s[1]->health, SRV_DOWN);
	pool_server_ok(pool, s[1], true);
	cr_assert_eq(s[1]->health, SRV_UP, "one check after a stall");
	/* Refused: `rise` checks, as always. */
	for (int k = 1; k <= 3; k++)
		pool_server_failed_at(pool, s[1], FAIL_CONNECT, 5000 + k);
	cr_assert_eq(s[1]->health, SRV_DOWN);
	pool_server_ok(pool, s[1], true);
	cr_assert_eq(s[1]->health, SRV_DOWN, "1 check < rise 2");
	pool_server_ok(pool, s[1], true);
	cr_assert_eq(s[1]->health, SRV_UP);
}

Test(outlier_pool, an_answer_between_timeouts_resets_the_run)
{
	pool_server_failed_at(pool, s[1], FAIL_CONNECT_TMO, 1000);
	pool_server_failed_at(pool, s[1], FAIL_CONNECT_TMO, 2000);
	pool_server_ok(pool, s[1], false); /* congested, not dead */
	pool_server_failed_at(pool, s[1], FAIL_CONNECT_TMO, 3000);
	pool_server_failed_at(pool, s[1], FAIL_CONNECT_TMO, 4000);
	cr_assert_eq(s[1]->health, SRV_UP);
}

Test(outlier_pool, failed_requests_take_out_at_most_the_cap)
{
	struct pool_summary sum;

	for (unsigned i = 0; i < 3; i++)
		for (int k = 0; k < 5; k++)
			pool_server_failed_at(pool, s[i], FAIL_CONNECT, 1000 + k);
	cr_assert_eq(s[0]->health, SRV_DOWN);
	cr_assert_eq(s[1]->health, SRV_UP, "10%% of 3 servers is still one, not two");
	cr_assert_eq(s[2]->health, SRV_UP);
	pool_get_summary(pool, &sum);
	cr_assert_eq(sum.ejected, 1);
	cr_assert_eq(sum.max_ejected, 1);
	cr_assert_eq(sum.in_rotation, 2);
	/* The ejected one comes back by checks; the cap frees for another. */
	pool_server_ok(pool, s[0], true);
	pool_server_ok(pool, s[0], true);
	cr_assert_eq(s[0]->health, SRV_UP);
	cr_assert_not(s[0]->ejected);
	pool_server_failed_at(pool, s[1], FAIL_CONNECT, 2000);
	cr_assert_eq(s[1]->health, SRV_DOWN, "its run went on meanwhile");
}

Test(outlier_pool, checks_are_not_capped_and_panic_uses_every_server)
{
	struct pool_summary sum;
	unsigned seen[3] = { 0 };

	/* Checks that time out with no request answered: maybe dead, maybe
	 * stalled. */
	for (unsigned i = 0; i < 2; i++)
		for (int k = 0; k < 3; k++)
			pool_server_check_failed(pool, s[i], true);
	cr_assert_eq(s[0]->health, SRV_DOWN);
	cr_assert_eq(s[1]->health, SRV_DOWN);
	cr_assert(pool_in_panic(pool), "1 of 3 in rotation is below 50%%");
	cr_assert_str_eq(server_rotation_name(pool, s[0]), "panic");
	cr_assert_str_eq(server_rotation_name(pool, s[2]), "yes");
	for (int k = 0; k < 30; k++) {
		struct server *p = pool_next_server(pool, NULL);

		for (unsigned i = 0; i < 3; i++)
			seen[i] += p == s[i];
	}
	cr_assert(seen[0] == 10 && seen[1] == 10 && seen[2] == 10, "%u %u %u", seen[0], seen[1],
		  seen[2]);
	pool_get_summary(pool, &sum);
	cr_assert(sum.panic);
	cr_assert_eq(sum.panics, 1);
	/* Back to 2 of 3: panic over, the DOWN one gets nothing again. */
	pool_server_ok(pool, s[0], true);
	pool_server_ok(pool, s[0], true);
	cr_assert_not(pool_in_panic(pool));
	for (int k = 0; k < 6; k++)
		cr_assert_neq(pool_next_server(pool, NULL), s[1]);
}

Test(outlier_pool, panic_leaves_out_drained_and_never_checked_servers)
{
	struct server *r = add("r", SRV_REGISTERED); /* down until its first check */

	pool_server_set_drain(pool, s[0], true);
	pool_server_set_health(pool, s[1], SRV_DOWN, "test");
	pool_server_set_health(pool, s[2], SRV_DOWN, "test");
	cr_assert(pool_in_panic(pool));
	for (int k = 0; k < 8; k++) {
		struct server *p = pool_next_server(pool, NULL);

		cr_assert(p == s[1] || p == s[2], "picked %s", p ? p->name : "nothing");
	}
	cr_assert_str_eq(server_rotation_name(pool, r), "no");
	cr_assert_str_eq(server_rotation_name(pool, s[0]), "no");
	/* Nothing eligible at all: no panic, no server (the proxy waits). */
	pool_server_set_drain(pool, s[1], true);
	pool_server_set_drain(pool, s[2], true);
	cr_assert_not(pool_in_panic(pool));
	cr_assert_null(pool_next_server(pool, NULL));
}

/* Active checks in a stall: a check that times out while the server
 * answers requests over kept-alive connections is not held against it;
 * one that is refused is, and so is a timeout with nothing answered. */
Test(outlier_pool, a_timed_out_check_of_a_server_answering_requests_does_not_count)
{
	for (int k = 0; k < 5; k++) {
		server_count(&s[0]->th[0].answered, 10); /* requests completed meanwhile */
		pool_server_check_failed(pool, s[0], true);
	}
	cr_assert_eq(s[0]->health, SRV_UP, "5 check timeouts while answering");
	cr_assert_eq(s[0]->fail_by[FAIL_CHECK], 5, "each one still counted");
	/* Nothing answered since: the timeouts count. */
	for (int k = 0; k < 3; k++)
		pool_server_check_failed(pool, s[0], true);
	cr_assert_eq(s[0]->health, SRV_DOWN);
	/* A refused check counts whatever the traffic. */
	for (int k = 0; k < 3; k++) {
		server_count(&s[1]->th[0].answered, 10);
		pool_server_check_failed(pool, s[1], false);
	}
	cr_assert_eq(s[1]->health, SRV_DOWN);
}

/* Panic is for servers that may only be stalled: one whose last word was
 * a refusal is dead, and requests sent there would only spend retries. */
Test(outlier_pool, panic_leaves_out_servers_that_refuse)
{
	for (int k = 0; k < 3; k++) {
		pool_server_check_failed(pool, s[0], false); /* refused */
		pool_server_check_failed(pool, s[1], false);
	}
	cr_assert_eq(s[0]->health, SRV_DOWN);
	cr_assert_eq(s[1]->health, SRV_DOWN);
	cr_assert_not(pool_in_panic(pool), "the one left is all there is");
	for (int k = 0; k < 6; k++)
		cr_assert_eq(pool_next_server(pool, NULL), s[2]);
	/* s[1] stops refusing and times out (a stall, or a host that went
	 * off): it may be alive; s[2] stalls too: panic uses s[1] and s[2]. */
	pool_server_check_failed(pool, s[1], true);
	for (int k = 0; k < 3; k++)
		pool_server_check_failed(pool, s[2], true);
	cr_assert(pool_in_panic(pool));
	for (int k = 0; k < 6; k++) {
		struct server *p = pool_next_server(pool, NULL);

		cr_assert(p == s[1] || p == s[2], "picked %s", p ? p->name : "nothing");
	}
	cr_assert_str_eq(server_rotation_name(pool, s[0]), "no");
	cr_assert_str_eq(server_rotation_name(pool, s[1]), "panic");
	/* A refused request in panic: s[2] is dead after all, out again. */
	pool_server_failed_at(pool, s[2], FAIL_CONNECT, 5000);
	cr_assert_str_eq(server_rotation_name(pool, s[2]), "no");
	for (int k = 0; k < 4; k++)
		cr_assert_eq(pool_next_server(pool, NULL), s[1]);
}

Test(outlier_pool, panic_threshold_0_turns_panic_off)
{
	cfg.backend.panic_threshold = 0;
	for (unsigned i = 0; i < 3; i++)
		pool_server_set_health(pool, s[i], SRV_DOWN, "test");
	cr_assert_not(pool_in_panic(pool));
	cr_assert_null(pool_next_server(pool, NULL));
}
