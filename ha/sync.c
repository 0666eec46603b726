/* sync.c - state replication: the replicated state and the UDP channel
 * (snapshots and deltas from the MASTER), message intake for both
 * channels, life cycle and status.  The TCP sessions (snapshot requests,
 * crash detector) are in sync_session.c.  See sync.h. */
#include "sync.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "list.h"
#include "liveness_io.h"
#include "log.h"
#include "loop.h"
#include "netaddr.h"
#include "pool.h"
#include "sync_codec.h"
#include "sync_inflight.h"
#include "sync_int.h"
#include "sync_session.h"
#include "vrrp.h"

/* Organisation-local multicast group for the UDP channel (RFC 2365),
 * sent with TTL 1: it never leaves the LAN. */
#define SYNC_GROUP           "239.255.51.88"
#define SYNC_INTERVAL_MS     1000 /* full snapshot period */
#define SYNC_PREEMPT_HOLD_MS 3000 /* a BACKUP waits at most this for the MASTER's state */
#define SYNC_MAX_SERVERS     (SYNC_MAX_CHUNKS * 8)

struct snap_asm { /* reassembly of one snapshot */
	uint32_t sender, snap_id;
	uint16_t nchunks;
	uint64_t have; /* bitmask of chunks received */
	uint64_t state_seq;
	char master[SYNC_NAME_MAX];
	size_t n; /* servers collected so far */
	struct sync_server srv[SYNC_MAX_SERVERS];
};

/* Remember who is who (names for `andromedactl peers`). */
static struct sync_node *node_seen(struct sync *s, uint32_t addr, const char *name)
{
	struct sync_node *n = NULL;

	for (unsigned i = 0; i < s->nnodes && !n; i++)
		if (s->nodes[i].addr.s_addr == addr)
			n = &s->nodes[i];
	if (!n && s->nnodes < SYNC_MAX_SESSIONS)
		n = &s->nodes[s->nnodes++];
	if (!n)
		return NULL;
	n->addr.s_addr = addr;
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->last_ms = loop_now_ms(s->loop);
	return n;
}

void sync_node_gone(struct sync *s, struct in_addr peer)
{
	for (unsigned i = 0; i < s->nnodes; i++)
		if (s->nodes[i].addr.s_addr == peer.s_addr && s->nodes[i].backup_session) {
			s->nodes[i].backup_session = false;
			s->nodes[i].last_ms = loop_now_ms(s->loop);
		}
}

size_t sync_nodes(const struct sync *s, struct sync_node *out, size_t max)
{
	size_t n = s->nnodes < max ? s->nnodes : max;

	memcpy(out, s->nodes, n * sizeof(*out));
	return n;
}

static bool is_master(const struct sync *s) { return vrrp_get_state(s->vrrp) == VRRP_MASTER; }

int sync_envelope(struct sync *s, uint8_t type, const uint8_t *payload, size_t len, uint8_t *out,
		  size_t cap)
{
	/* The timestamp is informational (logs, captures); acceptance rests on
	 * the sequence alone (msg.h). */
	return msg_encode(s->key, type, s->self.s_addr, msg_next_seq(&s->tx_seq), clock_wall_ms(),
			  payload, len, out, cap);
}

/* ---- sending ---- */

static void udp_send(struct sync *s, const uint8_t *buf, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(s->cfg->ha.sync_port) };

	if (!s->cfg->ha.npeers) {
		if (sendto(s->udp_fd, buf, len, 0, (struct sockaddr *)&s->group,
			   sizeof(s->group)) < 0 &&
		    log_limit_ok(&s->send_limit, loop_now_ms(s->loop), LOG_LIMIT_SHORT_MS, NULL))
			log_warn("sync: send to %s", SYNC_GROUP);
		return;
	}
	for (size_t i = 0; i < s->cfg->ha.npeers; i++) {
		to.sin_addr = s->cfg->ha.peers[i];
		sendto(s->udp_fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to));
	}
}

void sync_udp_send(struct sync *s, const uint8_t *buf, size_t len) { udp_send(s, buf, len); }

