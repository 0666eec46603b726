/* registry.c - registration listener (see registry.h). */
#include "registry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "netaddr.h"
#include "pool.h"
#include "regmsg.h"

#define REG_SWEEP_MS  100  /* expiry and drain-then-remove */
#define REG_REJOIN_MS 2000 /* join the IPv6 group on interfaces that came later */

enum reg_count {
	REG_ANNOUNCES,
	REG_WITHDRAWS,
	REG_ADDED,
	REG_REMOVED,
	REG_EXPIRED,
	REG_REFUSED,
	REG_NOT_ACTIVE,
	REG_BAD_PAYLOAD,
	REG_NCOUNTS
};

struct registry {
	struct loop *loop;
	const struct config *cfg;
	struct pool *pool;
	const struct msg_key *key;
	struct in_addr self;
	struct registry_hooks hooks;
	int fd;
	int fd6; /* IPv6 agents: [::]:port, in REGMSG_GROUP6; -1 without IPv6 */
	uint64_t tx_seq;
	struct msg_replay replay;
	struct loop_timer sweep, rejoin;
	uint64_t count[REG_NCOUNTS];
	uint64_t drops[MSG_DROP_NCAUSES];
	struct log_limit limit[MSG_DROP_NCAUSES];
	struct log_limit bad_limit;
};

static bool active(const struct registry *r)
{
	return !r->hooks.is_active || r->hooks.is_active(r->hooks.arg);
}

static void send_ack(struct registry *r, const struct sockaddr *to, const char *name, uint8_t of,
		     uint8_t reason)
{
	struct regmsg_ack k = { .accepted = reason == REGMSG_ACK_OK, .of = of, .reason = reason };
	uint8_t payload[REGMSG_MAX], buf[MSG_MAX_LEN];
	int plen, len;

	snprintf(k.name, sizeof(k.name), "%s", name);
	snprintf(k.node, sizeof(k.node), "%s", r->cfg->node.name);
	plen = regmsg_encode_ack(&k, payload, sizeof(payload));
	len = plen < 0 ? plen
		       : msg_encode(r->key, MSG_ACK, r->self.s_addr, msg_next_seq(&r->tx_seq),
				    clock_wall_ms(), payload, (size_t)plen, buf, sizeof(buf));
	if (len > 0)
		sendto(to->sa_family == AF_INET6 ? r->fd6 : r->fd, buf, (size_t)len, 0, to,
		       netaddr_len(to));
}

static void endpoint_of(struct cfg_endpoint *ep, bool v6, uint32_t addr, const uint8_t *addr6,
			uint16_t port)
{
	if (v6)
		cfg_endpoint_set(ep, AF_INET6, addr6, port);
	else
		cfg_endpoint_set(ep, AF_INET, &addr, port);
}

/* Add or refresh; returns the ack reason. */
static uint8_t announce(struct registry *r, const struct regmsg_announce *a)
{
	struct server *srv = pool_server_find(r->pool, a->name);
	struct cfg_endpoint ep;
	int err = 0;

	endpoint_of(&ep, a->v6, a->addr, a->addr6, a->port);
	if (srv && srv->source == SRV_STATIC)
		return REGMSG_ACK_NAME_TAKEN;
	if (srv && !netaddr_same(&srv->addr.sa, &ep.sa)) {
		log_info("registry: %s moved from %s to %s", a->name, srv->addr.text, ep.text);
		pool_server_remove(r->pool, srv);
		srv = NULL;
	}
	if (!srv) {
		srv = pool_server_add(r->pool, a->name, &ep, a->weight, SRV_REGISTERED, &err);
		if (!srv)
			return err == -ENOMEM ? REGMSG_ACK_INTERNAL : REGMSG_ACK_FULL;
		r->count[REG_ADDED]++;
		if (r->hooks.added)
			r->hooks.added(r->hooks.arg, srv);
	}
	pool_server_set_weight(r->pool, srv, a->weight);
	pool_server_set_health_host(r->pool, srv, a->health_host);
	if (srv->leaving) {
		srv->leaving = false; /* back before it was removed */
		pool_server_set_drain(r->pool, srv, false);
	}
	/* Expire after 3 missed announcements, and never sooner than the
	 * configured [registration] expire. */
	srv->expires_ms =
		loop_now_ms(r->loop) + (regmsg_expire_ms(a) > r->cfg->registration.expire_ms
						? regmsg_expire_ms(a)
						: r->cfg->registration.expire_ms);
	return REGMSG_ACK_OK;
}

