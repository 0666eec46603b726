/* test_queue.c - maxconn and the per-server queue, through the real proxy
 * on loopback: an in-process backend holds each request until the test
 * releases it, so the test can watch requests wait in the balancer.
 * Every wait is for a state, with a deadline only a hang reaches (issue
 * 18: nothing here depends on how fast the machine is). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "loop.h"
#include "pool.h"
#include "proxy.h"

#define NCLIENTS 3
#define HANG_MS  10000u

static struct {
	int lfd;
	sem_t release;
	atomic_int concurrent, max_concurrent, served;
} be;

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void *backend_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	size_t have = 0;
	ssize_t n;

	while ((n = read(fd, buf + have, sizeof(buf) - have - 1)) > 0) {
		have += (size_t)n;
		buf[have] = 0;
		if (!strstr(buf, "\r\n\r\n"))
			continue;
		int now = atomic_fetch_add(&be.concurrent, 1) + 1;
		int prev = atomic_load(&be.max_concurrent);
		while (now > prev && !atomic_compare_exchange_weak(&be.max_concurrent, &prev, now))
			;
		sem_wait(&be.release);
		atomic_fetch_sub(&be.concurrent, 1);
		atomic_fetch_add(&be.served, 1);
		const char *rsp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
		if (write(fd, rsp, strlen(rsp)) < 0)
			break;
		have = 0;
	}
	close(fd);
	return NULL;
}

static void *backend_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(be.lfd, NULL, NULL);
		pthread_t th;

		if (fd < 0)
			return NULL;
		pthread_create(&th, NULL, backend_conn, (void *)(intptr_t)fd);
		pthread_detach(th);
	}
}

static int backend_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	pthread_t th;

	be.lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(bind(be.lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(listen(be.lfd, 64) == 0);
	getsockname(be.lfd, (struct sockaddr *)&a, &len);
	sem_init(&be.release, 0, 0);
	pthread_create(&th, NULL, backend_main, NULL);
	pthread_detach(th);
	return ntohs(a.sin_port);
}

struct client_job {
	int port;
	int status;
};

static void *client_main(void *arg)
{
	struct client_job *job = arg;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(job->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const char *req = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	char buf[2048] = "";
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t have = 0;
	ssize_t n;

	job->status = -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || write(fd, req, strlen(req)) < 0) {
		close(fd);
		return NULL;
	}
	while (have < sizeof(buf) - 1 && (n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0)
		have += (size_t)n;
	buf[have] = 0;
	sscanf(buf, "HTTP/1.1 %d", &job->status);
	close(fd);
	return NULL;
}

static struct config cfg;
static struct loop *loop;
static struct pool *pool;
static struct proxy *px;
static struct server *srv;

static void start_proxy(unsigned maxconn, uint32_t queue_timeout_ms)
{
	int bport = backend_start(), err = 0;
	struct cfg_endpoint ep = { .sin = { .sin_family = AF_INET,
					    .sin_port = htons(bport),
					    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.node.name, sizeof(cfg.node.name), "lbtest");
	cfg.frontend.listen.sin =
		(struct sockaddr_in){ .sin_family = AF_INET,
				      .sin_port = htons(free_port()),
				      .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cfg.frontend.mode = MODE_HTTP;
	cfg.frontend.maxconn = 100;
	cfg.frontend.header_timeout_ms = cfg.frontend.client_timeout_ms = 5000;
	cfg.frontend.keepalive_timeout_ms = 5000;
	cfg.frontend.max_header_size = 8192;
	cfg.frontend.max_uri_size = 4096;
	cfg.frontend.grace_ms = 1000;
	cfg.backend.maxconn = maxconn;
	cfg.backend.queue_timeout_ms = queue_timeout_ms;
	cfg.backend.connect_timeout_ms = 1000;
	cfg.backend.server_timeout_ms = 5000;
	cfg.backend.retries = 2;
	cfg.backend.rise = 2;
	cfg.backend.fall = 3;
	cfg.backend.max_idle = 8;
	cfg.backend.panic_threshold = 50;
	snprintf(ep.text, sizeof(ep.text), "127.0.0.1:%d", bport);
	cr_assert_eq(loop_create(&loop), 0);
	pool = pool_create(&cfg);
	srv = pool_server_add(pool, "be", &ep, 1, SRV_STATIC, &err);
	cr_assert_not_null(srv);
	cr_assert_eq(proxy_create(&px, loop, pool, &cfg), 0);
	cr_assert_eq(proxy_start(px), 0);
}

static void run_until(bool (*cond)(void))
{
	uint64_t end = loop_clock_ms() + HANG_MS;

	while (!cond()) {
		cr_assert_lt(loop_clock_ms(), end, "inflight %u, queued %u: a hang", srv->inflight,
			     server_queued(srv));
		loop_run_once(loop, 10);
	}
}

static unsigned want_queued; /* for left_the_queue */

static bool three_waiting(void)
{
	return srv->inflight == 1 && server_queued(srv) == NCLIENTS - 1;
}
static bool one_inflight(void) { return srv->inflight == 1; }
static bool one_queued(void) { return server_queued(srv) == 1; }
static bool idle(void) { return srv->inflight == 0 && server_queued(srv) == 0; }
/* The released request is done and the next queued one is being served. */
static bool left_the_queue(void)
{
	return srv->inflight == 1 && server_queued(srv) == want_queued;
}

