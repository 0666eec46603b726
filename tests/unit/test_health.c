/* test_health.c - active health checks against fake backends on loopback.
 *
 * The fake backends run in the same event loop as the checker, so every
 * test is single-threaded.  Intervals are tens of milliseconds to keep the
 * suite fast, yet no assertion depends on how fast the machine is (issue
 * 18): a check's pacing is read at the loop's own time, in the iteration
 * it happens in (see struct watch); "eventually" waits for the condition
 * with a deadline only a hang reaches (HANG_MS); and a check of a
 * responsive fake gets a timeout no loaded machine reaches (PATIENT_MS), so
 * its result is what the fake did, never how slowly it was read. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "health.h"
#include "log.h"
#include "loop.h"
#include "pool.h"

/* ---- a fake backend living in the test's event loop ---- */

enum fake_mode {
	FAKE_200,    /* HTTP 200, keeps the connection open (keep-alive) */
	FAKE_302,    /* HTTP 302 redirect */
	FAKE_500,    /* HTTP 500 */
	FAKE_SILENT, /* accepts, reads, never answers */
	FAKE_HANGUP, /* accepts and closes at once */
	FAKE_REFUSE, /* bound but not listening: connect gets a RST */
};

#define FAKE_MAX_CONNS 64

struct fake_conn {
	struct fake *f;
	int fd;
	unsigned nth;      /* 1 for the first connection accepted, ... */
	unsigned requests; /* received on this connection */
	size_t len;
	char buf[2048];
};

struct fake {
	struct loop *loop;
	int lfd;
	uint16_t port;
	enum fake_mode mode;
	unsigned accepts, requests, closes;
	unsigned max_conn_requests; /* most requests seen on one connection */
	uint64_t first_request_ms;
	char last_req[2048];
	struct fake_conn *conns[FAKE_MAX_CONNS];
};

static void fake_conn_close(struct fake_conn *c)
{
	struct fake *f = c->f;

	for (int i = 0; i < FAKE_MAX_CONNS; i++)
		if (f->conns[i] == c)
			f->conns[i] = NULL;
	loop_del_fd(f->loop, c->fd);
	close(c->fd);
	free(c);
}

static void fake_answer(struct fake_conn *c)
{
	static const char *const resp[] = {
		[FAKE_200] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		[FAKE_302] =
			"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
		[FAKE_500] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail",
	};
	struct fake *f = c->f;

	f->requests++;
	if (++c->requests > f->max_conn_requests)
		f->max_conn_requests = c->requests;
	if (!f->first_request_ms)
		f->first_request_ms = loop_clock_ms();
	snprintf(f->last_req, sizeof(f->last_req), "%.*s", (int)c->len, c->buf);
	c->len = 0; /* a reused connection would show in c->requests */
	if (f->mode <= FAKE_500)
		cr_assert(write(c->fd, resp[f->mode], strlen(resp[f->mode])) ==
			  (ssize_t)strlen(resp[f->mode]));
}

static void fake_conn_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct fake_conn *c = arg;
	ssize_t n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->f->closes++;
		fake_conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (strstr(c->buf, "\r\n\r\n"))
		fake_answer(c);
	else if (c->len == sizeof(c->buf) - 1)
		c->len = 0;
}

static void fake_accept(struct loop *loop, int lfd, unsigned events, void *arg)
{
	struct fake *f = arg;
	struct fake_conn *c;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int i;

	if (fd < 0)
		return;
	f->accepts++;
	if (f->mode == FAKE_HANGUP) {
		close(fd);
		return;
	}
	for (i = 0; i < FAKE_MAX_CONNS && f->conns[i]; i++)
		;
	cr_assert_lt(i, FAKE_MAX_CONNS, "fake backend: too many open connections");
	c = calloc(1, sizeof(*c));
	cr_assert_not_null(c);
	*c = (struct fake_conn){ .f = f, .fd = fd, .nth = f->accepts };
	f->conns[i] = c;
	cr_assert_eq(loop_add_fd(loop, fd, LOOP_READ, fake_conn_io, c), 0);
}

/* On 127.0.0.1 (af AF_INET) or [::1] (AF_INET6; false if the host has
 * no IPv6 loopback). */
