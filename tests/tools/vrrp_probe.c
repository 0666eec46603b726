/* vrrp_probe.c - ha/vrrp_socket, ha/vrrp_packet and ha/vrrp on a real
 * interface, for tests/integration/test_vrrp_wire.sh.
 *
 * Built by tests/CMakeLists.txt (tools link the project libraries).  By
 * hand from the source root (the test script does this without a build):
 *
 *   gcc -std=c17 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
 *       -Wno-unused-parameter -D_GNU_SOURCE -Icore/lib -Iha \
 *       tests/tools/vrrp_probe.c ha/vrrp.c ha/vrrp_packet.c ha/vrrp_socket.c \
 *       core/lib/loop.c core/lib/log.c -o vrrp_probe
 *
 * Usage:
 *   vrrp_probe send IF [-v VRID] [-p PRIO] [-i MS] [-a VIP]... [-u PEER]...
 *                      [-P] [-T TTL]
 *       one advert (-P: checksum without pseudo-header; -T: a TTL other
 *       than 255, through a separate IP_HDRINCL socket)
 *   vrrp_probe recv IF [-v VRID] [-u PEER]... [-P] [-w WAIT_MS] [-n N]
 *       print each packet, parsed or dropped; exit 0 after N adverts
 *   vrrp_probe node IF -p PRIO [-v VRID] [-i MS] [-a VIP]... [-u PEER]...
 *                      [-D PREEMPT_DELAY_MS] [-w RUN_MS]
 *       run the election; SIGTERM releases with priority 0
 *
 * One line per fact, flushed at once, "t=<monotonic ms>" first, so a
 * script can poll and compare times across namespaces.  Exit status: 0
 * success, 1 failure, 2 usage. */
#include "config.h"
#include "log.h"
#include "loop.h"
#include "vrrp.h"
#include "vrrp_packet.h"
#include "vrrp_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct probe {
	const char *mode;
	struct config cfg; /* only .ha is used */
	unsigned ttl;
	unsigned want; /* recv: adverts to wait for */
	uint32_t wait_ms;
	unsigned got;
	struct loop *loop;
	struct vrrp_socket *sock;
	struct vrrp *vrrp;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) { stop_requested = sig; }

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	printf("t=%llu ", (unsigned long long)loop_clock_ms());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int usage(void)
{
	fprintf(stderr, "usage: vrrp_probe send|recv|node IF [-v VRID] [-p PRIO] [-i MS] "
			"[-a VIP]... [-u PEER]... [-P] [-T TTL] [-D MS] [-w MS] [-n N]\n");
	return 2;
}

static int add_addr(struct in_addr *arr, size_t *n, size_t max, const char *s)
{
	if (*n >= max || inet_pton(AF_INET, s, &arr[*n]) != 1)
		return -1;
	(*n)++;
	return 0;
}

static int parse_opts(struct probe *p, int argc, char **argv)
{
	struct config *c = &p->cfg;
	size_t nv = 0;
	int o;

	while ((o = getopt(argc, argv, "v:p:i:a:u:PT:D:w:n:")) != -1) {
		switch (o) {
		case 'v':
			c->ha.vrid = (unsigned)atoi(optarg);
			break;
		case 'p':
			c->ha.priority = (unsigned)atoi(optarg);
			break;
		case 'i':
			c->ha.advert_interval_ms = (uint32_t)atoi(optarg);
			break;
		case 'a':
			if (nv >= CFG_MAX_VIPS ||
			    inet_pton(AF_INET, optarg, &c->ha.vips[nv].addr) != 1)
				return -1;
			c->ha.vips[nv].prefixlen = 32;
			c->ha.nvips = ++nv;
			break;
		case 'u':
			if (add_addr(c->ha.peers, &c->ha.npeers, CFG_MAX_PEERS, optarg) < 0)
				return -1;
			break;
		case 'P':
			c->ha.checksum_rfc5798 = false;
			break;
		case 'T':
			p->ttl = (unsigned)atoi(optarg);
			break;
		case 'D':
			c->ha.preempt_delay_ms = (uint32_t)atoi(optarg);
			break;
		case 'w':
			p->wait_ms = (uint32_t)atoi(optarg);
			break;
		case 'n':
			p->want = (unsigned)atoi(optarg);
			break;
		default:
			return -1;
		}
	}
	return 0;
}

