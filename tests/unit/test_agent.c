/* test_agent.c - andromeda-agent's logic on loopback: what it sends (the
 * envelope and payload a balancer decodes), what it does with answers
 * (verified acks remembered; forged, replayed, truncated, stale, foreign
 * and malformed ones dropped and counted per cause) and its schedule in a
 * real event loop against a tiny HTTP service: announcements every
 * interval while healthy, a withdraw pair and silence while unhealthy, a
 * withdraw pair 50 ms apart on stop.
 *
 * No assertion depends on how fast the machine is (issue 18): the
 * schedule is read at the loop's own time (timers never fire early),
 * "eventually" waits for the event with a deadline only a hang reaches
 * (HANG_MS), and the check of the healthy service gets a timeout no loaded
 * machine reaches, so a slow run never turns a pass into a failure. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "loop.h"
#include "msg.h"

static struct msg_key test_key(uint8_t fill)
{
	struct msg_key k = { .len = MSG_KEY_MIN };

	memset(k.bytes, fill, k.len);
	return k;
}

static uint64_t now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "Eventually" means before this much real time: only a hang reaches it. */
#define HANG_MS 10000u

static uint32_t ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void base_config(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->name, "web1");
	cr_assert_eq(config_parse_endpoint("198.18.0.21:80", &cfg->service), 0);
	cfg->weight = 2;
	strcpy(cfg->health_url, "http://127.0.0.1:9/");
	cfg->health_timeout_ms = 50;
	cfg->announce_interval_ms = 100;
	cfg->balancers[0].s_addr = htonl(INADDR_LOOPBACK);
	cfg->nbalancers = 1;
	cfg->port = 9;
	cfg->log_level = LOG_LVL_ERR;
	snprintf(cfg->state_file, sizeof(cfg->state_file), "/tmp/test_agent.%d.epoch",
		 (int)getpid());
}

struct fixture {
	struct loop *loop;
	struct agent *agent;
	struct agent_config cfg;
	struct msg_key key;
};

static void setup(struct fixture *f)
{
	log_set_level(LOG_LVL_ERR);
	f->key = test_key(0x42);
	cr_assert_eq(loop_create(&f->loop), 0);
	cr_assert_eq(agent_create(&f->agent, f->loop, &f->cfg, &f->key), 0);
}

static void teardown(struct fixture *f)
{
	unlink(f->cfg.state_file);
	agent_destroy(f->agent);
	loop_destroy(f->loop);
}

/* An ack as a balancer would send it. */
static int make_ack(const struct msg_key *key, uint8_t type, const char *name, const char *node,
		    uint8_t reason, uint32_t sender, uint64_t seq, uint64_t ts, uint8_t *out)
{
	struct regmsg_ack k = { .accepted = reason == REGMSG_ACK_OK,
				.of = MSG_ANNOUNCE,
				.reason = reason };
	uint8_t payload[REGMSG_MAX];
	int n;

	strcpy(k.name, name);
	strcpy(k.node, node);
	n = regmsg_encode_ack(&k, payload, sizeof(payload));
	cr_assert_gt(n, 0);
	n = msg_encode(key, type, sender, seq, ts, payload, (size_t)n, out, MSG_MAX_LEN);
	cr_assert_gt(n, 0);
	return n;
}