static bool fake_start_af(struct fake *f, struct loop *loop, enum fake_mode mode, int af)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr *sa = af == AF_INET6 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin;
	socklen_t sl = af == AF_INET6 ? sizeof(sin6) : sizeof(sin);

	memset(f, 0, sizeof(*f));
	f->loop = loop;
	f->mode = mode;
	f->lfd = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (af == AF_INET6 && (f->lfd < 0 || bind(f->lfd, sa, sl) < 0)) {
		if (f->lfd >= 0)
			close(f->lfd);
		f->loop = NULL;
		return false;
	}
	cr_assert_geq(f->lfd, 0);
	cr_assert(af == AF_INET6 || bind(f->lfd, sa, sl) == 0);
	cr_assert_eq(getsockname(f->lfd, sa, &sl), 0);
	f->port = af == AF_INET6 ? ntohs(sin6.sin6_port) : ntohs(sin.sin_port);
	if (mode == FAKE_REFUSE)
		return true; /* keeps the port reserved, but nobody listens on it */
	cr_assert_eq(listen(f->lfd, 16), 0);
	cr_assert_eq(loop_add_fd(loop, f->lfd, LOOP_READ, fake_accept, f), 0);
	return true;
}

static void fake_start(struct fake *f, struct loop *loop, enum fake_mode mode)
{
	fake_start_af(f, loop, mode, AF_INET);
}

static void fake_stop(struct fake *f)
{
	if (!f->loop)
		return;
	for (int i = 0; i < FAKE_MAX_CONNS; i++)
		if (f->conns[i])
			fake_conn_close(f->conns[i]);
	loop_del_fd(f->loop, f->lfd);
	close(f->lfd);
	f->loop = NULL;
}

/* ---- fixture: loop, config, pool, health, an observer ---- */

#define NFAKES     4
/* "Eventually" means before this much real time: only a hang reaches it. */
#define HANG_MS    10000u
/* The check timeout where the test is not about timeouts: no loaded machine
 * takes this long to talk to a fake in the same loop, so a check of a
 * responsive fake never ends in a timeout however slowly it runs. */
#define PATIENT_MS 10000u

/* One server's checks as the test sees them after each loop iteration, at
 * the loop's own time: the time the checker reads when it starts a check,
 * and the only one its timers fire by.  Started = completed + the one in
 * flight (which holds a reference on the server).  Two facts then hold on
 * any machine, however loaded: timers never fire early, so two starts are
 * at least an interval apart; and a due timer fires in the first iteration
 * at or after its time, so once a check is complete no iteration may reach
 * the next one's due time without starting it ("late"). */
struct watch {
	struct server *s;
	unsigned base_refs; /* s->refs with no check in flight */
	uint32_t interval;
	unsigned starts;
	uint64_t first_ms, last_ms;
	uint64_t due_ms;     /* the next start's due time, loop clock */
	uint64_t min_gap_ms; /* between two consecutive starts */
	unsigned late;       /* iterations that passed due_ms with no start */
};

static struct {
	struct loop *loop;
	struct config *cfg;
	struct pool *pool;
	struct health *health;
	struct fake fakes[NFAKES];
	struct watch watches[NFAKES];
	unsigned nwatches;
	unsigned ups, downs;
	uint64_t first_up_ms, first_down_ms;
	unsigned requests_at_up, requests_at_down; /* of fakes[0] */
} t;

static void observe(struct pool *pool, struct server *srv, enum pool_event ev, void *arg)
{
	if (ev == POOL_SERVER_UP) {
		if (!t.ups++) {
			t.first_up_ms = loop_clock_ms();
			t.requests_at_up = t.fakes[0].requests;
		}
	} else if (ev == POOL_SERVER_DOWN) {
		if (!t.downs++) {
			t.first_down_ms = loop_clock_ms();
			t.requests_at_down = t.fakes[0].requests;
		}
	}
}

static void setup(void)
{
	memset(&t, 0, sizeof(t));
	log_set_timestamps(0);
	cr_assert_eq(loop_create(&t.loop), 0);
	t.cfg = calloc(1, sizeof(*t.cfg));
	cr_assert_not_null(t.cfg);
	t.cfg->backend.maxconn = 32;
}

static void teardown(void)
{
	health_destroy(t.health);
	pool_destroy(t.pool);
	for (int i = 0; i < NFAKES; i++)
		fake_stop(&t.fakes[i]);
	loop_destroy(t.loop);
	free(t.cfg);
}

/* config.c is not ours: fill the backend fields by hand. */
static void set_checks(const char *path, uint32_t interval, uint32_t timeout, unsigned rise,
		       unsigned fall)
{
	snprintf(t.cfg->backend.health_check, sizeof(t.cfg->backend.health_check), "%s", path);
	t.cfg->backend.health_interval_ms = interval;
	t.cfg->backend.health_timeout_ms = timeout;
	t.cfg->backend.rise = rise;
	t.cfg->backend.fall = fall;
}

