/* test_config_agent.c - andromeda-agent's configuration loader: a full
 * file, the defaults, the derived defaults (health_url, health_timeout),
 * and every kind of bad input with its "FILE:LINE: reason". */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cfgtext.h"
#include "config_agent.h"
#include "log.h"

#define PATH_LEN CFGTEXT_PATH_LEN

/* The SPEC's keys plus every optional one. */
static const char full[] = "; andromeda-agent on web3\n"
			   "[agent]\n"
			   "name = web3\n"
			   "service = 198.18.0.23:8080\n"
			   "weight = 3\n"
			   "health_url = http://198.18.0.23:8080/healthz\n"
			   "health_timeout = 300ms\n"
			   "interface = eth0\n"
			   "announce_interval = 1s\n"
			   "key_file = /etc/andromeda/cluster.key\n"
			   "balancers = 198.18.0.11, 198.18.0.12\n"
			   "port = 7790\n"
			   "log_level = debug\n";

/* Smallest valid file: 5 lines, so a key appended is on line 6. */
#define MINIMAL                                                              \
	"[agent]\nname = web1\nservice = 198.18.0.21:80\ninterface = eth0\n" \
	"key_file = /k\n"

static int load(const char *text, struct agent_config *cfg, char *err, size_t errlen, char *path)
{
	int rc;

	cfgtext_write(text, "agentcfg", path);
	rc = agent_config_load(path, cfg, err, errlen);
	unlink(path);
	return rc;
}

static void load_ok(const char *text, struct agent_config *cfg)
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
	struct agent_config cfg;

	cr_expect_eq(load(text, &cfg, err, sizeof(err), path), -1,
		     "accepted (want line %d, \"%s\"):\n%s", line, want, text);
	cfgtext_expect_error_at(err, path, line, want, want2);
}

Test(agent_config, full_file)
{
	struct agent_config cfg;

	load_ok(full, &cfg);
	cr_expect_str_eq(cfg.name, "web3");
	cr_expect_str_eq(cfg.service.text, "198.18.0.23:8080");
	cr_expect_eq(ntohs(cfg.service.sin.sin_port), 8080);
	cr_expect_eq(ntohl(cfg.service.sin.sin_addr.s_addr), 0xC6120017u);
	cr_expect_eq(cfg.weight, 3);
	cr_expect_str_eq(cfg.health_url, "http://198.18.0.23:8080/healthz");
	cr_expect_eq(cfg.health_timeout_ms, 300);
	cr_expect_str_eq(cfg.interface, "eth0");
	cr_expect_eq(cfg.announce_interval_ms, 1000);
	cr_expect_str_eq(cfg.key_file, "/etc/andromeda/cluster.key");
	cr_assert_eq(cfg.nbalancers, 2);
	cr_expect_eq(ntohl(cfg.balancers[0].s_addr), 0xC612000Bu);
	cr_expect_eq(ntohl(cfg.balancers[1].s_addr), 0xC612000Cu);
	cr_expect_eq(cfg.port, 7790);
	cr_expect_eq(cfg.log_level, LOG_LVL_DEBUG);
}

Test(agent_config, defaults)
{
	struct agent_config cfg;

	load_ok(MINIMAL, &cfg);
	cr_expect_eq(cfg.weight, 1);
	cr_expect_str_eq(cfg.health_url, "http://198.18.0.21:80/");
	cr_expect_eq(cfg.announce_interval_ms, 2000);
	cr_expect_eq(cfg.health_timeout_ms, 1000);
	cr_expect_eq(cfg.port, 7789);
	cr_expect_eq(cfg.nbalancers, 0);
	cr_expect_eq(cfg.log_level, LOG_LVL_INFO);
}

Test(agent_config, unicast_only_and_short_interval)
{
	struct agent_config cfg;

	load_ok("[agent]\nname = a\nservice = 10.0.0.1:1\nkey_file = /k\nbalancers = 10.0.0.2\n"
		"announce_interval = 100ms\n",
		&cfg);
	cr_expect_str_eq(cfg.interface, "");
	cr_expect_eq(cfg.nbalancers, 1);
	/* An unset timeout follows a short interval: half of it. */
	cr_expect_eq(cfg.health_timeout_ms, 50);
}

Test(agent_config, layout_tolerance)
{
	struct agent_config cfg;

	load_ok("\xEF\xBB\xBF; comment\n# other comment\n  [ agent ]   ; trailing comment\n"
		"   name=web1\r\nservice = 198.18.0.21:80 ; inline\n\ninterface = eth0\n"
		"key_file = /k\n",
		&cfg);
	cr_expect_str_eq(cfg.name, "web1");
	cr_expect_str_eq(cfg.service.text, "198.18.0.21:80");
}