Test(agent, builds_what_a_balancer_decodes)
{
	struct fixture f;
	uint8_t buf[MSG_MAX_LEN];
	struct regmsg_announce an;
	struct regmsg_withdraw wd;
	struct msg m;
	uint64_t seq, before, after;
	int n;

	base_config(&f.cfg);
	setup(&f);
	before = now_wall();
	n = agent_build(f.agent, false, 0, buf, sizeof(buf));
	after = now_wall();
	cr_assert_gt(n, 0);
	cr_assert_eq(msg_decode(&f.key, buf, (size_t)n, &m), MSG_OK);
	cr_expect_eq(m.type, MSG_ANNOUNCE);
	cr_expect_eq(m.sender, ip("198.18.0.21"));
	/* Stamped with the wall clock while it was built. */
	cr_expect_geq(m.ts_ms, before);
	cr_expect_leq(m.ts_ms, after);
	cr_assert_eq(regmsg_decode_announce(m.payload, m.len, &an, NULL, 0), REGMSG_OK);
	cr_expect_str_eq(an.name, "web1");
	cr_expect_eq(an.addr, ip("198.18.0.21"));
	cr_expect_eq(an.port, 80);
	cr_expect_eq(an.weight, 2);
	cr_expect_eq(an.interval_ms, 100);
	seq = m.seq;
	n = agent_build(f.agent, true, REGMSG_WD_SHUTDOWN, buf, sizeof(buf));
	cr_assert_eq(msg_decode(&f.key, buf, (size_t)n, &m), MSG_OK);
	cr_expect_eq(m.type, MSG_WITHDRAW);
	cr_expect_gt(m.seq, seq, "every message has a new sequence");
	cr_assert_eq(regmsg_decode_withdraw(m.payload, m.len, &wd, NULL, 0), REGMSG_OK);
	cr_expect_str_eq(wd.name, "web1");
	cr_expect_eq(wd.port, 80);
	cr_expect_eq(wd.why, REGMSG_WD_SHUTDOWN);
	/* Another key does not verify it. */
	struct msg_key other = test_key(0x43);
	cr_expect_eq(msg_decode(&other, buf, (size_t)n, &m), MSG_DROP_MAC);
	teardown(&f);
}

Test(agent, verified_ack_is_remembered)
{
	struct fixture f;
	uint8_t buf[MSG_MAX_LEN];
	struct regmsg_ack k;
	struct agent_stats st;
	uint32_t lb = ip("198.18.0.11");
	uint64_t now = now_wall();
	int n;

	base_config(&f.cfg);
	setup(&f);
	cr_expect_eq(agent_last_ack(f.agent, lb, &k), -ENOENT);
	n = make_ack(&f.key, MSG_ACK, "web1", "lb1", REGMSG_ACK_OK, lb, 1000, now, buf);
	cr_assert_eq(agent_input(f.agent, buf, (size_t)n, lb, now), 0);
	cr_assert_eq(agent_last_ack(f.agent, lb, &k), 0);
	cr_expect(k.accepted);
	cr_expect_str_eq(k.node, "lb1");
	/* A later refusal replaces it. */
	n = make_ack(&f.key, MSG_ACK, "web1", "lb1", REGMSG_ACK_NAME_TAKEN, lb, 1001, now, buf);
	cr_assert_eq(agent_input(f.agent, buf, (size_t)n, lb, now), 0);
	cr_assert_eq(agent_last_ack(f.agent, lb, &k), 0);
	cr_expect_not(k.accepted);
	cr_expect_eq(k.reason, REGMSG_ACK_NAME_TAKEN);
	agent_get_stats(f.agent, &st);
	cr_expect_eq(st.acks, 2);
	teardown(&f);
}

