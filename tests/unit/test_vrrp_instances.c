/* test_vrrp_instances.c - several VRRP instances (issue 16): the
 * [vrrp NAME] sections (their keys, the defaults from [ha], every
 * refusal with its file:line), the demultiplexing of adverts by VRID
 * on the shared socket (ha_demux), and the check of a peer's sync port
 * (peer_check). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cfgtext.h"
#include "config_load.h"
#include "ha.h"
#include "loop.h"
#include "peer_check.h"
#include "vrrp_packet.h"

#define PATH_LEN CFGTEXT_PATH_LEN

/* A valid file with [ha] (lines 1-10); a section appended starts on 11. */
#define BASE                                                                            \
	"[frontend]\nlisten = 198.18.0.10:80, 198.18.0.9:80\n[server web1]\n"           \
	"address = 198.18.0.21:80\n[ha]\ninterface = eth0\nvrid = 51\npriority = 150\n" \
	"vip = 198.18.0.10/24\nkey_file = /etc/andromeda/cluster.key\n"
/* A complete [vrrp web-b] (lines 11-14 after BASE). */
#define WEB_B "[vrrp web-b]\nvrid = 52\npriority = 100\nvip = 198.18.0.9/24\n"

static int load(const char *text, struct config *cfg, char *err, size_t errlen, char *path)
{
	int rc;

	cfgtext_write(text, "vrrp", path);
	rc = config_load(path, cfg, err, errlen);
	unlink(path);
	return rc;
}

static void load_ok(const char *text, struct config *cfg)
{
	char err[512] = "", path[PATH_LEN];

	cr_assert_eq(load(text, cfg, err, sizeof(err), path), 0, "rejected: %s\n--\n%s", err,
		     text);
}

/* The error must be "PATH:LINE: ..." and mention want (and want2). */
static void expect_error(const char *text, int line, const char *want, const char *want2)
{
	char err[512] = "", path[PATH_LEN];
	struct config cfg;
	int rc = load(text, &cfg, err, sizeof(err), path);

	cr_expect_eq(rc, -1, "accepted (want line %d, \"%s\"):\n%s", line, want, text);
	if (rc == 0) {
		config_free(&cfg);
		return;
	}
	cfgtext_expect_error_at(err, path, line, want, want2);
}

Test(vrrp_config, one_more_instance_with_defaults_from_ha)
{
	struct config cfg;

	load_ok(BASE "advert_interval = 200ms\npreempt = no\npreempt_delay = 2s\n" WEB_B, &cfg);
	cr_assert_eq(cfg.nvrrps, 1);
	cr_expect_str_eq(cfg.vrrps[0].name, "web-b");
	cr_expect_eq(cfg.vrrps[0].vrid, 52);
	cr_expect_eq(cfg.vrrps[0].priority, 100);
	cr_assert_eq(cfg.vrrps[0].nvips, 1);
	cr_expect_str_eq(cfg.vrrps[0].vips[0].text, "198.18.0.9/24");
	/* Not set in [vrrp web-b]: [ha]'s. */
	cr_expect_eq(cfg.vrrps[0].advert_interval_ms, 200);
	cr_expect_not(cfg.vrrps[0].preempt);
	cr_expect_eq(cfg.vrrps[0].preempt_delay_ms, 2000);
	cr_expect_eq(cfg.vrrps[0].line, 14);
	cr_expect_eq(cfg.ha.vrid, 51, "[ha] untouched");
	config_free(&cfg);
}

Test(vrrp_config, own_timers_and_several_sections)
{
	struct config cfg;

	/* [vrrp] may come before [ha]: the defaults are taken at the end. */
	load_ok("[vrrp c]\nvrid = 53\npriority = 90\nvip = 198.18.0.8/24, 198.18.0.7/24\n"
		"advert_interval = 1s\npreempt = no\npreempt_delay = 500ms\n" BASE WEB_B,
		&cfg);
	cr_assert_eq(cfg.nvrrps, 2);
	cr_expect_str_eq(cfg.vrrps[0].name, "c");
	cr_expect_eq(cfg.vrrps[0].nvips, 2);
	cr_expect_eq(cfg.vrrps[0].advert_interval_ms, 1000);
	cr_expect_not(cfg.vrrps[0].preempt);
	cr_expect_eq(cfg.vrrps[0].preempt_delay_ms, 500);
	cr_expect_str_eq(cfg.vrrps[1].name, "web-b");
	cr_expect_eq(cfg.vrrps[1].advert_interval_ms, 1000, "RFC 5798 default, as [ha]'s");
	cr_expect(cfg.vrrps[1].preempt);
	cr_expect_eq(cfg.vrrps[1].preempt_delay_ms, 0);
	config_free(&cfg);
}

