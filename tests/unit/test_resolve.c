/* test_resolve.c - servers by name (core/pool/resolve.h): a name enters
 * the pool once it resolves, with the [server]'s weight; a changed address
 * is followed (the old server leaves the pool, drain state carried over).
 * The names come from /etc/hosts: "localhost" everywhere, and as root a
 * hosts file of our own bind-mounted over /etc/hosts in a private mount
 * namespace (Criterion runs each test in its own child), rewritten in
 * place to move the name.  Names only under .test (RFC 6761), always
 * present in the file, so no lookup ever leaves the machine. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "config.h"
#include "loop.h"
#include "netaddr.h"
#include "pool.h"
#include "resolve.h"

static struct config cfg;
static struct cfg_server servers[1];
static struct pool *pool;
static struct loop *loop;
static unsigned added;

static void on_added(void *arg, struct server *srv)
{
	(void)arg;
	(void)srv;
	added++;
}

static void setup_with(const char *host, uint16_t port)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(servers, 0, sizeof(servers));
	cfg.backend.maxconn = 4;
	cfg.backend.rise = 1;
	cfg.backend.fall = 1;
	cfg.backend.resolve_interval_ms = 100;
	snprintf(servers[0].name, sizeof(servers[0].name), "web");
	snprintf(servers[0].host, sizeof(servers[0].host), "%s", host);
	servers[0].port = port;
	servers[0].weight = 3;
	snprintf(servers[0].addr.text, sizeof(servers[0].addr.text), "%s:%u", host, port);
	cfg.servers = servers;
	cfg.nservers = 1;
	cr_assert_eq(loop_create(&loop), 0);
	cr_assert_not_null(pool = pool_create(&cfg));
}

/* Run the loop until cond() or 5 s. */
static bool run_until(bool (*cond)(void))
{
	uint64_t end = loop_clock_ms() + 5000;

	while (!cond() && loop_clock_ms() < end)
		loop_run_once(loop, 20);
	return cond();
}

static struct server *web(void) { return pool_server_find(pool, "web"); }
static bool web_present(void) { return web() != NULL; }

Test(resolve, localhost_enters_the_pool_with_its_weight)
{
	struct resolver *r;
	struct resolver_stats st;
	struct server *s;
	char ip[64];

	setup_with("localhost", 8080);
	cr_assert_null(web(), "not in the pool before it resolves");
	struct resolver_hooks hooks = { .added = on_added };
	cr_assert_eq(resolver_open(&r, loop, &cfg, pool, &hooks), 0);
	cr_assert(run_until(web_present), "localhost did not resolve");
	s = web();
	netaddr_ip(&s->addr.sa, ip, sizeof(ip));
	cr_expect(!strcmp(ip, "127.0.0.1") || !strcmp(ip, "::1"), "localhost is %s", ip);
	cr_expect_eq(netaddr_port(&s->addr.sa), 8080);
	cr_expect_eq(s->weight, 3);
	cr_expect_eq(s->source, SRV_STATIC);
	cr_expect_eq(added, 1);
	resolver_get_stats(r, &st);
	cr_expect_geq(st.lookups, 1);
	cr_expect_eq(st.moves, 0);
	resolver_close(r);
	pool_destroy(pool);
	loop_destroy(loop);
}

static char hosts[64];

static void write_hosts(const char *line)
{
	/* In place (same inode): the bind mount shows the new text. */
	int fd = open(hosts, O_WRONLY | O_TRUNC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	close(fd);
}

static void private_hosts(const char *line)
{
	int fd;

	if (geteuid() != 0)
		cr_skip_test("needs root (a private mount namespace for /etc/hosts)");
	snprintf(hosts, sizeof(hosts), "/tmp/test_resolve.XXXXXX");
	cr_assert_geq(fd = mkstemp(hosts), 0);
	close(fd);
	write_hosts(line);
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
	/* The type is ignored for these flags; "none" rather than NULL
	 * keeps valgrind from reading address 0. */
	cr_assert_eq(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(mount(hosts, "/etc/hosts", "none", MS_BIND, NULL), 0, "bind: %s",
		     strerror(errno));
}

static bool web_moved(void) { return web() && web()->addr.sa.sa_family == AF_INET6; }

Test(resolve, a_changed_address_is_followed)
{
	struct resolver *r;
	struct resolver_stats st;
	struct server *old;

	private_hosts("198.18.0.31 web-a.test\n");
	setup_with("web-a.test", 8080);
	cr_assert_eq(resolver_open(&r, loop, &cfg, pool, NULL), 0);
	cr_assert(run_until(web_present), "web-a.test did not resolve");
	old = web();
	cr_expect_str_eq(old->addr.text, "198.18.0.31:8080");
	server_get(old); /* as a request in flight would */
	pool_server_set_drain(pool, old, true);
	pool_server_set_weight(pool, old, 7); /* andromedactl weight */

	write_hosts("2001:db8:18::31 web-a.test\n");
	cr_assert(run_until(web_moved), "the new address was not followed");
	cr_expect_str_eq(web()->addr.text, "[2001:db8:18::31]:8080");
	cr_expect(web()->drain, "drain state carried over");
	cr_expect_eq(web()->weight, 7, "runtime weight carried over");
	cr_expect(old->removed, "the old server left the pool");
	cr_expect_str_eq(old->addr.text, "198.18.0.31:8080", "in flight: still the old address");
	server_put(old);
	resolver_get_stats(r, &st);
	cr_expect_eq(st.moves, 1);

	/* The same answer again: nothing moves. */
	old = web();
	for (int i = 0; i < 20; i++)
		loop_run_once(loop, 20);
	cr_expect_eq(web(), old);
	resolver_close(r);
	pool_destroy(pool);
	loop_destroy(loop);
	unlink(hosts);
}