Test(agent, bad_acks_are_dropped_and_counted_per_cause)
{
	struct fixture f;
	struct msg_key wrong = test_key(0x99);
	uint8_t buf[MSG_MAX_LEN + 8], good[MSG_MAX_LEN];
	struct agent_stats st;
	uint32_t lb = ip("198.18.0.11");
	uint64_t now = now_wall();
	int n, glen;

	base_config(&f.cfg);
	setup(&f);
	/* Forged: wrong key. */
	n = make_ack(&wrong, MSG_ACK, "web1", "lb1", REGMSG_ACK_OK, lb, 5000, now, buf);
	cr_expect_eq(agent_input(f.agent, buf, (size_t)n, lb, now), -EBADMSG);
	/* Truncated at every length. */
	glen = make_ack(&f.key, MSG_ACK, "web1", "lb1", REGMSG_ACK_OK, lb, 5000, now, good);
	for (int len = 0; len < glen; len++)
		cr_assert_eq(agent_input(f.agent, good, (size_t)len, lb, now), -EBADMSG, "len %d",
			     len);
	/* Oversized: the right bytes plus one. */
	memcpy(buf, good, (size_t)glen);
	buf[glen] = 0;
	cr_expect_eq(agent_input(f.agent, buf, (size_t)glen + 1, lb, now), -EBADMSG);
	/* Accepted once, then replayed, then an older sequence. */
	cr_assert_eq(agent_input(f.agent, good, (size_t)glen, lb, now), 0);
	cr_expect_eq(agent_input(f.agent, good, (size_t)glen, lb, now), -EBADMSG);
	n = make_ack(&f.key, MSG_ACK, "web1", "lb1", REGMSG_ACK_OK, lb, 4999, now, buf);
	cr_expect_eq(agent_input(f.agent, buf, (size_t)n, lb, now), -EBADMSG);
	/* First contact from another balancer whose clock is at 1970 (a Pi
	 * without RTC): heard, since no clock decides anything. */
	n = make_ack(&f.key, MSG_ACK, "web1", "lb2", REGMSG_ACK_OK, ip("198.18.0.12"), 1, 0, buf);
	cr_expect_eq(agent_input(f.agent, buf, (size_t)n, lb, now), 0);
	/* Verified, but an announce (another agent's, or our own echoed back). */
	n = make_ack(&f.key, MSG_ANNOUNCE, "web1", "lb1", REGMSG_ACK_OK, lb, 6000, now, buf);
	cr_expect_eq(agent_input(f.agent, buf, (size_t)n, lb, now), -EBADMSG);
	/* Verified, but for another server. */
	n = make_ack(&f.key, MSG_ACK, "web2", "lb1", REGMSG_ACK_OK, lb, 7000, now, buf);
	cr_expect_eq(agent_input(f.agent, buf, (size_t)n, lb, now), -EBADMSG);
	/* Verified envelope around a malformed ack payload (trailing byte). */
	{
		uint8_t p[REGMSG_MAX + 1];
		struct regmsg_ack k = { .name = "web1",
					.accepted = true,
					.of = MSG_ANNOUNCE,
					.node = "lb1",
					.reason = REGMSG_ACK_OK };
		int pl = regmsg_encode_ack(&k, p, sizeof(p));

		p[pl] = 0;
		n = msg_encode(&f.key, MSG_ACK, lb, 8000, now, p, (size_t)pl + 1, buf,
			       sizeof(buf));
		cr_expect_eq(agent_input(f.agent, buf, (size_t)n, lb, now), -EBADMSG);
	}
	agent_get_stats(f.agent, &st);
	cr_expect_eq(st.acks, 2);
	cr_expect_eq(st.drop_msg[MSG_DROP_MAC], 1);
	cr_expect_eq(st.drop_msg[MSG_DROP_SHORT], (uint64_t)glen);
	cr_expect_eq(st.drop_msg[MSG_DROP_OVERSIZE], 1);
	cr_expect_eq(st.drop_msg[MSG_DROP_REPLAY], 2);
	cr_expect_eq(st.drop_msg[MSG_DROP_STALE], 0);
	cr_expect_eq(st.drop_type, 1);
	cr_expect_eq(st.drop_foreign, 1);
	cr_expect_eq(st.drop_payload[REGMSG_E_TRAILING], 1);
	teardown(&f);
}

/* ----------------------------------------------- the schedule, for real -- */

/* A one-thread HTTP service on 127.0.0.1: answers every request with
 * status (200 or 503), closes. */
struct websrv {
	int fd;
	uint16_t port;
	atomic_int status;
	atomic_int requests;
	pthread_t thread;
};

