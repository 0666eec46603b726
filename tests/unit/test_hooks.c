/* test_hooks.c - issue 14's hooks: the effective priority (keepalived's
 * table), fall/rise, the notify queue's order and collapse, the election's
 * answer to a priority change and a tracked fault, and the notify script
 * and a track script run for real on the loop (ha/child.c). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include "child.h"
#include "config.h"
#include "config_load.h"
#include "loop.h"
#include "notify.h"
#include "track.h"
#include "vrrp.h"

/* ---- the effective priority ---- */

Test(priority, keepalived_table)
{
	cr_assert_eq(track_effective_priority(100, 0), 100);
	cr_assert_eq(track_effective_priority(100, -60), 40);
	cr_assert_eq(track_effective_priority(100, -120), 1, "never below 1");
	cr_assert_eq(track_effective_priority(100, 200), 254, "never above 254");
	cr_assert_eq(track_effective_priority(255, -50), 255, "the address owner never moves");
	/* weight < 0 applies while down, > 0 while up, 0 never (FAULT). */
	cr_assert_eq(track_weight_applied(-20, true), 0);
	cr_assert_eq(track_weight_applied(-20, false), -20);
	cr_assert_eq(track_weight_applied(30, true), 30);
	cr_assert_eq(track_weight_applied(30, false), 0);
	cr_assert_eq(track_weight_applied(0, false), 0);
}

Test(priority, fall_and_rise)
{
	struct track_fr fr = { .up = true };

	cr_assert_not(track_fr_feed(&fr, false, 3, 2));
	cr_assert_not(track_fr_feed(&fr, false, 3, 2));
	cr_assert_not(track_fr_feed(&fr, true, 3, 2), "a success resets the run");
	cr_assert_not(track_fr_feed(&fr, false, 3, 2));
	cr_assert_not(track_fr_feed(&fr, false, 3, 2));
	cr_assert(track_fr_feed(&fr, false, 3, 2), "third failure in a row");
	cr_assert_not(fr.up);
	cr_assert_not(track_fr_feed(&fr, false, 3, 2));
	cr_assert_not(track_fr_feed(&fr, true, 3, 2));
	cr_assert(track_fr_feed(&fr, true, 3, 2), "second success in a row");
	cr_assert(fr.up);
	/* keepalived's defaults: one result flips it. */
	cr_assert(track_fr_feed(&fr, false, 1, 1));
	cr_assert(track_fr_feed(&fr, true, 1, 1));
}

/* ---- the notify queue ---- */

static struct notify_event ev(const char *role, const char *prev)
{
	struct notify_event e = { .priority = 100 };

	snprintf(e.role, sizeof(e.role), "%s", role);
	snprintf(e.prev, sizeof(e.prev), "%s", prev);
	return e;
}

Test(notify_queue, fifo)
{
	struct notify_queue q = { 0 };
	struct notify_event e;
	const char *roles[] = { "BACKUP", "MASTER", "FAULT", "BACKUP" };

	for (int i = 0; i < 4; i++) {
		e = ev(roles[i], i ? roles[i - 1] : "INIT");
		cr_assert_eq(notify_queue_push(&q, &e), 0);
	}
	for (int i = 0; i < 4; i++) {
		cr_assert(notify_queue_pop(&q, &e));
		cr_assert_str_eq(e.role, roles[i], "a FAULT never overtakes the MASTER before it");
	}
	cr_assert_not(notify_queue_pop(&q, &e));
}

Test(notify_queue, full_collapses_to_the_latest)
{
	struct notify_queue q = { 0 };
	struct notify_event e;

	for (int i = 0; i < NOTIFY_QUEUE_MAX; i++) {
		e = ev(i % 2 ? "MASTER" : "BACKUP", i % 2 ? "BACKUP" : "MASTER");
		cr_assert_eq(notify_queue_push(&q, &e), 0);
	}
	e = ev("FAULT", "BACKUP");
	cr_assert_eq(notify_queue_push(&q, &e), NOTIFY_QUEUE_MAX);
	cr_assert(notify_queue_pop(&q, &e));
	cr_assert_str_eq(e.role, "FAULT");
	cr_assert_str_eq(e.prev, "MASTER", "prev is what the script saw last");
	cr_assert_not(notify_queue_pop(&q, &e));
}

/* ---- the election's inputs ---- */

struct rec {
	char log[512];
};