static void vips_of(const struct probe *p, struct in_addr *out)
{
	for (size_t i = 0; i < p->cfg.ha.nvips; i++)
		out[i] = p->cfg.ha.vips[i].addr;
}

static void print_advert(const struct vrrp_advert *a)
{
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN], addrs[256] = "";

	for (size_t i = 0; i < a->naddrs && i < 8; i++) {
		char x[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &a->addrs[i], x, sizeof(x));
		snprintf(addrs + strlen(addrs), sizeof(addrs) - strlen(addrs), "%s%s",
			 i ? "," : "", x);
	}
	inet_ntop(AF_INET, &a->src, s, sizeof(s));
	inet_ntop(AF_INET, &a->dst, d, sizeof(d));
	say("advert src=%s dst=%s ttl=%u vrid=%u prio=%u intvl_cs=%u cksum=%s addrs=%s", s, d,
	    a->ttl, a->vrid, a->priority, a->interval_cs,
	    a->cksum == VRRP_CKSUM_PSEUDO ? "pseudo" : "plain", addrs);
}

/* ---- recv --------------------------------------------------------------- */

static void recv_rx(void *arg, const void *pkt, size_t len)
{
	struct probe *p = arg;
	struct vrrp_advert a;
	char s[INET_ADDRSTRLEN];
	unsigned modes = p->cfg.ha.checksum_rfc5798 ? VRRP_CKSUM_PSEUDO : VRRP_CKSUM_PLAIN;
	enum vrrp_rx_result r = vrrp_packet_parse(pkt, len, (uint8_t)p->cfg.ha.vrid, modes, &a);

	if (r != VRRP_RX_OK) {
		inet_ntop(AF_INET, &a.src, s, sizeof(s));
		say("drop src=%s ttl=%u cause=%s", s, a.ttl, vrrp_rx_result_str(r));
		return;
	}
	print_advert(&a);
	if (++p->got >= p->want)
		loop_stop(p->loop);
}

/* ---- node: the state machine on the real socket ------------------------ */

static int node_send(void *ctx, uint8_t prio)
{
	struct probe *p = ctx;
	struct vrrp_advert a;

	vrrp_advert_fill(p->vrrp, prio, &a);
	return vrrp_socket_send(p->sock, &a);
}

static int node_vip_add(void *ctx)
{
	say("vip_add");
	return 0;
}

static int node_vip_remove(void *ctx)
{
	say("vip_remove");
	return 0;
}

static void node_garp(void *ctx) { say("garp_burst"); }

static void node_notify(void *ctx, enum vrrp_state from, enum vrrp_state to, const char *why)
{
	say("state %s -> %s (%s)", vrrp_state_name(from), vrrp_state_name(to), why);
}

static const struct vrrp_ops node_ops = {
	.send_advert = node_send,
	.vip_add = node_vip_add,
	.vip_remove = node_vip_remove,
	.garp_burst = node_garp,
	.notify = node_notify,
};

static void node_rx(void *arg, const void *pkt, size_t len)
{
	struct probe *p = arg;

	vrrp_recv_packet(p->vrrp, pkt, len);
}

/* ---- send with a chosen TTL: our own IP header ------------------------- */

static int send_ttl(struct probe *p, const char *ifname)
{
	struct vrrp_advert a;
	uint8_t buf[VRRP_PACKET_MAX];
	struct sockaddr_in to = { .sin_family = AF_INET };
	int fd, on = 1, n;

	memset(&a, 0, sizeof(a));
	a.vrid = (uint8_t)p->cfg.ha.vrid;
	a.priority = (uint8_t)p->cfg.ha.priority;
	a.interval_cs = (uint16_t)(p->cfg.ha.advert_interval_ms / 10);
	a.cksum = p->cfg.ha.checksum_rfc5798 ? VRRP_CKSUM_PSEUDO : VRRP_CKSUM_PLAIN;
	a.naddrs = (uint8_t)p->cfg.ha.nvips;
	vips_of(p, a.addrs);
	if (vrrp_iface_primary(ifname, NULL, 0, &a.src) < 0)
		return 1;
	inet_pton(AF_INET, VRRP_MCAST_GROUP, &a.dst);
	to.sin_addr = a.dst;
	n = vrrp_packet_encode(&a, buf, sizeof(buf));
	if (n < 0)
		return 1;
	buf[8] = (uint8_t)p->ttl; /* the kernel recomputes the header checksum */
	fd = socket(AF_INET, SOCK_RAW, VRRP_IPPROTO);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname) + 1) <
		    0 ||
	    sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) != n) {
		perror("vrrp_probe: raw send");
		return 1;
	}
	close(fd);
	say("sent ttl=%u", p->ttl);
	return 0;
}

