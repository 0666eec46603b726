/* agent.c - andromeda-agent's logic (contract in agent.h): a client of the
 * event loop with one UDP socket, two timers and the service checker.
 *
 *   tick timer (every announce_interval, fixed cadence)
 *     -> agent_check_start()            HTTP GET health_url (agent_check.c)
 *     -> check_done(): healthy   -> announce to every destination
 *                      unhealthy -> withdraw (twice), once, when it was announced
 *   socket readable -> agent_input(): msg_decode, msg_replay_check,
 *                      regmsg_decode_ack, remember/log the balancer's answer
 *   agent_stop() (SIGTERM) -> withdraw now, withdraw again after 50 ms, stop
 *   under systemd (daemon_sd.c): READY=1 once the socket and the checker are
 *   up, WATCHDOG=1 from this loop, STOPPING=1 on SIGTERM
 *
 * Destinations are resolved at every send: the broadcast address of the
 * interface is read with getifaddrs() each time, so an address added or
 * changed after start-up is followed (and logged), and the unicast
 * balancers from the configuration. */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_check.h"
#include "clock.h"
#include "daemon_sd.h"
#include "log.h"
#include "loop.h"
#include "netaddr.h"
#include "sigfd.h"

struct seen {
	uint32_t sender;       /* envelope sender id, network byte order */
	struct regmsg_ack ack; /* its last answer */
};

struct agent {
	struct loop *loop;
	const struct agent_config *cfg;
	struct msg_key key;
	int sock;
	int sock6; /* an IPv6 service: announcements to REGMSG_GROUP6, -1 otherwise */
	struct agent_check *check;
	struct loop_timer tick; /* next check + announce */
	struct loop_timer wd;   /* the second withdraw of a pair */
	uint64_t next_ms;       /* tick's deadline (monotonic) */
	uint64_t seq;           /* last sequence sent */
	bool announcing;        /* the service passed its last check */
	bool hello;             /* next announcement carries REGMSG_F_HELLO */
	bool stopping;
	uint8_t wd_why;      /* reason of the pending second withdraw */
	uint32_t bcast;      /* last broadcast address used, 0 = none */
	int bcast_err;       /* last lookup error, to log changes only */
	unsigned ifindex6;   /* IPv6: the interface announced on, 0 = none yet */
	char last_fail[160]; /* cause of the last failed check, "" if none */
	struct msg_replay replay;
	struct seen seen[AGENT_MAX_SEEN];
	size_t nseen;
	struct log_limit drop_limit[MSG_DROP_NCAUSES + REGMSG_E_NCAUSES + 2];
	struct log_limit send_limit;
	struct agent_stats st;
};