static int f_send(void *c, uint8_t prio)
{
	struct rec *r = c;
	size_t n = strlen(r->log);

	snprintf(r->log + n, sizeof(r->log) - n, "send(%u) ", prio);
	return 0;
}

static int f_vip(void *c) { return 0; }
static void f_garp(void *c) {}

static const struct vrrp_ops ops = {
	.send_advert = f_send,
	.vip_add = f_vip,
	.vip_remove = f_vip,
	.garp_burst = f_garp,
};

static struct vrrp *make_master(struct loop *loop, struct config *cfg, struct rec *r)
{
	struct vrrp *v;
	struct in_addr primary;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ha.vrid = 51;
	cfg->ha.priority = 150;
	cfg->ha.advert_interval_ms = 100;
	cfg->ha.preempt = true;
	cfg->ha.interop = true;
	inet_pton(AF_INET, "198.18.0.10", &cfg->ha.vips[0].addr);
	cfg->ha.nvips = 1;
	inet_pton(AF_INET, "198.18.0.11", &primary);
	cr_assert_eq(vrrp_create(loop, cfg, primary, &ops, r, &v), 0);
	vrrp_start(v);
	vrrp_input_master_down(v);
	cr_assert_eq(vrrp_get_state(v), VRRP_MASTER);
	r->log[0] = '\0';
	return v;
}

Test(election, master_advertises_a_new_priority_at_once)
{
	struct loop *loop;
	struct config cfg;
	struct rec r = { 0 };
	struct vrrp *v;
	struct vrrp_status st;

	cr_assert_eq(loop_create(&loop), 0);
	v = make_master(loop, &cfg, &r);
	vrrp_set_priority(v, 90, "test");
	cr_assert_str_eq(r.log, "send(90) ");
	vrrp_get_status(v, &st);
	cr_assert_eq(st.priority, 90);
	cr_assert_eq(st.base_priority, 150);
	cr_assert_eq(st.state, VRRP_MASTER, "a BACKUP with more takes over, not us stepping down");
	vrrp_destroy(v);
	loop_destroy(loop);
}

Test(election, tracked_fault_releases_and_holds_fault)
{
	struct loop *loop;
	struct config cfg;
	struct rec r = { 0 };
	struct vrrp *v;

	cr_assert_eq(loop_create(&loop), 0);
	v = make_master(loop, &cfg, &r);
	vrrp_track_fault(v, true, "track x down");
	cr_assert_str_eq(r.log, "send(0) ", "priority 0: the backup takes over after Skew_Time");
	cr_assert_eq(vrrp_get_state(v), VRRP_FAULT);
	vrrp_link_down(v);
	vrrp_link_up(v);
	cr_assert_eq(vrrp_get_state(v), VRRP_FAULT, "link back, tracked item still down");
	vrrp_track_fault(v, false, "tracked items up");
	cr_assert_eq(vrrp_get_state(v), VRRP_BACKUP);
	vrrp_destroy(v);
	loop_destroy(loop);
}

/* ---- scripts for real ---- */

static char dir[64];

static void mkscript(const char *name, const char *body)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	cr_assert_eq(chmod(path, 0755), 0);
}

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/andromeda-hooks-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void run_until(struct loop *loop, bool (*done)(void *), void *arg, int max_ms)
{
	uint64_t end = loop_clock_ms() + (uint64_t)max_ms;

	while (!done(arg) && loop_clock_ms() < end)
		loop_run_once(loop, 20);
}

static bool idle(void *n) { return !notify_busy(n); }

static struct notify *make_notify(struct loop *loop, const char *script, uint32_t timeout_ms)
{
	char path[128];
	struct notify *n;
	struct notify_params p = { .script = path,
				   .timeout_ms = timeout_ms,
				   .instance = "ha",
				   .node = "lb1",
				   .vips = "198.18.0.10/24",
				   .interface = "eth0",
				   .vrid = 51 };

	snprintf(path, sizeof(path), "%s/%s", dir, script);
	cr_assert_eq(notify_create(&n, loop, &p), 0);
	return n;
}