static void server_to_sync(const struct sync *s, const struct server *srv, struct sync_server *r)
{
	uint64_t now = loop_now_ms(s->loop);

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", srv->name);
	if ((r->v6 = srv->addr.sa.sa_family == AF_INET6))
		memcpy(r->addr6, &srv->addr.sin6.sin6_addr, 16);
	else
		r->addr = srv->addr.sin.sin_addr.s_addr;
	r->port = (uint16_t)netaddr_port(&srv->addr.sa);
	r->weight = (uint16_t)srv->weight;
	r->source = srv->source == SRV_REGISTERED ? SYNC_SRC_REGISTERED : SYNC_SRC_STATIC;
	r->up = srv->health == SRV_UP;
	r->drain = srv->drain;
	/* Static servers take theirs from each node's own file. */
	if (srv->source == SRV_REGISTERED)
		snprintf(r->health_host, sizeof(r->health_host), "%s", srv->health_host);
	r->expires_in_ms = srv->expires_ms > now ? (uint32_t)(srv->expires_ms - now)
			   : srv->expires_ms     ? 1
						 : 0;
	r->requests = server_requests(srv);
	r->failures = srv->failures;
	r->inflight = server_inflight(srv);
	r->queued = server_queued(srv);
	pool_lock(srv->pool);
	r->lb_current = srv->lb_current;
	pool_unlock(srv->pool);
}

/* The ticket key ring goes with the snapshot a BACKUP asks for on its
 * session (so each has it once connected), and with the periodic one
 * when it changed (a rotation) and every few seconds (sync_tls.c). */
static void send_tls_keys(struct sync *s, struct session *ss)
{
	uint8_t buf[MSG_MAX_LEN];
	int len = sync_tls_build(s, ss, buf, sizeof(buf));

	if (len < 0)
		log_errno(len, "sync: encoding the TLS ticket keys");
	else if (len > 0 && ss)
		sync_session_send(ss, buf, (size_t)len);
	else if (len > 0)
		udp_send(s, buf, (size_t)len);
}

/* Send the whole pool, in chunks, over UDP (ss NULL) or one session. */
static void send_snapshot(struct sync *s, struct session *ss)
{
	struct sync_server *all = s->asm_->srv; /* reassembly is idle on a MASTER */
	size_t per, n = 0;
	struct sync_snap_hdr h = { .state_seq = s->state_seq, .snap_id = ++s->snap_id };
	struct server *srv;

	for (srv = pool_first(s->pool); srv && n < SYNC_MAX_SERVERS; srv = pool_next(s->pool, srv))
		server_to_sync(s, srv, &all[n++]);
	per = sync_snap_per_chunk_for(MSG_MAX_PAYLOAD, all, n);
	h.nchunks = (uint16_t)(n ? (n + per - 1) / per : 1);
	snprintf(h.master, sizeof(h.master), "%s", s->cfg->node.name);
	for (h.chunk = 0; h.chunk < h.nchunks; h.chunk++) {
		uint8_t payload[MSG_MAX_PAYLOAD], buf[MSG_MAX_LEN];
		size_t first = (size_t)h.chunk * per, cnt = n - first < per ? n - first : per;
		int plen, len;

		h.nservers = (uint16_t)cnt;
		plen = sync_snap_encode(&h, all + first, cnt, payload, sizeof(payload));
		len = plen < 0 ? plen
			       : sync_envelope(s, MSG_SNAPSHOT, payload, (size_t)plen, buf,
					       sizeof(buf));
		if (len < 0) {
			log_errno(len, "sync: encoding snapshot chunk %u", h.chunk);
			return;
		}
		if (ss)
			sync_session_send(ss, buf, (size_t)len);
		else
			udp_send(s, buf, (size_t)len);
	}
	s->c.tx_snapshots++;
	s->last_snapshot_ms = loop_now_ms(s->loop);
	send_tls_keys(s, ss);
}

