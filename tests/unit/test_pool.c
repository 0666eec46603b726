/* test_pool.c - round-robin, weights, health thresholds, drain, removal. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "pool.h"

static struct config cfg;
static struct pool *pool;

static void setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.backend.maxconn = 4;
	cfg.backend.rise = 2;
	cfg.backend.fall = 3;
	cfg.backend.health_interval_ms = 1000;
	pool = pool_create(&cfg);
	cr_assert_not_null(pool);
}

static void teardown(void) { pool_destroy(pool); }

static struct server *add(const char *name, unsigned weight, enum server_source src)
{
	struct cfg_endpoint ep = { 0 };
	int err = 0;
	struct server *s;

	ep.sin.sin_family = AF_INET;
	snprintf(ep.text, sizeof(ep.text), "198.18.0.1:80");
	s = pool_server_add(pool, name, &ep, weight, src, &err);
	cr_assert_not_null(s, "add %s: %d", name, err);
	return s;
}

/* Pick n servers and count picks per server index (0..2). */
static void pick_n(unsigned n, struct server **srv, unsigned nsrv, unsigned *counts)
{
	memset(counts, 0, nsrv * sizeof(*counts));
	for (unsigned i = 0; i < n; i++) {
		struct server *s = pool_next_server(pool, NULL);

		cr_assert_not_null(s);
		for (unsigned k = 0; k < nsrv; k++)
			counts[k] += s == srv[k];
	}
}

TestSuite(pool, .init = setup, .fini = teardown);

Test(pool, equal_weights_rotate_in_order)
{
	struct server *s[3] = { add("a", 1, SRV_STATIC), add("b", 1, SRV_STATIC),
				add("c", 1, SRV_STATIC) };

	for (int round = 0; round < 4; round++)
		for (int i = 0; i < 3; i++)
			cr_assert_eq(pool_next_server(pool, NULL), s[i], "round %d pick %d", round,
				     i);
}

Test(pool, three_thousand_requests_split_exactly)
{
	struct server *s[3] = { add("a", 1, SRV_STATIC), add("b", 1, SRV_STATIC),
				add("c", 1, SRV_STATIC) };
	unsigned c[3];

	pick_n(3000, s, 3, c);
	cr_assert(c[0] == 1000 && c[1] == 1000 && c[2] == 1000, "%u %u %u", c[0], c[1], c[2]);
}

Test(pool, weights_are_honoured_and_interleaved)
{
	struct server *s[3] = { add("a", 5, SRV_STATIC), add("b", 1, SRV_STATIC),
				add("c", 1, SRV_STATIC) };
	unsigned c[3];
	const char *expect = "aabacaa"; /* smooth WRR: spread, not aaaaabc */

	for (int i = 0; i < 7; i++) {
		struct server *got = pool_next_server(pool, NULL);

		cr_assert_eq(got->name[0], expect[i], "pick %d: %s", i, got->name);
	}
	pick_n(700, s, 3, c);
	cr_assert(c[0] == 500 && c[1] == 100 && c[2] == 100, "%u %u %u", c[0], c[1], c[2]);
}

Test(pool, exclude_skips_a_server_unless_none_else)
{
	struct server *a = add("a", 1, SRV_STATIC), *b = add("b", 1, SRV_STATIC);

	for (int i = 0; i < 10; i++)
		cr_assert_eq(pool_next_server(pool, a), b);
	pool_server_set_health(pool, b, SRV_DOWN, "test");
	cr_assert_null(pool_next_server(pool, a));
	cr_assert_eq(pool_next_server(pool, NULL), a);
}

Test(pool, fall_failures_take_a_server_down_and_rise_checks_bring_it_back)
{
	struct server *a = add("a", 1, SRV_STATIC), *b = add("b", 1, SRV_STATIC);

	pool_server_failed(pool, a, FAIL_CONNECT);
	pool_server_failed(pool, a, FAIL_RESPONSE_TMO);
	cr_assert_eq(a->health, SRV_UP, "2 failures < fall 3");
	pool_server_ok(pool, a, false); /* a success resets the count */
	pool_server_failed(pool, a, FAIL_CONNECT);
	pool_server_failed(pool, a, FAIL_CONNECT);
	cr_assert_eq(a->health, SRV_UP);
	pool_server_failed(pool, a, FAIL_CONNECT);
	cr_assert_eq(a->health, SRV_DOWN);
	cr_assert_eq(a->failures, 5);
	cr_assert_eq(a->fail_by[FAIL_CONNECT], 4);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(pool_next_server(pool, NULL), b);
	pool_server_ok(pool, a, false); /* with checks configured, requests don't revive */
	pool_server_ok(pool, a, true);
	cr_assert_eq(a->health, SRV_DOWN, "1 check < rise 2");
	pool_server_ok(pool, a, true);
	cr_assert_eq(a->health, SRV_UP);
}

