/* garp.c - gratuitous ARP over AF_PACKET SOCK_DGRAM, and its scheduler.
 *
 * Why a burst and a refresh (SPEC "HA module"): a frame can be lost, and a
 * crashed former active's kernel may still answer ARP for the VIP, so a
 * client can go on learning the wrong MAC; re-announcing every refresh_ms
 * heals it.  RFC 5227 section 2.3 spaces announcements 2 s apart; a
 * failover wants them faster, so the spacing is configurable. */
#include "garp.h"

#include "config.h"
#include "log.h"
#include "loop.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct garp {
	struct loop *loop;
	int fd;
	int ifindex;
	uint8_t mac[ETH_ALEN];
	char ifname[IF_NAMESIZE];
	struct garp_params params;
	struct in_addr ips[GARP_MAX_ADDRS];
	size_t nips;
	unsigned burst_left; /* rounds of the burst still to send */
	bool running;
	struct loop_timer timer;
	struct garp_stats stats;
	struct log_limit err_limit;
};

int garp_build(uint8_t *buf, size_t buflen, enum garp_op op, const uint8_t mac[6],
	       struct in_addr ip)
{
	if (op != GARP_REQUEST && op != GARP_REPLY)
		return -EINVAL;
	if (buflen < GARP_PKT_LEN)
		return -ENOSPC;
	wire_put16(buf + 0, ARPHRD_ETHER); /* hardware type (RFC 826) */
	wire_put16(buf + 2, ETH_P_IP);     /* protocol type */
	buf[4] = ETH_ALEN;                 /* hardware address length */
	buf[5] = sizeof(ip);               /* protocol address length */
	wire_put16(buf + 6, op == GARP_REQUEST ? ARPOP_REQUEST : ARPOP_REPLY);
	memcpy(buf + 8, mac, ETH_ALEN); /* sender hardware address */
	memcpy(buf + 14, &ip, 4);       /* sender IP (network order already) */
	/* Target MAC: zero in an announcement (RFC 5227 section 2.3); the
	 * sender's MAC in the reply form (RFC 5944 section 4.6). */
	if (op == GARP_REQUEST)
		memset(buf + 18, 0, ETH_ALEN);
	else
		memcpy(buf + 18, mac, ETH_ALEN);
	memcpy(buf + 24, &ip, 4); /* target IP = sender IP: gratuitous */
	return GARP_PKT_LEN;
}

void garp_params_from_config(struct garp_params *p, const struct config *cfg)
{
	p->count = cfg->ha.garp_count;
	p->interval_ms = cfg->ha.garp_interval_ms;
	p->refresh_ms = cfg->ha.garp_refresh_ms;
	p->reply_too = false;
}

/* Read index and MAC of g->ifname through the socket we already have.
 * quiet: the caller logs (rate-limited) instead. */
static int garp_read_if(struct garp *g, bool quiet)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, g->ifname, sizeof(g->ifname));
	if (ioctl(g->fd, SIOCGIFINDEX, &ifr) < 0) {
		int err = -errno;

		if (!quiet)
			log_errno(err, "garp: cannot find interface %s", g->ifname);
		return err;
	}
	g->ifindex = ifr.ifr_ifindex;
	if (ioctl(g->fd, SIOCGIFHWADDR, &ifr) < 0) {
		int err = -errno;

		if (!quiet)
			log_errno(err, "garp: cannot read the MAC of %s", g->ifname);
		return err;
	}
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		if (!quiet)
			log_warnx("garp: %s is not an Ethernet interface (type %u): no ARP",
				  g->ifname, (unsigned)ifr.ifr_hwaddr.sa_family);
		return -EOPNOTSUPP;
	}
	memcpy(g->mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return 0;
}

static void garp_tick(struct loop *loop, struct loop_timer *t);