static void send_delta(struct sync *s, struct server *srv, enum sync_op op)
{
	struct sync_delta d = { .state_seq = ++s->state_seq, .op = (uint8_t)op };
	uint8_t payload[MSG_MAX_PAYLOAD], buf[MSG_MAX_LEN];
	int plen, len;

	server_to_sync(s, srv, &d.srv);
	plen = sync_delta_encode(&d, payload, sizeof(payload));
	len = plen < 0 ? plen
		       : sync_envelope(s, MSG_DELTA, payload, (size_t)plen, buf, sizeof(buf));
	if (len < 0) {
		log_errno(len, "sync: encoding delta for %s", srv->name);
		return;
	}
	udp_send(s, buf, (size_t)len);
	s->c.tx_deltas++;
}

static void pool_changed(struct pool *pool, struct server *srv, enum pool_event ev, void *arg)
{
	struct sync *s = arg;

	if (s->applying || !is_master(s))
		return;
	send_delta(s, srv, ev == POOL_SERVER_REMOVED ? SYNC_OP_REMOVE : SYNC_OP_UPSERT);
}

static void snap_timer_fired(struct loop *loop, struct loop_timer *t)
{
	struct sync *s = t->arg;

	if (!is_master(s))
		return;
	send_snapshot(s, NULL);
	loop_timer_arm(loop, t, SYNC_INTERVAL_MS);
}

/* ---- applying replicated state (BACKUP) ---- */

static void apply_server(struct sync *s, const struct sync_server *r)
{
	struct server *srv = pool_server_find(s->pool, r->name);
	struct cfg_endpoint ep;
	int err = 0;

	if (r->v6)
		cfg_endpoint_set(&ep, AF_INET6, r->addr6, r->port);
	else
		cfg_endpoint_set(&ep, AF_INET, &r->addr, r->port);
	if (srv && !netaddr_same(&srv->addr.sa, &ep.sa)) {
		pool_server_remove(s->pool, srv); /* moved: a new server under the old name */
		srv = NULL;
	}
	if (!srv)
		srv = pool_server_add(
			s->pool, r->name, &ep, r->weight,
			r->source == SYNC_SRC_REGISTERED ? SRV_REGISTERED : SRV_STATIC, &err);
	if (!srv) {
		log_errno(err, "sync: cannot add replicated server %s", r->name);
		return;
	}
	pool_server_set_weight(s->pool, srv, r->weight);
	if (srv->source == SRV_REGISTERED)
		pool_server_set_health_host(s->pool, srv, r->health_host);
	pool_server_set_drain(s->pool, srv, r->drain);
	pool_server_set_health(s->pool, srv, r->up ? SRV_UP : SRV_DOWN,
			       "replicated from the MASTER");
	server_set_requests(srv, r->requests);
	srv->failures = r->failures;
	pool_lock(s->pool);
	srv->lb_current = r->lb_current;
	pool_unlock(s->pool);
	srv->expires_ms = r->expires_in_ms ? loop_now_ms(s->loop) + r->expires_in_ms : 0;
}

static void apply_remove(struct sync *s, const char *name)
{
	struct server *srv = pool_server_find(s->pool, name);

	/* Static ones too: the MASTER removed it (andromedactl remove). */
	if (srv)
		pool_server_remove(s->pool, srv);
}

static void apply_snapshot(struct sync *s, struct snap_asm *a)
{
	struct server *srv, *next;
	bool changed;

	s->applying = true;
	for (size_t i = 0; i < a->n; i++)
		apply_server(s, &a->srv[i]);
	/* Registered servers the MASTER no longer has are gone; static ones
	 * come from our own configuration and stay. */
	for (srv = pool_first(s->pool); srv; srv = next) {
		bool listed = false;

		next = pool_next(s->pool, srv);
		for (size_t i = 0; i < a->n && !listed; i++)
			listed = !strcmp(a->srv[i].name, srv->name);
		if (!listed && srv->source == SRV_REGISTERED)
			pool_server_remove(s->pool, srv);
	}
	s->applying = false;
	/* The periodic snapshot (every second) of a MASTER whose state did not
	 * move changes nothing here: not news for the journal, and an SD card
	 * must not take a synced write per second for it (docs/journal.md). */
	changed = s->applied_from != a->sender || s->state_seq != a->state_seq;
	if (s->applied_from != a->sender)
		log_info("sync: following %s (state %llu, %zu servers)", a->master,
			 (unsigned long long)a->state_seq, a->n);
	s->state_seq = a->state_seq;
	s->applied_from = a->sender;
	s->last_snapshot_ms = loop_now_ms(s->loop);
	s->c.rx_snapshots++;
	sync_hold_preempt(s, 0); /* we have the pool: preempting is safe now */
	if (changed && s->hooks.applied)
		s->hooks.applied(s->hooks.arg, s->state_seq, true, a->master);
}

