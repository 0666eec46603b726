/* test_config.c - the configuration loader: the SPEC's example, defaults,
 * every kind of bad value with its file:line, section and key rules, and
 * the value parsers on their own. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cfgtext.h"
#include "config_load.h"
#include "config_value.h"
#include "log.h"
#include "netaddr.h"

/* The example from SPEC.md "Configuration", verbatim. */
static const char spec_example[] =
	"[node]\n"
	"name = lb1\n"
	"state_dir = /var/lib/andromeda\n"
	"control_socket = /run/andromeda/control.sock\n"
	"\n"
	"[frontend]\n"
	"listen = 198.18.0.10:80        ; usually the VIP\n"
	"mode = http                    ; http | tcp\n"
	"\n"
	"[backend]\n"
	"maxconn = 32                   ; in flight per server; 1 = the seed's behaviour\n"
	"queue_timeout = 5s\n"
	"connect_timeout = 1s\n"
	"server_timeout = 10s\n"
	"retries = 2\n"
	"health_check = /healthz        ; empty: TCP connect check\n"
	"health_interval = 1s\n"
	"rise = 2\n"
	"fall = 3\n"
	"\n"
	"[server web1]                  ; static servers; more may register at run time\n"
	"address = 198.18.0.21:80\n"
	"weight = 1\n"
	"\n"
	"[ha]\n"
	"interface = eth0\n"
	"vrid = 51\n"
	"priority = 150\n"
	"advert_interval = 100ms\n"
	"preempt = yes\n"
	"vip = 198.18.0.10/24\n"
	"key_file = /etc/andromeda/cluster.key\n"
	"; peers = 198.18.0.12         ; unicast instead of multicast\n"
	"\n"
	"[registration]\n"
	"enabled = yes\n";

/* Smallest valid file: 4 lines, so a section appended starts on line 5. */
#define MINIMAL "[frontend]\nlisten = 198.18.0.10:80\n[server web1]\naddress = 198.18.0.21:80\n"

#define PATH_LEN CFGTEXT_PATH_LEN

static int load(const char *text, struct config *cfg, char *err, size_t errlen, char *path)
{
	int rc;

	cfgtext_write(text, "config", path);
	rc = config_load(path, cfg, err, errlen);
	unlink(path);
	return rc;
}

static void load_ok(const char *text, struct config *cfg)
{
	char err[512] = "", path[PATH_LEN];

	cr_assert_eq(load(text, cfg, err, sizeof(err), path), 0, "rejected: %s\n--\n%s", err,
		     text);
	cr_assert_str_empty(err);
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
	cr_expect_null(cfg.servers, "servers left allocated after an error");
	cr_expect_eq(cfg.nservers, 0);
}

Test(config, spec_example)
{
	struct config cfg;
	char addr[INET_ADDRSTRLEN];

	load_ok(spec_example, &cfg);
	cr_expect_str_eq(cfg.node.name, "lb1");
	cr_expect_str_eq(cfg.node.state_dir, "/var/lib/andromeda");
	cr_expect_str_eq(cfg.node.control_socket, "/run/andromeda/control.sock");
	cr_expect_str_eq(cfg.frontend.listen.text, "198.18.0.10:80");
	cr_expect_eq(cfg.frontend.listen.sin.sin_family, AF_INET);
	cr_expect_eq(ntohs(cfg.frontend.listen.sin.sin_port), 80);
	cr_expect_eq(ntohl(cfg.frontend.listen.sin.sin_addr.s_addr), 0xC612000Au);
	cr_expect_eq(cfg.frontend.mode, MODE_HTTP);
	cr_expect_eq(cfg.backend.maxconn, 32);
	cr_expect_eq(cfg.backend.queue_timeout_ms, 5000);
	cr_expect_eq(cfg.backend.connect_timeout_ms, 1000);
	cr_expect_eq(cfg.backend.server_timeout_ms, 10000);
	cr_expect_eq(cfg.backend.retries, 2);
	cr_expect_str_eq(cfg.backend.health_check, "/healthz");
	cr_expect_eq(cfg.backend.health_interval_ms, 1000);
	cr_expect_eq(cfg.backend.rise, 2);
	cr_expect_eq(cfg.backend.fall, 3);
	cr_assert_eq(cfg.nservers, 1);
	cr_expect_str_eq(cfg.servers[0].name, "web1");
	cr_expect_str_eq(cfg.servers[0].addr.text, "198.18.0.21:80");
	cr_expect_eq(cfg.servers[0].weight, 1);
	cr_expect_eq(cfg.servers[0].line, 21);
	cr_expect(cfg.ha.enabled);
	cr_expect_str_eq(cfg.ha.interface, "eth0");
	cr_expect_eq(cfg.ha.vrid, 51);
	cr_expect_eq(cfg.ha.priority, 150);
	cr_expect_eq(cfg.ha.advert_interval_ms, 100);
	cr_expect(cfg.ha.preempt);
	cr_assert_eq(cfg.ha.nvips, 1);
	cr_expect_str_eq(cfg.ha.vips[0].text, "198.18.0.10/24");
	cr_expect_eq(cfg.ha.vips[0].prefixlen, 24);
	inet_ntop(AF_INET, &cfg.ha.vips[0].addr, addr, sizeof(addr));
	cr_expect_str_eq(addr, "198.18.0.10");
	cr_expect_str_eq(cfg.ha.key_file, "/etc/andromeda/cluster.key");
	cr_expect_eq(cfg.ha.npeers, 0, "the commented-out peers line was read");
	cr_expect(cfg.registration.enabled);
	cr_expect_str_eq(cfg.registration.key_file, "/etc/andromeda/cluster.key");
	cr_expect(strncmp(cfg.path, "/tmp/andromeda-test-config-", 27) == 0, "path %s", cfg.path);
	config_free(&cfg);
	cr_expect_null(cfg.servers);
}

Test(config, defaults)
{
	char host[256] = "", want[CFG_NAME_MAX];
	struct config cfg;

	load_ok(MINIMAL, &cfg);
	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	snprintf(want, sizeof(want), "%.*s", CFG_NAME_MAX - 1, host);
	cr_expect_str_eq(cfg.node.name, want);
	cr_expect_str_eq(cfg.node.state_dir, "/var/lib/andromeda");
	cr_expect_str_eq(cfg.node.control_socket, "/run/andromeda/control.sock");
	cr_expect_str_empty(cfg.node.user);
	cr_expect_eq(cfg.node.log_level, LOG_LVL_INFO);
	cr_expect_eq(cfg.frontend.mode, MODE_HTTP);
	cr_expect(cfg.frontend.via);
	cr_expect(cfg.frontend.xff);
	cr_expect_eq(cfg.frontend.maxconn, 10000);
	cr_expect_eq(cfg.frontend.header_timeout_ms, 10000);
	cr_expect_eq(cfg.frontend.client_timeout_ms, 30000);
	cr_expect_eq(cfg.frontend.keepalive_timeout_ms, 60000);
	cr_expect_eq(cfg.frontend.max_header_size, 8192);
	cr_expect_eq(cfg.frontend.max_uri_size, 4096);
	cr_expect_eq(cfg.frontend.max_body_size, 0);
	cr_expect_eq(cfg.frontend.grace_ms, 5000);
	cr_expect_eq(cfg.backend.maxconn, 32);
	cr_expect_eq(cfg.backend.queue_timeout_ms, 5000);
	cr_expect_eq(cfg.backend.connect_timeout_ms, 1000);
	cr_expect_eq(cfg.backend.server_timeout_ms, 10000);
	cr_expect_eq(cfg.backend.retries, 2);
	cr_expect_str_empty(cfg.backend.health_check);
	cr_expect_eq(cfg.backend.health_interval_ms, 1000);
	cr_expect_eq(cfg.backend.health_timeout_ms, 1000);
	cr_expect_eq(cfg.backend.rise, 2);
	cr_expect_eq(cfg.backend.fall, 3);
	cr_expect_eq(cfg.backend.max_idle, 65535);
	cr_expect_eq(cfg.servers[0].weight, 1);
	cr_expect_not(cfg.ha.enabled);
	cr_expect_eq(cfg.ha.advert_interval_ms, 1000);
	cr_expect(cfg.ha.preempt);
	cr_expect_eq(cfg.ha.preempt_delay_ms, 0);
	cr_expect_eq(cfg.ha.garp_count, 5);
	cr_expect_eq(cfg.ha.garp_interval_ms, 100);
	cr_expect_eq(cfg.ha.garp_refresh_ms, 5000);
	cr_expect(cfg.ha.checksum_rfc5798);
	cr_expect_eq(cfg.ha.sync_port, 7788);
	cr_expect_not(cfg.ha.interop, "only balancers with the key take part (issue 20)");
	cr_expect_not(cfg.registration.enabled);
	cr_expect_eq(cfg.registration.port, 7789);
	cr_expect_eq(cfg.registration.expire_ms, 10000);
	config_free(&cfg);
}