static void *websrv_main(void *arg)
{
	struct websrv *w = arg;
	char req[2048], resp[128];
	int c;

	while ((c = accept(w->fd, NULL, NULL)) >= 0) {
		struct timeval tv = { .tv_sec = 1 };
		ssize_t n;
		size_t got = 0;

		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (got < sizeof(req) - 1 &&
		       (n = read(c, req + got, sizeof(req) - 1 - got)) > 0) {
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.1 %d X\r\nContent-Length: 0\r\n"
			     "Connection: close\r\n\r\n",
			     atomic_load(&w->status));
		/* Counted before the answer: the agent cannot act on an
		 * answer this count does not include yet. */
		atomic_fetch_add(&w->requests, 1);
		if (write(c, resp, (size_t)n) < 0)
			perror("websrv write");
		close(c);
	}
	return NULL;
}

static void websrv_start(struct websrv *w)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);

	w->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(w->fd >= 0);
	cr_assert_eq(bind(w->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(w->fd, 16), 0);
	cr_assert_eq(getsockname(w->fd, (struct sockaddr *)&sin, &len), 0);
	w->port = ntohs(sin.sin_port);
	atomic_store(&w->status, 200);
	atomic_store(&w->requests, 0); /* read by the checks: must start at 0 */
	cr_assert_eq(pthread_create(&w->thread, NULL, websrv_main, w), 0);
}

static void websrv_stop(struct websrv *w)
{
	shutdown(w->fd, SHUT_RDWR); /* wakes accept() */
	pthread_join(w->thread, NULL);
	close(w->fd);
}

/* The balancer's side: a UDP socket that records what arrives. */
struct rx {
	uint8_t type;
	uint8_t flags;  /* announce */
	uint8_t why;    /* withdraw */
	uint64_t ts_ms; /* the envelope's timestamp: when the agent built it */
};

struct sink {
	int fd;
	uint16_t port;
	struct rx rx[256];
	size_t n;
};

static void sink_open(struct sink *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);

	s->n = 0;
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	cr_assert(s->fd >= 0);
	cr_assert_eq(bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
}

static void sink_drain(struct sink *s, const struct msg_key *key)
{
	uint8_t buf[MSG_MAX_LEN];
	struct regmsg_announce an;
	struct regmsg_withdraw wd;
	struct msg m;
	ssize_t n;

	while ((n = recv(s->fd, buf, sizeof(buf), 0)) > 0 && s->n < 256) {
		struct rx *r = &s->rx[s->n++];

		cr_assert_eq(msg_decode(key, buf, (size_t)n, &m), MSG_OK);
		r->type = m.type;
		r->ts_ms = m.ts_ms;
		if (m.type == MSG_ANNOUNCE) {
			cr_assert_eq(regmsg_decode_announce(m.payload, m.len, &an, NULL, 0),
				     REGMSG_OK);
			r->flags = an.flags;
		} else {
			cr_assert_eq(m.type, MSG_WITHDRAW);
			cr_assert_eq(regmsg_decode_withdraw(m.payload, m.len, &wd, NULL, 0),
				     REGMSG_OK);
			r->why = wd.why;
		}
	}
}

static size_t count(const struct sink *s, uint8_t type, size_t from)
{
	size_t c = 0;

	for (size_t i = from; i < s->n; i++)
		c += s->rx[i].type == type;
	return c;
}

/* Where the schedule stands after one loop iteration: the announcements
 * sent so far can never outrun the ticks, which the loop fires no sooner
 * than one interval apart from the agent's start, at its own time. */
struct sched {
	uint64_t start_ms; /* loop time of agent_start(): the first tick */
	unsigned too_fast; /* iterations with more announces than ticks */
};

/* Run the loop, collecting what the sink receives, until done(f, s, arg)
 * or HANG_MS pass; true if done. */
static bool run_until(struct fixture *f, struct sink *s, struct sched *sc,
		      bool (*done)(struct fixture *, struct sink *, size_t), size_t arg)
{
	uint64_t end = loop_clock_ms() + HANG_MS;
	struct agent_stats st;

	while (!done(f, s, arg) && loop_clock_ms() < end) {
		uint64_t ticks;

		cr_assert_eq(loop_run_once(f->loop, 10), 0);
		sink_drain(s, &f->key);
		agent_get_stats(f->agent, &st);
		ticks = (loop_now_ms(f->loop) - sc->start_ms) / f->cfg.announce_interval_ms + 1;
		sc->too_fast += st.announces > ticks;
	}
	return done(f, s, arg);
}

