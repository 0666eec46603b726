/* ndisc.c - the raw ICMPv6 socket: unsolicited NAs for the IPv6 VIPs,
 * burst and refresh, and the NS/NA checks (see ndisc.h). */
#include "ndisc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "macros.h"
#include "rawsock.h"

#define RX_BUF 1500

struct ndisc {
	struct loop *loop;
	int fd;
	unsigned ifindex;
	uint8_t mac[6];
	char ifname[IF_NAMESIZE];
	struct garp_params params;
	struct in6_addr ips[GARP_MAX_ADDRS];
	size_t nips;
	unsigned burst_left;
	bool running;
	struct loop_timer timer;
	struct ndisc_stats stats;
	struct log_limit err_limit;
	struct log_limit drop_limit[ND_RX_NCAUSES];
	struct log_limit conflict_limit;
};

/* Hop limit 255 out (RFC 4861 7.1.2), only NS/NA in, with the hop limit
 * and destination of each, and never our own NAs back. */
static int configure(struct ndisc *nd)
{
	int hops = ND_HOPLIMIT, on = 1, off = 0, idx = (int)nd->ifindex;
	struct icmp6_filter f;
	const struct rawsock_opt opts[] = {
		RAWSOCK_BINDTODEVICE(nd->ifname),
		RAWSOCK_OPT(IPPROTO_ICMPV6, ICMP6_FILTER, f),
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hops),
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_MULTICAST_IF, idx),
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, off),
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, on),
		RAWSOCK_OPT(IPPROTO_IPV6, IPV6_RECVPKTINFO, on),
	};

	ICMP6_FILTER_SETBLOCKALL(&f);
	ICMP6_FILTER_SETPASS(ND_NEIGHBOR_SOLICIT, &f);
	ICMP6_FILTER_SETPASS(ND_NEIGHBOR_ADVERT, &f);
	return rawsock_setopts(nd->fd, "ndisc", nd->ifname, opts, ARRAY_SIZE(opts));
}