Test(vrrp_config, fifteen_sections_fit)
{
	char text[8192];
	size_t n = (size_t)snprintf(text, sizeof(text), "%s", BASE);
	struct config cfg;

	for (int i = 0; i < CFG_MAX_INSTANCES - 1; i++)
		n += (size_t)snprintf(
			text + n, sizeof(text) - n,
			"[vrrp i%d]\nvrid = %d\npriority = 100\nvip = 198.18.1.%d/24\n", i, 60 + i,
			10 + i);
	load_ok(text, &cfg);
	cr_expect_eq(cfg.nvrrps, CFG_MAX_INSTANCES - 1);
	config_free(&cfg);
	/* One more is refused at its header. */
	snprintf(text + n, sizeof(text) - n, "[vrrp extra]\nvrid = 99\n");
	expect_error(text, 11 + 4 * (CFG_MAX_INSTANCES - 1),
		     "[vrrp extra]: too many VRRP instances", "at most 16");
}

Test(vrrp_config, refusals)
{
	expect_error(BASE "[vrrp web-b]\nvrid = 51\npriority = 100\nvip = 198.18.0.9/24\n", 12,
		     "[vrrp web-b]: vrid 51 is also instance ha's (line 7)", NULL);
	expect_error(BASE WEB_B "[vrrp c]\npriority = 9\nvip = 198.18.0.8/24\nvrid = 52\n", 18,
		     "[vrrp c]: vrid 52 is also instance web-b's (line 12)", NULL);
	expect_error(BASE "[vrrp web-b]\nvrid = 52\npriority = 100\nvip = 198.18.0.9/24, "
			  "198.18.0.10/24\n",
		     14, "[vrrp web-b]: vip 198.18.0.10/24 is also in instance ha (line 9)", NULL);
	expect_error(BASE WEB_B "[vrrp c]\nvrid = 53\npriority = 9\nvip = 198.18.0.9/32\n", 18,
		     "[vrrp c]: vip 198.18.0.9/32 is also in instance web-b (line 14)", NULL);
	/* Issue 16: an IPv6 VIP in two instances, and one without an IPv4
	 * VIP beside it (it follows the instance's IPv4 election). */
	expect_error(BASE "[vrrp web-b]\nvrid = 52\npriority = 100\nvip = 198.18.0.9/24, "
			  "2001:db8:18::9/64\n[vrrp c]\nvrid = 53\npriority = 9\n"
			  "vip = 198.18.0.8/24, 2001:db8:18::9/64\n",
		     18, "[vrrp c]: vip 2001:db8:18::9/64 is also in instance web-b (line 14)",
		     NULL);
	expect_error(BASE "[vrrp web-b]\nvrid = 52\npriority = 100\nvip = 2001:db8:18::9/64\n", 14,
		     "IPv6 VIPs need an IPv4 VIP beside them", NULL);
	expect_error("[frontend]\nlisten = 198.18.0.10:80\n[server web1]\naddress = "
		     "198.18.0.21:80\n" WEB_B,
		     5, "[vrrp web-b]: more VRRP instances need an [ha] section", NULL);
	expect_error(BASE WEB_B "[vrrp web-b]\n", 15,
		     "[vrrp web-b]: duplicate name (first at line 11)", NULL);
	expect_error(BASE "[vrrp ha]\n", 11, "\"ha\" is the name of the [ha] instance", NULL);
	expect_error(BASE "[vrrp]\n", 11, "[vrrp] needs a name", NULL);
	expect_error(BASE "[vrrp a/b]\n", 11, "[vrrp a/b]: a name is", NULL);
}

Test(vrrp_config, missing_and_bad_keys)
{
	expect_error(BASE "[vrrp web-b]\npriority = 100\nvip = 198.18.0.9/24\n", 11,
		     "missing required key \"vrid\" in [vrrp web-b]", NULL);
	expect_error(BASE "[vrrp web-b]\nvrid = 52\nvip = 198.18.0.9/24\n", 11,
		     "missing required key \"priority\" in [vrrp web-b]", NULL);
	expect_error(BASE "[vrrp web-b]\nvrid = 52\npriority = 100\n", 11,
		     "missing required key \"vip\" in [vrrp web-b]", NULL);
	expect_error(BASE "[vrrp web-b]\nvrid = 0\n", 12, "vrid", NULL);
	expect_error(BASE "[vrrp web-b]\nvrid = 256\n", 12, "vrid", NULL);
	expect_error(BASE "[vrrp web-b]\npriority = 255\n", 12, "reserved for the address owner",
		     NULL);
	expect_error(BASE "[vrrp web-b]\nadvert_interval = 15ms\n", 12, "advert_interval", NULL);
	expect_error(BASE "[vrrp web-b]\npreempt = maybe\n", 12, "preempt", NULL);
	expect_error(BASE "[vrrp web-b]\nvip = 198.18.0.9/24, 198.18.0.9/24\n", 12,
		     "is listed twice", NULL);
	/* The shared keys are [ha]'s alone. */
	expect_error(BASE "[vrrp web-b]\ninterface = eth1\n", 12,
		     "unknown key \"interface\" in [vrrp web-b]", "belongs in [ha]");
	expect_error(BASE "[vrrp web-b]\nkey_file = /k\n", 12, "unknown key \"key_file\"",
		     "belongs in [ha]");
	expect_error(BASE "[vrrp web-b]\npeers = 198.18.0.12\n", 12, "unknown key \"peers\"",
		     "belongs in [ha]");
	expect_error(BASE "[vrrp web-b]\nnotify = /bin/true\n", 12, "unknown key \"notify\"",
		     "belongs in [ha]");
}