/* Who we are, on the session to the MASTER: a snapshot request, or
 * MSG_ALIVE (same payload).  true if queued. */
static bool say_to_master(struct sync *s, uint8_t type)
{
	struct sync_request q = { .have_seq = s->state_seq,
				  .priority = (uint8_t)s->cfg->ha.priority };
	uint8_t payload[128], buf[MSG_MAX_LEN];
	int plen, len;

	if (!sync_session_ready(s->up))
		return false;
	snprintf(q.node, sizeof(q.node), "%s", s->cfg->node.name);
	plen = sync_request_encode(&q, payload, sizeof(payload));
	len = plen < 0 ? plen : sync_envelope(s, type, payload, (size_t)plen, buf, sizeof(buf));
	if (len <= 0)
		return false;
	sync_session_send(s->up, buf, (size_t)len);
	s->alive_ms = loop_now_ms(s->loop);
	return true;
}

void sync_request_snapshot(struct sync *s)
{
	/* Not ready: the periodic snapshot (or the HELLO's end) will do. */
	say_to_master(s, MSG_SNAP_REQUEST);
}

bool sync_say_alive(struct sync *s) { return say_to_master(s, MSG_ALIVE); }

static void rx_snapshot(struct sync *s, const struct msg *m)
{
	struct snap_asm *a = s->asm_;
	struct sync_snap_hdr h;
	size_t off, n0;

	if (is_master(s) || sync_snap_decode(m->payload, m->len, &h, &off) < 0)
		return;
	if (a->sender != m->sender || a->snap_id != h.snap_id || a->nchunks != h.nchunks) {
		a->n = 0;
		a->have = 0;
		a->sender = m->sender;
		a->snap_id = h.snap_id;
		a->nchunks = h.nchunks;
		a->state_seq = h.state_seq;
		snprintf(a->master, sizeof(a->master), "%s", h.master);
	}
	if (a->have & (1ull << h.chunk))
		return;
	n0 = a->n;
	for (uint16_t i = 0; i < h.nservers; i++) {
		if (a->n == SYNC_MAX_SERVERS ||
		    sync_snap_server(m->payload, m->len, &off, &a->srv[a->n]) < 0)
			break;
		a->n++;
	}
	if (a->n != n0 + h.nservers || off != m->len) {
		s->c.bad_payload++;
		a->n = n0; /* this chunk never happened */
		return;
	}
	a->have |= 1ull << h.chunk;
	if (a->have != (h.nchunks == 64 ? ~0ull : (1ull << h.nchunks) - 1))
		return;
	/* A new MASTER's state replaces ours whatever its sequence; from the
	 * same one, never go back. */
	node_seen(s, a->sender, a->master);
	if (a->sender == s->applied_from && a->state_seq < s->state_seq)
		return;
	apply_snapshot(s, a);
	a->snap_id = 0;
	a->n = 0;
}

static void rx_delta(struct sync *s, const struct msg *m)
{
	struct sync_delta d;

	if (is_master(s))
		return;
	if (sync_delta_decode(m->payload, m->len, &d) < 0) {
		s->c.bad_payload++;
		return;
	}
	if (m->sender != s->applied_from || d.state_seq > s->state_seq + 1) {
		s->c.gaps++;
		sync_request_snapshot(s);
		return;
	}
	if (d.state_seq <= s->state_seq)
		return; /* already have it (from a snapshot) */
	s->applying = true;
	if (d.op == SYNC_OP_REMOVE)
		apply_remove(s, d.srv.name);
	else
		apply_server(s, &d.srv);
	s->applying = false;
	s->state_seq = d.state_seq;
	s->c.rx_deltas++;
	if (s->hooks.applied)
		s->hooks.applied(s->hooks.arg, s->state_seq, false, NULL);
}

