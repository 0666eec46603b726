/* test_restart.c - `systemctl restart` without a failover (core/daemon/
 * restart.h): which job types are a restart, what ExecStop says to the
 * daemon, the marker that keeps the VIP once.  The D-Bus query of the job
 * type (restart_job_type) needs a running systemd and is not tested here;
 * tests/integration/test_restart.sh passes the type with --job. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <utime.h>

#include "restart.h"

Test(restart, job_types)
{
	cr_assert(restart_job_is_restart("restart"));
	cr_assert(restart_job_is_restart("try-restart"));
	cr_assert_not(restart_job_is_restart("stop"));
	cr_assert_not(restart_job_is_restart("start"));
	cr_assert_not(restart_job_is_restart("reload"));
	cr_assert_not(restart_job_is_restart("verify-active"));
	cr_assert_not(restart_job_is_restart(""), "no job: a stop systemd did not ask for");
	cr_assert_not(restart_job_is_restart(NULL));
	cr_assert_not(restart_job_is_restart("restartx"));
}

static char dir[] = "/tmp/andromeda-restart-XXXXXX";

static void mkdir_tmp(void) { cr_assert_not_null(mkdtemp(dir)); }

static void rm_tmp(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(restart, marker_keeps_the_vip_once, .init = mkdir_tmp, .fini = rm_tmp)
{
	cr_assert_not(restart_mark_take(dir), "no marker: release");
	cr_assert_eq(restart_mark(dir), 0);
	cr_assert(restart_mark_take(dir), "the stop of a restart: keep");
	cr_assert_not(restart_mark_take(dir), "the start failed after it: release");
}

Test(restart, stale_marker_releases, .init = mkdir_tmp, .fini = rm_tmp)
{
	char path[128];
	struct utimbuf old = { .actime = time(NULL) - 3600, .modtime = time(NULL) - 3600 };

	cr_assert_eq(restart_mark(dir), 0);
	snprintf(path, sizeof(path), "%s/restart.hold", dir);
	cr_assert_eq(utime(path, &old), 0);
	cr_assert_not(restart_mark_take(dir), "a restart that never completed");
	cr_assert_neq(access(path, F_OK), 0, "and the marker is gone");
}

Test(restart, state_descriptor_carries_the_role)
{
	char text[64] = "";
	int fd = restart_state_fd(true);
	ssize_t n;

	cr_assert_geq(fd, 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	cr_assert_gt(n, 0);
	cr_assert(!strncmp(text, "master=1 at=", 12), "%s", text);
}

/* A daemon's control socket that records the request line. */
struct fake_ctl {
	int fd;
	char line[128];
	const char *reply;
};

static void *serve_one(void *arg)
{
	struct fake_ctl *f = arg;
	int c = accept(f->fd, NULL, NULL);
	ssize_t n;

	if (c < 0)
		return NULL;
	n = read(c, f->line, sizeof(f->line) - 1);
	if (n > 0)
		f->line[n] = '\0';
	if (write(c, f->reply, strlen(f->reply)) < 0)
		f->line[0] = '!';
	close(c);
	return NULL;
}

static void fake_ctl_open(struct fake_ctl *f, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	f->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(f->fd, 0);
	cr_assert_eq(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f->fd, 1), 0);
}

Test(restart, execstop_on_a_restart_asks_the_daemon, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct fake_ctl f = { .reply = "{\"stop\":\"restart\",\"pid\":1}\n" };
	char path[128];
	pthread_t t;

	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	fake_ctl_open(&f, path);
	unsetenv("MAINPID");
	cr_assert_eq(pthread_create(&t, NULL, serve_one, &f), 0);
	cr_assert_eq(restart_stop_main(path, "restart", 1000), 0);
	pthread_join(t, NULL);
	close(f.fd);
	cr_assert_str_eq(f.line, "stop restart\n");
}

Test(restart, execstop_on_a_stop_does_nothing, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct fake_ctl f = { .reply = "{}\n" };
	char path[128];

	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	fake_ctl_open(&f, path);
	cr_assert_eq(restart_stop_main(path, "stop", 1000), 0);
	/* Nobody connected: SIGTERM (the plain stop) is systemd's. */
	cr_assert_eq(fcntl(f.fd, F_SETFL, O_NONBLOCK), 0);
	cr_assert_lt(accept(f.fd, NULL, NULL), 0);
	cr_assert_eq(errno, EAGAIN);
	close(f.fd);
}