Test(config, every_key_set)
{
	struct config cfg;

	load_ok("[node]\nname = lb-2.x_y\nuser = andromeda\nlog_level = debug\n"
		"state_dir = /tmp/s\ncontrol_socket = /tmp/c.sock\n"
		"[frontend]\nlisten = 0.0.0.0:8080\nmode = tcp\nvia = off\nxff = false\n"
		"maxconn = 5\nheader_timeout = 2s\nclient_timeout = 3m\nkeepalive_timeout = 1h\n"
		"max_header_size = 16k\nmax_uri_size = 2048\nmax_body_size = 2G\ngrace = 0\n"
		"[backend]\nmaxconn = 1\nqueue_timeout = 250ms\nconnect_timeout = 2s\n"
		"server_timeout = 1m\nretries = 0\nhealth_check =\nhealth_interval = 2s\n"
		"health_timeout = 500ms\nrise = 1\nfall = 1\nmax_idle = 0\n"
		"[server a]\naddress = 198.18.0.21:8080\nweight = 256\n"
		"[server b.2]\naddress = 198.18.0.22:80\n"
		"[ha]\ninterface = veth-lb1\nvrid = 255\npriority = 1\nadvert_interval = 40950ms\n"
		"preempt = no\npreempt_delay = 30s\nvip = 198.18.0.10/24, 198.18.0.11/32\n"
		"key_file = /k\npeers = 198.18.0.12 198.18.0.13,198.18.0.14\ngarp_count = 1\n"
		"garp_interval = 1ms\ngarp_refresh = 0\nchecksum_rfc5798 = no\nsync_port = 9000\n"
		"interop = yes\n"
		"[registration]\nenabled = on\nport = 9001\nexpire = 1m\nkey_file = /r\n",
		&cfg);
	cr_expect_str_eq(cfg.node.name, "lb-2.x_y");
	cr_expect_str_eq(cfg.node.user, "andromeda");
	cr_expect_eq(cfg.node.log_level, LOG_LVL_DEBUG);
	cr_expect_str_eq(cfg.node.state_dir, "/tmp/s");
	cr_expect_str_eq(cfg.node.control_socket, "/tmp/c.sock");
	cr_expect_eq(cfg.frontend.listen.sin.sin_addr.s_addr, htonl(INADDR_ANY));
	cr_expect_eq(ntohs(cfg.frontend.listen.sin.sin_port), 8080);
	cr_expect_eq(cfg.frontend.mode, MODE_TCP);
	cr_expect_not(cfg.frontend.via);
	cr_expect_not(cfg.frontend.xff);
	cr_expect_eq(cfg.frontend.maxconn, 5);
	cr_expect_eq(cfg.frontend.header_timeout_ms, 2000);
	cr_expect_eq(cfg.frontend.client_timeout_ms, 180000);
	cr_expect_eq(cfg.frontend.keepalive_timeout_ms, 3600000);
	cr_expect_eq(cfg.frontend.max_header_size, 16384);
	cr_expect_eq(cfg.frontend.max_uri_size, 2048);
	cr_expect_eq(cfg.frontend.max_body_size, 2ULL << 30);
	cr_expect_eq(cfg.frontend.grace_ms, 0);
	cr_expect_eq(cfg.backend.maxconn, 1);
	cr_expect_eq(cfg.backend.queue_timeout_ms, 250);
	cr_expect_eq(cfg.backend.connect_timeout_ms, 2000);
	cr_expect_eq(cfg.backend.server_timeout_ms, 60000);
	cr_expect_eq(cfg.backend.retries, 0);
	cr_expect_str_empty(cfg.backend.health_check);
	cr_expect_eq(cfg.backend.health_interval_ms, 2000);
	cr_expect_eq(cfg.backend.health_timeout_ms, 500);
	cr_expect_eq(cfg.backend.rise, 1);
	cr_expect_eq(cfg.backend.fall, 1);
	cr_expect_eq(cfg.backend.max_idle, 0);
	cr_assert_eq(cfg.nservers, 2);
	cr_expect_eq(cfg.servers[0].weight, 256);
	cr_expect_str_eq(cfg.servers[1].name, "b.2");
	cr_expect_eq(cfg.servers[1].weight, 1);
	cr_expect_str_eq(cfg.ha.interface, "veth-lb1");
	cr_expect_eq(cfg.ha.vrid, 255);
	cr_expect_eq(cfg.ha.priority, 1);
	cr_expect_eq(cfg.ha.advert_interval_ms, 40950);
	cr_expect_not(cfg.ha.preempt);
	cr_expect_eq(cfg.ha.preempt_delay_ms, 30000);
	cr_assert_eq(cfg.ha.nvips, 2);
	cr_expect_str_eq(cfg.ha.vips[1].text, "198.18.0.11/32");
	cr_expect_eq(cfg.ha.vips[1].prefixlen, 32);
	cr_assert_eq(cfg.ha.npeers, 3);
	cr_expect_eq(cfg.ha.peers[2].s_addr, inet_addr("198.18.0.14"));
	cr_expect_eq(cfg.ha.garp_count, 1);
	cr_expect_eq(cfg.ha.garp_interval_ms, 1);
	cr_expect_eq(cfg.ha.garp_refresh_ms, 0);
	cr_expect_not(cfg.ha.checksum_rfc5798);
	cr_expect_eq(cfg.ha.sync_port, 9000);
	cr_expect(cfg.ha.interop);
	cr_expect(cfg.registration.enabled);
	cr_expect_eq(cfg.registration.port, 9001);
	cr_expect_eq(cfg.registration.expire_ms, 60000);
	cr_expect_str_eq(cfg.registration.key_file, "/r");
	config_free(&cfg);
}

struct bad {
	const char *sect; /* section header to append, NULL: inside [frontend] */
	const char *key;
	const char *value;
	const char *reason; /* expected in the message besides the key */
};