int garp_open(struct garp **out, struct loop *loop, const char *ifname,
	      const struct garp_params *p)
{
	struct garp *g;
	int err;

	*out = NULL;
	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE || !p)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->loop = loop;
	g->params = *p;
	strcpy(g->ifname, ifname);
	loop_timer_init(&g->timer, garp_tick, g);
	/* Protocol 0: this socket only sends; it never queues received frames. */
	g->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->fd < 0) {
		err = -errno;
		log_errno(err, "garp: cannot open a packet socket for %s", ifname);
		free(g);
		return err;
	}
	err = garp_read_if(g, false);
	if (err) {
		close(g->fd);
		free(g);
		return err;
	}
	*out = g;
	return 0;
}

void garp_close(struct garp *g)
{
	if (!g)
		return;
	garp_stop(g);
	close(g->fd);
	free(g);
}

static int garp_sendto(struct garp *g, const uint8_t *pkt, size_t len)
{
	struct sockaddr_ll sll;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = g->ifindex;
	sll.sll_halen = ETH_ALEN;
	memset(sll.sll_addr, 0xff, ETH_ALEN); /* Ethernet broadcast */
	if (sendto(g->fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

int garp_send(struct garp *g, struct in_addr ip, enum garp_op op)
{
	uint8_t pkt[GARP_PKT_LEN];
	uint64_t more = 0;
	int err, len = garp_build(pkt, sizeof(pkt), op, g->mac, ip);

	if (len < 0)
		return len;
	err = garp_sendto(g, pkt, (size_t)len);
	/* ENXIO/ENODEV: the index is gone (interface re-created). */
	if ((err == -ENXIO || err == -ENODEV) && garp_read_if(g, true) == 0) {
		garp_build(pkt, sizeof(pkt), op, g->mac, ip);
		err = garp_sendto(g, pkt, (size_t)len);
	}
	if (!err) {
		g->stats.sent++;
		return 0;
	}
	g->stats.errors++;
	if (log_limit_ok(&g->err_limit, loop_clock_ms(), LOG_LIMIT_SHORT_MS, &more)) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &ip, a, sizeof(a));
		log_errno(err, "garp: cannot announce %s on %s (%llu more failures)", a, g->ifname,
			  (unsigned long long)more);
	}
	return err;
}

/* One round: every address, request then (optionally) reply.  Returns the
 * first error, having tried every frame. */
static int garp_round(struct garp *g)
{
	int first = 0;
	size_t i;

	for (i = 0; i < g->nips; i++) {
		int err = garp_send(g, g->ips[i], GARP_REQUEST);

		if (!err && g->params.reply_too)
			err = garp_send(g, g->ips[i], GARP_REPLY);
		if (err && !first)
			first = err;
	}
	g->stats.rounds++;
	return first;
}

static void garp_arm_next(struct garp *g)
{
	if (g->burst_left > 0)
		loop_timer_arm(g->loop, &g->timer, g->params.interval_ms);
	else if (g->params.refresh_ms > 0)
		loop_timer_arm(g->loop, &g->timer, g->params.refresh_ms);
}

static void garp_tick(struct loop *loop, struct loop_timer *t)
{
	struct garp *g = t->arg;

	garp_round(g);
	if (g->burst_left > 0)
		g->burst_left--;
	garp_arm_next(g);
}

int garp_start(struct garp *g, const struct in_addr *ips, size_t n)
{
	int err = 0;

	if (!g->loop || n == 0 || n > GARP_MAX_ADDRS)
		return -EINVAL;
	garp_stop(g);
	memcpy(g->ips, ips, n * sizeof(*ips));
	g->nips = n;
	g->running = true;
	g->burst_left = 0;
	if (g->params.count > 0) {
		err = garp_round(g); /* no timer between VIP and first frame */
		g->burst_left = g->params.count - 1;
	}
	garp_arm_next(g);
	return err;
}

void garp_stop(struct garp *g)
{
	if (g->loop)
		loop_timer_cancel(g->loop, &g->timer);
	g->running = false;
	g->burst_left = 0;
}

bool garp_running(const struct garp *g) { return g->running; }
const struct garp_stats *garp_get_stats(const struct garp *g) { return &g->stats; }
const uint8_t *garp_mac(const struct garp *g) { return g->mac; }