static void make_pool(void)
{
	t.pool = pool_create(t.cfg);
	cr_assert_not_null(t.pool);
	cr_assert_eq(pool_add_observer(t.pool, observe, NULL), 0);
}

static void start_health(void)
{
	cr_assert_eq(health_create(&t.health, t.loop, t.pool, t.cfg), 0);
}

static struct server *add_server(const char *name, uint16_t port, enum server_source src)
{
	struct cfg_endpoint ep = { .sin = { .sin_family = AF_INET,
					    .sin_port = htons(port),
					    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
	struct server *s;
	int err = 0;

	snprintf(ep.text, sizeof(ep.text), "127.0.0.1:%u", port);
	s = pool_server_add(t.pool, name, &ep, 1, src, &err);
	cr_assert_not_null(s, "pool_server_add: %d", err);
	return s;
}

/* Follow s's checks from now on (s has none in flight); its first check is
 * due at first_due_ms, loop clock (UINT64_MAX: not checked for lateness). */
static struct watch *watch(struct server *s, uint64_t first_due_ms)
{
	struct watch *w = &t.watches[t.nwatches++];

	cr_assert_leq(t.nwatches, NFAKES);
	*w = (struct watch){ .s = s,
			     .base_refs = s->refs,
			     .interval = t.cfg->backend.health_interval_ms,
			     .due_ms = first_due_ms,
			     .min_gap_ms = UINT64_MAX };
	return w;
}

static void watch_sample(struct watch *w)
{
	struct health_result r = { 0 };
	uint64_t now = loop_now_ms(t.loop);
	bool inflight = w->s->refs > w->base_refs;

	health_get_result(w->s, &r); /* -ENOENT (nothing checked) before health_create */
	for (; w->starts < r.checks + inflight; w->starts++) {
		if (w->starts && now - w->last_ms < w->min_gap_ms)
			w->min_gap_ms = now - w->last_ms;
		if (!w->starts)
			w->first_ms = now;
		w->last_ms = now;
		w->due_ms = now + w->interval;
	}
	if (!inflight && now >= w->due_ms)
		w->late++;
}

/* One loop iteration, then what every watch sees of it. */
static void step(void)
{
	cr_assert_eq(loop_run_once(t.loop, 5), 0);
	for (unsigned i = 0; i < t.nwatches; i++)
		watch_sample(&t.watches[i]);
}

/* Run the loop until *counter reaches want, or HANG_MS pass (a hang). */
static bool run_until(const unsigned *counter, unsigned want)
{
	uint64_t end = loop_clock_ms() + HANG_MS;

	while (*counter < want && loop_clock_ms() < end)
		step();
	return *counter >= want;
}

/* Run the loop until its own clock reaches when_ms: every timer due by
 * then has fired, however slowly the machine runs. */
static void run_until_loop_ms(uint64_t when_ms)
{
	while (loop_now_ms(t.loop) < when_ms)
		step();
}

/* The connection f accepted n-th, if still open on f's side. */
static struct fake_conn *fake_conn_nth(struct fake *f, unsigned n)
{
	for (int i = 0; i < FAKE_MAX_CONNS; i++)
		if (f->conns[i] && f->conns[i]->nth == n)
			return f->conns[i];
	return NULL;
}

/* The connection of w's check in flight, once f holds its request (the
 * n-th check opens the n-th connection); NULL if there is none yet. */
static struct fake_conn *request_in_flight(struct fake *f, const struct watch *w)
{
	struct health_result r = { 0 };
	struct fake_conn *c;

	if (w->s->refs == w->base_refs || health_get_result(w->s, &r) < 0)
		return NULL;
	c = fake_conn_nth(f, (unsigned)r.checks + 1);
	return c && c->requests ? c : NULL;
}

/* Wait for a check of w whose request f holds (on a loaded machine an
 * earlier one may time out first: the state is waited for, not assumed).
 * No loop iteration runs between this and the caller's next call. */
static struct fake_conn *run_until_request_in_flight(struct fake *f, const struct watch *w)
{
	uint64_t end = loop_clock_ms() + HANG_MS;
	struct fake_conn *c;