/* A snapshot request or MSG_ALIVE: a BACKUP holds this session (and is
 * alive now).  false if the payload is bad. */
static bool rx_backup(struct sync *s, struct session *ss, const struct msg *m)
{
	struct sync_request q;
	struct sync_node *n;

	if (!ss || sync_request_decode(m->payload, m->len, &q) < 0)
		return false;
	if ((n = node_seen(s, m->sender, q.node))) {
		n->priority = q.priority;
		n->backup_session = true;
	}
	return true;
}

static void rx_request(struct sync *s, struct session *ss, const struct msg *m)
{
	if (!rx_backup(s, ss, m) || !is_master(s))
		return;
	s->c.requests_served++;
	send_snapshot(s, ss);
	sync_session_served(ss);
}

/* ---- receiving (both channels) ---- */

/* ---- the election's inputs: s->vrrp, and the other VRRP instances
 * through the hooks (ha.h "Instances") ---- */

void sync_source_proven(struct sync *s, struct in_addr src)
{
	vrrp_source_proven(s->vrrp, src);
	if (s->hooks.proven)
		s->hooks.proven(s->hooks.arg, src);
}

void sync_hold_preempt(struct sync *s, uint64_t until_ms)
{
	vrrp_hold_preempt(s->vrrp, until_ms);
	if (s->hooks.hold_preempt)
		s->hooks.hold_preempt(s->hooks.arg, until_ms);
}

void sync_hold_restart(struct sync *s)
{
	vrrp_hold_restart(s->vrrp, SYNC_RESTART_HOLD_MS);
	if (s->hooks.hold_restart)
		s->hooks.hold_restart(s->hooks.arg, SYNC_RESTART_HOLD_MS);
}

void sync_count_drop(struct sync *s, enum msg_drop why, struct in_addr from)
{
	uint64_t suppressed = 0;

	s->c.drops[why]++;
	if (why == MSG_DROP_MAC) { /* a balancer with another key (issue 20) */
		vrrp_source_key_differs(s->vrrp, from);
		if (s->hooks.key_differs)
			s->hooks.key_differs(s->hooks.arg, from);
	}
	if (log_limit_ok(&s->drop_limit[why], loop_now_ms(s->loop), LOG_LIMIT_LONG_MS,
			 &suppressed))
		log_warnx("sync: dropped a message from %s: %s (%llu more since last said)",
			  inet_ntoa(from), msg_drop_name(why), (unsigned long long)suppressed);
}

/* One datagram or one framed session message. */
void sync_rx_message(struct sync *s, struct session *ss, const uint8_t *buf, size_t len,
		     struct in_addr from)
{
	struct msg m;
	enum msg_drop why = msg_decode(s->key, buf, len, &m);

