/* test_kwatch.c - the carrier verdict and the rtnetlink message parser of
 * netlink/kwatch, fed with hand-built messages through kwatch_input().
 * kwatch_open() needs only an unprivileged rtnetlink socket; it watches
 * "lo", which exists in every network namespace.  The loop never runs, so
 * real kernel events cannot interfere. */
#include "kwatch.h"
#include "loop.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <string.h>

/* ---- the verdict ---- */

Test(kwatch_verdict, up_needs_admin_lower_running_and_operstate)
{
	const unsigned ok = IFF_UP | IFF_RUNNING | IFF_LOWER_UP;
	const char *why = NULL;

	cr_assert(kwatch_carrier_ok(ok, IF_OPER_UP, &why));
	cr_assert_str_eq(why, "up");
	cr_assert(kwatch_carrier_ok(ok, IF_OPER_UNKNOWN, NULL));
	cr_assert_not(kwatch_carrier_ok(ok & ~IFF_UP, IF_OPER_UP, &why));
	cr_assert_str_eq(why, "admin down");
	cr_assert_not(kwatch_carrier_ok(ok & ~IFF_LOWER_UP, IF_OPER_UP, &why));
	cr_assert_str_eq(why, "no carrier");
	cr_assert_not(kwatch_carrier_ok(ok & ~IFF_RUNNING, IF_OPER_UP, &why));
	cr_assert_str_eq(why, "not running");
	cr_assert_not(kwatch_carrier_ok(ok, IF_OPER_DORMANT, &why));
	cr_assert_str_eq(why, "operstate dormant");
	cr_assert_not(kwatch_carrier_ok(ok, IF_OPER_LOWERLAYERDOWN, &why));
	cr_assert_not(kwatch_carrier_ok(ok, 200, &why));
	cr_assert_str_eq(why, "operstate unknown value");
}

/* ---- message builder (plain linux/netlink.h, no libmnl) ---- */

struct msg {
	union {
		struct nlmsghdr h;
		uint8_t b[1024];
	} u;
};

static struct nlmsghdr *msg_init(struct msg *m, uint16_t type, const void *fam, size_t famlen)
{
	memset(m, 0, sizeof(*m));
	m->u.h.nlmsg_type = type;
	m->u.h.nlmsg_len = NLMSG_LENGTH(famlen);
	memcpy(NLMSG_DATA(&m->u.h), fam, famlen);
	m->u.h.nlmsg_len = NLMSG_ALIGN(m->u.h.nlmsg_len);
	return &m->u.h;
}