/* One line per kind of bad value for each kind of key. */
static const struct bad bad_values[] = {
	/* durations, every duration key */
	{ NULL, "header_timeout", "100", "needs a unit (ms, s, m, h)" },
	{ NULL, "client_timeout", "1.5s", "is not a duration" },
	{ NULL, "keepalive_timeout", "2 s", "is not a duration" },
	{ NULL, "grace", "2h", "out of range (0..1h)" },
	{ "[backend]", "queue_timeout", "-1s", "is not a duration" },
	{ "[backend]", "connect_timeout", "1S", "is not a duration" },
	{ "[backend]", "server_timeout", "0", "out of range (1ms..24h)" },
	{ "[backend]", "health_interval", "5ms", "out of range (10ms..1h)" },
	{ "[backend]", "health_timeout", "1d", "is not a duration" },
	{ "[ha]", "advert_interval", "100", "needs a unit (ms, s, m, h)" },
	{ "[ha]", "advert_interval", "5ms", "out of range (10ms..40950ms)" },
	{ "[ha]", "advert_interval", "41s", "out of range (10ms..40950ms)" },
	{ "[ha]", "advert_interval", "105ms", "not a multiple of 10ms" },
	{ "[ha]", "preempt_delay", "ms", "is not a duration" },
	{ "[ha]", "garp_interval", "0", "out of range (1ms..10s)" },
	{ "[ha]", "garp_refresh", "", "is not a duration" },
	{ "[registration]", "expire", "10", "needs a unit" },
	{ "[backend]", "queue_timeout", "99999999999999999999999s", "too large (at most 24h)" },
	{ "[backend]", "queue_timeout", "5124095576031h", "too large (at most 24h)" },
	{ "[backend]", "queue_timeout", "100000h", "out of range (1ms..24h)" },
	/* sizes */
	{ NULL, "max_header_size", "8x", "is not a size" },
	{ NULL, "max_header_size", "512", "out of range (1k..64k)" },
	{ NULL, "max_header_size", "65k", "out of range (1k..64k)" },
	{ NULL, "max_uri_size", "-1", "is not a size" },
	{ NULL, "max_body_size", "99999999999999999999", "too large" },
	{ NULL, "max_body_size", "1T", "is not a size" },
	/* whole numbers */
	{ NULL, "maxconn", "0", "out of range (1..1000000)" },
	{ "[backend]", "maxconn", "lots", "is not a whole number" },
	{ "[backend]", "retries", "11", "out of range (0..10)" },
	{ "[backend]", "retries", "-1", "is not a whole number" },
	{ "[backend]", "rise", "0", "out of range (1..1000)" },
	{ "[backend]", "fall", "0", "out of range (1..1000)" },
	{ "[backend]", "max_idle", "1.5", "is not a whole number" },
	{ "[server web2]", "weight", "0", "out of range (1..256)" },
	{ "[server web2]", "weight", "257", "out of range (1..256)" },
	{ "[server web2]", "weight", " 0x10", "is not a whole number" },
	{ "[ha]", "vrid", "0", "out of range (1..255)" },
	{ "[ha]", "vrid", "256", "out of range (1..255)" },
	{ "[ha]", "priority", "255", "address owner" },
	{ "[ha]", "priority", "0", "RFC 5798" },
	{ "[ha]", "priority", "300", "out of range (1..254)" },
	{ "[ha]", "garp_count", "0", "out of range (1..100)" },
	{ "[ha]", "sync_port", "65536", "out of range (1..65535)" },
	{ "[registration]", "port", "0", "out of range (1..65535)" },
	{ "[registration]", "port", "99999999999999999999999", "too large" },
	/* booleans */
	{ NULL, "via", "maybe", "is not a boolean" },
	{ NULL, "xff", "", "is not a boolean" },
	{ "[ha]", "preempt", "2", "is not a boolean" },
	{ "[ha]", "checksum_rfc5798", "yess", "is not a boolean" },
	{ "[ha]", "interop", "keepalived", "is not a boolean" },
	{ "[registration]", "enabled", "enable", "is not a boolean" },
	/* endpoints */
	{ NULL, "listen", "198.18.0.10", "is not an IPv4 address:port" },
	{ NULL, "listen", "198.18.0.10:0", "port 1..65535" },
	{ NULL, "listen", "198.18.0.10:65536", "is not an IPv4 address:port" },
	{ NULL, "listen", "lb.example:80", "is not an IPv4 address:port" },
	{ NULL, "listen", "::1:80", "is not an IPv4 address:port or [IPv6]:port" },
	{ NULL, "listen", "[::1]", "is not an IPv4 address:port" },
	{ NULL, "listen", "[::1]:0", "port 1..65535" },
	{ NULL, "listen", "[198.18.0.10]:80", "is not an IPv4 address:port" },
	{ NULL, "listen", "[fe80::1%eth0]:80", "is not an IPv4 address:port" },
	{ NULL, "listen", "[2001:db8:18::1:80", "is not an IPv4 address:port" },
	{ "[server web2]", "address", "[::]:80", ":: is not a server address" },
	{ "[server web2]", "address", "198.18.0:80", "is not an IPv4 address:port" },
	{ "[server web2]", "address", "0.0.0.0:80", "not a server address" },
	/* VIPs and peers */
	{ "[ha]", "vip", "198.18.0.10", "is not an IPv4 address/prefix length" },
	{ "[ha]", "vip", "198.18.0.10/33", "length 1..32" },
	{ "[ha]", "vip", "198.18.0.10/0", "length 1..32" },
	{ "[ha]", "vip", "198.18.0.10/24 198.18.0.10/32", "listed twice" },
	{ "[ha]", "vip", ",", "at least one address" },
	{ "[ha]", "vip", "2001:db8:18::10/129", "length 1..128" },
	{ "[ha]", "vip", "fe80::10/64", "global IPv6" },
	{ "[ha]", "vip", "ff02::12/64", "global IPv6" },
	{ "[ha]", "vip", "2001:db8:18::10", "is not an IPv4 address/prefix length" },
	{ "[ha]", "vip", "2001:db8:18::10/64", "need an IPv4 VIP beside them" },
	{ "[ha]", "vip", "198.18.0.10/24, 2001:db8:18::10/64 2001:db8:18:0::10/128",
	  "listed twice" },
	{ "[ha]", "vip",
	  "198.18.0.1/24 198.18.0.2/24 198.18.0.3/24 198.18.0.4/24 198.18.0.5/24 "
	  "198.18.0.6/24 198.18.0.7/24 198.18.0.8/24 198.18.0.9/24",
	  "more than 8" },
	{ "[ha]", "peers", "198.18.0.300", "is not an IPv4 address" },
	{ "[ha]", "peers", "198.18.0.12, 198.18.0.12", "listed twice" },
	/* names and strings */
	{ "[node]", "name", "lb 1", "is not a name" },
	{ "[node]", "name", "", "is not a name" },
	{ "[node]", "name", "a234567890123456789012345678901234567890123456789012345678901234",
	  "is not a name" },
	{ "[node]", "log_level", "verbose", "is not a level" },
	{ "[node]", "state_dir", "", "must not be empty" },
	{ "[node]", "control_socket",
	  "/run/andromeda/a-socket-path-that-is-much-longer-than-the-"
	  "one-hundred-and-seven-bytes-of-sun-path-by-a-margin.sock",
	  "too long" },
	{ NULL, "mode", "udp", "is not a mode (http or tcp)" },
	{ "[backend]", "health_check", "healthz", "must be a path starting with '/'" },
	{ "[backend]", "health_check", "/a b", "printable ASCII without blanks" },
	{ "[backend]", "health_check", "/caf\xc3\xa9", "printable ASCII without blanks" },
	{ "[ha]", "interface", "averyverylongifname", "is not an interface name" },
	{ "[ha]", "interface", "eth0/1", "is not an interface name" },
	{ "[ha]", "key_file", "", "must not be empty" },
	{ "[registration]", "key_file", "", "must not be empty" },
	{ "[backend]", "balance", "random", "is not an algorithm" },
};