Test(agent_config, missing_things)
{
	char err[512], path[PATH_LEN];
	struct agent_config cfg;

	cr_expect_eq(agent_config_load("/nonexistent/agent.conf", &cfg, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "/nonexistent/agent.conf:0: cannot open: No such file or directory");
	expect_error("", 0, "no [agent] section", NULL);
	expect_error("; nothing\n", 0, "no [agent] section", NULL);
	expect_error("\n[agent]\nservice = 198.18.0.21:80\ninterface = eth0\nkey_file = /k\n", 2,
		     "missing required key \"name\" in [agent]", NULL);
	expect_error("[agent]\nname = w\ninterface = eth0\nkey_file = /k\n", 1,
		     "missing required key \"service\"", NULL);
	expect_error("[agent]\nname = w\nservice = 198.18.0.21:80\ninterface = eth0\n", 1,
		     "missing required key \"key_file\"", NULL);
	expect_error("[agent]\nname = w\nservice = 198.18.0.21:80\nkey_file = /k\n", 1,
		     "needs interface", "balancers");
	(void)path;
}

Test(agent_config, structure_errors)
{
	expect_error("name = w\n[agent]\n", 1, "key \"name\" is outside the [agent] section",
		     NULL);
	expect_error(MINIMAL "[agent]\n", 6, "section [agent] appears twice (first at line 1)",
		     NULL);
	expect_error(MINIMAL "[node]\n", 6, "unknown section [node]", "only [agent]");
	expect_error(MINIMAL "[agent\n", 6, "without closing ']'", NULL);
	expect_error(MINIMAL "[agent] x\n", 6, "unexpected text after section header", NULL);
	expect_error(MINIMAL "name = w2\n", 6,
		     "duplicate key \"name\" in [agent] (first at line 2)", NULL);
	expect_error(MINIMAL "wieght = 2\n", 6, "unknown key \"wieght\" in [agent]",
		     "did you mean weight?");
	expect_error(MINIMAL "colour = red\n", 6, "unknown key \"colour\" in [agent]", NULL);
	expect_error(MINIMAL "weight 2\n", 6, "expected \"key = value\"", NULL);
	expect_error(MINIMAL "weight: 2\n", 6, "expected \"key = value\"", NULL);
	expect_error(MINIMAL "= 2\n", 6, "missing key name", NULL);
}

Test(agent_config, nul_byte_and_long_line)
{
	char text[8192], err[512], path[PATH_LEN];
	struct agent_config cfg;
	const char nul[] = MINIMAL "weight = 1\0 2\n";
	int fd;

	strcpy(path, "/tmp/andromeda-test-agentcfg-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, nul, sizeof(nul) - 1), (ssize_t)sizeof(nul) - 1);
	close(fd);
	cr_expect_eq(agent_config_load(path, &cfg, err, sizeof(err)), -1);
	unlink(path);
	cr_expect(strstr(err, ":6: line contains a NUL byte") != NULL, "got %s", err);

	snprintf(text, sizeof(text), MINIMAL "health_url = http://x/%0*d\n", 5000, 0);
	expect_error(text, 6, "line is too long", NULL);
}

Test(agent_config, bad_values)
{
	expect_error(MINIMAL "weight = 0\n", 6, "weight: \"0\" is out of range (1..256)", NULL);
	expect_error(MINIMAL "weight = 257\n", 6, "out of range", NULL);
	expect_error(MINIMAL "weight = -1\n", 6, "weight: \"-1\" is not a whole number", NULL);
	expect_error(MINIMAL "weight = 99999999999999999999999\n", 6, "too large", NULL);
	expect_error(MINIMAL "announce_interval = 2\n", 6, "needs a unit (ms, s, m, h)", NULL);
	expect_error(MINIMAL "announce_interval = 50ms\n", 6, "out of range (100ms..10m)", NULL);
	expect_error(MINIMAL "announce_interval = 11m\n", 6, "out of range", NULL);
	expect_error(MINIMAL "announce_interval = fast\n", 6, "is not a duration", NULL);
	expect_error(MINIMAL "health_timeout = 5ms\n", 6, "out of range (10ms..1m)", NULL);
	expect_error(MINIMAL "port = 0\n", 6, "port: \"0\" is out of range (1..65535)", NULL);
	expect_error(MINIMAL "port = 65536\n", 6, "out of range", NULL);
	expect_error(MINIMAL "log_level = loud\n", 6, "is not a level", NULL);
	expect_error("[agent]\nkey_file =\n", 2, "key_file: must not be empty", NULL);
}

Test(agent_config, bad_names_and_addresses)
{
	expect_error("[agent]\nname = web 1\n", 2, "name: \"web 1\" is not a name", NULL);
	expect_error("[agent]\nname = web/1\n", 2, "is not a name", NULL);
	expect_error(
		"[agent]\nname = a123456789012345678901234567890123456789012345678901234567890123\n",
		2, "is not a name", NULL);
	expect_error("[agent]\nservice = 198.18.0.21\n", 2, "is not an IPv4 address:port", NULL);
	expect_error("[agent]\nservice = 198.18.0.21:0\n", 2, "port 1..65535", NULL);
	expect_error("[agent]\nservice = web1:80\n", 2, "is not an IPv4 address:port", NULL);
	expect_error("[agent]\nservice = 0.0.0.0:80\n", 2,
		     "not an address the balancers can reach", NULL);
	expect_error("[agent]\nservice = 127.0.0.1:80\n", 2, "can reach", NULL);
	expect_error("[agent]\nservice = 224.0.0.1:80\n", 2, "can reach", NULL);
	expect_error("[agent]\nservice = 255.255.255.255:80\n", 2, "can reach", NULL);
	expect_error("[agent]\ninterface = eth0/1\n", 2, "is not an interface name", NULL);
	expect_error("[agent]\ninterface = averyveryverylongname\n", 2, "is not an interface name",
		     NULL);
	expect_error("[agent]\nbalancers = 198.18.0.11, lb2\n", 2, "\"lb2\" is not a unicast IPv4",
		     NULL);
	expect_error("[agent]\nbalancers = 198.18.0.11 198.18.0.11\n", 2, "is listed twice", NULL);
	expect_error("[agent]\nbalancers = 198.18.0.255, 0.0.0.0\n", 2, "\"0.0.0.0\"", NULL);
	expect_error(
		"[agent]\nbalancers = 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 "
		"1.1.1.8 1.1.1.9 1.1.1.10 1.1.1.11 1.1.1.12 1.1.1.13 1.1.1.14 1.1.1.15 1.1.1.16 "
		"1.1.1.17\n",
		2, "more than 16 addresses", NULL);
}

Test(agent_config, bad_urls)
{
	expect_error(MINIMAL "health_url = /healthz\n", 6, "must start with http:// or https://",
		     NULL);
	expect_error(MINIMAL "health_url = ftp://198.18.0.21/\n", 6, "must start with http://",
		     NULL);
	expect_error(MINIMAL "health_url = http://\n", 6, "has no host", NULL);
	expect_error(MINIMAL "health_url = http:///x\n", 6, "has no host", NULL);
	expect_error(MINIMAL "health_url = http://x/a b\n", 6, "printable ASCII", NULL);
	expect_error(MINIMAL "health_url = http://x/\xc3\xa9\n", 6, "printable ASCII", NULL);
}

Test(agent_config, good_urls)
{
	struct agent_config cfg;

	load_ok(MINIMAL "health_url = HTTPS://localhost:8443/status?full=1\n", &cfg);
	cr_expect_str_eq(cfg.health_url, "HTTPS://localhost:8443/status?full=1");
}

Test(agent_config, health_timeout_against_interval)
{
	struct agent_config cfg;

	expect_error(MINIMAL "announce_interval = 1s\nhealth_timeout = 1s\n", 7,
		     "health_timeout: 1s must be shorter than announce_interval (1s)", NULL);
	expect_error(MINIMAL "health_timeout = 5s\n", 6, "shorter than announce_interval (2s)",
		     NULL);
	load_ok(MINIMAL "announce_interval = 1s\nhealth_timeout = 900ms\n", &cfg);
	cr_expect_eq(cfg.health_timeout_ms, 900);
	load_ok(MINIMAL "announce_interval = 10s\n", &cfg);
	cr_expect_eq(cfg.health_timeout_ms, 1000);
}

Test(agent_config, first_error_wins)
{
	expect_error(MINIMAL "weight = 0\nport = 0\n", 6, "weight", NULL);
}

/* health_host: announced with the server (and the agent's own check). */
Test(agent_config, health_host)
{
	struct agent_config cfg;

	load_ok(MINIMAL "health_host = api.example.test\n", &cfg);
	cr_expect_str_eq(cfg.health_host, "api.example.test");
	load_ok(MINIMAL, &cfg);
	cr_expect_str_empty(cfg.health_host);
	expect_error(MINIMAL "health_host = api example\n", 6, "health_host",
		     "is not a host name");
	expect_error(MINIMAL "health_host = api:99999\n", 6, "health_host", NULL);
}