static const char *ip_text(uint32_t addr, char *buf, size_t len)
{
	if (!inet_ntop(AF_INET, &addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* ------------------------------------------------------------ sending -- */

static bool service_v6(const struct agent_config *cfg)
{
	return cfg->service.sa.sa_family == AF_INET6;
}

int agent_build(struct agent *a, bool withdraw, uint8_t why, uint8_t *out, size_t cap)
{
	const struct agent_config *cfg = a->cfg;
	bool v6 = service_v6(cfg);
	uint32_t addr = v6 ? 0 : cfg->service.sin.sin_addr.s_addr;
	const uint8_t *addr6 = cfg->service.sin6.sin6_addr.s6_addr;
	uint16_t port = (uint16_t)netaddr_port(&cfg->service.sa);
	uint8_t payload[REGMSG_MAX];
	int n;

	if (withdraw) {
		struct regmsg_withdraw w = { .addr = addr, .v6 = v6, .port = port, .why = why };

		memcpy(w.name, cfg->name, sizeof(w.name));
		if (v6)
			memcpy(w.addr6, addr6, 16);
		n = regmsg_encode_withdraw(&w, payload, sizeof(payload));
	} else {
		struct regmsg_announce an = {
			.addr = addr,
			.v6 = v6,
			.port = port,
			.weight = (uint16_t)cfg->weight,
			.interval_ms = cfg->announce_interval_ms,
			.flags = a->hello ? REGMSG_F_HELLO : 0,
		};

		memcpy(an.name, cfg->name, sizeof(an.name));
		memcpy(an.health_host, cfg->health_host, sizeof(an.health_host));
		if (v6)
			memcpy(an.addr6, addr6, 16);
		n = regmsg_encode_announce(&an, payload, sizeof(payload));
	}
	if (n < 0)
		return n;
	/* The envelope's sender id: the IPv4 address, or a hash of the IPv6 one. */
	return msg_encode(&a->key, withdraw ? MSG_WITHDRAW : MSG_ANNOUNCE,
			  v6 ? regmsg_sender6(addr6) : addr, msg_next_seq(&a->seq),
			  clock_wall_ms(), payload, (size_t)n, out, cap);
}

/* The broadcast address of one IPv4 address of an interface, 0 if none.
 * "ip addr add A/24" without "brd +" configures none, and glibc then
 * reports the local address in ifa_broadaddr; the kernel still routes the
 * subnet's all-ones address as broadcast (fib_add_ifaddr), so that one is
 * used.  /31 and /32 have no broadcast address (RFC 3021). */
static uint32_t bcast_of(const struct ifaddrs *i)
{
	const struct sockaddr_in *brd = (const void *)i->ifa_broadaddr;
	uint32_t addr, mask, b;

	if (!(i->ifa_flags & IFF_BROADCAST) || !i->ifa_netmask)
		return 0;
	addr = ((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr.s_addr;
	mask = ((const struct sockaddr_in *)(const void *)i->ifa_netmask)->sin_addr.s_addr;
	if (ntohl(mask) >= 0xfffffffeu)
		return 0;
	b = brd && brd->sin_family == AF_INET ? brd->sin_addr.s_addr : 0;
	if (!b || b == addr || ((b ^ addr) & mask))
		b = addr | ~mask;
	return b;
}

/* The IPv4 broadcast address of ifname: of the address whose subnet holds
 * the service if there is one, else of the first.  0, -ENODEV (no IPv4
 * address on it) or -EADDRNOTAVAIL (no broadcast, e.g. loopback). */
static int bcast_lookup(const char *ifname, uint32_t service, uint32_t *out)
{
	struct ifaddrs *ifs, *i;
	bool have_ipv4 = false, found = false;

	if (getifaddrs(&ifs) < 0)
		return -errno;
	for (i = ifs; i; i = i->ifa_next) {
		const struct sockaddr_in *addr = (const void *)i->ifa_addr;
		const struct sockaddr_in *mask = (const void *)i->ifa_netmask;
		uint32_t b;
		bool in_subnet;

		if (!addr || addr->sin_family != AF_INET || strcmp(i->ifa_name, ifname) != 0)
			continue;
		have_ipv4 = true;
		b = bcast_of(i);
		if (!b)
			continue;
		in_subnet = ((addr->sin_addr.s_addr ^ service) & mask->sin_addr.s_addr) == 0;
		if (!found || in_subnet)
			*out = b;
		found = true;
		if (in_subnet)
			break;
	}
	freeifaddrs(ifs);
	return found ? 0 : have_ipv4 ? -EADDRNOTAVAIL : -ENODEV;
}

/* Log the broadcast destination when it appears, changes or disappears. */
static uint32_t bcast_current(struct agent *a)
{
	const char *ifname = a->cfg->interface;
	char t[INET_ADDRSTRLEN];
	uint32_t b = 0;
	int err;

	if (!ifname[0])
		return 0;
	err = bcast_lookup(ifname, a->cfg->service.sin.sin_addr.s_addr, &b);
	if (err == 0 && b != a->bcast)
		log_info("agent: announcing on %s to broadcast %s:%u", ifname,
			 ip_text(b, t, sizeof(t)), (unsigned)a->cfg->port);
	if (err && err != a->bcast_err)
		log_warnx("agent: interface %s: %s; %s", ifname,
			  err == -ENODEV          ? "no IPv4 address (missing or down?)"
			  : err == -EADDRNOTAVAIL ? "no IPv4 broadcast address"
						  : strerror(-err),
			  a->cfg->nbalancers ? "announcing to the unicast balancers only"
					     : "nothing can be announced until it has one");
	a->bcast = err ? 0 : b;
	a->bcast_err = err;
	return a->bcast;
}

static void send_to(struct agent *a, uint32_t dst, bool withdraw, uint8_t why)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(a->cfg->port),
				   .sin_addr.s_addr = dst };
	uint8_t buf[MSG_MAX_LEN];
	uint64_t more;
	char t[INET_ADDRSTRLEN];
	int n = agent_build(a, withdraw, why, buf, sizeof(buf));

	if (n >= 0 &&
	    sendto(a->sock, buf, (size_t)n, 0, (struct sockaddr *)&sin, sizeof(sin)) == n) {
		withdraw ? a->st.withdraws++ : a->st.announces++;
		return;
	}
	if (n >= 0)
		n = -errno;
	a->st.send_errors++;
	if (log_limit_ok(&a->send_limit, loop_now_ms(a->loop), LOG_LIMIT_SHORT_MS, &more))
		log_errno(n, "agent: cannot send %s to %s:%u (%" PRIu64 " more errors)",
			  withdraw ? "withdraw" : "announce", ip_text(dst, t, sizeof(t)),
			  (unsigned)a->cfg->port, more);
}

/* The interface of the IPv6 announcements; logged when it appears or
 * goes (it may come up after the agent). */
static unsigned ifindex6_current(struct agent *a)
{
	unsigned idx = a->cfg->interface[0] ? if_nametoindex(a->cfg->interface) : 0;

	if (idx && idx != a->ifindex6)
		log_info("agent: announcing on %s to %s port %u", a->cfg->interface, REGMSG_GROUP6,
			 (unsigned)a->cfg->port);
	else if (!idx && a->ifindex6)
		log_warnx("agent: interface %s is gone; %s", a->cfg->interface,
			  a->cfg->nbalancers ? "announcing to the unicast balancers only"
					     : "nothing can be announced until it is back");
	return a->ifindex6 = idx;
}

/* To the balancers' link-local group on the interface (RFC 4291 2.7). */
static void send_group6(struct agent *a, bool withdraw, uint8_t why)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6,
				   .sin6_port = htons(a->cfg->port),
				   .sin6_scope_id = ifindex6_current(a) };
	uint8_t buf[MSG_MAX_LEN];
	uint64_t more;
	int n;

	if (!to.sin6_scope_id || a->sock6 < 0)
		return;
	inet_pton(AF_INET6, REGMSG_GROUP6, &to.sin6_addr);
	n = agent_build(a, withdraw, why, buf, sizeof(buf));
	if (n >= 0 &&
	    sendto(a->sock6, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) == n) {
		withdraw ? a->st.withdraws++ : a->st.announces++;
		return;
	}
	n = n >= 0 ? -errno : n;
	a->st.send_errors++;
	if (log_limit_ok(&a->send_limit, loop_now_ms(a->loop), LOG_LIMIT_SHORT_MS, &more))
		log_errno(n, "agent: cannot send %s to %s on %s (%" PRIu64 " more errors)",
			  withdraw ? "withdraw" : "announce", REGMSG_GROUP6, a->cfg->interface,
			  more);
}

/* One message to every destination, each with its own sequence. */
static void send_all(struct agent *a, bool withdraw, uint8_t why)
{
	/* An IPv6 service: the group on the interface instead of broadcast. */
	uint32_t b = service_v6(a->cfg) ? 0 : bcast_current(a);

	if (service_v6(a->cfg))
		send_group6(a, withdraw, why);
	if (b)
		send_to(a, b, withdraw, why);
	for (size_t i = 0; i < a->cfg->nbalancers; i++)
		send_to(a, a->cfg->balancers[i].s_addr, withdraw, why);
	if (!withdraw)
		a->hello = false;
}

/* A withdraw now and one more after AGENT_WITHDRAW_GAP_MS: UDP may lose
 * one; the balancer treats the second as a replay-free no-op. */
static void withdraw_pair(struct agent *a, uint8_t why)
{
	send_all(a, true, why);
	a->wd_why = why;
	loop_timer_arm(a->loop, &a->wd, AGENT_WITHDRAW_GAP_MS);
}

static void wd_fire(struct loop *loop, struct loop_timer *t)
{
	struct agent *a = t->arg;

	send_all(a, true, a->wd_why);
	if (a->stopping)
		loop_stop(loop);
}

/* ------------------------------------------------------- the schedule -- */

static void check_done(void *arg, const struct agent_check_result *r)
{
	struct agent *a = arg;
	const struct agent_config *cfg = a->cfg;

	a->st.checks++;
	if (r->ok) {
		if (!a->announcing)
			log_info("agent: service %s (%s) is healthy (%s in %" PRIu32
				 "ms): announcing",
				 cfg->name, cfg->service.text, r->cause, r->duration_ms);
		a->hello = a->hello || !a->announcing;
		a->announcing = true;
		a->last_fail[0] = '\0';
		loop_timer_cancel(a->loop, &a->wd);
		send_all(a, false, 0);
		return;
	}
	a->st.checks_failed++;
	if (a->announcing) {
		log_warnx("agent: service %s (%s) failed its check (%s): withdrawing", cfg->name,
			  cfg->service.text, r->cause);
		a->announcing = false;
		withdraw_pair(a, REGMSG_WD_UNHEALTHY);
	} else if (strcmp(a->last_fail, r->cause) != 0) {
		log_warnx("agent: service %s (%s) is not healthy (%s): not announcing", cfg->name,
			  cfg->service.text, r->cause);
	}
	snprintf(a->last_fail, sizeof(a->last_fail), "%s", r->cause);
}

static void tick_fire(struct loop *loop, struct loop_timer *t)
{
	struct agent *a = t->arg;
	struct agent_check_result r = { .ok = false };
	uint64_t now = loop_now_ms(loop);

	/* Fixed cadence: announcements stay interval apart whatever a check
	 * takes; after a stall, start again from now. */
	a->next_ms += a->cfg->announce_interval_ms;
	if (a->next_ms <= now)
		a->next_ms = now + a->cfg->announce_interval_ms;
	loop_timer_arm_at(loop, &a->tick, a->next_ms);
	if (agent_check_busy(a->check)) {
		log_debug("agent: previous check still running; skipping this round");
		return;
	}
	if (agent_check_start(a->check) < 0) {
		snprintf(r.cause, sizeof(r.cause), "the check could not be started");
		check_done(a, &r);
	}
}

void agent_start(struct agent *a)
{
	const struct agent_config *cfg = a->cfg;

	log_info("agent: %s (%s, weight %u): checking %s%s%s%s, announcing every %" PRIu32
		 "ms to port %u "
		 "(broadcast on %s, %zu unicast balancer%s)",
		 cfg->name, cfg->service.text, cfg->weight, cfg->health_url,
		 cfg->health_host[0] ? " with Host: " : "", cfg->health_host,
		 cfg->health_host[0] ? ", announced" : "", cfg->announce_interval_ms,
		 (unsigned)cfg->port, cfg->interface[0] ? cfg->interface : "no interface",
		 cfg->nbalancers, cfg->nbalancers == 1 ? "" : "s");
	a->hello = true;
	a->next_ms = loop_now_ms(a->loop);
	loop_timer_arm_at(a->loop, &a->tick, a->next_ms);
}

void agent_recheck(struct agent *a, const char *why)
{
	uint64_t now = loop_now_ms(a->loop);

	if (a->stopping || !loop_timer_armed(&a->tick))
		return;
	log_info("agent: %s: checking the service now", why);
	/* tick_fire() then keeps the cadence from now. */
	a->next_ms = now;
	loop_timer_arm_at(a->loop, &a->tick, now);
}

void agent_stop(struct agent *a, const char *why)
{
	if (a->stopping)
		return;
	a->stopping = true;
	log_info("agent: %s: withdrawing %s (%s) and exiting", why, a->cfg->name,
		 a->cfg->service.text);
	loop_timer_cancel(a->loop, &a->tick);
	agent_check_cancel(a->check);
	a->announcing = false;
	withdraw_pair(a, REGMSG_WD_SHUTDOWN);
}

/* ---------------------------------------------------------- receiving -- */

enum {
	DROP_TYPE = MSG_DROP_NCAUSES + REGMSG_E_NCAUSES,
	DROP_FOREIGN
};

/* Count always; log once per cause per LOG_LIMIT_LONG_MS. */
static int drop(struct agent *a, size_t cause, uint64_t *counter, uint32_t from, const char *what)
{
	char t[INET_ADDRSTRLEN];
	uint64_t more;

	(*counter)++;
	if (log_limit_ok(&a->drop_limit[cause], loop_now_ms(a->loop), LOG_LIMIT_LONG_MS, &more))
		log_warnx("agent: dropped a datagram from %s: %s (%" PRIu64 " so far, %" PRIu64
			  " since the last report)",
			  ip_text(from, t, sizeof(t)), what, *counter, more);
	return -EBADMSG;
}

static struct seen *seen_slot(struct agent *a, uint32_t sender, bool *fresh)
{
	size_t i;

	for (i = 0; i < a->nseen; i++)
		if (a->seen[i].sender == sender)
			return *fresh = false, &a->seen[i];
	/* Full: forget the oldest entry (it would be logged again if it
	 * comes back, which is what an operator wants after such churn). */
	if (a->nseen == AGENT_MAX_SEEN)
		memmove(&a->seen[0], &a->seen[1], --a->nseen * sizeof(a->seen[0]));
	*fresh = true;
	a->seen[a->nseen].sender = sender;
	return &a->seen[a->nseen++];
}

/* The first answer of each balancer, and every change of it, is logged. */
static void ack_record(struct agent *a, uint32_t sender, const struct regmsg_ack *k)
{
	char t[INET_ADDRSTRLEN];
	bool fresh;
	struct seen *s = seen_slot(a, sender, &fresh);
	bool changed = fresh || s->ack.accepted != k->accepted || s->ack.reason != k->reason ||
		       strcmp(s->ack.node, k->node) != 0;

	s->ack = *k;
	a->st.acks++;
	if (!changed)
		return;
	if (k->accepted)
		log_info("agent: balancer %s (%s) %s %s", k->node, ip_text(sender, t, sizeof(t)),
			 k->of == MSG_WITHDRAW ? "acknowledged the withdraw of" : "accepted",
			 k->name);
	else
		log_warnx("agent: balancer %s (%s) refused %s: %s", k->node,
			  ip_text(sender, t, sizeof(t)), k->name,
			  regmsg_ack_reason_name(k->reason));
}

int agent_input(struct agent *a, const uint8_t *buf, size_t len, uint32_t from, uint64_t now_ms)
{
	char why[128], what[160];
	struct regmsg_ack k;
	enum regmsg_err re;
	enum msg_drop d;
	struct msg m;

	d = msg_decode(&a->key, buf, len, &m);
	if (d == MSG_OK && m.type != MSG_ACK)
		return drop(a, DROP_TYPE, &a->st.drop_type, from, "not an acknowledgement");
	if (d == MSG_OK)
		d = msg_replay_check(&a->replay, &m, now_ms);
	if (d != MSG_OK)
		return drop(a, d, &a->st.drop_msg[d], from, msg_drop_name(d));
	re = regmsg_decode_ack(m.payload, m.len, &k, why, sizeof(why));
	if (re != REGMSG_OK) {
		snprintf(what, sizeof(what), "bad acknowledgement: %s", why);
		return drop(a, MSG_DROP_NCAUSES + re, &a->st.drop_payload[re], from, what);
	}
	if (strcmp(k.name, a->cfg->name) != 0) {
		snprintf(what, sizeof(what), "acknowledges server %s, not %s", k.name,
			 a->cfg->name);
		return drop(a, DROP_FOREIGN, &a->st.drop_foreign, from, what);
	}
	ack_record(a, m.sender, &k);
	return 0;
}

static void sock_read(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct agent *a = arg;
	uint8_t buf[MSG_MAX_LEN + 1];         /* +1: an oversized datagram is seen as such */
	struct sockaddr_storage from = { 0 }; /* recvfrom fills it; zeroed for the analyzer */
	socklen_t flen;
	ssize_t n;

	for (int i = 0; i < LOOP_IO_BATCH; i++) {
		flen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from, &flen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("agent: recvfrom");
			return;
		}
		/* MSG_TRUNC returns the real length: a longer datagram than
		 * the buffer still counts as oversize in msg_decode. */
		agent_input(a, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf),
			    from.ss_family == AF_INET
				    ? ((struct sockaddr_in *)&from)->sin_addr.s_addr
				    : 0, /* IPv6: logged as 0.0.0.0 */
			    loop_now_ms(a->loop));
	}
}