Test(config, balance)
{
	static const char *const names[] = { "roundrobin", "leastconn", "source" };
	char text[256];
	struct config cfg;

	load_ok(MINIMAL, &cfg);
	cr_assert_eq(cfg.backend.balance, BALANCE_ROUNDROBIN);
	config_free(&cfg);
	for (int i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), MINIMAL "[backend]\nbalance = %s\n", names[i]);
		load_ok(text, &cfg);
		cr_assert_eq((int)cfg.backend.balance, i, "%s", names[i]);
		config_free(&cfg);
	}
}

Test(config, bad_values)
{
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		const struct bad *b = &bad_values[i];
		char text[1024], key[64];
		int line;

		if (b->sect) {
			snprintf(text, sizeof(text), MINIMAL "%s\n%s = %s\n", b->sect, b->key,
				 b->value);
			line = 6;
		} else {
			snprintf(text, sizeof(text), "[frontend]\n%s = %s\n%s", b->key, b->value,
				 strcmp(b->key, "listen") ? &MINIMAL[11]
							  : "[server w]\naddress = 1.2.3.4:5\n");
			line = 2;
		}
		snprintf(key, sizeof(key), ": %s: \"", b->key);
		expect_error(text, line,
			     strcmp(b->key, "vip") && strcmp(b->key, "state_dir") &&
					     strcmp(b->key, "key_file")
				     ? key
				     : b->key,
			     b->reason);
	}
}

Test(config, bad_number_duration_and_overflow)
{
	expect_error(MINIMAL "[backend]\nconnect_timeout = 100\n", 6,
		     ": connect_timeout: \"100\" needs a unit (ms, s, m, h)", NULL);
	expect_error(MINIMAL "[backend]\nconnect_timeout = 18446744073709551616ms\n", 6,
		     "connect_timeout", "too large");
	expect_error(MINIMAL "[ha]\n\nadvert_interval = 100\n", 7,
		     ": advert_interval: \"100\" needs a unit (ms, s, m, h)", NULL);
}

Test(config, unknown_section_and_key)
{
	expect_error(MINIMAL "[global]\n", 5, "unknown section [global]", NULL);
	expect_error(MINIMAL "[Backend]\n", 5, "unknown section [Backend]", NULL);
	expect_error(MINIMAL "[backend]\nadvert_interval = 1s\n", 6,
		     "unknown key \"advert_interval\" in [backend]", "belongs in [ha]");
	expect_error(MINIMAL "[ha]\nadvert_intervall = 1s\n", 6,
		     "unknown key \"advert_intervall\" in [ha]", "did you mean advert_interval?");
	expect_error(MINIMAL "[server web2]\nadress = 198.18.0.22:80\n", 6,
		     "unknown key \"adress\" in [server web2]", "did you mean address?");
	expect_error("listen = 198.18.0.10:80\n" MINIMAL, 1, "\"listen\" is outside any section",
		     NULL);
	expect_error(MINIMAL "[server]\n", 5, "[server] needs a name", NULL);
	expect_error(MINIMAL "[server a/b]\n", 5, "[server a/b]", "server name");
	expect_error(MINIMAL "[ha primary]\n", 5, "[ha] takes no name", NULL);
}

Test(config, duplicates)
{
	expect_error(MINIMAL "[backend]\nretries = 1\n\nretries = 2\n", 8,
		     "duplicate key \"retries\" in [backend] (first at line 6)", NULL);
	expect_error(MINIMAL "weight = 2\nweight = 3\n", 6,
		     "duplicate key \"weight\" in [server web1] (first at line 5)", NULL);
	expect_error(MINIMAL "[server web2]\naddress = 198.18.0.22:80\n[server web1]\n", 7,
		     "[server web1]: duplicate server name (first at line 3)", NULL);
	expect_error(MINIMAL "[backend]\n[node]\n[backend]\n", 7,
		     "section [backend] appears twice (first at line 5)", NULL);
}

Test(config, servers_have_their_own_keys)
{
	struct config cfg;

	load_ok(MINIMAL
		"weight = 3\n[server web2]\naddress = 198.18.0.22:80\nweight = 4\n"
		"[server a23456789012345678901234567890123456789012345678901234567890123]\n"
		"address = 198.18.0.23:80\n",
		&cfg);
	cr_assert_eq(cfg.nservers, 3);
	cr_expect_eq(cfg.servers[0].weight, 3);
	cr_expect_eq(cfg.servers[1].weight, 4);
	cr_expect_eq(cfg.servers[1].line, 6);
	cr_expect_eq(strlen(cfg.servers[2].name), 63);
	config_free(&cfg);
	expect_error(MINIMAL
		     "[server a234567890123456789012345678901234567890123456789012345678901234]\n",
		     5, "server name", NULL);
}

Test(config, many_servers)
{
	char *text = malloc(64 * 60 + 64), *p = text;
	struct config cfg;

	cr_assert_not_null(text);
	p += sprintf(p, "[frontend]\nlisten = 198.18.0.10:80\n");
	for (int i = 0; i < 60; i++)
		p += sprintf(p, "[server s%d]\naddress = 198.18.1.%d:80\n", i, i + 1);
	load_ok(text, &cfg);
	free(text);
	cr_assert_eq(cfg.nservers, 60);
	cr_expect_str_eq(cfg.servers[59].name, "s59");
	cr_expect_str_eq(cfg.servers[59].addr.text, "198.18.1.60:80");
	config_free(&cfg);
}

Test(config, missing_required)
{
	expect_error("[server web1]\naddress = 198.18.0.21:80\n", 0,
		     "missing required key \"listen\" in [frontend]", NULL);
	expect_error("[server web1]\naddress = 198.18.0.21:80\n[frontend]\nmode = tcp\n", 3,
		     "missing required key \"listen\" in [frontend]", NULL);
	expect_error(MINIMAL "[server web2]\nweight = 2\n", 5,
		     "missing required key \"address\" in [server web2]", NULL);
	expect_error("[frontend]\nlisten = 198.18.0.10:80\n", 0, "no [server] section",
		     "nothing to balance");
	expect_error("[frontend]\nlisten = 198.18.0.10:80\n[registration]\nenabled = no\n", 4,
		     "no [server] section", NULL);
	expect_error(MINIMAL "[ha]\n", 5, "missing required key \"interface\" in [ha]", NULL);

	static const char *const ha_keys[][2] = {
		{ "interface", "eth0" },
		{ "vrid", "51" },
		{ "priority", "100" },
		{ "vip", "198.18.0.10/24" },
		{ "key_file", "/etc/andromeda/cluster.key" },
	};
	for (size_t skip = 0; skip < 5; skip++) {
		char text[512], want[64];
		int n = snprintf(text, sizeof(text), MINIMAL "\n[ha]\n");

		for (size_t i = 0; i < 5; i++)
			if (i != skip)
				n += snprintf(text + n, sizeof(text) - (size_t)n, "%s = %s\n",
					      ha_keys[i][0], ha_keys[i][1]);
		snprintf(want, sizeof(want), "missing required key \"%s\" in [ha]",
			 ha_keys[skip][0]);
		expect_error(text, 6, want, NULL);
	}
}