Test(queue, maxconn_1_serves_one_at_a_time_and_queues_the_rest, .timeout = 20)
{
	pthread_t th[NCLIENTS];
	struct client_job jobs[NCLIENTS];

	start_proxy(1, 60000); /* no queued request may time out, however slow the run */
	for (int i = 0; i < NCLIENTS; i++) {
		jobs[i].port = ntohs(cfg.frontend.listen.sin.sin_port);
		pthread_create(&th[i], NULL, client_main, &jobs[i]);
	}
	run_until(three_waiting);
	cr_assert_eq(srv->inflight, 1, "inflight %u", srv->inflight);
	cr_assert_eq(server_queued(srv), NCLIENTS - 1, "queued %u", server_queued(srv));
	for (int i = 0; i + 1 < NCLIENTS; i++) {
		sem_post(&be.release);
		want_queued = NCLIENTS - 2 - (unsigned)i;
		run_until(left_the_queue); /* the next one leaves the queue */
	}
	sem_post(&be.release);
	run_until(idle);
	for (int i = 0; i < NCLIENTS; i++) {
		while (pthread_tryjoin_np(th[i], NULL) != 0)
			loop_run_once(loop, 10);
		cr_assert_eq(jobs[i].status, 200, "client %d got %d", i, jobs[i].status);
	}
	cr_assert_eq(atomic_load(&be.max_concurrent), 1, "backend saw %d at once",
		     atomic_load(&be.max_concurrent));
	cr_assert_eq(atomic_load(&be.served), NCLIENTS);
	cr_assert_eq(server_requests(srv), NCLIENTS);
}

Test(queue, queue_timeout_answers_503, .timeout = 20)
{
	pthread_t th[2];
	struct client_job jobs[2];

	start_proxy(1, 200);
	jobs[0].port = jobs[1].port = ntohs(cfg.frontend.listen.sin.sin_port);
	pthread_create(&th[0], NULL, client_main, &jobs[0]);
	run_until(one_inflight);
	pthread_create(&th[1], NULL, client_main, &jobs[1]);
	run_until(one_queued); /* its queue timer is armed from this iteration on */
	cr_assert_eq(server_queued(srv), 1);
	while (pthread_tryjoin_np(th[1], NULL) != 0)
		loop_run_once(loop, 10);
	cr_assert_eq(jobs[1].status, 503, "queued past queue_timeout: got %d", jobs[1].status);
	cr_assert_eq(server_queued(srv), 0);
	sem_post(&be.release);
	while (pthread_tryjoin_np(th[0], NULL) != 0)
		loop_run_once(loop, 10);
	cr_assert_eq(jobs[0].status, 200);
}

/* Panic mode: with its only server DOWN the pool still uses it (Envoy's
 * panic threshold) instead of answering 503 (issue 19). */
Test(queue, a_down_server_still_serves_in_panic_mode, .timeout = 20)
{
	pthread_t th;
	struct client_job job;

	start_proxy(4, 60000);
	pool_server_set_health(pool, srv, SRV_DOWN, "test");
	cr_assert(pool_in_panic(pool));
	job.port = ntohs(cfg.frontend.listen.sin.sin_port);
	pthread_create(&th, NULL, client_main, &job);
	run_until(one_inflight);
	sem_post(&be.release);
	while (pthread_tryjoin_np(th, NULL) != 0)
		loop_run_once(loop, 10);
	cr_assert_eq(job.status, 200, "a DOWN server in panic mode: got %d", job.status);
}

static bool one_waiting_for_a_server(void)
{
	struct proxy_stats st;

	proxy_get_stats(px, &st);
	return st.queued == 1;
}

/* No server can take the request (the only one is drained): it waits for
 * one to come back instead of a 503 at once, and goes when it does. */
Test(queue, no_server_waits_in_the_queue_until_one_is_back, .timeout = 20)
{
	pthread_t th;
	struct client_job job;

	start_proxy(4, 60000);
	pool_server_set_drain(pool, srv, true);
	job.port = ntohs(cfg.frontend.listen.sin.sin_port);
	pthread_create(&th, NULL, client_main, &job);
	run_until(one_waiting_for_a_server);
	for (int i = 0; i < 20; i++)
		loop_run_once(loop, 10);
	cr_assert_eq(srv->inflight, 0, "a drained server got the request");
	cr_assert_neq(pthread_tryjoin_np(th, NULL), 0, "answered while no server could take it");
	pool_server_set_drain(pool, srv, false);
	run_until(one_inflight);
	sem_post(&be.release);
	while (pthread_tryjoin_np(th, NULL) != 0)
		loop_run_once(loop, 10);
	cr_assert_eq(job.status, 200, "got %d", job.status);
}

Test(queue, no_server_for_queue_timeout_answers_503, .timeout = 20)
{
	pthread_t th;
	struct client_job job;
	uint64_t t0;

	start_proxy(4, 300);
	pool_server_set_drain(pool, srv, true);
	job.port = ntohs(cfg.frontend.listen.sin.sin_port);
	t0 = loop_clock_ms();
	pthread_create(&th, NULL, client_main, &job);
	while (pthread_tryjoin_np(th, NULL) != 0)
		loop_run_once(loop, 10);
	cr_assert_eq(job.status, 503, "got %d", job.status);
	cr_assert_geq(loop_clock_ms() - t0, 290, "503 before queue_timeout");
	cr_assert_eq(srv->inflight, 0);
}