	while (!(c = request_in_flight(f, w))) {
		cr_assert_lt(loop_clock_ms(), end, "no check in flight with its request received");
		step();
	}
	return c;
}

/* True if the peer of c has closed, waiting without running the loop: so
 * nothing that needs the loop (a timer, a deferred callback) can have
 * closed it.  The wait only covers the kernel delivering the FIN. */
static bool peer_closed_without_loop(const struct fake_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	char b;

	ssize_t n;

	if (poll(&p, 1, (int)HANG_MS) != 1)
		return false;
	n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* Every connection f accepted before its newest one was closed by the
 * checker (f may not have read the close yet: waited for, loop stopped). */
static void assert_older_conns_closed(struct fake *f)
{
	for (int i = 0; i < FAKE_MAX_CONNS; i++) {
		const struct fake_conn *c = f->conns[i];

		if (c && c->nth < f->accepts)
			cr_assert(peer_closed_without_loop(c), "connection %u of %u left open",
				  c->nth, f->accepts);
	}
}

TestSuite(health, .init = setup, .fini = teardown, .timeout = 30);

/* ---- HTTP checks ---- */

Test(health, registered_server_comes_up_after_rise_checks)
{
	const uint32_t interval = 50;
	char res[128];
	char host[64];
	struct server *s;
	struct watch *w;
	unsigned before;

	fake_start(&t.fakes[0], t.loop, FAKE_200);
	set_checks("/healthz", interval, PATIENT_MS, 2, 2);
	make_pool();
	start_health();
	s = add_server("web1", t.fakes[0].port, SRV_REGISTERED);
	w = watch(s, loop_now_ms(t.loop)); /* first server: no stagger delay */
	cr_assert_eq(s->health, SRV_DOWN);

	cr_assert(run_until(&t.ups, 1), "server never came up");
	cr_assert_eq(t.requests_at_up, 2, "UP after %u checks, rise is 2", t.requests_at_up);
	cr_assert(s->checked);
	snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%u\r\n", t.fakes[0].port);
	cr_assert(!strncmp(t.fakes[0].last_req, "GET /healthz HTTP/1.1\r\n", 23), "request: %s",
		  t.fakes[0].last_req);
	cr_assert_not_null(strstr(t.fakes[0].last_req, host), "request: %s", t.fakes[0].last_req);
	health_last_result(s, res, sizeof(res));
	cr_assert(!strncmp(res, "ok, HTTP 200 in ", 16), "result: %s", res);

	/* It keeps being checked, once per interval (never sooner, never
	 * later than the loop allows), and stays UP. */
	before = t.fakes[0].requests;
	cr_assert(run_until(&t.fakes[0].requests, before + 8), "%u checks, then none",
		  t.fakes[0].requests);
	cr_assert_eq(t.downs, 0);
	cr_assert_eq(s->health, SRV_UP);
	cr_assert_geq(w->min_gap_ms, interval, "two checks started %lu ms apart",
		      (unsigned long)w->min_gap_ms);
	cr_assert_eq(w->late, 0, "a due check waited %u loop iteration(s)", w->late);
	cr_assert_leq(t.fakes[0].requests, w->starts);
	/* Every check on a new connection, though the fake offers keep-alive. */
	cr_assert_eq(t.fakes[0].max_conn_requests, 1, "a connection carried %u checks",
		     t.fakes[0].max_conn_requests);
	cr_assert_geq(t.fakes[0].accepts, t.fakes[0].requests);
}

Test(health, redirect_counts_as_pass)
{
	struct health_result r;
	struct server *s;

	fake_start(&t.fakes[0], t.loop, FAKE_302);
	set_checks("healthz", 50, PATIENT_MS, 1, 2); /* no leading slash: one is added */
	make_pool();
	start_health();
	s = add_server("web1", t.fakes[0].port, SRV_REGISTERED);
	cr_assert(run_until(&t.ups, 1));
	cr_assert_eq(health_get_result(s, &r), 0);
	cr_assert_eq(r.cause, HC_OK);
	cr_assert_eq(r.http_status, 302);
	cr_assert(!strncmp(t.fakes[0].last_req, "GET /healthz ", 13), "request: %s",
		  t.fakes[0].last_req);
}

Test(health, status_500_goes_down_after_fall_checks)
{
	struct health_result r;
	char res[128];
	struct server *s;

	fake_start(&t.fakes[0], t.loop, FAKE_500);
	set_checks("/healthz", 50, PATIENT_MS, 2, 3);
	make_pool();
	start_health();
	s = add_server("web1", t.fakes[0].port, SRV_STATIC);
	cr_assert_eq(s->health, SRV_UP);

	cr_assert(run_until(&t.downs, 1), "server never went down");
	cr_assert_eq(t.requests_at_down, 3, "DOWN after %u checks, fall is 3", t.requests_at_down);
	cr_assert_eq(s->health, SRV_DOWN);
	cr_assert_eq(health_get_result(s, &r), 0);
	cr_assert_eq(r.cause, HC_HTTP_STATUS);
	cr_assert_eq(r.http_status, 500);
	cr_assert_eq(r.checks, 3);
	cr_assert_eq(r.failures, 3);
	cr_assert_eq(s->fail_by[FAIL_CHECK], 3);
	health_last_result(s, res, sizeof(res));
	cr_assert(!strncmp(res, "http status 500 in ", 19), "result: %s", res);
}

Test(health, no_listener_goes_down_with_connect_refused)
{
	struct health_result r;
	char res[128];
	struct server *s;

	fake_start(&t.fakes[0], t.loop, FAKE_REFUSE);
	set_checks("/healthz", 50, PATIENT_MS, 2, 2);
	make_pool();
	start_health();
	s = add_server("web1", t.fakes[0].port, SRV_STATIC);

	cr_assert(run_until(&t.downs, 1));
	cr_assert_eq(health_get_result(s, &r), 0);
	cr_assert_eq(r.cause, HC_REFUSED);
	cr_assert_eq(r.os_errno, ECONNREFUSED);
	health_last_result(s, res, sizeof(res));
	cr_assert(!strncmp(res, "connect refused in ", 19), "result: %s", res);
}

Test(health, closed_without_answer_is_a_bad_response)
{
	struct health_result r;
	struct server *s;

	fake_start(&t.fakes[0], t.loop, FAKE_HANGUP);
	set_checks("/healthz", 50, PATIENT_MS, 2, 2);
	make_pool();
	start_health();
	s = add_server("web1", t.fakes[0].port, SRV_STATIC);
	cr_assert(run_until(&t.downs, 1));
	cr_assert_eq(health_get_result(s, &r), 0);
	cr_assert_eq(r.cause, HC_BAD_RESPONSE);
	cr_assert_geq(t.fakes[0].accepts, 2);
}

/* The subject here is the timeout itself, so it cannot be PATIENT_MS; a
 * second is what a check of this silent fake needs at most to connect and
 * send its request on a loaded machine (it is the hang margin of this
 * test), and both bounds below are read at the loop's own time. */
Test(health, silent_server_times_out_within_bounds)
{
	const uint32_t interval = 1000, timeout = 1000, fall = 2;
	struct health_result r;
	struct server *s;
	struct watch *w;
	uint64_t took;

	fake_start(&t.fakes[0], t.loop, FAKE_SILENT);
	set_checks("/healthz", interval, timeout, 2, fall);
	make_pool();
	start_health();
	s = add_server("web1", t.fakes[0].port, SRV_STATIC); /* first server: no stagger delay */
	w = watch(s, loop_now_ms(t.loop));

	cr_assert(run_until(&t.downs, 1));
	/* fall checks, each lasting the timeout, started an interval apart (the
	 * timeout is curl's, from its own start stamp: 1 ms for rounding). */
	took = t.first_down_ms - w->first_ms;
	cr_assert_geq(took + 1, (fall - 1) * interval + timeout, "down after %lu ms",
		      (unsigned long)took);
	cr_assert_geq(w->min_gap_ms, interval);
	cr_assert_eq(w->late, 0, "a due check waited %u loop iteration(s)", w->late);
	cr_assert_eq(health_get_result(s, &r), 0);
	cr_assert_eq(r.checks, fall);
	cr_assert_eq(r.cause, HC_TIMEOUT);
	cr_assert_geq(r.duration_ms + 1, timeout);
	cr_assert_eq(t.fakes[0].requests, fall, "the request was sent before the timeout");
}

/* ---- removal and lifetime ---- */

/* The server struct is freed on removal (the pool's and the check's
 * references are both dropped); ASan in the Sanitize build catches any
 * later touch.  Without ASan, the socket and schedule checks still apply. */
Test(health, server_removed_during_check_is_not_touched_again)
{
	/* Short enough that a timeout would fall in the window watched after
	 * the removal; long enough that a check reaches the fake first even
	 * under valgrind (like silent_server_times_out_within_bounds). */
	const uint32_t interval = 1000;
	struct fake *f = &t.fakes[0];
	struct fake_conn *c;
	struct server *s;
	struct watch *w;
	unsigned accepts, events;

	fake_start(f, t.loop, FAKE_SILENT);
	set_checks("/healthz", interval, interval, 2, 2);
	make_pool();
	start_health();
	s = add_server("web1", f->port, SRV_STATIC);
	w = watch(s, UINT64_MAX);

	c = run_until_request_in_flight(f, w);
	accepts = f->accepts;
	events = t.ups + t.downs;
	pool_server_remove(t.pool, s);
	s = NULL;
	t.nwatches = 0; /* w->s is gone */
	/* The in-flight check's connection is closed at once, by the removal
	 * itself: the loop does not run until the fake sees the close. */
	cr_assert(peer_closed_without_loop(c), "in-flight check not cancelled");
	/* ...and nothing runs for it any more: no timeout, no next check, for
	 * three intervals of loop time (either would have been due within one). */
	run_until_loop_ms(loop_now_ms(t.loop) + 3 * interval);
	cr_assert_eq(f->accepts, accepts);
	cr_assert_eq(t.ups + t.downs, events);
	cr_assert_eq(f->closes, f->accepts, "%u accepted, %u closed", f->accepts, f->closes);
}

Test(health, removal_releases_the_check_reference)
{
	struct server *s;
	struct watch *w;

	fake_start(&t.fakes[0], t.loop, FAKE_SILENT);
	set_checks("/healthz", 200, PATIENT_MS, 2, 2);
	make_pool();
	start_health();
	s = add_server("web1", t.fakes[0].port, SRV_STATIC);
	w = watch(s, UINT64_MAX);
	run_until_request_in_flight(&t.fakes[0], w);
	cr_assert_eq(s->refs, 2, "pool + in-flight check");
	t.nwatches = 0;
	server_get(s); /* the test's own, so s can be inspected after removal */
	pool_server_remove(t.pool, s);
	cr_assert_eq(s->refs, 1, "check still holds a reference after removal");
	cr_assert_null(s->health_priv);
	cr_assert_eq(health_check_now(t.health, s), -ENOENT);
	server_put(s);
}

Test(health, destroy_with_checks_in_flight)
{
	struct fake_conn *c;
	struct server *s;
	struct watch *w;

	fake_start(&t.fakes[0], t.loop, FAKE_SILENT);
	set_checks("/healthz", 200, PATIENT_MS, 2, 2);
	make_pool();
	start_health();
	s = add_server("web1", t.fakes[0].port, SRV_STATIC);
	w = watch(s, UINT64_MAX);
	c = run_until_request_in_flight(&t.fakes[0], w);
	cr_assert_eq(s->refs, 2);
	t.nwatches = 0;
	health_destroy(t.health);
	t.health = NULL;
	cr_assert_eq(s->refs, 1);
	cr_assert_null(s->health_priv);
	cr_assert(peer_closed_without_loop(c), "check socket left open");
}

/* ---- TCP connect checks ---- */

Test(health, tcp_check_passes_against_plain_listener)
{
	char res[128];
	struct server *s;
	struct watch *w;

	fake_start(&t.fakes[0], t.loop, FAKE_SILENT); /* never sends a byte */
	set_checks("", 50, PATIENT_MS, 2, 2);
	make_pool();
	start_health();
	s = add_server("db1", t.fakes[0].port, SRV_REGISTERED);
	w = watch(s, loop_now_ms(t.loop));

	cr_assert(run_until(&t.ups, 1));
	cr_assert_geq(t.fakes[0].accepts, 2);
	cr_assert_eq(t.fakes[0].requests, 0, "a TCP check must not send a request");
	health_last_result(s, res, sizeof(res));
	cr_assert(!strncmp(res, "ok in ", 6), "result: %s", res);
	/* Each check closes its connection rather than keeping it: all but
	 * the newest one are closed. */
	cr_assert(run_until(&t.fakes[0].accepts, 6));
	assert_older_conns_closed(&t.fakes[0]);
	cr_assert_eq(t.downs, 0);
	cr_assert_geq(w->min_gap_ms, 50);
	cr_assert_eq(w->late, 0, "a due check waited %u loop iteration(s)", w->late);
}

Test(health, tcp_check_refused_goes_down)
{
	struct health_result r;
	struct server *s;

	fake_start(&t.fakes[0], t.loop, FAKE_REFUSE);
	set_checks("", 50, PATIENT_MS, 2, 2);
	make_pool();
	start_health();
	s = add_server("db1", t.fakes[0].port, SRV_STATIC);
	cr_assert(run_until(&t.downs, 1));
	cr_assert_eq(health_get_result(s, &r), 0);
	cr_assert_eq(r.cause, HC_REFUSED);
}

/* IPv6 (issue 16): checks to [::1]:port, the URL's host in brackets. */
static struct server *add_server6(const char *name, uint16_t port, enum server_source src)
{
	struct cfg_endpoint ep;
	struct server *s;
	int err = 0;

	cfg_endpoint_set(&ep, AF_INET6, &in6addr_loopback, port);
	s = pool_server_add(t.pool, name, &ep, 1, src, &err);
	cr_assert_not_null(s, "pool_server_add: %d", err);
	return s;
}

Test(health, ipv6_tcp_check_up_and_refused_down)
{
	struct health_result r;
	struct server *d;

	/* IPv6 is part of the product: no ::1 is a failure, not a skip. */
	cr_assert(fake_start_af(&t.fakes[0], t.loop, FAKE_SILENT, AF_INET6) &&
			  fake_start_af(&t.fakes[1], t.loop, FAKE_REFUSE, AF_INET6),
		  "IPv6 loopback [::1] unusable");
	set_checks("", 50, PATIENT_MS, 1, 1);
	make_pool();
	start_health();
	add_server6("v6up", t.fakes[0].port, SRV_REGISTERED);
	d = add_server6("v6dead", t.fakes[1].port, SRV_STATIC);
	cr_assert(run_until(&t.ups, 1), "the IPv6 server never came up");
	cr_assert(run_until(&t.downs, 1), "the refused IPv6 server never went down");
	cr_assert_eq(health_get_result(d, &r), 0);
	cr_assert_eq(r.cause, HC_REFUSED);
}

Test(health, ipv6_http_check_passes)
{
	char res[128];
	struct server *s;

	cr_assert(fake_start_af(&t.fakes[0], t.loop, FAKE_200, AF_INET6),
		  "IPv6 loopback [::1] unusable");
	set_checks("/healthz", 50, PATIENT_MS, 1, 1);
	make_pool();
	start_health();
	s = add_server6("v6http", t.fakes[0].port, SRV_REGISTERED);
	cr_assert(run_until(&t.ups, 1), "the IPv6 HTTP check never passed");
	cr_assert_geq(t.fakes[0].requests, 1);
	health_last_result(s, res, sizeof(res));
	cr_assert(strstr(res, "HTTP 200"), "result: %s", res);
}

/* ---- scheduling ---- */

Test(health, existing_servers_are_checked_and_staggered)
{
	static const char *const names[NFAKES] = { "a", "b", "c", "d" };
	const uint32_t interval = 400;
	struct server *srv[NFAKES];
	uint64_t t0, hi = 0;

	set_checks("/healthz", interval, PATIENT_MS, 2, 2);
	make_pool();
	for (int i = 0; i < NFAKES; i++) {
		fake_start(&t.fakes[i], t.loop, FAKE_200);
		srv[i] = add_server(names[i], t.fakes[i].port, SRV_STATIC);
	}
	t0 = loop_now_ms(t.loop); /* the time the first checks are armed from */
	start_health();
	/* All first checks within one interval: none may still wait in an
	 * iteration at or after t0 + interval. */
	for (int i = 0; i < NFAKES; i++)
		watch(srv[i], t0 + interval);
	for (int i = 0; i < NFAKES; i++)
		cr_assert(run_until(&t.fakes[i].requests, 1), "server %s never checked", names[i]);
	for (int i = 0; i < NFAKES; i++) {
		cr_assert_eq(t.watches[i].late, 0, "server %s: a check later than due", names[i]);
		hi = t.watches[i].first_ms > hi ? t.watches[i].first_ms : hi;
	}
	/* ...but not all at once: the last first check waited for its turn. */
	cr_assert_geq(hi - t0, 150, "last first check %lu ms after the start",
		      (unsigned long)(hi - t0));
}

Test(health, check_now_runs_at_once)
{
	struct server *s;
	struct watch *w;
	uint64_t added;

	fake_start(&t.fakes[0], t.loop, FAKE_200);
	fake_start(&t.fakes[1], t.loop, FAKE_200);
	set_checks("/healthz", 5000, PATIENT_MS, 2, 2);
	make_pool();
	start_health();
	add_server("first", t.fakes[0].port, SRV_STATIC);
	cr_assert(run_until(&t.fakes[0].requests, 1));         /* first server: no delay */
	s = add_server("second", t.fakes[1].port, SRV_STATIC); /* staggered by ~300 ms */
	added = loop_now_ms(t.loop);
	w = watch(s, UINT64_MAX);
	cr_assert_eq(health_check_now(t.health, s), 0);
	w->due_ms = loop_now_ms(t.loop); /* at the next iteration */
	step();
	cr_assert_eq(w->starts, 1, "check_now did not start a check at the next iteration");
	cr_assert(run_until(&t.fakes[1].requests, 1));
	/* Past any stagger (at most 500 ms), well before the next interval. */
	run_until_loop_ms(added + 1000);
	cr_assert_eq(w->starts, 1, "the staggered first check was replaced, not added");
	cr_assert_eq(t.fakes[1].requests, 1, "the staggered first check was replaced, not added");
}

/* ---- logging ---- */

static unsigned count_lines(const char *text, const char *a, const char *b)
{
	unsigned n = 0;
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		char buf[512];

		snprintf(buf, sizeof(buf), "%.*s", end ? (int)(end - line) : (int)strlen(line),
			 line);
		n += strstr(buf, a) && strstr(buf, b);
		line = end ? end + 1 : NULL;
	}
	return n;
}

Test(health, logs_one_line_per_change_of_cause)
{
	char path[] = "/tmp/test_health_log.XXXXXX";
	char text[8192];
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	cr_assert_geq(fd, 0);
	unlink(path);
	fflush(stderr);
	dup2(fd, 2);
	fake_start(&t.fakes[0], t.loop, FAKE_500);
	set_checks("/healthz", 30, PATIENT_MS, 2, 2);
	make_pool();
	start_health();
	add_server("web1", t.fakes[0].port, SRV_STATIC);
	run_until(&t.fakes[0].requests, 6);
	t.fakes[0].mode = FAKE_200;
	run_until(&t.fakes[0].requests, 12);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	cr_assert_geq(t.fakes[0].requests, 12);

	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	cr_assert_gt(n, 0);
	text[n] = '\0';
	cr_assert_eq(count_lines(text, "health: server web1", "check failed: http status 500"), 1,
		     "%s", text);
	cr_assert_eq(count_lines(text, "health: server web1", "check passed: ok, HTTP 200"), 1,
		     "%s", text);
	cr_assert_eq(count_lines(text, "server web1", "is DOWN"), 1, "%s", text);
	cr_assert_eq(count_lines(text, "server web1", "is UP"), 1, "%s", text);
}

/* ---- health_host: the Host a check sends (name-based virtual hosts) ---- */

/* Run until fake f has answered one more request than it had. */
static void next_request(struct fake *f)
{
	unsigned want = f->requests + 1;

	cr_assert(run_until(&f->requests, want), "no further check");
}

static void expect_one_host(const struct fake *f, const char *host)
{
	char line[128];
	const char *first;

	snprintf(line, sizeof(line), "\r\nHost: %s\r\n", host);
	first = strstr(f->last_req, line);
	cr_assert_not_null(first, "want \"Host: %s\" in:\n%s", host, f->last_req);
	cr_assert_null(strstr(first + 1, "\r\nHost:"), "a second Host header:\n%s", f->last_req);
	cr_assert(!strncmp(f->last_req, "GET /healthz HTTP/1.1\r\n", 23), "request: %s",
		  f->last_req);
}

Test(health, backend_health_host_is_the_checks_host)
{
	struct server *s;

	fake_start(&t.fakes[0], t.loop, FAKE_200);
	set_checks("/healthz", 50, 50, 1, 2);
	snprintf(t.cfg->backend.health_host, sizeof(t.cfg->backend.health_host),
		 "www.example.test");
	make_pool();
	start_health();
	s = add_server("web1", t.fakes[0].port, SRV_REGISTERED);
	next_request(&t.fakes[0]);
	/* Sent to the server's address (the fake on 127.0.0.1), named as the vhost. */
	expect_one_host(&t.fakes[0], "www.example.test");
	cr_assert(run_until(&t.ups, 1));
	cr_assert_eq(s->health, SRV_UP);
}

Test(health, server_health_host_overrides_and_follows_changes)
{
	struct server *s;
	char addr[64];

	fake_start(&t.fakes[0], t.loop, FAKE_200);
	set_checks("/healthz", 50, 50, 1, 2);
	snprintf(t.cfg->backend.health_host, sizeof(t.cfg->backend.health_host),
		 "www.example.test");
	make_pool();
	start_health();
	s = add_server("web1", t.fakes[0].port, SRV_REGISTERED);
	pool_server_set_health_host(t.pool, s, "api.example.test:8080");
	next_request(&t.fakes[0]);
	expect_one_host(&t.fakes[0], "api.example.test:8080");
	/* An agent announces another one: the next check uses it. */
	pool_server_set_health_host(t.pool, s, "new.example.test");
	next_request(&t.fakes[0]);
	next_request(&t.fakes[0]); /* one may have been in flight at the change */
	expect_one_host(&t.fakes[0], "new.example.test");
	/* Its own removed: the [backend] default again, then (reload) none:
	 * the server's address, as without the feature. */
	pool_server_set_health_host(t.pool, s, "");
	next_request(&t.fakes[0]);
	next_request(&t.fakes[0]);
	expect_one_host(&t.fakes[0], "www.example.test");
	t.cfg->backend.health_host[0] = '\0';
	next_request(&t.fakes[0]);
	next_request(&t.fakes[0]);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", t.fakes[0].port);
	expect_one_host(&t.fakes[0], addr);
}