Test(config, registration)
{
	struct config cfg;

	/* Registration alone is enough to have something to balance. */
	load_ok("[frontend]\nlisten = 198.18.0.10:80\n[registration]\nenabled = yes\n"
		"key_file = /etc/andromeda/cluster.key\n",
		&cfg);
	cr_expect_eq(cfg.nservers, 0);
	cr_expect_null(cfg.servers);
	cr_expect(cfg.registration.enabled);
	cr_expect_not(cfg.ha.enabled);
	config_free(&cfg);
	expect_error("[frontend]\nlisten = 198.18.0.10:80\n[registration]\n\nenabled = yes\n", 5,
		     "enabled: registration needs key_file", NULL);
	expect_error(MINIMAL "[ha]\ninterface = eth0\nvrid = 1\npriority = 1\nvip = 1.2.3.4/24\n"
			     "key_file = /k\nsync_port = 7789\n[registration]\nenabled = yes\n",
		     11, "port 7789 is both [ha] sync_port and [registration] port", NULL);
	expect_error(MINIMAL "[ha]\ninterface = eth0\nvrid = 1\npriority = 1\nvip = 1.2.3.4/24\n"
			     "key_file = /k\n[registration]\nenabled = yes\nport = 7788\n",
		     13, "port 7788 is both", NULL);
}

Test(config, stats)
{
	struct config cfg;

	load_ok(MINIMAL, &cfg);
	cr_expect_not(cfg.stats.enabled, "off by default");
	config_free(&cfg);
	load_ok(MINIMAL "[stats]\n", &cfg); /* an empty section is still off */
	cr_expect_not(cfg.stats.enabled);
	config_free(&cfg);
	load_ok(MINIMAL
		"[stats]\nlisten = 127.0.0.1:8404\nauth_file = /etc/andromeda/stats.auth\n",
		&cfg);
	cr_expect(cfg.stats.enabled);
	cr_expect_str_eq(cfg.stats.listen.text, "127.0.0.1:8404");
	cr_expect_eq(ntohs(cfg.stats.listen.sin.sin_port), 8404);
	cr_expect_str_eq(cfg.stats.auth_file, "/etc/andromeda/stats.auth");
	config_free(&cfg);
	expect_error(MINIMAL "[stats]\nauth_file = /etc/andromeda/stats.auth\n", 6,
		     "auth_file: [stats] has no listen address to protect", NULL);
	expect_error(MINIMAL "[stats]\nlisten = 127.0.0.1\n", 6, "listen", NULL);
	expect_error(MINIMAL "[stats]\nlisen = 127.0.0.1:8404\n", 6,
		     "unknown key \"lisen\" in [stats]", NULL);
}

Test(config, health_timeout_vs_interval)
{
	struct config cfg;

	expect_error(MINIMAL "[backend]\nhealth_interval = 1s\nhealth_timeout = 2s\n", 7,
		     "health_timeout: 2s must not exceed health_interval (1s)", NULL);
	/* An unset timeout follows a shorter interval rather than failing. */
	load_ok(MINIMAL "[backend]\nhealth_interval = 300ms\n", &cfg);
	cr_expect_eq(cfg.backend.health_timeout_ms, 300);
	config_free(&cfg);
	load_ok(MINIMAL "[backend]\nhealth_interval = 300ms\nhealth_timeout = 300ms\n", &cfg);
	cr_expect_eq(cfg.backend.health_timeout_ms, 300);
	config_free(&cfg);
}

Test(config, syntax)
{
	struct config cfg;

	expect_error(MINIMAL "[backend]\nretries 2\n", 6, "expected \"key = value\"", NULL);
	expect_error(MINIMAL "[backend]\nretries: 2\n", 6, "expected \"key = value\"", NULL);
	expect_error(MINIMAL "[backend]\nretries ; = 2\n", 6, "expected \"key = value\"", NULL);
	expect_error(MINIMAL "[backend\n", 5, "without closing ']'", NULL);
	expect_error(MINIMAL "[backend] retries = 2\n", 5, "unexpected text after section header",
		     NULL);
	expect_error(MINIMAL "[backend]\n= 2\n", 6, "missing key name", NULL);

	char longline[300];
	snprintf(longline, sizeof(longline), MINIMAL "[node]\nstate_dir = /%0200d\n", 0);
	expect_error(longline, 6, "line is too long", NULL);

	/* Indented keys are keys, not continuations of the previous value;
	 * comments with ';' inline and '#' or ';' at the start; CRLF; BOM. */
	load_ok("\xEF\xBB\xBF# comment\r\n[frontend]\r\n  listen = 198.18.0.10:80 ; the VIP\r\n"
		"\tmode = tcp\r\n  ; another comment\r\n[server web1]\naddress=198.18.0.21:80\n"
		"    weight = 7\n[backend]\nhealth_check = /a;b\n",
		&cfg);
	cr_expect_eq(cfg.frontend.mode, MODE_TCP);
	cr_expect_str_eq(cfg.frontend.listen.text, "198.18.0.10:80");
	cr_expect_eq(cfg.servers[0].weight, 7);
	cr_expect_str_eq(cfg.backend.health_check, "/a;b");
	config_free(&cfg);
}

Test(config, empty_ha_section_is_validated)
{
	struct config cfg;

	expect_error(MINIMAL "\n\n[ha]\n[registration]\nenabled = no\n", 7,
		     "missing required key \"interface\" in [ha]", NULL);
	load_ok(MINIMAL "[registration]\n", &cfg);
	cr_expect_not(cfg.ha.enabled);
	cr_expect_not(cfg.registration.enabled);
	config_free(&cfg);
}

Test(config, file_errors)
{
	char err[256];
	struct config cfg;

	cr_expect_eq(config_load("/nonexistent/andromeda.conf", &cfg, err, sizeof(err)), -1);
	cr_expect_str_eq(err,
			 "/nonexistent/andromeda.conf:0: cannot open: No such file or directory");
	cr_expect_null(cfg.servers);
	cr_expect_eq(config_load("/tmp", &cfg, err, sizeof(err)), -1);
	cr_expect(strncmp(err, "/tmp:1: read error: ", 20) == 0, "got \"%s\"", err);
	/* A NULL or tiny buffer is allowed and stays a C string. */
	cr_expect_eq(config_load("/nonexistent", &cfg, NULL, 0), -1);
	cr_expect_eq(config_load("/nonexistent", &cfg, err, 6), -1);
	cr_expect_str_eq(err, "/none");
}

Test(config, error_after_servers_frees_them)
{
	/* Two servers allocated, then a bad key: nothing may leak (ASan). */
	expect_error(MINIMAL "[server web2]\naddress = 198.18.0.22:80\n[ha]\nvrid = x\n", 8,
		     "vrid", "is not a whole number");
	expect_error(
		"[server a]\naddress = 198.18.0.21:80\n[server b]\naddress = 198.18.0.22:80\n", 0,
		"missing required key \"listen\"", NULL);
}

/* The examples shipped in deploy/examples must stay valid. */
static void example_path(char *buf, size_t len, const char *name)
{
	const char *tail = strstr(__FILE__, "tests/unit/test_config.c");

	cr_assert_not_null(tail, "cannot locate the source tree from %s", __FILE__);
	snprintf(buf, len, "%.*sdeploy/examples/%s", (int)(tail - __FILE__), __FILE__, name);
}

