/* test_runtime.c - andromedactl weight / add / remove (issue 14): the
 * parser's checks and errors, and what each command does to the pool. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "ctl_runtime.h"
#include "log.h"
#include "loop.h"
#include "pool.h"

static int parse(const char *line, struct runtime_cmd *c, char *err)
{
	char buf[256], *argv[8];
	int argc;

	snprintf(buf, sizeof(buf), "%s", line);
	argc = control_parse_line(buf, strlen(buf), argv, 8);
	cr_assert_gt(argc, 0);
	err[0] = 0;
	return runtime_parse(argc, argv, c, err, 128);
}

Test(runtime_parse, good_commands)
{
	struct runtime_cmd c;
	char err[128];

	cr_assert_eq(parse("weight web1 7", &c, err), 0);
	cr_expect_eq(c.op, RT_WEIGHT);
	cr_expect_str_eq(c.name, "web1");
	cr_expect_eq(c.weight, 7);
	cr_assert_eq(parse("add web9 198.18.0.29:8080", &c, err), 0);
	cr_expect_eq(c.op, RT_ADD);
	cr_expect_eq(c.weight, 1);
	cr_expect_str_eq(c.addr.text, "198.18.0.29:8080");
	cr_expect_eq(ntohs(c.addr.sin.sin_port), 8080);
	cr_assert_eq(parse("add web9 198.18.0.29:80 256", &c, err), 0);
	cr_expect_eq(c.weight, 256);
	cr_assert_eq(parse("remove web1", &c, err), 0);
	cr_expect_eq(c.op, RT_REMOVE);
}

Test(runtime_parse, bad_commands_say_why)
{
	static const struct {
		const char *line, *why;
	} cases[] = {
		{ "weight web1", "usage: weight NAME N (1..256)" },
		{ "weight web1 0", "invalid weight (1..256)" },
		{ "weight web1 257", "invalid weight (1..256)" },
		{ "weight web1 -3", "invalid weight (1..256)" },
		{ "weight web1 2x", "invalid weight (1..256)" },
		{ "add web9", "usage: add NAME ADDR:PORT [WEIGHT]" },
		{ "add web9 1.2.3.4:80 1 2", "usage: add NAME ADDR:PORT [WEIGHT]" },
		{ "add web9 198.18.0.29", "invalid address (want a.b.c.d:port or [v6]:port)" },
		{ "add web9 198.18.0:80", "invalid address (want a.b.c.d:port or [v6]:port)" },
		{ "add web9 198.18.0.29:0", "invalid address (want a.b.c.d:port or [v6]:port)" },
		{ "add web9 198.18.0.29:65536",
		  "invalid address (want a.b.c.d:port or [v6]:port)" },
		{ "add web9 host.example:80", "invalid address (want a.b.c.d:port or [v6]:port)" },
		{ "add we/b 198.18.0.29:80", "invalid server name (1-63 of A-Z a-z 0-9 . _ -)" },
		{ "add web9 198.18.0.29:80 0", "invalid weight (1..256)" },
		{ "remove", "usage: remove NAME" },
		{ "remove a b", "usage: remove NAME" },
	};
	struct runtime_cmd c;
	char err[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(parse(cases[i].line, &c, err), -EINVAL, "%s", cases[i].line);
		cr_expect_str_eq(err, cases[i].why, "%s", cases[i].line);
	}
}

/* ---- the commands on a pool ---- */

static struct loop *loop;
static struct control *ctl;
static struct pool *pool;
static struct ctl_runtime *rt;
static struct config cfg; /* zeroed: no health checks */
static bool active = true;
static char dir[64];

static bool is_active(void *arg) { return *(bool *)arg; }