static void put_attr(struct nlmsghdr *n, uint16_t type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((uint8_t *)n + NLMSG_ALIGN(n->nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static struct nlmsghdr *link_msg(struct msg *m, uint16_t type, int index, unsigned flags,
				 const char *name, int operstate)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = flags };
	struct nlmsghdr *n = msg_init(m, type, &ifi, sizeof(ifi));

	if (name)
		put_attr(n, IFLA_IFNAME, name, strlen(name) + 1);
	if (operstate >= 0) {
		uint8_t o = (uint8_t)operstate;

		put_attr(n, IFLA_OPERSTATE, &o, 1);
	}
	return n;
}

static struct nlmsghdr *addr_msg(struct msg *m, uint16_t type, int family, int index,
				 const char *ip, unsigned plen, const char *label)
{
	struct ifaddrmsg ifa = { .ifa_family = (uint8_t)family,
				 .ifa_prefixlen = (uint8_t)plen,
				 .ifa_index = (uint32_t)index };
	struct nlmsghdr *n = msg_init(m, type, &ifa, sizeof(ifa));
	struct in6_addr a6;
	struct in_addr a;

	if (inet_pton(AF_INET6, ip, &a6) == 1) { /* IPv6 has no IFA_LOCAL */
		put_attr(n, IFA_ADDRESS, &a6, sizeof(a6));
	} else {
		inet_pton(AF_INET, ip, &a);
		put_attr(n, IFA_ADDRESS, &a, sizeof(a));
		put_attr(n, IFA_LOCAL, &a, sizeof(a));
	}
	if (label)
		put_attr(n, IFA_LABEL, label, strlen(label) + 1);
	return n;
}

/* ---- a kwatch on lo, recording its callbacks ---- */

static struct loop *loop;
static struct kwatch *kw;
static int lo_index;
static int nlink, naddr, nresync;
static struct kwatch_link last_link;
static struct kwatch_addr last_addr;
static bool last_added;

static void on_link(void *arg, const struct kwatch_link *l)
{
	nlink++;
	last_link = *l;
}

static void on_addr(void *arg, bool added, const struct kwatch_addr *a)
{
	naddr++;
	last_added = added;
	last_addr = *a;
}

static void on_resync(void *arg) { nresync++; }

static void setup(void)
{
	static const struct kwatch_ops ops = { .link = on_link,
					       .addr = on_addr,
					       .resync = on_resync };

	nlink = naddr = nresync = 0;
	cr_assert_eq(loop_create(&loop), 0);
	cr_assert_eq(kwatch_open(&kw, loop, "lo", &ops, NULL), 0);
	lo_index = (int)if_nametoindex("lo");
	cr_assert_gt(lo_index, 0);
}

static void teardown(void)
{
	kwatch_close(kw);
	loop_destroy(loop);
}

static int feed(struct nlmsghdr *n) { return kwatch_input(kw, n, n->nlmsg_len); }

#define UPFLAGS (IFF_UP | IFF_RUNNING | IFF_LOWER_UP)

TestSuite(kwatch, .init = setup, .fini = teardown);

Test(kwatch, initial_dump_finds_the_interface)
{
	const struct kwatch_link *l = kwatch_link_state(kw);

	cr_assert_eq(l->ifindex, lo_index);
	cr_assert_str_eq(l->ifname, "lo");
	cr_assert_eq(kwatch_get_stats(kw)->dumps, 1);
	cr_assert_eq(nlink, 0, "no callback for the initial state");
}

Test(kwatch, carrier_changes_are_edges)
{
	struct msg m;

	cr_assert_eq(feed(link_msg(&m, RTM_NEWLINK, lo_index, IFF_UP, "lo", IF_OPER_DOWN)), 0);
	cr_assert_eq(nlink, 1);
	cr_assert_not(last_link.carrier);
	cr_assert_str_eq(last_link.why, "no carrier");
	feed(link_msg(&m, RTM_NEWLINK, lo_index, 0, "lo", IF_OPER_DOWN));
	cr_assert_eq(nlink, 1, "still down: no new callback");
	feed(link_msg(&m, RTM_NEWLINK, lo_index, UPFLAGS, "lo", IF_OPER_UP));
	cr_assert_eq(nlink, 2);
	cr_assert(last_link.carrier);
	cr_assert(kwatch_link_state(kw)->carrier);
	feed(link_msg(&m, RTM_NEWLINK, lo_index, UPFLAGS, "lo", IF_OPER_DORMANT));
	cr_assert_eq(nlink, 3);
	cr_assert_str_eq(last_link.why, "operstate dormant");
}

Test(kwatch, other_interfaces_are_ignored)
{
	struct msg m;

	feed(link_msg(&m, RTM_NEWLINK, lo_index, UPFLAGS, "lo", IF_OPER_UP));
	nlink = 0;
	feed(link_msg(&m, RTM_NEWLINK, lo_index + 1000, 0, "other0", IF_OPER_DOWN));
	feed(addr_msg(&m, RTM_DELADDR, AF_INET, lo_index + 1000, "198.18.0.10", 24, NULL));
	cr_assert_eq(nlink, 0);
	cr_assert_eq(naddr, 0);
	cr_assert(kwatch_link_state(kw)->carrier);
}

Test(kwatch, invalid_attribute_drops_the_message)
{
	struct msg m;
	struct nlmsghdr *n;
	uint32_t wide = IF_OPER_DOWN;
	uint64_t bad = kwatch_get_stats(kw)->bad;

	feed(link_msg(&m, RTM_NEWLINK, lo_index, UPFLAGS, "lo", IF_OPER_UP));
	nlink = 0;
	n = link_msg(&m, RTM_NEWLINK, lo_index, 0, "lo", -1);
	put_attr(n, IFLA_OPERSTATE, &wide, sizeof(wide)); /* u8 expected */
	cr_assert_eq(feed(n), 0);
	cr_assert_eq(nlink, 0, "a message with a bad attribute must not be used");
	cr_assert_eq(kwatch_get_stats(kw)->bad, bad + 1);

	n = link_msg(&m, RTM_NEWLINK, lo_index, 0, NULL, -1);
	put_attr(n, IFLA_IFNAME, "lo", 2); /* no terminating NUL */
	feed(n);
	cr_assert_eq(nlink, 0);
	cr_assert_eq(kwatch_get_stats(kw)->bad, bad + 2);
}

Test(kwatch, address_added_and_removed)
{
	struct msg m;
	char s[INET_ADDRSTRLEN];

	cr_assert_eq(
		feed(addr_msg(&m, RTM_NEWADDR, AF_INET, lo_index, "198.18.0.10", 24, "lo:andr")),
		0);
	cr_assert_eq(naddr, 1);
	cr_assert(last_added);
	inet_ntop(AF_INET, &last_addr.addr, s, sizeof(s));
	cr_assert_str_eq(s, "198.18.0.10");
	cr_assert_eq(last_addr.prefixlen, 24);
	cr_assert_eq(last_addr.ifindex, lo_index);
	cr_assert_str_eq(last_addr.label, "lo:andr");

	feed(addr_msg(&m, RTM_DELADDR, AF_INET, lo_index, "198.18.0.11", 32, NULL));
	cr_assert_eq(naddr, 2);
	cr_assert_not(last_added);
	inet_ntop(AF_INET, &last_addr.addr, s, sizeof(s));
	cr_assert_str_eq(s, "198.18.0.11");
	cr_assert_str_eq(last_addr.label, "");
}

/* Issue 16: IPv6 addresses too (a removed IPv6 VIP is put back). */
Test(kwatch, ipv6_address_added_and_removed)
{
	struct msg m;
	char s[INET6_ADDRSTRLEN];

	cr_assert_eq(
		feed(addr_msg(&m, RTM_NEWADDR, AF_INET6, lo_index, "2001:db8:18::10", 64, NULL)),
		0);
	cr_assert_eq(naddr, 1);
	cr_assert(last_added);
	cr_assert_eq(last_addr.family, AF_INET6);
	inet_ntop(AF_INET6, &last_addr.addr6, s, sizeof(s));
	cr_assert_str_eq(s, "2001:db8:18::10");
	cr_assert_eq(last_addr.prefixlen, 64);
	cr_assert_eq(last_addr.addr.s_addr, 0, "no IPv4 address in an IPv6 event");

	feed(addr_msg(&m, RTM_DELADDR, AF_INET6, lo_index, "2001:db8:18::11", 128, NULL));
	cr_assert_eq(naddr, 2);
	cr_assert_not(last_added);
	inet_ntop(AF_INET6, &last_addr.addr6, s, sizeof(s));
	cr_assert_str_eq(s, "2001:db8:18::11");
	feed(addr_msg(&m, RTM_DELADDR, AF_INET, lo_index, "198.18.0.11", 32, NULL));
	cr_assert_eq(last_addr.family, AF_INET);
}

Test(kwatch, bad_addresses_are_dropped)
{
	struct msg m;
	struct nlmsghdr *n;
	struct ifaddrmsg ifa = { .ifa_family = AF_INET,
				 .ifa_prefixlen = 24,
				 .ifa_index = (uint32_t)lo_index };
	uint8_t five[5] = { 198, 18, 0, 10, 0 };

	feed(addr_msg(&m, RTM_NEWADDR, AF_INET6, lo_index, "198.18.0.10", 24, NULL));
	cr_assert_eq(naddr, 0, "a 4-byte IPv6 address must be refused");
	feed(addr_msg(&m, RTM_NEWADDR, AF_INET6, lo_index, "2001:db8:18::10", 129, NULL));
	cr_assert_eq(naddr, 0, "an IPv6 prefix length over 128 must be refused");
	feed(addr_msg(&m, RTM_NEWADDR, AF_INET, lo_index, "198.18.0.10", 33, NULL));
	cr_assert_eq(naddr, 0, "an IPv4 prefix length over 32 must be refused");
	n = msg_init(&m, RTM_NEWADDR, &ifa, sizeof(ifa));
	put_attr(n, IFA_LOCAL, five, sizeof(five));
	feed(n);
	cr_assert_eq(naddr, 0, "a 5-byte IPv4 address must be refused");
	n = msg_init(&m, RTM_NEWADDR, &ifa, sizeof(ifa));
	feed(n);
	cr_assert_eq(naddr, 0, "no address attribute");
	cr_assert_eq(kwatch_get_stats(kw)->bad, 5);
}

Test(kwatch, truncated_datagram_is_refused)
{
	struct msg m;
	struct nlmsghdr *n = link_msg(&m, RTM_NEWLINK, lo_index, 0, "lo", IF_OPER_DOWN);
	uint32_t len = n->nlmsg_len;

	cr_assert_eq(kwatch_input(kw, n, len - 8), -EBADMSG);
	n->nlmsg_len = 8; /* shorter than a header */
	cr_assert_eq(kwatch_input(kw, n, len), -EBADMSG);
	cr_assert_eq(nlink, 0);
}

Test(kwatch, deleted_interface_is_adopted_again_by_name)
{
	struct msg m;

	feed(link_msg(&m, RTM_DELLINK, lo_index, 0, "lo", IF_OPER_DOWN));
	cr_assert_eq(nlink, 1);
	cr_assert_eq(last_link.ifindex, 0);
	cr_assert_str_eq(last_link.why, "interface deleted");
	/* Address events for the old index are no longer ours. */
	feed(addr_msg(&m, RTM_NEWADDR, AF_INET, lo_index, "198.18.0.10", 24, NULL));
	cr_assert_eq(naddr, 0);
	feed(link_msg(&m, RTM_NEWLINK, 4242, UPFLAGS, "other0", IF_OPER_UP));
	cr_assert_eq(nlink, 1, "another name is not adopted");
	feed(link_msg(&m, RTM_NEWLINK, 4243, UPFLAGS, "lo", IF_OPER_UNKNOWN));
	cr_assert_eq(nlink, 2);
	cr_assert_eq(last_link.ifindex, 4243);
	cr_assert(last_link.carrier);
}