/* ---------------------------------------------------------- lifecycle -- */

static int sock_open(struct agent *a)
{
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Without SO_BROADCAST the kernel refuses to send to a broadcast
	 * address (EACCES). */
	if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	a->sock = fd;
	if (!service_v6(a->cfg))
		return 0;
	/* Link-local multicast stays on the link (hop limit 1 by default). */
	a->sock6 = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->sock6 < 0)
		return -errno;
	return loop_add_fd(a->loop, a->sock6, LOOP_READ, sock_read, a);
}

/* The sequence of this run: above every earlier run's, whatever the
 * clock (a Pi without RTC).  The package creates the default directory;
 * a hand-made state_file path may need its directory. */
static void seq_start(struct agent *a)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", a->cfg->state_file);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			log_warn("agent: cannot create %s", dir);
	}
	msg_seq_init(&a->seq, a->cfg->state_file);
}

int agent_create(struct agent **out, struct loop *loop, const struct agent_config *cfg,
		 const struct msg_key *key)
{
	struct agent *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return log_errno(-ENOMEM, "agent: cannot allocate"), -ENOMEM;
	a->loop = loop;
	a->cfg = cfg;
	a->key = *key;
	a->sock = -1;
	a->sock6 = -1;
	/* A first ack from a balancer is taken as it comes: a replayed one
	 * can only make us log an old answer (docs/protocol.md). */
	a->replay.trust_first = true;
	seq_start(a);
	loop_timer_init(&a->tick, tick_fire, a);
	loop_timer_init(&a->wd, wd_fire, a);
	err = sock_open(a);
	if (err < 0)
		log_errno(err, "agent: cannot open the UDP socket");
	if (!err && (err = loop_add_fd(loop, a->sock, LOOP_READ, sock_read, a)) < 0)
		log_errno(err, "agent: cannot watch the UDP socket");
	if (!err)
		err = agent_check_create(&a->check, loop, cfg->health_url, cfg->health_host,
					 cfg->health_timeout_ms, check_done, a);
	if (err < 0) {
		agent_destroy(a);
		return err;
	}
	*out = a;
	return 0;
}