Test(pool, registered_servers_start_down_static_up)
{
	struct server *a = add("a", 1, SRV_STATIC), *r = add("r", 1, SRV_REGISTERED);

	cr_assert_eq(a->health, SRV_UP);
	cr_assert_eq(r->health, SRV_DOWN);
	cr_assert_str_eq(server_state_name(r), "down");
	cr_assert_eq(pool_count_usable(pool), 1);
}

Test(pool, drain_leaves_rotation_and_enable_returns)
{
	struct server *a = add("a", 1, SRV_STATIC), *b = add("b", 1, SRV_STATIC);

	pool_server_set_drain(pool, a, true);
	cr_assert_str_eq(server_state_name(a), "drain");
	for (int i = 0; i < 5; i++)
		cr_assert_eq(pool_next_server(pool, NULL), b);
	pool_server_set_drain(pool, a, false);
	cr_assert_eq(pool_count_usable(pool), 2);
}

Test(pool, duplicate_names_rejected)
{
	struct cfg_endpoint ep = { 0 };
	int err = 0;

	add("a", 1, SRV_STATIC);
	cr_assert_null(pool_server_add(pool, "a", &ep, 1, SRV_STATIC, &err));
	cr_assert_eq(err, -EEXIST);
}

static int events[8];
static void count_events(struct pool *p, struct server *s, enum pool_event ev, void *arg)
{
	(void)p;
	(void)s;
	(void)arg;
	events[ev]++;
}

Test(pool, observers_see_every_change_and_removed_server_stays_valid_while_referenced)
{
	struct server *a;

	memset(events, 0, sizeof(events));
	pool_add_observer(pool, count_events, NULL);
	a = add("a", 1, SRV_STATIC);
	server_get(a); /* a request in flight */
	pool_server_set_health(pool, a, SRV_DOWN, "t");
	pool_server_set_health(pool, a, SRV_UP, "t");
	pool_server_set_drain(pool, a, true);
	pool_server_set_weight(pool, a, 3);
	pool_server_remove(pool, a);
	cr_assert_eq(events[POOL_SERVER_ADDED], 1);
	cr_assert_eq(events[POOL_SERVER_DOWN], 1);
	cr_assert_eq(events[POOL_SERVER_UP], 1);
	cr_assert_eq(events[POOL_SERVER_DRAIN], 1);
	cr_assert_eq(events[POOL_SERVER_WEIGHT], 1);
	cr_assert_eq(events[POOL_SERVER_REMOVED], 1);
	cr_assert_null(pool_first(pool));
	cr_assert(a->removed);
	cr_assert_null(pool_next_server(pool, NULL));
	server_put(a); /* last reference: freed (ASan checks) */
}

Test(pool, passing_checks_do_not_excuse_failing_requests)
{
	struct server *a = add("a", 1, SRV_STATIC);

	/* A server whose /healthz is fine but whose answers break (found by
	 * the abuse suite: reset mid-body, short bodies). */
	for (int i = 0; i < 2; i++) {
		pool_server_failed(pool, a, FAIL_PROTOCOL);
		pool_server_ok(pool, a, true);
	}
	cr_assert_eq(a->health, SRV_UP, "2 failed requests < fall 3");
	pool_server_failed(pool, a, FAIL_PROTOCOL);
	cr_assert_eq(a->health, SRV_DOWN, "the third failed request in a row takes it down");
}

Test(pool, check_failures_and_request_failures_count_apart)
{
	struct server *a = add("a", 1, SRV_STATIC);

	pool_server_failed(pool, a, FAIL_CHECK);
	pool_server_failed(pool, a, FAIL_CONNECT);
	pool_server_failed(pool, a, FAIL_CHECK);
	pool_server_failed(pool, a, FAIL_CONNECT);
	cr_assert_eq(a->health, SRV_UP, "2 + 2 is not 3 in a row of either kind");
	pool_server_ok(pool, a, false); /* a good request */
	pool_server_failed(pool, a, FAIL_CHECK);
	cr_assert_eq(a->health, SRV_DOWN, "3 failed checks in a row");
}