/* ---- ha_demux: the shared socket gives each advert to its VRID's instance ---- */

static size_t packet(uint8_t vrid, uint8_t *buf, size_t cap)
{
	struct vrrp_advert a = { .vrid = vrid,
				 .priority = 100,
				 .interval_cs = 10,
				 .cksum = VRRP_CKSUM_PSEUDO,
				 .naddrs = 1 };
	int n;

	inet_pton(AF_INET, "198.18.0.11", &a.src);
	inet_pton(AF_INET, "224.0.0.18", &a.dst);
	inet_pton(AF_INET, "198.18.0.10", &a.addrs[0]);
	n = vrrp_packet_encode(&a, buf, cap);
	cr_assert_gt(n, 0);
	return (size_t)n;
}

Test(vrrp_demux, by_vrid)
{
	const uint8_t vrids[] = { 51, 52, 7 };
	uint8_t buf[VRRP_PACKET_MAX];

	cr_expect_eq(ha_demux(vrids, 3, buf, packet(51, buf, sizeof(buf))), 0);
	cr_expect_eq(ha_demux(vrids, 3, buf, packet(52, buf, sizeof(buf))), 1);
	cr_expect_eq(ha_demux(vrids, 3, buf, packet(7, buf, sizeof(buf))), 2);
	/* Unknown VRID: the first instance, whose parser counts the drop. */
	cr_expect_eq(ha_demux(vrids, 3, buf, packet(99, buf, sizeof(buf))), 0);
	/* Only the instances there are. */
	cr_expect_eq(ha_demux(vrids, 1, buf, packet(52, buf, sizeof(buf))), 0);
}

Test(vrrp_demux, ip_options_and_bad_packets)
{
	const uint8_t vrids[] = { 51, 52 };
	uint8_t buf[VRRP_PACKET_MAX + 4], opt[VRRP_PACKET_MAX + 4];
	size_t n = packet(52, buf, sizeof(buf));

	/* IHL 6 (4 bytes of options): the VRRP header starts at 24. */
	memcpy(opt, buf, 20);
	opt[0] = 0x46;
	memset(opt + 20, 1, 4);
	memcpy(opt + 24, buf + 20, n - 20);
	cr_expect_eq(ha_demux(vrids, 2, opt, n + 4), 1);
	/* Too short to hold the VRID, not IPv4, a bad IHL, nothing: instance 0. */
	cr_expect_eq(ha_demux(vrids, 2, buf, 21), 0);
	cr_expect_eq(ha_demux(vrids, 2, buf, 22), 1, "the VRID is byte 21");
	cr_expect_eq(ha_demux(vrids, 2, buf, 0), 0);
	buf[0] = 0x65;
	cr_expect_eq(ha_demux(vrids, 2, buf, n), 0);
	buf[0] = 0x44;
	cr_expect_eq(ha_demux(vrids, 2, buf, n), 0);
	buf[0] = 0x4f; /* 60-byte header: longer than the packet */
	cr_expect_eq(ha_demux(vrids, 2, buf, 40), 0);
}

/* ---- peer_check: a peer's sync port, closed (its process gone) or not ---- */

struct verdict_seen {
	int calls;
	bool gone;
	struct in_addr peer;
	char how[96];
};

static void on_verdict(void *arg, struct in_addr peer, bool gone, const char *how)
{
	struct verdict_seen *v = arg;

	v->calls++;
	v->gone = gone;
	v->peer = peer;
	snprintf(v->how, sizeof(v->how), "%s", how);
}

/* A loopback TCP listener on an ephemeral port; its port in *port. */
static int listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void spin(struct loop *loop, int ms)
{
	for (int i = 0; i < ms / 10; i++)
		loop_run_once(loop, 10);
}