static void setup(void)
{
	char path[128];
	struct cfg_endpoint a = { 0 };
	int err;

	log_set_level(LOG_LVL_ERR);
	snprintf(dir, sizeof(dir), "/tmp/andromeda-rt-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	cr_assert_eq(loop_create(&loop), 0);
	cr_assert_eq(control_open(&ctl, loop, path), 0);
	cr_assert_not_null(pool = pool_create(NULL));
	cr_assert_eq(config_parse_endpoint("198.18.0.21:80", &a), 0);
	cr_assert_not_null(pool_server_add(pool, "web1", &a, 1, SRV_STATIC, &err));
	active = true;
	cr_assert_eq(ctl_runtime_register(&rt, ctl, loop, pool, &cfg, is_active, &active), 0);
}

static void teardown(void)
{
	control_close(ctl);
	ctl_runtime_close(rt);
	pool_destroy(pool);
	loop_destroy(loop);
	rmdir(dir);
}

TestSuite(runtime, .init = setup, .fini = teardown, .timeout = 30);

/* Run a command line; returns the reply's "error" or NULL, *reply set. */
static const char *run(const char *line, json_t **reply)
{
	char buf[256], *argv[8];
	int argc;

	snprintf(buf, sizeof(buf), "%s", line);
	argc = control_parse_line(buf, strlen(buf), argv, 8);
	*reply = control_call(ctl, argc, argv);
	cr_assert_not_null(*reply);
	return json_string_value(json_object_get(*reply, "error"));
}

static void expect_error(const char *line, const char *want)
{
	json_t *r;
	const char *e = run(line, &r);

	cr_expect_not_null(e, "%s: no error", line);
	if (e)
		cr_expect_str_eq(e, want, "%s", line);
	json_decref(r);
}

static void expect_ok(const char *line)
{
	json_t *r;
	const char *e = run(line, &r);

	cr_expect_null(e, "%s: %s", line, e);
	json_decref(r);
}

Test(runtime, weight_changes_the_balancing_at_once)
{
	struct cfg_endpoint a;
	int err, n1 = 0;

	cr_assert_eq(config_parse_endpoint("198.18.0.22:80", &a), 0);
	cr_assert_not_null(pool_server_add(pool, "web2", &a, 1, SRV_STATIC, &err));
	expect_ok("weight web1 3");
	cr_expect_eq(pool_server_find(pool, "web1")->weight, 3);
	/* Smooth WRR: over 4 picks web1 gets exactly 3. */
	for (int i = 0; i < 4; i++)
		n1 += !strcmp(pool_next_server(pool, NULL)->name, "web1");
	cr_expect_eq(n1, 3);
}

Test(runtime, add_makes_a_lasting_registration)
{
	struct server *s;

	expect_ok("add web9 198.18.0.29:8080 5");
	s = pool_server_find(pool, "web9");
	cr_assert_not_null(s);
	cr_expect_eq(s->source, SRV_REGISTERED);
	cr_expect_eq(s->expires_ms, 0);
	cr_expect_eq(s->weight, 5);
	cr_expect_not(server_is_down(s), "no health checks: up at once");
}

Test(runtime, errors_are_clear)
{
	expect_error("add web1 198.18.0.30:80", "server web1 already exists (198.18.0.21:80)");
	expect_error("add web7 198.18.0.21:80", "address 198.18.0.21:80 is already server web1");
	expect_error("weight nosuch 2", "unknown server: nosuch");
	expect_error("remove nosuch", "unknown server: nosuch");
	expect_error("weight web1 0", "invalid weight (1..256): web1");
	expect_error("add web9 nowhere:80",
		     "invalid address (want a.b.c.d:port or [v6]:port): web9");
	active = false;
	expect_error("weight web1 2", "this node is not the MASTER: change the pool on the MASTER "
				      "(a BACKUP follows it)");
	cr_expect_eq(pool_server_find(pool, "web1")->weight, 1);
}

Test(runtime, remove_drains_first_then_removes)
{
	struct server *s = pool_server_find(pool, "web1");

	__atomic_store_n(&s->inflight, 1, __ATOMIC_SEQ_CST); /* a request in flight */
	expect_ok("remove web1");
	cr_expect(s->drain);
	expect_error("remove web1", "server web1 is already being removed");
	for (int i = 0; i < 3; i++)
		loop_run_once(loop, 150);
	cr_expect_not_null(pool_server_find(pool, "web1"), "removed with a request in flight");
	__atomic_store_n(&s->inflight, 0, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 10 && pool_server_find(pool, "web1"); i++)
		loop_run_once(loop, 150);
	cr_expect_null(pool_server_find(pool, "web1"));
}

Test(runtime, enable_during_the_drain_cancels_the_removal)
{
	struct server *s = pool_server_find(pool, "web1");

	__atomic_store_n(&s->inflight, 1, __ATOMIC_SEQ_CST);
	expect_ok("remove web1");
	pool_server_set_drain(pool, s, false); /* andromedactl enable web1 */
	__atomic_store_n(&s->inflight, 0, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 4; i++)
		loop_run_once(loop, 150);
	cr_expect_eq(pool_server_find(pool, "web1"), s, "kept");
	cr_expect_not(s->leaving);
	expect_ok("remove web1"); /* and it can be removed again */
}