void agent_destroy(struct agent *a)
{
	if (!a)
		return;
	loop_timer_cancel(a->loop, &a->tick);
	loop_timer_cancel(a->loop, &a->wd);
	agent_check_destroy(a->check);
	if (a->sock6 >= 0) {
		loop_del_fd(a->loop, a->sock6);
		close(a->sock6);
	}
	if (a->sock >= 0) {
		loop_del_fd(a->loop, a->sock);
		close(a->sock);
	}
	/* The key is secret: do not leave it in freed memory. */
	explicit_bzero(&a->key, sizeof(a->key));
	free(a);
}

void agent_get_stats(const struct agent *a, struct agent_stats *out) { *out = a->st; }

int agent_last_ack(const struct agent *a, uint32_t sender, struct regmsg_ack *out)
{
	for (size_t i = 0; i < a->nseen; i++) {
		if (a->seen[i].sender == sender) {
			*out = a->seen[i].ack;
			return 0;
		}
	}
	return -ENOENT;
}

/* ------------------------------------------------------------ program -- */

static void log_stats(const struct agent *a)
{
	const struct agent_stats *s = &a->st;
	uint64_t bad = s->drop_type + s->drop_foreign;

	for (int i = 1; i < MSG_DROP_NCAUSES; i++)
		bad += s->drop_msg[i];
	for (int i = 1; i < REGMSG_E_NCAUSES; i++)
		bad += s->drop_payload[i];
	log_info("agent: stats: checks %" PRIu64 " (failed %" PRIu64 "), announces %" PRIu64
		 ", withdraws %" PRIu64 ", send errors %" PRIu64 ", acks %" PRIu64
		 ", dropped %" PRIu64 " (mac %" PRIu64 ", replay %" PRIu64 ", stale %" PRIu64
		 ", truncated %" PRIu64 ")",
		 s->checks, s->checks_failed, s->announces, s->withdraws, s->send_errors, s->acks,
		 bad, s->drop_msg[MSG_DROP_MAC], s->drop_msg[MSG_DROP_REPLAY],
		 s->drop_msg[MSG_DROP_STALE], s->drop_msg[MSG_DROP_SHORT]);
}