	if (why == MSG_OK && ss)
		sync_session_authed(ss); /* it holds the key: keep it past the auth timeout */
	/* A HELLO carries its own proof of freshness (the echo of our nonce)
	 * and is what makes an unknown sender known: not replay-checked. */
	if (why == MSG_OK && ss && m.type == MSG_HELLO) {
		sync_session_rx_hello(ss, &m);
		return;
	}
	if (why == MSG_OK)
		why = msg_replay_check(ss ? &s->replay_tcp : &s->replay_udp, &m,
				       loop_now_ms(s->loop));
	/* Liveness comes 50 times a second: from a sender whose sequence is
	 * not proven yet (our session to it is still saying HELLO) it is
	 * ignored, not counted as a drop (liveness_io.h). */
	if (why == MSG_DROP_STALE && m.type == MSG_LIVENESS)
		return;
	/* A datagram the sender sent just before the session message that
	 * proved it fresh, overtaken by that message: refused (it cannot be
	 * told from a replay), but no attack to count (msg.h). */
	if (why == MSG_DROP_REPLAY && !ss &&
	    msg_replay_in_flight_at_proof(&s->replay_udp, &m, loop_now_ms(s->loop))) {
		log_debug("sync: datagram %llu from %s sent before its session's proof: ignored",
			  (unsigned long long)m.seq, inet_ntoa(from));
		return;
	}
	if (why != MSG_OK) {
		sync_count_drop(s, why, from);
		return;
	}
	if (m.sender == s->self.s_addr)
		return; /* our own multicast */
	switch (m.type) {
	case MSG_SNAPSHOT:
		rx_snapshot(s, &m);
		break;
	case MSG_DELTA:
		rx_delta(s, &m);
		break;
	case MSG_SNAP_REQUEST:
		rx_request(s, ss, &m);
		break;
	case MSG_ALIVE:
		rx_backup(s, ss, &m);
		break;
	case MSG_TLS_KEYS:
		sync_tls_rx(s, &m);
		break;
	case MSG_INFLIGHT:
		sync_inflight_rx(s, &m);
		break;
	case MSG_SUCCESSOR:
		if (ss)
			sync_session_rx_successor(ss, &m);
		else
			s->c.bad_payload++;
		break;
	case MSG_LIVENESS:
		if (!ss)
			liveness_rx(s, &m);
		else
			s->c.bad_payload++; /* a datagram's message, not a session's */
		break;
	case MSG_BYE:
		if (ss)
			sync_session_rx_bye(ss, &m);
		else
			s->c.bad_payload++; /* a session's message, not a datagram's */
		break;
	default:
		s->c.bad_payload++;
		break; /* registration types: not on this port */
	}
	/* Issue 20: a balancer heard here, fresh and under its own address,
	 * keeps its VRRP adverts counting (a session: proven at its HELLO). */
	if (ss ? sync_session_addr_proven(ss) : from.s_addr == m.sender)
		sync_source_proven(s, from);
}

static void udp_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct sync *s = arg;
	uint8_t buf[MSG_MAX_LEN + 1];

	for (int i = 0; i < LOOP_IO_BATCH; i++) {
		struct sockaddr_in from = { 0 }; /* what the analyzer cannot see recvfrom fill */
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);

		if (n < 0)
			return;
		sync_rx_message(s, NULL, buf, (size_t)n, from.sin_addr);
	}
}

/* ---- life cycle ---- */