Test(peer_check, closed_port_is_a_dead_peer)
{
	struct loop *loop;
	struct peer_check *pc;
	struct verdict_seen v = { 0 };
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };
	uint16_t port;
	int fd = listener(&port);

	close(fd); /* nobody listens there now: the kernel refuses */
	cr_assert_eq(loop_create(&loop), 0);
	cr_assert_eq(peer_check_create(&pc, loop, port, on_verdict, &v), 0);
	peer_check_start(pc, lo, 500);
	spin(loop, 200);
	cr_expect_eq(v.calls, 1);
	cr_expect(v.gone);
	cr_expect_eq(v.peer.s_addr, lo.s_addr);
	cr_expect_str_eq(v.how, "refuses its sync port");
	peer_check_destroy(pc);
	loop_destroy(loop);
}

/* A dying process's listener had our SYN queued: its close resets the
 * connection.  Whether the reset comes before the loop saw the connect
 * complete (SO_ERROR) or after (recv), the process is gone. */
static void reset_by_listener(bool seen_connected)
{
	struct loop *loop;
	struct peer_check *pc;
	struct verdict_seen v = { 0 };
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };
	uint16_t port;
	int lfd = listener(&port);

	cr_assert_eq(loop_create(&loop), 0);
	cr_assert_eq(peer_check_create(&pc, loop, port, on_verdict, &v), 0);
	peer_check_start(pc, lo, 500);
	if (seen_connected)
		spin(loop, 50);
	cr_expect_eq(v.calls, 0);
	close(lfd); /* the queued connection is reset, never accepted */
	spin(loop, 200);
	cr_expect_eq(v.calls, 1);
	cr_expect(v.gone, "verdict: %s", v.how);
	cr_expect_str_eq(v.how, "reset our check");
	peer_check_destroy(pc);
	loop_destroy(loop);
}

Test(peer_check, reset_before_the_connect_is_seen_is_a_dead_peer) { reset_by_listener(false); }

Test(peer_check, reset_after_the_connect_is_seen_is_a_dead_peer) { reset_by_listener(true); }

Test(peer_check, a_listener_that_answers_is_alive)
{
	struct loop *loop;
	struct peer_check *pc;
	struct verdict_seen v = { 0 };
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };
	uint16_t port;
	int lfd = listener(&port), cfd;

	cr_assert_eq(loop_create(&loop), 0);
	cr_assert_eq(peer_check_create(&pc, loop, port, on_verdict, &v), 0);
	peer_check_start(pc, lo, 500);
	peer_check_start(pc, lo, 500); /* the running check goes on: one connection */
	spin(loop, 50);
	cfd = accept(lfd, NULL, NULL);
	cr_assert(cfd >= 0);
	cr_assert_eq(write(cfd, "h", 1), 1); /* a live peer says HELLO */
	spin(loop, 100);
	cr_expect_eq(v.calls, 1);
	cr_expect_not(v.gone);
	cr_expect_str_eq(v.how, "still answers on its sync port");
	/* And one that never answers: the timeout, alive too. */
	peer_check_start(pc, lo, 300);
	spin(loop, 500);
	cr_expect_eq(v.calls, 2);
	cr_expect_not(v.gone);
	cr_expect_str_eq(v.how, "did not answer our check");
	/* Cancelled: no verdict. */
	peer_check_start(pc, lo, 100);
	peer_check_cancel(pc);
	spin(loop, 200);
	cr_expect_eq(v.calls, 2);
	close(cfd);
	close(lfd);
	peer_check_destroy(pc);
	loop_destroy(loop);
}

/* Issue 16: a [vrrp NAME] holds IPv6 VIPs too, in their own list. */
Test(vrrp_config, ipv6_vips_in_an_instance)
{
	struct config cfg;
	char b[INET6_ADDRSTRLEN];

	load_ok(BASE "[vrrp web-b]\nvrid = 52\npriority = 100\nvip = 198.18.0.9/24, "
		     "2001:db8:18::9/64, 2001:db8:18::8/128\n",
		&cfg);
	cr_assert_eq(cfg.nvrrps, 1);
	cr_assert_eq(cfg.vrrps[0].nvips, 1);
	cr_assert_eq(cfg.vrrps[0].nvips6, 2);
	cr_assert_str_eq(inet_ntop(AF_INET6, &cfg.vrrps[0].vips6[0].addr6, b, sizeof(b)),
			 "2001:db8:18::9");
	cr_assert_eq(cfg.vrrps[0].vips6[1].prefixlen, 128);
	cr_assert_eq(cfg.ha.nvips6, 0, "[ha]'s list is its own");
	config_free(&cfg);
}
