/* test_lb.c - the balancing algorithms behind lb.h: leastconn (least
 * loaded per weight, ties round-robin) and source (affinity, spread, and
 * how many clients move when the pool changes). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "lb.h"
#include "pool.h"

static struct config cfg;
static struct pool *pool;

static void setup_with(enum cfg_balance balance)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.backend.maxconn = 1000;
	cfg.backend.rise = 2;
	cfg.backend.fall = 3;
	cfg.backend.balance = balance;
	pool = pool_create(&cfg);
	cr_assert_not_null(pool);
}
static void setup_lc(void) { setup_with(BALANCE_LEASTCONN); }
static void setup_src(void) { setup_with(BALANCE_SOURCE); }
static void teardown(void) { pool_destroy(pool); }

static struct server *add(const char *name, unsigned weight)
{
	struct cfg_endpoint ep = { 0 };
	int err = 0;
	struct server *s;

	ep.sin.sin_family = AF_INET;
	snprintf(ep.text, sizeof(ep.text), "198.18.0.1:80");
	s = pool_server_add(pool, name, &ep, weight, SRV_STATIC, &err);
	cr_assert_not_null(s, "add %s: %d", name, err);
	return s;
}

/* A pick for client 198.18.x.y (i = x*256+y), as txn_dispatch makes it. */
static struct server *pick_for(uint32_t i, const struct server *exclude)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct lb_key key = { .client = (const struct sockaddr *)&sin };
	struct server *s;

	sin.sin_addr.s_addr = htonl(0xc6120000u + (i & 0x1ffff));
	sin.sin_port = htons((uint16_t)(1024 + i)); /* ignored */
	s = pool_next_server_get(pool, exclude, &key);
	if (s)
		server_put(s);
	return s;
}

/* ---- leastconn ---- */

Test(leastconn, picks_least_loaded, .init = setup_lc, .fini = teardown)
{
	struct server *a = add("a", 1), *b = add("b", 1), *c = add("c", 1);

	cr_assert_str_eq(pool_balance_name(pool), "leastconn");
	a->inflight = 5;
	b->inflight = 2;
	c->inflight = 7;
	for (int i = 0; i < 5; i++)
		cr_assert_eq(pool_next_server(pool, NULL), b, "pick %d", i);
	/* Queued requests are load too. */
	b->th[0].queued = 4;
	cr_assert_eq(pool_next_server(pool, NULL), a);
	/* exclude and unusable servers are skipped. */
	cr_assert_eq(pool_next_server(pool, a), b);
	pool_server_set_drain(pool, a, true);
	cr_assert_eq(pool_next_server(pool, NULL), b);
}

Test(leastconn, ties_round_robin, .init = setup_lc, .fini = teardown)
{
	struct server *s[3] = { add("a", 1), add("b", 1), add("c", 1) };

	/* Nothing in flight (short requests): a rotation, not always "a". */
	for (int round = 0; round < 4; round++)
		for (int i = 0; i < 3; i++)
			cr_assert_eq(pool_next_server(pool, NULL), s[i], "round %d pick %d", round,
				     i);
	/* Equal load above zero rotates the same way. */
	for (int i = 0; i < 3; i++)
		s[i]->inflight = 3;
	struct server *first = pool_next_server(pool, NULL);
	cr_assert_neq(pool_next_server(pool, NULL), first);
}

/* Requests that never finish: in flight ends up in the ratio of the
 * weights, 3:2:1. */
Test(leastconn, honours_weights, .init = setup_lc, .fini = teardown)
{
	struct server *s[3] = { add("a", 3), add("b", 2), add("c", 1) };

	for (int i = 0; i < 60; i++) {
		struct server *p = pool_next_server(pool, NULL);

		cr_assert_not_null(p);
		p->inflight++;
	}
	cr_assert_eq(s[0]->inflight, 30);
	cr_assert_eq(s[1]->inflight, 20);
	cr_assert_eq(s[2]->inflight, 10);
	/* A weight change counts at once: c at 6 wants 6x the load of b... */
	pool_server_set_weight(pool, s[2], 6);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(pool_next_server(pool, NULL), s[2], "pick %d", i);
}

Test(leastconn, server_down_and_back, .init = setup_lc, .fini = teardown)
{
	struct server *a = add("a", 1), *b = add("b", 1);

	a->inflight = 1;
	b->inflight = 9;
	pool_server_set_health(pool, a, SRV_DOWN, "test");
	cr_assert_eq(pool_next_server(pool, NULL), b);
	pool_server_set_health(pool, a, SRV_UP, "test");
	cr_assert_eq(pool_next_server(pool, NULL), a);
	pool_server_set_health(pool, b, SRV_DOWN, "test");
	pool_server_set_health(pool, a, SRV_DOWN, "test");
	cr_assert_null(pool_next_server(pool, NULL));
}