static bool announced(struct fixture *f, struct sink *s, size_t n)
{
	(void)f;
	return count(s, MSG_ANNOUNCE, 0) >= n;
}

/* Both withdraws of the pair seen, and then n more failed checks. */
static bool withdrawn(struct fixture *f, struct sink *s, size_t n)
{
	struct agent_stats st;

	agent_get_stats(f->agent, &st);
	return st.withdraws >= 2 && count(s, MSG_WITHDRAW, 0) >= 2 && st.checks_failed >= n;
}

static bool checked(struct fixture *f, struct sink *s, size_t n)
{
	struct agent_stats st;

	(void)s;
	agent_get_stats(f->agent, &st);
	return st.checks >= n;
}

/* Wait (without the loop) for the sink to hold n datagrams. */
static void sink_wait(struct sink *s, const struct msg_key *key, size_t n)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	uint64_t end = loop_clock_ms() + HANG_MS;

	for (sink_drain(s, key); s->n < n; sink_drain(s, key)) {
		cr_assert_lt(loop_clock_ms(), end, "%zu of %zu datagrams", s->n, n);
		poll(&p, 1, 100);
	}
}

Test(agent, schedule_healthy_unhealthy_and_stop, .timeout = 60)
{
	struct fixture f;
	struct websrv w;
	struct sink s;
	struct sched sc;
	size_t mark;
	struct agent_stats st;
	uint64_t stop_ms;

	websrv_start(&w);
	sink_open(&s);
	base_config(&f.cfg);
	snprintf(f.cfg.health_url, sizeof(f.cfg.health_url), "http://127.0.0.1:%u/healthz",
		 (unsigned)w.port);
	f.cfg.health_timeout_ms = HANG_MS; /* the service answers: a slow run is no failure */
	f.cfg.port = s.port;
	setup(&f);
	sc = (struct sched){ .start_ms = loop_now_ms(f.loop) };
	agent_start(f.agent);

	/* Healthy: one announce per interval (never more than the ticks so
	 * far allow), the first with HELLO. */
	cr_assert(run_until(&f, &s, &sc, announced, 9), "announces: %zu", s.n);
	cr_expect_eq(sc.too_fast, 0, "more announces than intervals in %u iteration(s)",
		     sc.too_fast);
	cr_expect_eq(count(&s, MSG_WITHDRAW, 0), 0);
	cr_expect_eq(s.rx[0].flags, REGMSG_F_HELLO);
	cr_expect_eq(s.rx[1].flags, 0);
	cr_expect_geq((size_t)atomic_load(&w.requests), count(&s, MSG_ANNOUNCE, 0),
		      "one check per announcement");

	/* Unhealthy: a withdraw pair, then silence while checks keep failing. */
	atomic_store(&w.status, 503);
	mark = s.n;
	cr_assert(run_until(&f, &s, &sc, withdrawn, 5), "no withdraw pair, or checks stopped");
	cr_expect_leq(count(&s, MSG_ANNOUNCE, mark), 1, "at most the one already checked");
	cr_expect_eq(count(&s, MSG_WITHDRAW, mark), 2);
	for (size_t i = mark; i < s.n; i++)
		if (s.rx[i].type == MSG_WITHDRAW)
			cr_expect_eq(s.rx[i].why, REGMSG_WD_UNHEALTHY);

	/* Healthy again: announced again, with HELLO. */
	atomic_store(&w.status, 200);
	mark = s.n;
	cr_assert(run_until(&f, &s, &sc, announced, count(&s, MSG_ANNOUNCE, 0) + 2));
	cr_expect_eq(s.rx[mark].type, MSG_ANNOUNCE);
	cr_expect_eq(s.rx[mark].flags, REGMSG_F_HELLO);
	cr_expect_eq(sc.too_fast, 0, "more announces than intervals in %u iteration(s)",
		     sc.too_fast);

	/* Stop: two withdraws at least 50 ms apart (loop time: the loop ends
	 * in the iteration that sends the second), then the loop ends. */
	mark = s.n;
	stop_ms = loop_now_ms(f.loop); /* the time the gap is armed from */
	agent_stop(f.agent, "test");
	agent_stop(f.agent, "test again"); /* no-op */
	cr_expect_eq(loop_run(f.loop), 0);
	cr_expect_geq(loop_now_ms(f.loop) - stop_ms, AGENT_WITHDRAW_GAP_MS);
	sink_wait(&s, &f.key, mark + 2);
	cr_assert_eq(s.n - mark, 2, "got %zu datagrams after stop", s.n - mark);
	cr_expect_eq(s.rx[mark].type, MSG_WITHDRAW);
	cr_expect_eq(s.rx[mark].why, REGMSG_WD_SHUTDOWN);
	cr_expect_eq(s.rx[mark + 1].type, MSG_WITHDRAW);
	cr_expect_geq(s.rx[mark + 1].ts_ms, s.rx[mark].ts_ms);
	agent_get_stats(f.agent, &st);
	cr_expect_eq(st.withdraws, 4);
	cr_expect_eq(st.send_errors, 0);
	cr_expect_geq(st.checks_failed, 5);

	teardown(&f);
	websrv_stop(&w);
	close(s.fd);
}