static int read_mac(struct ndisc *nd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, nd->ifname, sizeof(nd->ifname));
	if (ioctl(nd->fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		return -EOPNOTSUPP;
	memcpy(nd->mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* ---- receiving: every NS/NA on the link is checked ---- */

static bool announced(const struct ndisc *nd, const struct in6_addr *a)
{
	for (size_t i = 0; nd->running && i < nd->nips; i++)
		if (IN6_ARE_ADDR_EQUAL(&nd->ips[i], a))
			return true;
	return false;
}

static void rx_drop(struct ndisc *nd, enum nd_rx_result r, const struct in6_addr *src)
{
	char b[INET6_ADDRSTRLEN];
	uint64_t sup = 0;

	nd->stats.rx_drops[r]++;
	if (log_limit_ok(&nd->drop_limit[r], loop_now_ms(nd->loop), LOG_LIMIT_LONG_MS, &sup))
		log_warnx("ndisc on %s: dropped NS/NA from %s: %s (%llu more since last report)",
			  nd->ifname, inet_ntop(AF_INET6, src, b, sizeof(b)) ? b : "?",
			  nd_rx_result_str(r), (unsigned long long)sup);
}

/* Another host says one of the VIPs we announce is at its MAC: a split
 * brain, or a stale kernel answering for it.  Our refresh heals the
 * clients; the count says it happened. */
static void rx_valid(struct ndisc *nd, const struct nd_msg *m)
{
	char b[INET6_ADDRSTRLEN];
	uint64_t sup = 0;

	nd->stats.rx++;
	if (m->type != ND_TYPE_NA || !m->has_lladdr || !announced(nd, &m->target) ||
	    memcmp(m->lladdr, nd->mac, 6) == 0)
		return;
	nd->stats.conflicts++;
	if (log_limit_ok(&nd->conflict_limit, loop_now_ms(nd->loop), LOG_LIMIT_LONG_MS, &sup))
		log_warnx("ndisc on %s: another host advertises VIP %s at "
			  "%02x:%02x:%02x:%02x:%02x:%02x (%llu more since last report)",
			  nd->ifname, inet_ntop(AF_INET6, &m->target, b, sizeof(b)) ? b : "?",
			  m->lladdr[0], m->lladdr[1], m->lladdr[2], m->lladdr[3], m->lladdr[4],
			  m->lladdr[5], (unsigned long long)sup);
}

static int read_one(struct ndisc *nd, uint8_t *buf)
{
	struct rawsock6_rx rx;
	ssize_t n = rawsock6_recv(nd->fd, buf, RX_BUF, &rx);
	struct nd_msg m;
	enum nd_rx_result r;

	if (n < 0)
		return n == -EINTR;
	if (rx.ifindex != nd->ifindex)
		return 1;
	r = ndisc_parse(buf, (size_t)n, &rx.src, &rx.dst, rx.hoplimit, &m);
	if (r != ND_RX_OK)
		rx_drop(nd, r, &rx.src);
	else
		rx_valid(nd, &m);
	return 1;
}

static void on_readable(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct ndisc *nd = arg;
	uint8_t buf[RX_BUF];

	for (int i = 0; i < LOOP_IO_BATCH; i++)
		if (!read_one(nd, buf))
			break;
}

/* ---- life cycle ---- */

static int ndisc_init(struct ndisc *nd)
{
	int err;

	nd->ifindex = if_nametoindex(nd->ifname);
	if (!nd->ifindex)
		return -ENODEV;
	nd->fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (nd->fd < 0)
		return -errno;
	if ((err = read_mac(nd)) < 0 || (err = configure(nd)) < 0)
		return err;
	return loop_add_fd(nd->loop, nd->fd, LOOP_READ, on_readable, nd);
}

static void ndisc_tick(struct loop *loop, struct loop_timer *t);

int ndisc_open(struct ndisc **out, struct loop *loop, const char *ifname,
	       const struct garp_params *p)
{
	struct ndisc *nd;
	int err;

	*out = NULL;
	if (!ifname || strlen(ifname) >= IF_NAMESIZE || !p)
		return -EINVAL;
	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	nd->loop = loop;
	nd->fd = -1;
	nd->params = *p;
	snprintf(nd->ifname, sizeof(nd->ifname), "%s", ifname);
	loop_timer_init(&nd->timer, ndisc_tick, nd);
	err = ndisc_init(nd);
	if (err) {
		log_errno(err, "ndisc: cannot open an ICMPv6 socket on %s", ifname);
		if (nd->fd >= 0)
			close(nd->fd);
		free(nd);
		return err;
	}
	*out = nd;
	return 0;
}

void ndisc_close(struct ndisc *nd)
{
	if (!nd)
		return;
	ndisc_stop(nd);
	loop_del_fd(nd->loop, nd->fd);
	close(nd->fd);
	free(nd);
}

/* ---- sending ---- */

static int send_na(struct ndisc *nd, const struct in6_addr *vip)
{
	struct in6_addr all_nodes;
	uint8_t pkt[ND_NA_LEN];

	inet_pton(AF_INET6, ND_ALL_NODES, &all_nodes);
	ndisc_na_build(pkt, sizeof(pkt), vip, &all_nodes, vip, nd->mac, ND_FLAG_OVERRIDE);
	return rawsock6_send(nd->fd, pkt, sizeof(pkt), vip, &all_nodes, nd->ifindex);
}

static int ndisc_round(struct ndisc *nd)
{
	int first = 0;
	uint64_t sup = 0;
	char b[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < nd->nips; i++) {
		int err = send_na(nd, &nd->ips[i]);

		if (!err) {
			nd->stats.sent++;
			continue;
		}
		nd->stats.errors++;
		first = first ? first : err;
		if (log_limit_ok(&nd->err_limit, loop_now_ms(nd->loop), LOG_LIMIT_SHORT_MS, &sup))
			log_errno(err, "ndisc: cannot advertise %s on %s (%llu more failures)",
				  inet_ntop(AF_INET6, &nd->ips[i], b, sizeof(b)) ? b : "?",
				  nd->ifname, (unsigned long long)sup);
	}
	nd->stats.rounds++;
	return first;
}

static void arm_next(struct ndisc *nd)
{
	if (nd->burst_left > 0)
		loop_timer_arm(nd->loop, &nd->timer, nd->params.interval_ms);
	else if (nd->params.refresh_ms > 0)
		loop_timer_arm(nd->loop, &nd->timer, nd->params.refresh_ms);
}

static void ndisc_tick(struct loop *loop, struct loop_timer *t)
{
	struct ndisc *nd = t->arg;

	ndisc_round(nd);
	if (nd->burst_left > 0)
		nd->burst_left--;
	arm_next(nd);
}

int ndisc_start(struct ndisc *nd, const struct in6_addr *ips, size_t n)
{
	int err = 0;

	if (n == 0 || n > GARP_MAX_ADDRS)
		return -EINVAL;
	ndisc_stop(nd);
	memcpy(nd->ips, ips, n * sizeof(*ips));
	nd->nips = n;
	nd->running = true;
	if (nd->params.count > 0) {
		err = ndisc_round(nd); /* no timer between the VIP and the first NA */
		nd->burst_left = nd->params.count - 1;
	}
	arm_next(nd);
	return err;
}

void ndisc_stop(struct ndisc *nd)
{
	loop_timer_cancel(nd->loop, &nd->timer);
	nd->running = false;
	nd->burst_left = 0;
}

bool ndisc_running(const struct ndisc *nd) { return nd->running; }
const struct ndisc_stats *ndisc_get_stats(const struct ndisc *nd) { return &nd->stats; }