static void slurp(const char *name, char *buf, size_t size)
{
	char path[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_not_null(f = fopen(path, "r"), "%s missing", path);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

TestSuite(scripts, .init = mkdir_tmp, .fini = rm_tmp, .timeout = 30);

/* A slow script (0.3 s a call): push returns at once, the calls run one
 * after the other in the order of the changes, with the arguments and the
 * environment docs/vrrp.md lists. */
Test(scripts, notify_in_order_never_blocking)
{
	struct loop *loop;
	struct notify *n;
	struct notify_event e;
	const char *roles[] = { "BACKUP", "MASTER", "FAULT", "BACKUP", "STOP" };
	char out[1024], body[256];
	uint64_t t0;

	snprintf(body, sizeof(body),
		 "sleep 0.3; echo \"$1 $2 $3 $ANDROMEDA_PREV_ROLE $ANDROMEDA_NODE "
		 "$ANDROMEDA_VIPS $ANDROMEDA_INSTANCE\" >> %s/out",
		 dir);
	mkscript("notify.sh", body);
	cr_assert_eq(loop_create(&loop), 0);
	n = make_notify(loop, "notify.sh", 5000);
	t0 = loop_clock_ms();
	for (int i = 0; i < 5; i++) {
		e = ev(roles[i], i ? roles[i - 1] : "INIT");
		e.priority = 100u + (unsigned)i;
		notify_push(n, &e);
	}
	cr_assert_lt(loop_clock_ms() - t0, 200, "pushing never waits for the script");
	run_until(loop, idle, n, 10000);
	slurp("out", out, sizeof(out));
	cr_assert_str_eq(out, "ha BACKUP 100 INIT lb1 198.18.0.10/24 ha\n"
			      "ha MASTER 101 BACKUP lb1 198.18.0.10/24 ha\n"
			      "ha FAULT 102 MASTER lb1 198.18.0.10/24 ha\n"
			      "ha BACKUP 103 FAULT lb1 198.18.0.10/24 ha\n"
			      "ha STOP 104 BACKUP lb1 198.18.0.10/24 ha\n");
	cr_assert_eq(notify_get_stats(n)->calls, 5);
	cr_assert_eq(notify_get_stats(n)->failures, 0);
	notify_destroy(n);
	loop_destroy(loop);
}

/* A script that hangs (and its child) is killed at the timeout; the next
 * call still runs; a failing status and a missing script are counted. */
Test(scripts, notify_timeout_kills_the_group)
{
	struct loop *loop;
	struct notify *n;
	struct notify_event e = ev("MASTER", "BACKUP");
	char out[256], body[256];
	uint64_t t0;

	snprintf(body, sizeof(body),
		 "echo $2 >> %s/out; if [ $2 = MASTER ]; then sleep 30 & wait; fi; exit 3", dir);
	mkscript("hang.sh", body);
	cr_assert_eq(loop_create(&loop), 0);
	n = make_notify(loop, "hang.sh", 1000);
	t0 = loop_clock_ms();
	notify_push(n, &e);
	e = ev("BACKUP", "MASTER");
	notify_push(n, &e);
	run_until(loop, idle, n, 5000);
	cr_assert_lt(loop_clock_ms() - t0, 5000, "killed at 1 s, not after the sleep");
	slurp("out", out, sizeof(out));
	cr_assert_str_eq(out, "MASTER\nBACKUP\n");
	cr_assert_eq(notify_get_stats(n)->timeouts, 1);
	cr_assert_eq(notify_get_stats(n)->failures, 2, "the timeout and exit status 3");
	notify_destroy(n);
	n = make_notify(loop, "missing.sh", 1000);
	notify_push(n, &e);
	/* posix_spawn says ENOENT at once (under valgrind, which forks
	 * instead, the child exits 127 instead): counted either way. */
	run_until(loop, idle, n, 5000);
	cr_assert_eq(notify_get_stats(n)->failures, 1, "a script that cannot start is a failure");
	notify_destroy(n);
	loop_destroy(loop);
}

/* notify_flush: at exit, what is queued runs to its end. */
Test(scripts, notify_flush_runs_the_stop_call)
{
	struct loop *loop;
	struct notify *n;
	struct notify_event e = ev("STOP", "MASTER");
	char out[64], body[256];

	snprintf(body, sizeof(body), "sleep 0.2; echo $2 >> %s/out", dir);
	mkscript("stop.sh", body);
	cr_assert_eq(loop_create(&loop), 0);
	n = make_notify(loop, "stop.sh", 5000);
	notify_push(n, &e);
	notify_flush(n);
	slurp("out", out, sizeof(out));
	cr_assert_str_eq(out, "STOP\n");
	notify_destroy(n);
	loop_destroy(loop);
}

/* A track script whose result a file decides: fall 2 / rise 2 at 250 ms,
 * weight -60 on base 150. */
struct seen {
	int changes;
	char why[160];
};

static void on_changed(void *arg, const char *why)
{
	struct seen *s = arg;

	s->changes++;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static bool changed_once(void *s) { return ((struct seen *)s)->changes > 0; }

Test(scripts, track_script_moves_the_priority)
{
	static struct config cfg; /* static: track.c keeps a pointer */
	struct loop *loop;
	struct track *t;
	struct seen s = { 0 };
	char body[256], flag[128];
	const char *why = NULL;

	snprintf(flag, sizeof(flag), "%s/fail", dir);
	snprintf(body, sizeof(body), "[ ! -e %s ]", flag);
	mkscript("check.sh", body);
	memset(&cfg, 0, sizeof(cfg));
	cfg.ntracks = 1;
	cfg.tracks[0] = (struct cfg_track){
		.interval_ms = 250, .timeout_ms = 250, .weight = -60, .fall = 2, .rise = 2
	};
	snprintf(cfg.tracks[0].name, sizeof(cfg.tracks[0].name), "uplink");
	snprintf(cfg.tracks[0].script, sizeof(cfg.tracks[0].script), "%s/check.sh", dir);
	cfg.ha.ntrack_ifs = 1;
	snprintf(cfg.ha.track_if[0].ifname, sizeof(cfg.ha.track_if[0].ifname), "eth1");
	cr_assert_eq(loop_create(&loop), 0);
	cr_assert_eq(track_create(&t, loop, &cfg, 150, on_changed, &s), 0);
	cr_assert_eq(track_priority(t), 150);
	run_until(loop, changed_once, &s, 600);
	cr_assert_eq(s.changes, 0, "the script succeeds");
	fclose(fopen(flag, "w"));
	run_until(loop, changed_once, &s, 3000);
	cr_assert_eq(s.changes, 1);
	cr_assert_eq(track_priority(t), 90);
	cr_assert_not(track_fault(t, NULL));
	unlink(flag);
	s.changes = 0;
	run_until(loop, changed_once, &s, 3000);
	cr_assert_eq(s.changes, 1);
	cr_assert_eq(track_priority(t), 150);
	/* The tracked interface has weight 0: down is FAULT. */
	track_link(t, "eth1", false, "no carrier");
	cr_assert(track_fault(t, &why));
	cr_assert_str_eq(why, "eth1");
	track_link(t, "eth1", true, "up");
	cr_assert_not(track_fault(t, NULL));
	track_destroy(t);
	loop_destroy(loop);
}

static void got(void *arg, const struct child_result *r) { *(struct child_result *)arg = *r; }
static bool reaped(void *arg) { return ((struct child_result *)arg)->ms > 0; }

/* Signal dispositions are reset: our SIGPIPE ignored does not reach it. */
Test(scripts, child_reports_signal)
{
	struct loop *loop;
	char *argv[] = { "/bin/sh", "-c", "sleep 0.05; kill -TERM $$", NULL };
	char *env[] = { NULL };
	struct child *c;
	struct child_result r = { 0 };
	char buf[96];

	cr_assert_eq(loop_create(&loop), 0);
	cr_assert_eq(child_start(loop, argv, env, 0, got, &r, &c), 0);
	run_until(loop, reaped, &r, 3000);
	cr_assert_eq(r.how, CHILD_SIGNALED);
	cr_assert_eq(r.code, SIGTERM);
	cr_assert_str_eq(child_result_str(&r, buf, sizeof(buf)),
			 "killed by signal 15 (Terminated)");
	loop_destroy(loop);
}

/* ---- the keys (docs/configuration.md) ---- */

#define HA_MIN                                                                                 \
	"[frontend]\nlisten = 198.18.0.10:80\n[server web1]\naddress = 198.18.0.21:80\n[ha]\n" \
	"interface = eth0\nvrid = 51\npriority = 150\nvip = 198.18.0.10/24\nkey_file = /k\n"

static int load_text(const char *text, struct config *cfg, char *err, size_t errlen)
{
	char path[] = "/tmp/andromeda-test-hooks-XXXXXX";
	int fd = mkstemp(path), rc;

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = config_load(path, cfg, err, errlen);
	unlink(path);
	return rc;
}

Test(config, hooks_keys_and_defaults)
{
	static struct config cfg;
	char err[512] = "";

	cr_assert_eq(load_text(HA_MIN, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_empty(cfg.ha.notify);
	cr_expect_eq(cfg.ha.notify_timeout_ms, 10000);
	cr_expect_eq(cfg.ha.ntrack_ifs, 0);
	cr_expect_eq(cfg.ntracks, 0);
	config_free(&cfg);
	cr_assert_eq(load_text(HA_MIN "notify = /etc/andromeda/notify.sh\nnotify_timeout = 2s\n"
				      "track_interface = eth1, eth2:-20 eth3:+15\n"
				      "[track uplink]\nscript = /usr/local/bin/check-uplink -q 1\n"
				      "interval = 2s\nweight = -60\nfall = 3\nrise = 2\n"
				      "[track dns]\nscript = /bin/true\n",
			       &cfg, err, sizeof(err)),
		     0, "%s", err);
	cr_expect_str_eq(cfg.ha.notify, "/etc/andromeda/notify.sh");
	cr_expect_eq(cfg.ha.notify_timeout_ms, 2000);
	cr_assert_eq(cfg.ha.ntrack_ifs, 3);
	cr_expect_str_eq(cfg.ha.track_if[0].ifname, "eth1");
	cr_expect_eq(cfg.ha.track_if[0].weight, 0);
	cr_expect_eq(cfg.ha.track_if[1].weight, -20);
	cr_expect_eq(cfg.ha.track_if[2].weight, 15);
	cr_assert_eq(cfg.ntracks, 2);
	cr_expect_str_eq(cfg.tracks[0].name, "uplink");
	cr_expect_str_eq(cfg.tracks[0].script, "/usr/local/bin/check-uplink -q 1");
	cr_expect_eq(cfg.tracks[0].interval_ms, 2000);
	cr_expect_eq(cfg.tracks[0].timeout_ms, 2000, "timeout defaults to the interval");
	cr_expect_eq(cfg.tracks[0].weight, -60);
	cr_expect_eq(cfg.tracks[0].fall, 3);
	cr_expect_eq(cfg.tracks[0].rise, 2);
	cr_expect_eq(cfg.tracks[1].interval_ms, 1000);
	cr_expect_eq(cfg.tracks[1].weight, 0, "0 = FAULT while failing (keepalived's default)");
	cr_expect_eq(cfg.tracks[1].fall, 1);
	cr_expect_eq(cfg.tracks[1].rise, 1);
	config_free(&cfg);
}

static void bad(const char *text, const char *want)
{
	static struct config cfg;
	char err[512] = "";

	cr_expect_eq(load_text(text, &cfg, err, sizeof(err)), -1, "accepted:\n%s", text);
	cr_expect(strstr(err, want) != NULL, "want \"%s\" in \"%s\"", want, err);
}

Test(config, hooks_refused)
{
	bad(HA_MIN "notify = notify.sh\n", "must be an absolute path");
	bad(HA_MIN "notify = /bin/notify ha\n", "a path alone");
	bad(HA_MIN "track_interface = eth0\n", "eth0 is the HA interface");
	bad(HA_MIN "track_interface = eth1, eth1:-5\n", "listed twice");
	bad(HA_MIN "track_interface = eth1:-300\n", "-253..253");
	bad(HA_MIN "track_interface = eth1:x\n", "-253..253");
	bad(HA_MIN "track_interface = eth1\n[track eth1]\nscript = /bin/true\n",
	    "also the name of a track_interface");
	bad(HA_MIN "[track]\n", "[track] needs a name");
	bad(HA_MIN "[track a]\nscript = /bin/true\n[track a]\n", "duplicate name");
	bad(HA_MIN "[track a]\ninterval = 1s\n", "missing required key \"script\" in [track a]");
	bad(HA_MIN "[track a]\nscript = /bin/true\nweight = 254\n", "-253..253");
	bad(HA_MIN "[track a]\nscript = /bin/true\ninterval = 1s\ntimeout = 2s\n",
	    "must not exceed interval");
	bad(HA_MIN "[track a]\nscript = /bin/true\nfall = 0\n", "fall");
	bad("[frontend]\nlisten = 198.18.0.10:80\n[server web1]\naddress = 198.18.0.21:80\n"
	    "[track a]\nscript = /bin/true\n",
	    "tracking needs an [ha] section");
}