/* ---- source ---- */

#define NSRV     10
#define NCLIENTS 10000

static struct server *srv[NSRV];

static void add_ten(void)
{
	char name[16];

	for (int i = 0; i < NSRV; i++) {
		snprintf(name, sizeof(name), "web%d", i + 1);
		srv[i] = add(name, 1);
	}
}

static int index_of(const struct server *s)
{
	for (int i = 0; i < NSRV; i++)
		if (srv[i] == s)
			return i;
	cr_assert_fail("not one of the ten");
	return -1;
}

static void map_all(int *map)
{
	for (uint32_t c = 0; c < NCLIENTS; c++)
		map[c] = index_of(pick_for(c, NULL));
}

Test(source, same_client_same_server, .init = setup_src, .fini = teardown)
{
	add_ten();
	for (uint32_t c = 0; c < 500; c++) {
		struct server *first = pick_for(c, NULL);

		for (int r = 0; r < 5; r++)
			cr_assert_eq(pick_for(c, NULL), first, "client %u", c);
	}
	/* The port is not part of the key; v4-mapped IPv6 is the same client. */
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in v4 = { .sin_family = AF_INET };

	inet_pton(AF_INET6, "::ffff:198.18.3.4", &v6.sin6_addr);
	inet_pton(AF_INET, "198.18.3.4", &v4.sin_addr);
	cr_assert_eq(lb_client_hash((struct sockaddr *)&v6),
		     lb_client_hash((struct sockaddr *)&v4));
}

/* A pick for IPv6 client 2001:db8:18::/48 number i (issue 16): the
 * interface identifier varies, as SLAAC and privacy addresses do. */
static struct server *pick6_for(uint32_t i)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(40000) };
	struct lb_key key = { .client = (const struct sockaddr *)&sin6 };
	struct server *s;

	inet_pton(AF_INET6, "2001:db8:18:1::", &sin6.sin6_addr);
	sin6.sin6_addr.s6_addr[12] = (uint8_t)(i >> 24);
	sin6.sin6_addr.s6_addr[13] = (uint8_t)(i >> 16);
	sin6.sin6_addr.s6_addr[14] = (uint8_t)(i >> 8);
	sin6.sin6_addr.s6_addr[15] = (uint8_t)i;
	s = pool_next_server_get(pool, NULL, &key);
	if (s)
		server_put(s);
	return s;
}

/* IPv6 clients: each keeps its server, they spread evenly (the chi-square
 * bound below), and one of ten servers leaving moves about a tenth. */
Test(source, ipv6_clients, .init = setup_src, .fini = teardown)
{
	static int before[NCLIENTS];
	unsigned count[NSRV] = { 0 }, moved = 0;
	double chi2 = 0, expect = (double)NCLIENTS / NSRV;

	add_ten();
	for (uint32_t c = 0; c < NCLIENTS; c++) {
		before[c] = index_of(pick6_for(c));
		cr_assert_eq(index_of(pick6_for(c)), before[c], "client %u", c);
		count[before[c]]++;
	}
	for (int i = 0; i < NSRV; i++)
		chi2 += (count[i] - expect) * (count[i] - expect) / expect;
	cr_assert_lt(chi2, 27.9, "IPv6 spread: chi-square %.1f", chi2);
	pool_server_set_health(pool, srv[3], SRV_DOWN, "test");
	for (uint32_t c = 0; c < NCLIENTS; c++) {
		int now = index_of(pick6_for(c));

		if (now != before[c]) {
			moved++;
			cr_assert_eq(before[c], 3, "IPv6 client %u moved off a server that stayed",
				     c);
		}
	}
	printf("source: IPv6 clients, chi-square %.1f; one of ten down: %.4f moved\n", chi2,
	       (double)moved / NCLIENTS);
	cr_assert_leq(moved, NCLIENTS * 15 / 100);
	cr_assert_geq(moved, NCLIENTS * 5 / 100);
}

/* Chi-square over 10 equal servers, 9 degrees of freedom: 27.9 is the
 * 99.9th percentile of a fair spread. */