Test(agent, refused_service_is_never_announced, .timeout = 30)
{
	struct fixture f;
	struct sink s;
	struct sched sc;
	struct agent_stats st;

	sink_open(&s);
	base_config(&f.cfg);
	/* The sink's own port has no TCP listener: connection refused. */
	snprintf(f.cfg.health_url, sizeof(f.cfg.health_url), "http://127.0.0.1:%u/",
		 (unsigned)s.port);
	f.cfg.port = s.port;
	setup(&f);
	sc = (struct sched){ .start_ms = loop_now_ms(f.loop) };
	agent_start(f.agent);
	cr_assert(run_until(&f, &s, &sc, checked, 4), "checks stopped");
	cr_expect_eq(s.n, 0, "sent %zu datagrams for a dead service", s.n);
	agent_get_stats(f.agent, &st);
	cr_expect_geq(st.checks_failed, 4);
	cr_expect_eq(st.checks, st.checks_failed);
	teardown(&f);
	close(s.fd);
}

/* health_host travels in the announcement (REGMSG_F_HOST); without it the
 * payload is the older one, with an empty host. */
Test(agent, announces_its_health_host)
{
	struct fixture f;
	uint8_t buf[MSG_MAX_LEN];
	struct regmsg_announce an;
	struct msg m;
	int n;

	base_config(&f.cfg);
	strcpy(f.cfg.health_host, "api.example.test");
	setup(&f);
	n = agent_build(f.agent, false, 0, buf, sizeof(buf));
	cr_assert_eq(msg_decode(&f.key, buf, (size_t)n, &m), MSG_OK);
	cr_assert_eq(regmsg_decode_announce(m.payload, m.len, &an, NULL, 0), REGMSG_OK);
	cr_expect_str_eq(an.health_host, "api.example.test");
	cr_expect(an.flags & REGMSG_F_HOST);
	teardown(&f);

	base_config(&f.cfg);
	setup(&f);
	n = agent_build(f.agent, false, 0, buf, sizeof(buf));
	cr_assert_eq(msg_decode(&f.key, buf, (size_t)n, &m), MSG_OK);
	cr_assert_eq(regmsg_decode_announce(m.payload, m.len, &an, NULL, 0), REGMSG_OK);
	cr_expect_str_empty(an.health_host);
	cr_expect_not(an.flags & REGMSG_F_HOST);
	cr_expect_eq(m.len, 14 + strlen("web1"));
	teardown(&f);
}