Test(config, deploy_examples)
{
	char path[PATH_MAX], err[512] = "";
	struct config cfg;

	example_path(path, sizeof(path), "andromeda.conf");
	cr_assert_eq(config_load(path, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_expect(cfg.ha.enabled);
	cr_expect_eq(cfg.ha.nvips, 1);
	cr_expect_str_eq(cfg.ha.vips[0].text, "198.18.0.10/24");
	cr_expect_str_eq(cfg.frontend.listen.text, "198.18.0.10:80");
	cr_expect_geq(cfg.nservers, 2);
	cr_expect_eq(cfg.ha.advert_interval_ms % 10, 0);
	config_free(&cfg);

	example_path(path, sizeof(path), "standalone.conf");
	cr_assert_eq(config_load(path, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_expect_not(cfg.ha.enabled);
	cr_expect_geq(cfg.nservers, 1);
	config_free(&cfg);
}

Test(parse, duration)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} ok[] = {
		{ "0", 0 },
		{ "00", 0 },
		{ "0ms", 0 },
		{ "0h", 0 },
		{ "1ms", 1 },
		{ "100ms", 100 },
		{ "2s", 2000 },
		{ "1m", 60000 },
		{ "90m", 5400000 },
		{ "1h", 3600000 },
		{ "18446744073709551615ms", UINT64_MAX },
		{ "5124095576030h", 5124095576030ULL * 3600000 },
		{ "00000000000000000000000000000000000001s", 1000 },
	};
	static const char *const bad[] = {
		"",     "100",   "1",   "ms",  "s",     "1 s",   " 1s",
		"1s ",  "1S",    "1MS", "+1s", "-1s",   "1.5s",  "1sm",
		"1ms5", "0x10s", "1d",  "1y",  "1e3ms", "1m30s", "99999999999999999999999x",
	};
	uint64_t ms;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ms = 12345;
		cr_expect_eq(config_parse_duration(ok[i].s, &ms), 0, "\"%s\" rejected", ok[i].s);
		cr_expect_eq(ms, ok[i].ms, "\"%s\" -> %llu", ok[i].s, (unsigned long long)ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(config_parse_duration(bad[i], &ms), -EINVAL, "\"%s\" accepted",
			     bad[i]);
	cr_expect_eq(config_parse_duration("18446744073709551616ms", &ms), -ERANGE);
	cr_expect_eq(config_parse_duration("5124095576031h", &ms), -ERANGE);
	cr_expect_eq(config_parse_duration("18446744073709551617", &ms), -ERANGE);
	cr_expect_eq(config_parse_duration(NULL, &ms), -EINVAL);
}

Test(parse, size)
{
	static const struct {
		const char *s;
		uint64_t b;
	} ok[] = {
		{ "0", 0 },
		{ "512", 512 },
		{ "8k", 8192 },
		{ "8K", 8192 },
		{ "1M", 1 << 20 },
		{ "1m", 1 << 20 },
		{ "2G", 2ULL << 30 },
		{ "18446744073709551615", UINT64_MAX },
		{ "17179869183G", 17179869183ULL << 30 },
	};
	static const char *const bad[] = {
		"", "k", "8x", "8kb", "8 k", "-1", "+1", "1.5k", "1T", "0x10", " 8", "8k ",
	};
	uint64_t b;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_expect_eq(config_parse_size(ok[i].s, &b), 0, "\"%s\" rejected", ok[i].s);
		cr_expect_eq(b, ok[i].b, "\"%s\" -> %llu", ok[i].s, (unsigned long long)b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(config_parse_size(bad[i], &b), -EINVAL, "\"%s\" accepted", bad[i]);
	cr_expect_eq(config_parse_size("18446744073709551616", &b), -ERANGE);
	cr_expect_eq(config_parse_size("17179869184G", &b), -ERANGE);
	cr_expect_eq(config_parse_size(NULL, &b), -EINVAL);
}

Test(parse, boolean)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True", "On" };
	static const char *const no[] = { "no", "false", "off", "0", "NO", "False", "OFF" };
	static const char *const bad[] = { "", "y", "n", "2", "yes!", " yes", "enable", "nope" };
	bool v;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		v = false;
		cr_expect_eq(config_parse_bool(yes[i], &v), 0, "\"%s\" rejected", yes[i]);
		cr_expect(v, "\"%s\" is not true", yes[i]);
		cr_expect_eq(config_parse_bool(no[i], &v), 0, "\"%s\" rejected", no[i]);
		cr_expect_not(v, "\"%s\" is not false", no[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(config_parse_bool(bad[i], &v), -EINVAL, "\"%s\" accepted", bad[i]);
	cr_expect_eq(config_parse_bool(NULL, &v), -EINVAL);
}

Test(parse, endpoint)
{
	static const char *const bad[] = {
		"",
		":80",
		"198.18.0.10",
		"198.18.0.10:",
		"198.18.0.10:0",
		"198.18.0.10:65536",
		"198.18.0.10:-1",
		"198.18.0.10:+80",
		"198.18.0.10:80x",
		"198.18.0.10: 80",
		"198.18.0:80",
		"198.18.0.256:80",
		"198.018.0.1:80",
		"0x7f.0.0.1:80",
		"localhost:80",
		"::1:80",
		"[::1]",
		"[::1]:",
		"[::1]x:80",
		"x[::1]:80",
		"[::1:80",
		"::1]:80",
		"[]:80",
		"[198.18.0.1]:80",
		"[fe80::1%eth0]:80",
		"[2001:db8:18::1:2:3:4:5:6]:80",
		"[2001:db8:18::21]:65536",
		" 198.18.0.10:80",
		"198.18.0.10:99999999999999999999999",
		"198.18.0.10.198.18.0.10.198.18.0.10:80",
	};
	struct cfg_endpoint ep;

	cr_assert_eq(config_parse_endpoint("198.18.0.21:8080", &ep), 0);
	cr_expect_eq(ep.sin.sin_family, AF_INET);
	cr_expect_eq(ep.sin.sin_port, htons(8080));
	cr_expect_eq(ep.sin.sin_addr.s_addr, inet_addr("198.18.0.21"));
	cr_expect_str_eq(ep.text, "198.18.0.21:8080");
	cr_assert_eq(config_parse_endpoint("0.0.0.0:65535", &ep), 0);
	cr_expect_eq(ep.sin.sin_addr.s_addr, htonl(INADDR_ANY));
	cr_expect_eq(ntohs(ep.sin.sin_port), 65535);
	cr_assert_eq(config_parse_endpoint("127.0.0.1:01", &ep), 0);
	cr_expect_str_eq(ep.text, "127.0.0.1:1");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(config_parse_endpoint(bad[i], &ep), -EINVAL, "\"%s\" accepted",
			     bad[i]);
	cr_expect_eq(config_parse_endpoint(NULL, &ep), -EINVAL);
}

Test(value, endpoint_ipv6)
{
	struct cfg_endpoint ep, ep2;
	struct in6_addr want;

	cr_assert_eq(config_parse_endpoint("[2001:DB8:18:0::21]:8080", &ep), 0);
	cr_expect_eq(ep.sa.sa_family, AF_INET6);
	cr_expect_eq(ep.sin6.sin6_port, htons(8080));
	inet_pton(AF_INET6, "2001:db8:18::21", &want);
	cr_expect_eq(memcmp(&ep.sin6.sin6_addr, &want, 16), 0);
	cr_expect_str_eq(ep.text, "[2001:db8:18::21]:8080");
	cr_expect_eq(netaddr_len(&ep.sa), sizeof(struct sockaddr_in6));
	cr_expect_eq(netaddr_port(&ep.sa), 8080);
	cr_assert_eq(config_parse_endpoint("[::]:80", &ep), 0);
	cr_expect(netaddr_is_any(&ep.sa));
	cr_expect_str_eq(ep.text, "[::]:80");
	/* The text reads back as the same endpoint. */
	cr_assert_eq(config_parse_endpoint("[::ffff:198.18.0.1]:1", &ep), 0);
	cr_assert_eq(config_parse_endpoint(ep.text, &ep2), 0);
	cr_expect(netaddr_same(&ep.sa, &ep2.sa));
	cr_assert_eq(config_parse_endpoint("198.18.0.1:1", &ep2), 0);
	cr_expect_not(netaddr_same(&ep.sa, &ep2.sa), "v4-mapped and v4 are two endpoints");
	/* A codec's raw address becomes the same endpoint. */
	cfg_endpoint_set(&ep2, AF_INET6, &want, 8080);
	cr_expect_str_eq(ep2.text, "[2001:db8:18::21]:8080");
	cr_assert_eq(config_parse_endpoint("[2001:db8:18::21]:8080", &ep), 0);
	cr_expect(netaddr_same(&ep.sa, &ep2.sa));
}

Test(config, ipv6_listeners_and_servers)
{
	struct config cfg;

	load_ok("[frontend]\nlisten = 0.0.0.0:80, [::]:80\n"
		"[server web1]\naddress = [2001:db8:18::21]:80\n"
		"[server web2]\naddress = 198.18.0.22:80\n"
		"[stats]\nlisten = [::1]:8404\n",
		&cfg);
	cr_assert_eq(cfg.frontend.nlisteners, 2);
	cr_expect_eq(cfg.frontend.listeners[0].ep.sa.sa_family, AF_INET);
	cr_expect_eq(cfg.frontend.listeners[1].ep.sa.sa_family, AF_INET6);
	cr_expect_str_eq(cfg.frontend.listeners[1].ep.text, "[::]:80");
	cr_expect_str_eq(cfg.servers[0].addr.text, "[2001:db8:18::21]:80");
	cr_expect_eq(cfg.servers[0].addr.sa.sa_family, AF_INET6);
	cr_expect_str_eq(cfg.stats.listen.text, "[::1]:8404");
	config_free(&cfg);
}

Test(value, format)
{
	static const struct {
		enum cfgv_kind kind;
		uint64_t n;
		const char *text;
	} cases[] = {
		{ CFGV_DUR, 0, "0" },
		{ CFGV_DUR, 10, "10ms" },
		{ CFGV_DUR, 40950, "40950ms" },
		{ CFGV_DUR, 1000, "1s" },
		{ CFGV_DUR, 90000, "90s" },
		{ CFGV_DUR, 120000, "2m" },
		{ CFGV_DUR, 86400000, "24h" },
		{ CFGV_SIZE, 0, "0" },
		{ CFGV_SIZE, 1000, "1000" },
		{ CFGV_SIZE, 1024, "1k" },
		{ CFGV_SIZE, 65536, "64k" },
		{ CFGV_SIZE, 3 << 20, "3M" },
		{ CFGV_SIZE, 1ULL << 30, "1G" },
		{ CFGV_NUM, 1000, "1000" },
		{ CFGV_NUM, 0, "0" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfgv_format(cases[i].kind, cases[i].n, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].text);
	}
}

Test(value, list_tokens)
{
	const char *p = " 198.18.0.1,198.18.0.2 ,\t 198.18.0.3,, ";
	const char *want[] = { "198.18.0.1", "198.18.0.2", "198.18.0.3" };
	char tok[16];
	size_t n = 0;

	while ((p = cfgv_next_token(p, tok, sizeof(tok)))) {
		cr_assert_lt(n, 3, "extra token \"%s\"", tok);
		cr_expect_str_eq(tok, want[n]);
		n++;
	}
	cr_expect_eq(n, 3);
	p = cfgv_next_token("198.18.0.100/24x", tok, sizeof(tok));
	cr_expect_not_null(p);
	cr_expect_str_empty(tok, "an over-long item must come back empty, got \"%s\"", tok);
	cr_expect_null(cfgv_next_token(" , ", tok, sizeof(tok)));
}

/* Issue 16: IPv6 VIPs, canonical text, and which addresses are refused. */
Test(value, vip6)
{
	struct cfg_vip vip;
	struct in6_addr want;

	cr_assert_eq(cfgv_parse_vip("2001:DB8:18:0::10/64", &vip), 0);
	inet_pton(AF_INET6, "2001:db8:18::10", &want);
	cr_expect_eq(vip.family, AF_INET6);
	cr_expect(IN6_ARE_ADDR_EQUAL(&vip.addr6, &want));
	cr_expect_eq(vip.prefixlen, 64);
	cr_expect_str_eq(vip.text, "2001:db8:18::10/64");
	cr_assert_eq(cfgv_parse_vip("fd00:18::1/128", &vip), 0);
	cr_assert_eq(cfgv_parse_vip("198.18.0.10/24", &vip), 0);
	cr_expect_eq(vip.family, AF_INET);
	static const char *const bad[] = {
		"2001:db8:18::10",
		"2001:db8:18::10/0",
		"2001:db8:18::10/129",
		"::/64",
		"::1/128",
		"fe80::1/64",
		"ff02::12/64",
		"::ffff:198.18.0.10/128",
		"2001:db8:18::g/64",
		"2001:db8:18::10/",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(cfgv_parse_vip(bad[i], &vip), -EINVAL, "\"%s\" accepted", bad[i]);
}

Test(config, vip_mixed_families)
{
	struct config cfg;

	load_ok(MINIMAL "[ha]\ninterface = eth0\nvrid = 1\npriority = 100\nkey_file = /k\n"
			"vip = 2001:db8:18::10/64, 198.18.0.10/24, 2001:db8:18::11/128\n",
		&cfg);
	cr_expect_eq(cfg.ha.nvips, 1);
	cr_expect_str_eq(cfg.ha.vips[0].text, "198.18.0.10/24");
	cr_expect_eq(cfg.ha.nvips6, 2);
	cr_expect_str_eq(cfg.ha.vips6[0].text, "2001:db8:18::10/64");
	cr_expect_str_eq(cfg.ha.vips6[1].text, "2001:db8:18::11/128");
	config_free(&cfg);
}

Test(value, vip)
{
	struct cfg_vip vip;

	cr_assert_eq(cfgv_parse_vip("198.18.0.10/24", &vip), 0);
	cr_expect_eq(vip.addr.s_addr, inet_addr("198.18.0.10"));
	cr_expect_eq(vip.prefixlen, 24);
	cr_expect_str_eq(vip.text, "198.18.0.10/24");
	cr_assert_eq(cfgv_parse_vip("198.18.0.10/032", &vip), 0);
	cr_expect_str_eq(vip.text, "198.18.0.10/32");
	static const char *const bad[] = {
		"198.18.0.10",     "198.18.0.10/",     "198.18.0.10/0",
		"198.18.0.10/33",  "0.0.0.0/8",        "/24",
		"198.18.0/24",     "198.18.0.10/24/1", "198.18.0.10/-1",
		"198.18.0.10 /24",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(cfgv_parse_vip(bad[i], &vip), -EINVAL, "\"%s\" accepted", bad[i]);
}

Test(value, names_and_distance)
{
	cr_expect(cfgv_valid_name("web-1.a_b"));
	cr_expect_not(cfgv_valid_name(""));
	cr_expect_not(cfgv_valid_name("web 1"));
	cr_expect_not(cfgv_valid_name("web/1"));
	cr_expect_not(cfgv_valid_name("w\xc3\xa9"
				      "b")); /* é: the escape ends at a9 */
	cr_expect_eq(cfgv_edit_distance("address", "address"), 0);
	cr_expect_eq(cfgv_edit_distance("adress", "address"), 1);
	cr_expect_eq(cfgv_edit_distance("advert_intervall", "advert_interval"), 1);
	cr_expect_eq(cfgv_edit_distance("vird", "vrid"), 2);
	cr_expect_eq(cfgv_edit_distance("", "abc"), 3);
}

/* health_host: a [backend] default and a [server] override, both checked
 * with the announcement's rule (regmsg_host_ok). */
Test(config, health_host)
{
	struct config cfg;

	load_ok(MINIMAL
		"[server web2]\naddress = 198.18.0.22:80\nhealth_host = api.example.test:8080\n"
		"[backend]\nhealth_check = /healthz\nhealth_host = www.example.test\n",
		&cfg);
	cr_expect_str_eq(cfg.backend.health_host, "www.example.test");
	cr_expect_str_empty(cfg.servers[0].health_host);
	cr_expect_str_eq(cfg.servers[1].health_host, "api.example.test:8080");
	config_free(&cfg);
	load_ok(MINIMAL, &cfg);
	cr_expect_str_empty(cfg.backend.health_host);
	config_free(&cfg);
	expect_error(MINIMAL "health_host = a b\n", 5, "health_host: \"a b\" is not a host name",
		     NULL);
	expect_error(MINIMAL "[backend]\nhealth_host = web:0\n", 6, "health_host",
		     "optionally \":port\"");
	expect_error(MINIMAL "[backend]\nhealth_host = http://web/\n", 6, "is not a host name",
		     NULL);
	expect_error(MINIMAL "[backend]\nhealth_host = "
			     "h234567890123456789012345678901234567890123456789012345678901234\n",
		     6, "1..63 letters", NULL);
	expect_error(MINIMAL "[backend]\nhealth_host = \n", 6, "is not a host name", NULL);
}

/* [frontend] listen and tls_listen take lists (SPEC "Second stage"). */
Test(config, several_listeners)
{
	struct config cfg;

	load_ok("[frontend]\nlisten = 198.18.0.10:80, 198.18.0.11:8080\n"
		"tls_listen = 198.18.0.10:443\ntls_cert = /etc/a.pem, /etc/b.pem\n"
		"[server web1]\naddress = 198.18.0.21:80\n",
		&cfg);
	cr_assert_eq(cfg.frontend.nlisteners, 3);
	cr_expect_str_eq(cfg.frontend.listen.text, "198.18.0.10:80");
	cr_expect_str_eq(cfg.frontend.listeners[1].ep.text, "198.18.0.11:8080");
	cr_expect_not(cfg.frontend.listeners[1].tls);
	cr_expect_str_eq(cfg.frontend.listeners[2].ep.text, "198.18.0.10:443");
	cr_expect(cfg.frontend.listeners[2].tls);
	cr_expect_eq(cfg.frontend.ntls_certs, 2);
	cr_expect_str_eq(cfg.frontend.tls_cert[1], "/etc/b.pem");
	cr_expect_eq(cfg.frontend.tls_handshake_timeout_ms, 10000);
	config_free(&cfg);
	/* TLS alone is a frontend too; listen names its first address. */
	load_ok("[frontend]\ntls_listen = 198.18.0.10:443\ntls_cert = /etc/a.pem\n"
		"tls_handshake_timeout = 3s\n[server web1]\naddress = 198.18.0.21:80\n",
		&cfg);
	cr_expect_eq(cfg.frontend.nlisteners, 1);
	cr_expect_str_eq(cfg.frontend.listen.text, "198.18.0.10:443");
	cr_expect_eq(cfg.frontend.tls_handshake_timeout_ms, 3000);
	config_free(&cfg);
}

Test(config, listener_errors)
{
	const char *srv = "[server web1]\naddress = 198.18.0.21:80\n";
	char text[512];

	snprintf(text, sizeof(text), "[frontend]\nlisten = 198.18.0.10:80, 198.18.0.10:80\n%s",
		 srv);
	expect_error(text, 2, "listen: \"198.18.0.10:80\" is listed twice", NULL);
	snprintf(text, sizeof(text), "[frontend]\nlisten = 198.18.0.10:80, nope\n%s", srv);
	expect_error(text, 2, "listen: \"nope\" is not an IPv4 address:port or [IPv6]:port", NULL);
	snprintf(text, sizeof(text), "[frontend]\nlisten = ,\n%s", srv);
	expect_error(text, 2, "listen: must list at least one", NULL);
	snprintf(text, sizeof(text), "[frontend]\ntls_listen = 198.18.0.10:443\n%s", srv);
	expect_error(text, 2, "tls_listen: needs tls_cert", NULL);
	snprintf(text, sizeof(text),
		 "[frontend]\nlisten = 198.18.0.10:80\ntls_cert = /etc/a.pem\n%s", srv);
	expect_error(text, 3, "tls_cert: no tls_listen would use it", NULL);
	snprintf(text, sizeof(text),
		 "[frontend]\nlisten = 198.18.0.10:80\ntls_listen = 198.18.0.10:80\n"
		 "tls_cert = /a.pem\n%s",
		 srv);
	expect_error(text, 3, "tls_listen: \"198.18.0.10:80\" is also in listen", NULL);
}

/* [server] tls keys (issue 13): defaults, values, and what is refused. */
Test(config, server_tls_keys)
{
	struct config cfg;

	load_ok(MINIMAL "[server web2]\naddress = 198.18.0.22:443\ntls = yes\n"
			"tls_ca = /etc/andromeda/ca.pem\ntls_sni = www.example.test\n"
			"tls_verify = no\n",
		&cfg);
	cr_expect_not(cfg.servers[0].tls, "plain by default");
	cr_expect(cfg.servers[0].tls_verify, "verify by default");
	cr_expect_str_empty(cfg.servers[0].tls_ca);
	cr_expect(cfg.servers[1].tls);
	cr_expect_not(cfg.servers[1].tls_verify);
	cr_expect_str_eq(cfg.servers[1].tls_ca, "/etc/andromeda/ca.pem");
	cr_expect_str_eq(cfg.servers[1].tls_sni, "www.example.test");
	config_free(&cfg);
	expect_error(MINIMAL "tls = maybe\n", 5, ": tls: \"maybe\"", "boolean");
	expect_error(MINIMAL "tls = yes\ntls_sni = www.example.test:443\n", 6,
		     ": tls_sni: \"www.example.test:443\"", "without a port");
	expect_error(MINIMAL "tls = yes\ntls_sni = 198.18.0.21\n", 6, ": tls_sni: \"198.18.0.21\"",
		     "without a port");
	expect_error(MINIMAL "tls = yes\ntls_ca =\n", 6, "tls_ca", NULL);
	expect_error(MINIMAL "tls_ca = /etc/andromeda/ca.pem\n", 3,
		     "[server web1]: tls_ca and tls_sni need tls = yes", NULL);
}