Test(source, spread_is_even, .init = setup_src, .fini = teardown)
{
	int map[NCLIENTS];
	unsigned count[NSRV] = { 0 };
	double chi2 = 0, expect = (double)NCLIENTS / NSRV;

	add_ten();
	map_all(map);
	for (int c = 0; c < NCLIENTS; c++)
		count[map[c]]++;
	for (int i = 0; i < NSRV; i++)
		chi2 += (count[i] - expect) * (count[i] - expect) / expect;
	printf("source: 10000 clients over 10 servers, chi-square %.1f (9 dof)\n", chi2);
	cr_assert_lt(chi2, 27.9);
}

/* A server leaves (down, then removed): only its clients move, about
 * 1/10; when it comes back, they come back. */
static void leave_and_return(bool remove)
{
	static int before[NCLIENTS], during[NCLIENTS], after[NCLIENTS];
	unsigned moved = 0;
	const int gone = 3;

	add_ten();
	map_all(before);
	if (remove)
		pool_server_remove(pool, srv[gone]);
	else
		pool_server_set_health(pool, srv[gone], SRV_DOWN, "test");
	for (uint32_t c = 0; c < NCLIENTS; c++) {
		struct server *s = pick_for(c, NULL);

		during[c] = s == srv[gone] ? -1 : index_of(s);
		cr_assert_neq(during[c], gone);
		if (during[c] != before[c]) {
			moved++;
			cr_assert_eq(before[c], gone, "client %u moved off a server that stayed",
				     c);
		}
	}
	printf("source: one of ten servers %s: %.4f of the clients moved (ideal 0.1)\n",
	       remove ? "removed" : "down", (double)moved / NCLIENTS);
	cr_assert_leq(moved, NCLIENTS * 15 / 100);
	cr_assert_geq(moved, NCLIENTS * 5 / 100);
	if (remove)
		srv[gone] = add("web4", 1);
	else
		pool_server_set_health(pool, srv[gone], SRV_UP, "test");
	map_all(after);
	for (int c = 0; c < NCLIENTS; c++)
		cr_assert_eq(after[c], before[c], "client %d did not return", c);
}

Test(source, server_down_moves_a_tenth, .init = setup_src, .fini = teardown)
{
	leave_and_return(false);
}
Test(source, server_removed_moves_a_tenth, .init = setup_src, .fini = teardown)
{
	leave_and_return(true);
}

/* Unusable or full first choice: the next choice, always the same one;
 * all full: the first choice (the request queues there). */
Test(source, fallback_is_deterministic, .init = setup_src, .fini = teardown)
{
	add_ten();
	for (uint32_t c = 0; c < 200; c++) {
		struct server *first = pick_for(c, NULL);
		struct server *second = pick_for(c, first);

		cr_assert_neq(second, first);
		pool_server_set_drain(pool, first, true);
		cr_assert_eq(pick_for(c, NULL), second, "client %u", c);
		pool_server_set_drain(pool, first, false);
		first->inflight = first->maxconn;
		cr_assert_eq(pick_for(c, NULL), second, "client %u (full)", c);
		for (int i = 0; i < NSRV; i++)
			srv[i]->inflight = srv[i]->maxconn;
		cr_assert_eq(pick_for(c, NULL), first, "client %u (all full)", c);
		for (int i = 0; i < NSRV; i++)
			srv[i]->inflight = 0;
	}
}

Test(source, honours_weights, .init = setup_src, .fini = teardown)
{
	struct server *a = add("a", 2), *b = add("b", 1);
	unsigned na = 0;

	for (uint32_t c = 0; c < NCLIENTS; c++)
		na += pick_for(c, NULL) == a;
	cr_assert_not_null(b);
	/* Expect 2/3 = 6667; 3 standard deviations are ~140. */
	cr_assert(na > 6450 && na < 6880, "a got %u of 10000", na);
}

/* ---- switching (reload) ---- */

Test(balance, set_balance_switches, .init = setup_src, .fini = teardown)
{
	struct server *a = add("a", 1), *b = add("b", 1);

	cr_assert_str_eq(pool_balance_name(pool), "source");
	pool_set_balance(pool, BALANCE_ROUNDROBIN);
	cr_assert_str_eq(pool_balance_name(pool), "roundrobin");
	cr_assert_eq(pool_next_server(pool, NULL), a);
	cr_assert_eq(pool_next_server(pool, NULL), b);
	pool_set_balance(pool, BALANCE_LEASTCONN);
	cr_assert_str_eq(pool_balance_name(pool), "leastconn");
	b->inflight = 1;
	cr_assert_eq(pool_next_server(pool, NULL), a);
	cr_assert_eq(pool_next_server(pool, NULL), a);
}
