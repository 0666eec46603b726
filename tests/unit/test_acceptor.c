/* test_acceptor.c - the accept policy (acceptor.h) on a loopback listener:
 * out of descriptors, the listener is disarmed (the loop sleeps instead of
 * spinning), one line is logged, and accepting resumes on the timer or on
 * a kick once descriptors are free. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "acceptor.h"
#include "loop.h"

#define NCLIENTS 3
#define NMAX     8

static struct {
	struct loop *loop;
	struct acceptor acc;
	struct sockaddr_in addr;
	int lfd, clients[NMAX], accepted[NMAX], naccepted;
	int fail_with; /* the callback's answer, once */
	FILE *log;
} t;

static int on_conn(void *arg, int fd, const struct sockaddr_storage *peer)
{
	cr_expect_eq(peer->ss_family, AF_INET);
	if (t.fail_with) {
		int err = t.fail_with;

		t.fail_with = 0;
		close(fd);
		return err;
	}
	cr_assert(t.naccepted < NMAX);
	t.accepted[t.naccepted++] = fd;
	return 0;
}

/* Client i connects; it waits in the backlog until accepted. */
static void connect_one(int i)
{
	t.clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(connect(t.clients[i], (struct sockaddr *)&t.addr, sizeof(t.addr)) == 0);
}

/* Log lines go to a file the test reads back. */
static void setup(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	t.log = tmpfile();
	cr_assert(t.log);
	cr_assert(dup2(fileno(t.log), STDERR_FILENO) == STDERR_FILENO);
	setvbuf(stderr, NULL, _IONBF, 0);
	cr_assert(loop_create(&t.loop) == 0);
	t.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert(bind(t.lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(t.lfd, 16) == 0);
	cr_assert(getsockname(t.lfd, (struct sockaddr *)&a, &len) == 0);
	t.addr = a;
	for (int i = 0; i < NCLIENTS; i++)
		connect_one(i);
	cr_assert(acceptor_start(&t.acc, t.loop, t.lfd, "test listener", 64, on_conn, NULL) == 0);
}

static void teardown(void)
{
	acceptor_stop(&t.acc);
	loop_destroy(t.loop);
}

static unsigned log_count(const char *what)
{
	char line[512];
	unsigned n = 0;

	rewind(t.log);
	while (fgets(line, sizeof(line), t.log))
		n += strstr(line, what) != NULL;
	return n;
}

/* Lower RLIMIT_NOFILE to the lowest free descriptor: the next accept()
 * fails with EMFILE.  Returns the old limit. */
static struct rlimit exhaust_fds(void)
{
	struct rlimit old, low;
	int probe = dup(0);

	cr_assert(probe >= 0 && getrlimit(RLIMIT_NOFILE, &old) == 0);
	close(probe);
	low = (struct rlimit){ .rlim_cur = (rlim_t)probe, .rlim_max = old.rlim_max };
	cr_assert(setrlimit(RLIMIT_NOFILE, &low) == 0);
	return old;
}

static uint64_t run_for(int ms)
{
	uint64_t start = loop_clock_ms();

	cr_assert(loop_run_once(t.loop, ms) == 0);
	return loop_clock_ms() - start;
}

static void run_until_accepted(int n)
{
	uint64_t deadline = loop_clock_ms() + 2000;

	while (t.naccepted < n && loop_clock_ms() < deadline)
		cr_assert(loop_run_once(t.loop, 50) == 0);
	cr_assert_eq(t.naccepted, n);
}

Test(acceptor, out_of_fds_pauses_then_resumes_on_the_timer, .init = setup, .fini = teardown)
{
	struct rlimit old = exhaust_fds();

	cr_assert(loop_run_once(t.loop, 1000) == 0); /* EMFILE: paused */
	cr_expect_eq(t.naccepted, 0);
	cr_expect_eq(loop_get_mask(t.loop, t.lfd), 0, "the listener is still armed");
	/* Level-triggered and still armed, this would return at once. */
	cr_expect_geq(run_for(40), 30, "the loop woke up with the backlog still full");
	cr_assert(setrlimit(RLIMIT_NOFILE, &old) == 0);
	run_until_accepted(NCLIENTS); /* the resume timer, ACCEPTOR_PAUSE_MS */
	cr_expect_eq(loop_get_mask(t.loop, t.lfd), LOOP_READ);
	cr_expect_eq(log_count("test listener: cannot accept, pausing"), 1);
	run_for(0); /* the backlog is empty: the episode ends */
	cr_expect_eq(log_count("test listener: accepting again"), 1);
}

Test(acceptor, one_line_per_episode_not_per_retry, .init = setup, .fini = teardown)
{
	struct rlimit old = exhaust_fds();
	uint64_t deadline = loop_clock_ms() + 350;

	while (loop_clock_ms() < deadline) /* three retries or so, all failing */
		cr_assert(loop_run_once(t.loop, 50) == 0);
	cr_assert(setrlimit(RLIMIT_NOFILE, &old) == 0);
	cr_expect_eq(t.naccepted, 0);
	cr_expect_eq(log_count("cannot accept, pausing"), 1);
	cr_expect_eq(log_count("Too many open files"), 1);
}

Test(acceptor, callback_out_of_memory_pauses_and_kick_resumes, .init = setup, .fini = teardown)
{
	t.fail_with = -ENOMEM;
	cr_assert(loop_run_once(t.loop, 1000) == 0);
	cr_expect_eq(t.naccepted, 0);
	cr_expect_eq(loop_get_mask(t.loop, t.lfd), 0);
	acceptor_kick(&t.acc); /* the owner freed something: no wait */
	cr_expect_eq(loop_get_mask(t.loop, t.lfd), LOOP_READ);
	cr_assert(loop_run_once(t.loop, 1000) == 0);
	cr_expect_eq(t.naccepted, NCLIENTS - 1);
}

Test(acceptor, disabled_by_owner_until_enabled, .init = setup, .fini = teardown)
{
	acceptor_enable(&t.acc, false);
	cr_expect_geq(run_for(40), 30);
	cr_expect_eq(t.naccepted, 0);
	acceptor_enable(&t.acc, true);
	cr_assert(loop_run_once(t.loop, 1000) == 0);
	cr_expect_eq(t.naccepted, NCLIENTS);
	cr_expect_eq(log_count("pausing"), 0);
}

Test(acceptor, a_second_episode_soon_after_is_counted_not_logged, .init = setup, .fini = teardown)
{
	struct rlimit old = exhaust_fds();

	cr_assert(loop_run_once(t.loop, 1000) == 0);
	cr_assert(setrlimit(RLIMIT_NOFILE, &old) == 0);
	run_until_accepted(NCLIENTS);
	run_for(0);
	connect_one(NCLIENTS); /* a new client while short again */
	old = exhaust_fds();
	cr_assert(loop_run_once(t.loop, 1000) == 0);
	cr_expect_eq(loop_get_mask(t.loop, t.lfd), 0, "the second shortage did not pause");
	cr_assert(setrlimit(RLIMIT_NOFILE, &old) == 0);
	run_until_accepted(NCLIENTS + 1);
	run_for(0);
	cr_expect_eq(log_count("cannot accept, pausing"), 1);
	cr_expect_eq(log_count("accepting again"), 1);
}