/* Drain now; the sweep removes it once nothing is in flight. */
static void leave(struct registry *r, struct server *srv, const char *why)
{
	if (srv->leaving)
		return;
	log_info("registry: server %s (%s) %s: draining, then removing", srv->name, srv->addr.text,
		 why);
	srv->leaving = true;
	pool_server_set_drain(r->pool, srv, true);
}

static uint8_t withdraw(struct registry *r, const struct regmsg_withdraw *w)
{
	struct server *srv = pool_server_find(r->pool, w->name);
	struct cfg_endpoint ep;

	/* The address decides, not the port (as before IPv6). */
	endpoint_of(&ep, w->v6, w->addr, w->addr6,
		    srv ? (uint16_t)netaddr_port(&srv->addr.sa) : 0);
	if (!srv || srv->source != SRV_REGISTERED || !netaddr_same(&srv->addr.sa, &ep.sa))
		return REGMSG_ACK_OK; /* already gone: nothing to do, and say so */
	leave(r, srv,
	      w->why == REGMSG_WD_UNHEALTHY ? "withdrawn (service unhealthy)" : "withdrawn");
	return REGMSG_ACK_OK;
}

static void bad_payload(struct registry *r, const char *what, const char *why,
			const struct sockaddr *from)
{
	char ip[INET6_ADDRSTRLEN];

	r->count[REG_BAD_PAYLOAD]++;
	if (log_limit_ok(&r->bad_limit, loop_now_ms(r->loop), LOG_LIMIT_LONG_MS, NULL))
		log_warnx("registry: bad %s from %s: %s", what, netaddr_ip(from, ip, sizeof(ip)),
			  why);
}

static void rx_registration(struct registry *r, const struct msg *m, const struct sockaddr *from)
{
	char why[128];
	uint8_t reason;

	if (m->type == MSG_ANNOUNCE) {
		struct regmsg_announce a;

		if (regmsg_decode_announce(m->payload, m->len, &a, why, sizeof(why)) != REGMSG_OK)
			return bad_payload(r, "announcement", why, from);
		r->count[REG_ANNOUNCES]++;
		if (!active(r)) {
			r->count[REG_NOT_ACTIVE]++;
			return;
		}
		reason = announce(r, &a);
		if (reason != REGMSG_ACK_OK)
			r->count[REG_REFUSED]++;
		send_ack(r, from, a.name, MSG_ANNOUNCE, reason);
	} else if (m->type == MSG_WITHDRAW) {
		struct regmsg_withdraw w;

		if (regmsg_decode_withdraw(m->payload, m->len, &w, why, sizeof(why)) != REGMSG_OK)
			return bad_payload(r, "withdraw", why, from);
		r->count[REG_WITHDRAWS]++;
		if (!active(r)) {
			r->count[REG_NOT_ACTIVE]++;
			return;
		}
		send_ack(r, from, w.name, MSG_WITHDRAW, withdraw(r, &w));
	} else {
		bad_payload(r, "message", "not a registration message", from);
	}
}

