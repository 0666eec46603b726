/* test_vrrp6_fsm.c - the IPv6 family's election (vrrp_create6): the same
 * state machine, link-local addresses as the tie-breaker (RFC 5798 6.4.3,
 * compared as 128-bit numbers), its own adverts recognised, the other
 * family's and (interop = no) every IPv6 advert dropped. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "config.h"
#include "loop.h"
#include "vrrp.h"
#include "vrrp6_packet.h"

static int sends, vip_adds, vip_removes, bursts;

static int f_send(void *c, uint8_t prio)
{
	sends++;
	return 0;
}
static int f_vip_add(void *c)
{
	vip_adds++;
	return 0;
}
static int f_vip_remove(void *c)
{
	vip_removes++;
	return 0;
}
static void f_burst(void *c) { bursts++; }

static const struct vrrp_ops ops = {
	.send_advert = f_send,
	.vip_add = f_vip_add,
	.vip_remove = f_vip_remove,
	.garp_burst = f_burst,
};

static struct loop *loop;
static struct config cfg;
static struct vrrp *v;

static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;

	cr_assert_eq(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

#define OURS "fe80::5054:ff:fe00:11"

static void setup(void)
{
	struct in6_addr ll = ip6(OURS);

	cr_assert_eq(loop_create(&loop), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.ha.vrid = 51;
	cfg.ha.priority = 100;
	cfg.ha.advert_interval_ms = 100;
	cfg.ha.preempt = true;
	cfg.ha.interop = true;
	inet_pton(AF_INET, "198.18.0.10", &cfg.ha.vips[0].addr);
	cfg.ha.nvips = 1;
	cfg.ha.vips6[0].addr6 = ip6("2001:db8:18::10");
	cfg.ha.vips6[0].prefixlen = 64;
	cfg.ha.nvips6 = 1;
	sends = vip_adds = vip_removes = bursts = 0;
	cr_assert_eq(vrrp_create6(loop, &cfg, &ll, &ops, NULL, &v), 0);
}

static void teardown(void)
{
	vrrp_destroy(v);
	loop_destroy(loop);
}

TestSuite(fsm6, .init = setup, .fini = teardown);

static void adv6(struct vrrp_advert *a, const char *src, uint8_t prio)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET6;
	a->src6 = ip6(src);
	a->dst6 = ip6(VRRP6_MCAST_GROUP);
	a->vrid = 51;
	a->priority = prio;
	a->interval_cs = 10;
	a->naddrs = 1;
	a->addrs6[0] = ip6("2001:db8:18::10");
}

static void become_master(void)
{
	vrrp_start(v);
	cr_assert_eq(vrrp_get_state(v), VRRP_BACKUP);
	vrrp_input_master_down(v);
	cr_assert_eq(vrrp_get_state(v), VRRP_MASTER);
}

Test(fsm6, fill_writes_the_ipv6_vips)
{
	struct vrrp_advert a;
	struct in6_addr want = ip6("2001:db8:18::10");

	vrrp_advert_fill(v, 100, &a);
	cr_expect_eq(a.family, AF_INET6);
	cr_expect_eq(a.naddrs, 1);
	cr_expect(IN6_ARE_ADDR_EQUAL(&a.addrs6[0], &want));
	cr_expect_eq(a.cksum, VRRP_CKSUM_PSEUDO);
}

Test(fsm6, equal_priority_higher_linklocal_wins)
{
	struct vrrp_advert a;
	struct vrrp_status st;

	become_master();
	cr_expect_eq(vip_adds, 1);
	cr_expect_eq(bursts, 1);
	adv6(&a, "fe80::5054:ff:fe00:10", 100); /* lower address: we assert */
	vrrp_recv_parsed(v, VRRP_RX_OK, &a);
	cr_expect_eq(vrrp_get_state(v), VRRP_MASTER);
	adv6(&a, "fe80::5054:ff:fe00:12", 100); /* higher: we step down */
	vrrp_recv_parsed(v, VRRP_RX_OK, &a);
	cr_expect_eq(vrrp_get_state(v), VRRP_BACKUP);
	cr_expect_eq(vip_removes, 1);
	vrrp_get_status(v, &st);
	cr_expect_eq(st.family, AF_INET6);
	cr_expect(IN6_ARE_ADDR_EQUAL(&st.master6, &a.src6));
}

Test(fsm6, own_other_family_and_causes_are_counted)
{
	struct vrrp_advert a;
	const struct vrrp_stats *s = vrrp_get_stats(v);

	vrrp_start(v);
	adv6(&a, OURS, 200);
	vrrp_recv_parsed(v, VRRP_RX_OK, &a);
	cr_expect_eq(s->rx_drops[VRRP_RX_OWN], 1);
	memset(&a, 0, sizeof(a)); /* an IPv4 advert */
	a.priority = 200;
	a.vrid = 51;
	a.interval_cs = 10;
	vrrp_recv_parsed(v, VRRP_RX_OK, &a);
	cr_expect_eq(s->rx_drops[VRRP_RX_NOT_VRRP], 1);
	adv6(&a, "fe80::1", 200);
	vrrp_recv_parsed(v, VRRP_RX_TTL, &a);
	cr_expect_eq(s->rx_drops[VRRP_RX_TTL], 1);
	cr_expect_eq(s->rx_adverts, 0);
	cr_expect_eq(vrrp_get_state(v), VRRP_BACKUP);
}

Test(fsm6, without_interop_no_ipv6_advert_counts)
{
	struct in6_addr ll = ip6(OURS);
	struct vrrp_advert a;

	vrrp_destroy(v);
	cfg.ha.interop = false;
	cr_assert_eq(vrrp_create6(loop, &cfg, &ll, &ops, NULL, &v), 0);
	become_master();
	adv6(&a, "fe80::ffff", 254);
	vrrp_recv_parsed(v, VRRP_RX_OK, &a);
	cr_expect_eq(vrrp_get_stats(v)->rx_drops[VRRP_RX_UNAUTH], 1);
	cr_expect_eq(vrrp_get_state(v), VRRP_MASTER);
}

Test(fsm6, no_linklocal_is_a_fault_until_one_comes)
{
	struct in6_addr none = IN6ADDR_ANY_INIT, ll = ip6(OURS);

	vrrp_destroy(v);
	cr_assert_eq(vrrp_create6(loop, &cfg, &none, &ops, NULL, &v), 0);
	vrrp_start(v);
	cr_expect_eq(vrrp_get_state(v), VRRP_FAULT);
	vrrp_set_primary6(v, &ll);
	cr_expect_eq(vrrp_get_state(v), VRRP_BACKUP);
	vrrp_set_primary6(v, &none);
	cr_expect_eq(vrrp_get_state(v), VRRP_FAULT);
}