static int udp_open(struct sync *s)
{
	struct sockaddr_in any = { .sin_family = AF_INET,
				   .sin_port = htons(s->cfg->ha.sync_port) };
	struct ip_mreqn mreq = { .imr_ifindex = (int)if_nametoindex(s->cfg->ha.interface) };
	unsigned char ttl = 1, loop_off = 0;
	int one = 1;

	s->udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->udp_fd < 0)
		return -errno;
	inet_pton(AF_INET, SYNC_GROUP, &mreq.imr_multiaddr);
	s->group = (struct sockaddr_in){ .sin_family = AF_INET,
					 .sin_port = any.sin_port,
					 .sin_addr = mreq.imr_multiaddr };
	if (setsockopt(s->udp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s->udp_fd, (struct sockaddr *)&any, sizeof(any)) < 0 ||
	    setsockopt(s->udp_fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
	    setsockopt(s->udp_fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop_off, sizeof(loop_off)) <
		    0 ||
	    setsockopt(s->udp_fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) < 0)
		return -errno;
	if (!s->cfg->ha.npeers &&
	    setsockopt(s->udp_fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0)
		return -errno;
	return loop_add_fd(s->loop, s->udp_fd, LOOP_READ, udp_io, s);
}

static void seq_start(struct sync *s)
{
	char path[sizeof(s->cfg->node.state_dir) + 16];

	snprintf(path, sizeof(path), "%s/epoch-sync", s->cfg->node.state_dir);
	msg_seq_init(&s->tx_seq, path); /* logs a failure; the run goes on */
}

int sync_open(struct sync **out, struct loop *loop, const struct config *cfg, struct pool *pool,
	      struct vrrp *vrrp, const struct msg_key *key, struct in_addr self,
	      const struct sync_hooks *hooks)
{
	struct sync *s = calloc(1, sizeof(*s));
	int err;

	if (!s || !(s->asm_ = calloc(1, sizeof(*s->asm_)))) {
		free(s);
		return -ENOMEM;
	}
	*s = (struct sync){ .loop = loop,
			    .cfg = cfg,
			    .pool = pool,
			    .vrrp = vrrp,
			    .key = key,
			    .self = self,
			    .udp_fd = -1,
			    .asm_ = s->asm_ };
	if (hooks)
		s->hooks = *hooks;
	/* No first contact without proof (the sessions' HELLO exchange):
	 * replay_*.trust_first stays false.  Our own sequence starts above
	 * every earlier run. */
	seq_start(s);
	sync_sessions_init(s);
	loop_timer_init(&s->snap_timer, snap_timer_fired, s);
	if ((err = udp_open(s)) < 0 || (err = sync_sessions_open(s)) < 0 ||
	    (err = pool_add_observer(pool, pool_changed, s)) < 0 || (err = liveness_open(s)) < 0) {
		log_errno(err, "sync: cannot open port %u on %s", cfg->ha.sync_port,
			  cfg->ha.interface);
		sync_close(s);
		return err;
	}
	sync_tls_role(s, is_master(s));
	if (vrrp_get_state(vrrp) == VRRP_BACKUP) /* as at every entry into BACKUP */
		sync_hold_preempt(s, loop_now_ms(loop) + SYNC_PREEMPT_HOLD_MS);
	*out = s;
	return 0;
}

void sync_set_self(struct sync *s, struct in_addr self) { s->self = self; }

void sync_close(struct sync *s)
{
	if (!s)
		return;
	loop_timer_cancel(s->loop, &s->snap_timer);
	liveness_close(s);
	pool_remove_observer(s->pool, s);
	sync_sessions_close(s); /* first: a BYE "shutdown" to each BACKUP */
	if (s->udp_fd >= 0) {
		loop_del_fd(s->loop, s->udp_fd);
		close(s->udp_fd);
	}
	sync_inflight_free(s);
	free(s->asm_);
	free(s);
}

void sync_close_restart(struct sync *s)
{
	if (s)
		s->bye_reason = SYNC_BYE_RESTART;
	sync_close(s);
}

void sync_role_changed(struct sync *s)
{
	/* Whoever is MASTER next, its state replaces ours, whatever its
	 * sequence (it may have missed our changes while we led). */
	s->applied_from = is_master(s) ? s->self.s_addr : 0;
	sync_tls_role(s, is_master(s));
	liveness_role_changed(s);
	/* A BACKUP (a restarted node, a link back) takes the live MASTER's
	 * state before it may preempt it: otherwise it would serve a pool of
	 * servers it has not checked yet.  Bounded, in case no state comes. */
	if (vrrp_get_state(s->vrrp) == VRRP_BACKUP)
		sync_hold_preempt(s, loop_now_ms(s->loop) + SYNC_PREEMPT_HOLD_MS);
	if (is_master(s)) {
		sync_session_close_up(s);
		/* Our state continues from what we replicated; the new
		 * snapshot tells every backup to follow us. */
		s->state_seq++;
		send_snapshot(s, NULL);
		loop_timer_arm(s->loop, &s->snap_timer, SYNC_INTERVAL_MS);
	} else {
		loop_timer_cancel(s->loop, &s->snap_timer);
	}
}

void sync_get_stats(const struct sync *s, struct sync_stats *out)
{
	const struct sync_counters *c = &s->c;
	uint64_t now = loop_now_ms(s->loop);

	*out = (struct sync_stats){
		.state_seq = s->state_seq,
		.last_snapshot_age_ms =
			s->last_snapshot_ms ? (int64_t)(now - s->last_snapshot_ms) : -1,
		.has_session = s->up != NULL,
		.successor = sync_session_successor(s),
		.session_up = sync_session_established(s->up),
		.sessions_served = s->naccepted,
		.snapshots_sent = c->tx_snapshots,
		.deltas_sent = c->tx_deltas,
		.snapshots_applied = c->rx_snapshots,
		.deltas_applied = c->rx_deltas,
		.gaps = c->gaps,
		.master_lost = c->master_lost,
		.bad_payload = c->bad_payload,
		.requests_served = c->requests_served,
		.byes_sent = c->byes_sent,
		.byes_received = c->byes_received,
	};
	if (s->up)
		out->session_peer = sync_session_peer(s->up);
	memcpy(out->drops, c->drops, sizeof(out->drops));
	liveness_get_status(s, &out->liveness);
}