static void reg_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct registry *r = arg;
	uint8_t buf[MSG_MAX_LEN + 1];

	for (int i = 0; i < LOOP_IO_BATCH; i++) {
		struct sockaddr_storage from = {
			0
		}; /* recvfrom fills it; zeroed for the analyzer */
		char ip[INET6_ADDRSTRLEN];
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		enum msg_drop why;
		struct msg m;

		if (n < 0)
			return;
		why = msg_decode(r->key, buf, (size_t)n, &m);
		if (why == MSG_OK)
			why = msg_replay_check(&r->replay, &m, loop_now_ms(r->loop));
		if (why != MSG_OK) {
			r->drops[why]++;
			if (log_limit_ok(&r->limit[why], loop_now_ms(r->loop), LOG_LIMIT_LONG_MS,
					 NULL))
				log_warnx("registry: dropped a message from %s: %s",
					  netaddr_ip((struct sockaddr *)&from, ip, sizeof(ip)),
					  msg_drop_name(why));
			continue;
		}
		rx_registration(r, &m, (struct sockaddr *)&from);
	}
}

/* Expire silent servers; remove leaving ones once idle.  Only the active
 * balancer does this: backups follow it through sync. */
static void sweep(struct loop *loop, struct loop_timer *t)
{
	struct registry *r = t->arg;
	uint64_t now = loop_now_ms(loop);
	struct server *srv, *next;

	for (srv = active(r) ? pool_first(r->pool) : NULL; srv; srv = next) {
		next = pool_next(r->pool, srv);
		if (srv->source != SRV_REGISTERED)
			continue;
		if (!srv->leaving && srv->expires_ms && now > srv->expires_ms) {
			r->count[REG_EXPIRED]++;
			leave(r, srv, "expired (no announcement)");
		}
		if (srv->leaving && !server_inflight(srv) && !server_queued(srv)) {
			r->count[REG_REMOVED]++;
			pool_server_remove(r->pool, srv);
		}
	}
	loop_timer_arm(loop, t, REG_SWEEP_MS);
}

static void seq_start(struct registry *r)
{
	char path[sizeof(r->cfg->node.state_dir) + 24];

	snprintf(path, sizeof(path), "%s/epoch-registration", r->cfg->node.state_dir);
	msg_seq_init(&r->tx_seq, path); /* logs a failure; the run goes on */
}

/* Join REGMSG_GROUP6 on ifindex; how many joined (0 or 1). */
static int join6(int fd, unsigned ifindex)
{
	struct ipv6_mreq mreq = { .ipv6mr_interface = ifindex };

	inet_pton(AF_INET6, REGMSG_GROUP6, &mreq.ipv6mr_multiaddr);
	return setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) == 0;
}

/* The group is link-local: joined on [ha] interface, or without one on
 * every interface up with IPv6 and multicast; again every REG_REJOIN_MS
 * for those that come up later (a Pi's Wi-Fi or USB adapter at boot, an
 * [ha] interface without IPv6 yet; a join already made fails, EADDRINUSE,
 * and counts nothing).  Returns how many it joined now. */
static int join6_all(const struct config *cfg, int fd)
{
	struct ifaddrs *ifs, *i;
	int n = 0;

	if (cfg->ha.enabled && cfg->ha.interface[0])
		return join6(fd, if_nametoindex(cfg->ha.interface));
	if (getifaddrs(&ifs) < 0)
		return 0;
	/* One entry per address: a second join on an interface fails
	 * (EADDRINUSE), so each interface counts once. */
	for (i = ifs; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 &&
		    !(i->ifa_flags & IFF_LOOPBACK) && (i->ifa_flags & IFF_MULTICAST) &&
		    (i->ifa_flags & IFF_UP))
			n += join6(fd, if_nametoindex(i->ifa_name));
	freeifaddrs(ifs);
	return n;
}

static void rejoin(struct loop *loop, struct loop_timer *t)
{
	struct registry *r = t->arg;
	int n = join6_all(r->cfg, r->fd6);

	if (n > 0)
		log_info("registry: group %s joined on %d more interface(s)", REGMSG_GROUP6, n);
	loop_timer_arm(loop, t, REG_REJOIN_MS);
}