/* ---- main --------------------------------------------------------------- */

static int open_socket(struct probe *p, const char *ifname, vrrp_socket_rx_fn rx)
{
	struct in_addr vips[CFG_MAX_VIPS];
	struct vrrp_socket_params sp = {
		.ifname = ifname,
		.peers = p->cfg.ha.peers,
		.npeers = p->cfg.ha.npeers,
		.vips = vips,
		.nvips = p->cfg.ha.nvips,
		.rx = rx,
		.rx_arg = p,
	};

	vips_of(p, vips);
	return vrrp_socket_open(p->loop, &sp, &p->sock);
}

static int run(struct probe *p)
{
	uint64_t end = loop_clock_ms() + p->wait_ms;

	while (!stop_requested && loop_clock_ms() < end)
		if (loop_run_once(p->loop, 20) < 0)
			return 1;
	return 0;
}

static int do_send(struct probe *p, const char *ifname)
{
	struct vrrp_advert a;
	char s[INET_ADDRSTRLEN];
	int err;

	if (p->ttl != VRRP_TTL)
		return send_ttl(p, ifname);
	if (open_socket(p, ifname, recv_rx) < 0)
		return 1;
	/* A throw-away state machine just to fill the advert from the config. */
	err = vrrp_create(p->loop, &p->cfg, vrrp_socket_primary(p->sock), &node_ops, p, &p->vrrp);
	if (err)
		return 1;
	vrrp_advert_fill(p->vrrp, (uint8_t)p->cfg.ha.priority, &a);
	err = vrrp_socket_send(p->sock, &a);
	inet_ntop(AF_INET, &a.src, s, sizeof(s));
	say("sent src=%s err=%d", s, err);
	return err ? 1 : 0;
}

static int do_recv(struct probe *p, const char *ifname)
{
	if (open_socket(p, ifname, recv_rx) < 0)
		return 1;
	say("listening");
	if (run(p))
		return 1;
	return p->got >= p->want ? 0 : 1;
}

static int do_node(struct probe *p, const char *ifname)
{
	if (open_socket(p, ifname, node_rx) < 0)
		return 1;
	if (vrrp_create(p->loop, &p->cfg, vrrp_socket_primary(p->sock), &node_ops, p, &p->vrrp))
		return 1;
	vrrp_start(p->vrrp);
	run(p);
	if (stop_requested)
		say("stopping on signal %d", (int)stop_requested);
	vrrp_stop(p->vrrp);
	return 0;
}

int main(int argc, char **argv)
{
	struct probe p = { .ttl = VRRP_TTL, .want = 1, .wait_ms = 3000 };
	const char *ifname;
	int rc = 2;

	if (argc < 3)
		return usage();
	p.mode = argv[1];
	ifname = argv[2];
	p.cfg.ha.vrid = 51;
	p.cfg.ha.priority = 100;
	p.cfg.ha.advert_interval_ms = 100;
	p.cfg.ha.preempt = true;
	p.cfg.ha.checksum_rfc5798 = true;
	p.cfg.ha.interop = true; /* a plain VRRPv3 speaker: it holds no cluster key */
	optind = 3;
	if (parse_opts(&p, argc, argv) < 0)
		return usage();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	log_set_timestamps(0);
	if (loop_create(&p.loop) < 0)
		return 1;
	if (!strcmp(p.mode, "send"))
		rc = do_send(&p, ifname);
	else if (!strcmp(p.mode, "recv"))
		rc = do_recv(&p, ifname);
	else if (!strcmp(p.mode, "node"))
		rc = do_node(&p, ifname);
	else
		usage();
	vrrp_destroy(p.vrrp);
	vrrp_socket_close(p.sock);
	loop_destroy(p.loop);
	return rc;
}