struct run {
	struct loop *loop;
	struct agent *agent;
	struct sdnotify *sd; /* systemd: READY=1, WATCHDOG=1, STOPPING=1 */
	int sigfd;
};

static void signal_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct run *r = arg;
	int signo;

	while ((signo = sigfd_next(fd)) > 0) {
		if (signo == SIGTERM || signo == SIGINT) {
			sdnotify_stopping(r->sd);
			agent_stop(r->agent, signo == SIGTERM ? "SIGTERM" : "SIGINT");
		} else if (signo == SIGUSR1)
			log_stats(r->agent);
		else if (signo == SIGHUP)
			log_warnx(
				"agent: SIGHUP: reload is not supported; restart to apply changes");
	}
}

/* Before libcurl can start its resolver threads (sigfd.h). */
static int signals_open(struct run *r)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, 0 };

	r->sigfd = sigfd_open(sigs);
	return r->sigfd < 0 ? r->sigfd : 0;
}

static int run_setup(struct run *r, const struct agent_config *cfg, const struct msg_key *key)
{
	int err = signals_open(r);

	if (err < 0)
		return log_errno(err, "agent: cannot set up signals"), err;
	err = loop_create(&r->loop);
	if (err < 0)
		return log_errno(err, "agent: cannot create the event loop"), err;
	err = loop_add_fd(r->loop, r->sigfd, LOOP_READ, signal_io, r);
	if (err < 0)
		return log_errno(err, "agent: cannot watch signals"), err;
	/* The watchdog pings come from this loop: a stuck loop is restarted. */
	if (!(r->sd = sdnotify_open(r->loop)))
		return log_errno(-ENOMEM, "agent: cannot set up systemd notification"), -ENOMEM;
	return agent_create(&r->agent, r->loop, cfg, key);
}

int agent_run(const struct agent_config *cfg, const struct msg_key *key,
	      const struct agent_watch *watch)
{
	struct run r = { .sigfd = -1 };
	bool watching = false;
	int rc = 1;

	if (run_setup(&r, cfg, key) == 0) {
		/* Before the first tick, so no address event falls in between. */
		watching = watch && watch->open(watch->ctx, r.loop, r.agent) == 0;
		agent_start(r.agent);
		/* Socket and checker are up: from here on it announces (an
		 * interface without an address yet is retried, not fatal). */
		sdnotify_ready(r.sd, "announcing");
		rc = loop_run(r.loop) < 0 ? 1 : 0;
		log_stats(r.agent);
	}
	if (watching && watch->close)
		watch->close(watch->ctx);
	agent_destroy(r.agent);
	sdnotify_close(r.sd);
	if (r.sigfd >= 0) {
		if (r.loop)
			loop_del_fd(r.loop, r.sigfd);
		close(r.sigfd);
	}
	loop_destroy(r.loop);
	return rc;
}