/* IPv6 agents (docs/agent.md): [::]:port, IPv6 only, in the group.  A
 * node without IPv6 goes on with IPv4 alone. */
static void open6(struct registry *r)
{
	struct sockaddr_in6 any = { .sin6_family = AF_INET6,
				    .sin6_port = htons(r->cfg->registration.port) };
	int one = 1, n;

	r->fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd6 < 0 || setsockopt(r->fd6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	    setsockopt(r->fd6, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(r->fd6, (struct sockaddr *)&any, sizeof(any)) < 0 ||
	    loop_add_fd(r->loop, r->fd6, LOOP_READ, reg_io, r) < 0) {
		log_warn("registry: no IPv6 listener (IPv4 agents only)");
		if (r->fd6 >= 0)
			close(r->fd6);
		r->fd6 = -1;
		return;
	}
	n = join6_all(r->cfg, r->fd6);
	log_info("registry: IPv6 agents on [::]:%u, group %s joined on %d interface(s)",
		 r->cfg->registration.port, REGMSG_GROUP6, n);
	loop_timer_arm(r->loop, &r->rejoin, REG_REJOIN_MS);
}

int registry_open(struct registry **out, struct loop *loop, const struct config *cfg,
		  struct pool *pool, const struct msg_key *key, struct in_addr self,
		  const struct registry_hooks *hooks)
{
	struct sockaddr_in any = { .sin_family = AF_INET,
				   .sin_port = htons(cfg->registration.port) };
	struct registry *r = calloc(1, sizeof(*r));
	int one = 1, err;

	if (!r)
		return -ENOMEM;
	*r = (struct registry){
		.loop = loop, .cfg = cfg, .pool = pool, .key = key, .self = self, .fd6 = -1
	};
	if (hooks)
		r->hooks = *hooks;
	/* An agent's first message is taken as it comes; docs/protocol.md
	 * "Anti-replay" weighs it (bounded by one announce interval). */
	r->replay.trust_first = true;
	seq_start(r);
	r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0 || setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(r->fd, (struct sockaddr *)&any, sizeof(any)) < 0)
		err = -errno;
	else
		err = loop_add_fd(loop, r->fd, LOOP_READ, reg_io, r);
	if (err < 0) {
		log_errno(err, "registry: cannot listen on UDP port %u", cfg->registration.port);
		if (r->fd >= 0)
			close(r->fd);
		free(r);
		return err;
	}
	loop_timer_init(&r->rejoin, rejoin, r);
	open6(r);
	loop_timer_init(&r->sweep, sweep, r);
	loop_timer_arm(loop, &r->sweep, REG_SWEEP_MS);
	log_info("registry: listening for agents on UDP port %u", cfg->registration.port);
	*out = r;
	return 0;
}

void registry_set_self(struct registry *r, struct in_addr self) { r->self = self; }

void registry_close(struct registry *r)
{
	if (!r)
		return;
	loop_timer_cancel(r->loop, &r->sweep);
	loop_timer_cancel(r->loop, &r->rejoin);
	loop_del_fd(r->loop, r->fd);
	close(r->fd);
	if (r->fd6 >= 0) {
		loop_del_fd(r->loop, r->fd6);
		close(r->fd6);
	}
	free(r);
}

void registry_get_stats(const struct registry *r, struct registry_stats *out)
{
	*out = (struct registry_stats){
		.announces = r->count[REG_ANNOUNCES],
		.withdraws = r->count[REG_WITHDRAWS],
		.added = r->count[REG_ADDED],
		.removed = r->count[REG_REMOVED],
		.expired = r->count[REG_EXPIRED],
		.refused = r->count[REG_REFUSED],
		.ignored_not_active = r->count[REG_NOT_ACTIVE],
		.bad_payload = r->count[REG_BAD_PAYLOAD],
	};
	memcpy(out->drops, r->drops, sizeof(out->drops));
}
