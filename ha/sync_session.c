/* sync_session.c - the TCP side of state replication: each BACKUP's
 * session to the MASTER's sync port (HELLO exchange, snapshot requests and
 * answers, BYE) and the crash detector on it.  See sync_session.h; the UDP
 * channel and the state are in sync.c. */
#include "sync_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "successor.h"
#include "peer_check.h"
#include "sync_codec.h"
#include "vrrp.h"
#include "wire.h"

#define SYNC_POLL_MS          50 /* BACKUP: follow the master's address */
#define SYNC_RECONNECT_MS     100
#define SYNC_AUTH_TIMEOUT_MS  2000 /* an accepted session must prove the key by then */
#define SYNC_SESSION_OUT_MAX  (256 * 1024)
#define SYNC_LINGER_MS        2000 /* a session closed with a BYE: time for the peer to read it */
#define SYNC_PROBE_RETRY_MS   200  /* sync_probe: one attempt per address this often */
#define SYNC_PROBE_TIMEOUT_MS 1000 /* a probe not proven by then is closed */

struct session {
	struct sync *s;
	int fd;
	struct in_addr peer;
	bool outgoing;    /* ours: to the MASTER, or a probe */
	bool probe;       /* ours, only to see its peer prove the key (sync_probe) */
	bool addr_proven; /* the peer proved the key under its own address */
	bool established;
	bool authed;           /* sent a message that verified */
	bool dead, dead_crash; /* failed: closed by its owner's next step */
	uint64_t nonce;        /* our HELLO challenge on this session */
	bool hello_answered;   /* we echoed the peer's nonce once */
	bool proven;           /* the peer echoed our nonce: its sequence is fresh */
	uint8_t bye_in;        /* enum sync_bye the peer sent, 0 if none */
	bool closing;          /* we sent a BYE: drain, half-close, then close */
	bool peer_closed;      /* EOF or reset from the peer's kernel (not a timeout) */
	bool served;           /* incoming: we sent it a snapshot (successor.h "ready") */
	bool succ_sent;        /* incoming: succ is the successor we last named on it */
	bool succ_named;       /* ours to the MASTER: succ is the one it named */
	struct in_addr succ;
	size_t head_left; /* bytes of the frame at out[0] still to send */
	uint64_t opened_ms;
	uint8_t in[2 + MSG_MAX_LEN];
	size_t inlen;
	uint8_t *out;
	size_t outlen, outcap;
	struct list link; /* in s->accepted (incoming only) */
};

static void session_close(struct session *ss, bool crash_check);
static void session_write(struct session *ss);
static void session_bye(struct session *ss, uint8_t reason);
static void session_io(struct loop *loop, int fd, unsigned events, void *arg);

/* ---- sending ---- */

/* A session that failed is only marked: it is closed (and freed) by the
 * event handler or the poll timer, never under a caller still using it. */
static void session_fail(struct session *ss, bool crash)
{
	ss->dead = true;
	ss->dead_crash |= crash;
}

/* Room for need bytes of output (need <= SYNC_SESSION_OUT_MAX + a BYE). */
static int out_reserve(struct session *ss, size_t need)
{
	size_t cap = need * 2 < SYNC_SESSION_OUT_MAX ? need * 2 : SYNC_SESSION_OUT_MAX;
	uint8_t *p;

	if (need <= ss->outcap)
		return 0;
	if (cap < need)
		cap = need;
	if (!(p = realloc(ss->out, cap)))
		return -ENOMEM;
	ss->out = p;
	ss->outcap = cap;
	return 0;
}

/* Queue one framed message on a session: [u16 length][envelope]. */
void sync_session_send(struct session *ss, const uint8_t *buf, size_t len)
{
	size_t need = ss->outlen + 2 + len;

	if (ss->dead || ss->closing)
		return;
	if (need > SYNC_SESSION_OUT_MAX) {
		log_warnx("sync: session with %s is not reading: closing it", inet_ntoa(ss->peer));
		session_bye(ss, SYNC_BYE_SLOW_READER);
		return;
	}
	if (out_reserve(ss, need) < 0) {
		session_fail(ss, false);
		return;
	}
	wire_put16(ss->out + ss->outlen, (uint16_t)len);
	memcpy(ss->out + ss->outlen + 2, buf, len);
	ss->outlen += 2 + len;
	session_write(ss);
}

/* Close a session on purpose, telling the peer why first (item: a live
 * MASTER's close must not read as its crash).  The frames not started
 * yet are dropped - the peer is leaving or not reading them anyway - so
 * the BYE fits whatever filled the queue. */
static void session_bye(struct session *ss, uint8_t reason)
{
	uint8_t payload[4], buf[MSG_MAX_LEN];
	int plen, len;

	if (ss->dead || ss->closing)
		return;
	plen = sync_bye_encode(reason, payload, sizeof(payload));
	len = plen < 0 ? plen
		       : sync_envelope(ss->s, MSG_BYE, payload, (size_t)plen, buf, sizeof(buf));
	if (len < 0 || !ss->established || out_reserve(ss, ss->head_left + 2 + (size_t)len) < 0) {
		session_fail(ss, false); /* nothing can go: just close */
		return;
	}
	ss->outlen = ss->head_left;
	wire_put16(ss->out + ss->outlen, (uint16_t)len);
	memcpy(ss->out + ss->outlen + 2, buf, (size_t)len);
	ss->outlen += 2 + (size_t)len;
	ss->closing = true;
	ss->opened_ms = loop_now_ms(ss->s->loop); /* the linger starts now */
	ss->s->c.byes_sent++;
	log_info("sync: closing the session with %s: %s", inet_ntoa(ss->peer),
		 sync_bye_name(reason));
	session_write(ss);
}

/* ---- the nonce exchange and BYE ---- */

/* Our HELLO: our nonce, and the peer's echoed (0 before we saw it). */
static void session_hello(struct session *ss, uint64_t echo)
{
	struct sync_hello h = { .nonce = ss->nonce, .echo = echo };
	uint8_t payload[16], buf[MSG_MAX_LEN];
	int plen = sync_hello_encode(&h, payload, sizeof(payload));
	int len = plen < 0 ? plen
			   : sync_envelope(ss->s, MSG_HELLO, payload, (size_t)plen, buf,
					   sizeof(buf));

	if (len > 0)
		sync_session_send(ss, buf, (size_t)len);
}

static void session_proven(struct sync *s, struct session *ss, const struct msg *m)
{
	uint64_t now = loop_now_ms(s->loop);

	ss->proven = true;
	/* This message was sent after the peer saw our nonce: it and all
	 * that follow from that sender, on either channel, are fresh. */
	msg_replay_learn(&s->replay_tcp, m->sender, m->seq, now);
	msg_replay_learn(&s->replay_udp, m->sender, m->seq, now);
	if (ss->outgoing && !ss->probe)
		sync_request_snapshot(s); /* the MASTER knows us too by now */
	/* Issue 20: its VRRP adverts count from now.  Only under its own
	 * address: a host without the key could relay another balancer's
	 * HELLO into its own session, but not as itself. */
	ss->addr_proven = m->sender == ss->peer.s_addr;
	if (ss->addr_proven)
		sync_source_proven(s, ss->peer);
	if (ss->probe)
		session_fail(ss, false); /* that was all it was for (our answer went first) */
}

/* docs/protocol.md "Anti-replay": the session's nonce exchange. */
void sync_session_rx_hello(struct session *ss, const struct msg *m)
{
	struct sync *s = ss->s;
	struct sync_hello h;

	if (sync_hello_decode(m->payload, m->len, &h) < 0) {
		s->c.bad_payload++;
		return;
	}
	if (h.echo == ss->nonce && !ss->proven)
		session_proven(s, ss, m);
	else if (h.echo != ss->nonce && !ss->hello_answered) {
		ss->hello_answered = true;
		session_hello(ss, h.nonce);
	}
}

/* The peer closes on purpose: its EOF that follows is not a crash,
 * unless the peer says it is stopping. */
void sync_session_rx_bye(struct session *ss, const struct msg *m)
{
	struct sync *s = ss->s;
	uint8_t why;

	if (sync_bye_decode(m->payload, m->len, &why) < 0) {
		s->c.bad_payload++;
		return;
	}
	ss->bye_in = why;
	s->c.byes_received++;
	log_info("sync: %s closes our session: %s", inet_ntoa(ss->peer), sync_bye_name(why));
	session_fail(ss, why == SYNC_BYE_SHUTDOWN);
	if (why == SYNC_BYE_RESTART && ss->outgoing && !ss->probe)
		sync_hold_restart(s); /* our MASTER: its next process comes */
}

/* ---- I/O and the crash detector ---- */

static void session_update_mask(struct session *ss)
{
	unsigned mask = LOOP_READ | (ss->outlen || !ss->established ? LOOP_WRITE : 0);

	loop_set_mask(ss->s->loop, ss->fd, mask);
}

/* Keep track of frame boundaries in out, so a BYE can replace the
 * frames not started yet without cutting one in half. */
static void account_sent(struct session *ss, size_t n)
{
	size_t off = 0;

	while (off < n) {
		size_t take;

		if (!ss->head_left)
			ss->head_left = 2 + (size_t)wire_get16(ss->out + off);
		take = ss->head_left < n - off ? ss->head_left : n - off;
		ss->head_left -= take;
		off += take;
	}
}

static void session_write(struct session *ss)
{
	while (!ss->dead && ss->established && ss->outlen) {
		ssize_t n = send(ss->fd, ss->out, ss->outlen, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			ss->peer_closed = errno == EPIPE || errno == ECONNRESET;
			session_fail(ss, true);
			return;
		}
		account_sent(ss, (size_t)n);
		memmove(ss->out, ss->out + n, ss->outlen - (size_t)n);
		ss->outlen -= (size_t)n;
	}
	/* A BYE went out whole: half-close, so the peer reads it, then EOF;
	 * we close when its EOF comes (or at SYNC_LINGER_MS). */
	if (!ss->dead && ss->closing && !ss->outlen)
		shutdown(ss->fd, SHUT_WR);
	session_update_mask(ss);
}

/* The crash detector: our session to the MASTER ended.  If that node is
 * still the one we follow, its process is gone (its kernel closed the
 * socket): RFC 5798 lets a backup act on priority 0 at Skew_Time, and this
 * is the same news, earlier. */
/* The named successor's check of its lost MASTER (peer_check.h): take
 * over now if its process is gone and we still wait for it. */
static void confirm_verdict(void *arg, struct in_addr peer, bool gone, const char *how)
{
	struct sync *s = arg;
	struct vrrp_status st;

	if (!gone) {
		log_warnx("sync: MASTER %s %s: no early takeover, the RFC timer runs on",
			  inet_ntoa(peer), how);
		return;
	}
	vrrp_get_status(s->vrrp, &st);
	if (st.state != VRRP_BACKUP || st.master.s_addr != peer.s_addr)
		return;
	log_warnx("sync: MASTER %s %s: its process is gone, taking over now as its named "
		  "successor",
		  inet_ntoa(peer), how);
	vrrp_successor_takeover(s->vrrp);
}

/* A dead MASTER's kernel answers in one round trip, but a loaded node may
 * read it late; a late "refused" still beats the RFC timer
 * (Master_Down_Interval, about 3 adverts), so wait that long. */
static void confirm_start(struct sync *s, struct in_addr peer)
{
	if (!s->confirm && peer_check_create(&s->confirm, s->loop, s->cfg->ha.sync_port,
					     confirm_verdict, s) < 0) {
		log_warnx("sync: no memory to check MASTER %s's sync port: the RFC timer runs on",
			  inet_ntoa(peer));
		return;
	}
	peer_check_cancel(s->confirm); /* only the latest MASTER matters */
	peer_check_start(s->confirm, peer, 3 * s->cfg->ha.advert_interval_ms);
}

static void master_session_lost(struct sync *s, struct in_addr peer,
				const struct successor_view *view)
{
	struct vrrp_status st;
	enum successor_action a;
	char succ[INET_ADDRSTRLEN];

	/* The other VRRP instances whose MASTER it was (ha.h "Instances"). */
	if (view->peer_closed && s->hooks.peer_lost)
		s->hooks.peer_lost(s->hooks.arg, peer);
	vrrp_get_status(s->vrrp, &st);
	if (st.state != VRRP_BACKUP || st.master.s_addr != peer.s_addr)
		return;
	s->c.master_lost++;
	a = successor_on_crash(view);
	inet_ntop(AF_INET, &view->succ, succ, sizeof(succ));
	if (a == SUCC_TAKE_NOW) {
		log_warnx("sync: session to MASTER %s closed by its kernel: "
			  "we are its named successor, checking its sync port",
			  inet_ntoa(peer));
		confirm_start(s, peer);
	} else if (a == SUCC_RFC_SKEW) {
		log_warnx("sync: session to MASTER %s closed by its kernel: "
			  "taking over as after priority 0 (successor: %s)",
			  inet_ntoa(peer), view->named && view->succ.s_addr ? succ : "none");
		vrrp_master_lost(s->vrrp);
	} else {
		log_warnx("sync: session to MASTER %s closed by its kernel: "
			  "its named successor %s moves first, we keep Master_Down_Interval",
			  inet_ntoa(peer), succ);
	}
	/* SUCC_RFC_WAIT: the Master_Down_Timer armed by its last advert runs on */
}

static void session_close(struct session *ss, bool crash_check)
{
	struct sync *s = ss->s;
	struct in_addr peer = ss->peer;
	/* A session the MASTER ended with a BYE is not its crash (only a
	 * BYE "shutdown" still is: it is leaving). */
	bool lost = crash_check && ss->outgoing && !ss->probe && ss->established &&
		    (!ss->bye_in || ss->bye_in == SYNC_BYE_SHUTDOWN);
	/* The other side of it, for the VRRP instances whose MASTER the
	 * BACKUP may be (sync.h, peer_closed): a BACKUP's session (it was
	 * served a snapshot: not a probe, which ends on purpose). */
	bool closed = crash_check && !ss->outgoing && ss->served && ss->addr_proven &&
		      ss->peer_closed && !ss->bye_in;
	struct successor_view view = {
		.named = ss->succ_named,
		.succ = ss->succ,
		.self = s->self,
		.have_state = s->applied_from == peer.s_addr && s->c.rx_snapshots > 0,
		.peer_closed = ss->peer_closed && !ss->bye_in,
	};

	loop_del_fd(s->loop, ss->fd);
	close(ss->fd);
	if (ss->probe) {
		list_del(&ss->link);
		s->nprobes--;
	} else if (ss->outgoing) {
		if (s->up == ss)
			s->up = NULL;
	} else {
		list_del(&ss->link);
		s->naccepted--;
		sync_node_gone(s, peer);
	}
	free(ss->out);
	free(ss);
	if (lost)
		master_session_lost(s, peer, &view);
	if (closed && s->hooks.peer_closed)
		s->hooks.peer_closed(s->hooks.arg, peer);
}

static void session_read(struct session *ss)
{
	ssize_t n = recv(ss->fd, ss->in + ss->inlen, sizeof(ss->in) - ss->inlen, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ss->peer_closed = n == 0 || errno == ECONNRESET;
		session_fail(ss, !ss->closing); /* our BYE went out: its end is ours */
		return;
	}
	if (ss->closing)
		return; /* read and dropped: unread data would make close() send a reset */
	ss->inlen += (size_t)n;
	while (!ss->dead && ss->inlen >= 2) {
		size_t len = wire_get16(ss->in);

		if (len > MSG_MAX_LEN) {
			sync_count_drop(ss->s, MSG_DROP_OVERSIZE, ss->peer);
			session_bye(ss, SYNC_BYE_PROTOCOL);
			return;
		}
		if (ss->inlen < 2 + len)
			return;
		sync_rx_message(ss->s, ss, ss->in + 2, len,
				ss->peer); /* may mark it dead, never frees it */
		memmove(ss->in, ss->in + 2 + len, ss->inlen - 2 - len);
		ss->inlen -= 2 + len;
	}
}

static void session_connected(struct session *ss)
{
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(ss->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		session_fail(ss, false); /* not established: not a crash */
		return;
	}
	ss->established = true;
	if (!ss->probe)
		log_info("sync: session to MASTER %s up", inet_ntoa(ss->peer));
	session_hello(ss, 0); /* the snapshot request follows the nonce exchange */
	session_update_mask(ss);
}

static void session_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct session *ss = arg;

	if (!ss->dead && !ss->established)
		session_connected(ss);
	else if (!ss->dead && (events & LOOP_WRITE))
		session_write(ss);
	if (!ss->dead && ss->established && (events & LOOP_READ))
		session_read(ss);
	if (ss->dead)
		session_close(ss, ss->dead_crash);
}

/* ---- connecting, accepting, polling ---- */

static struct session *session_new(struct sync *s, int fd, struct in_addr peer, bool outgoing)
{
	struct session *ss = calloc(1, sizeof(*ss));

	if (!ss ||
	    loop_add_fd(s->loop, fd, outgoing ? LOOP_WRITE : LOOP_READ, session_io, ss) < 0) {
		free(ss);
		close(fd);
		return NULL;
	}
	ss->s = s;
	ss->fd = fd;
	ss->peer = peer;
	ss->outgoing = outgoing;
	ss->established = !outgoing;
	ss->opened_ms = loop_now_ms(s->loop);
	list_init(&ss->link);
	/* Non-blocking: the kernel's pool is long initialised once the
	 * network is up; a zero nonce is never used (it means "none"). */
	while (!ss->nonce)
		if (getrandom(&ss->nonce, sizeof(ss->nonce), GRND_NONBLOCK) != sizeof(ss->nonce))
			ss->nonce =
				(uint64_t)loop_now_ms(s->loop) ^ ((uint64_t)(uintptr_t)ss << 16);
	if (!outgoing)
		session_hello(ss, 0);
	return ss;
}

/* A session from our primary address (the one our HELLO names as sender
 * id: the peer binds its proof to it) to peer's sync port.  NULL if the
 * connect failed at once. */
static struct session *session_open_to(struct sync *s, struct in_addr peer)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(s->cfg->ha.sync_port),
				  .sin_addr = peer };
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_addr = s->self };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((s->self.s_addr && bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0) ||
	    (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EINPROGRESS)) {
		close(fd);
		return NULL;
	}
	return session_new(s, fd, peer, true);
}

static void session_connect(struct sync *s, struct in_addr master)
{
	s->up_attempt_ms = loop_now_ms(s->loop);
	s->up = session_open_to(s, master);
}

/* Was addr probed within SYNC_PROBE_RETRY_MS?  If not, note it now. */
static bool probed_recently(struct sync *s, struct in_addr addr, uint64_t now)
{
	size_t slot = 0;

	for (size_t i = 0; i < SYNC_PROBE_MEMORY; i++) {
		if (s->probed[i].addr.s_addr == addr.s_addr) {
			if (now - s->probed[i].at_ms < SYNC_PROBE_RETRY_MS)
				return true;
			slot = i;
			break;
		}
		if (s->probed[i].at_ms < s->probed[slot].at_ms)
			slot = i; /* else the one probed longest ago makes room */
	}
	s->probed[slot].addr = addr;
	s->probed[slot].at_ms = now;
	return false;
}

void sync_probe(struct sync *s, struct in_addr addr)
{
	struct session *ss;

	if (!addr.s_addr || addr.s_addr == s->self.s_addr || s->nprobes >= SYNC_MAX_PROBES ||
	    probed_recently(s, addr, loop_now_ms(s->loop)))
		return;
	if (!(ss = session_open_to(s, addr)))
		return;
	ss->probe = true;
	list_add_tail(&s->probes, &ss->link);
	s->nprobes++;
}

/* Close accepted sessions that have not sent a valid message within
 * SYNC_AUTH_TIMEOUT_MS (or, with max_age UINT64_MAX, the oldest one such
 * at once).  Returns true if one was closed. */
static bool evict_unauthed(struct sync *s, uint64_t max_age)
{
	struct session *oldest = NULL;
	uint64_t now = loop_now_ms(s->loop);
	struct list *pos;

	list_for_each (pos, &s->accepted) {
		struct session *ss = list_entry(pos, struct session, link);

		if (!ss->authed && (!oldest || ss->opened_ms < oldest->opened_ms))
			oldest = ss;
	}
	if (!oldest || (max_age != UINT64_MAX && now - oldest->opened_ms < max_age))
		return false;
	sync_count_drop(s, MSG_DROP_SHORT, oldest->peer); /* nothing valid came */
	session_close(oldest, false);
	return true;
}

/* The acceptor's callback (core/lib/acceptor.h): -ENOMEM pauses accepting. */
static int accept_io(void *arg, int fd, const struct sockaddr_storage *peer)
{
	struct sync *s = arg;
	struct sockaddr_in from = *(const struct sockaddr_in *)peer;
	struct session *ss;

	/* Full: make room by dropping the oldest session that never proved
	 * the key, so idle strangers cannot lock the backups out. */
	if (s->naccepted >= SYNC_MAX_SESSIONS && !evict_unauthed(s, UINT64_MAX)) {
		close(fd);
		return 0;
	}
	if (!(ss = session_new(s, fd, from.sin_addr, false)))
		return -ENOMEM; /* session_new closed fd */
	list_add_tail(&s->accepted, &ss->link);
	s->naccepted++;
	return 0;
}

/* Close our session to the MASTER (s->up is cleared before the free). */
static void close_up(struct sync *s, bool crash_check)
{
	struct session *up = s->up;

	s->up = NULL;
	if (up)
		session_close(up, crash_check);
}

/* Sessions that failed outside their own event (a send from the UDP path),
 * and sessions we closed with a BYE that lingered long enough. */
static void sweep_dead(struct sync *s)
{
	struct list *pos, *tmp;

	uint64_t now = loop_now_ms(s->loop);

	if (s->up && s->up->dead)
		close_up(s, s->up->dead_crash);
	list_for_each_safe (pos, tmp, &s->probes) {
		struct session *ss = list_entry(pos, struct session, link);

		if (ss->dead || now - ss->opened_ms >= SYNC_PROBE_TIMEOUT_MS)
			session_close(ss, false);
	}
	list_for_each_safe (pos, tmp, &s->accepted) {
		struct session *ss = list_entry(pos, struct session, link);

		/* A BYE the peer did not read within the linger: give up. */
		if (ss->dead || (ss->closing && now - ss->opened_ms >= SYNC_LINGER_MS))
			session_close(ss, ss->dead_crash);
	}
}

/* ---- the named successor (issue 15, successor.h) ---- */

static uint8_t node_priority(const struct sync *s, struct in_addr a)
{
	for (unsigned i = 0; i < s->nnodes; i++)
		if (s->nodes[i].addr.s_addr == a.s_addr)
			return s->nodes[i].priority;
	return 0;
}

static void send_successor(struct sync *s, struct session *ss)
{
	uint8_t payload[SUCCESSOR_PAYLOAD_LEN], buf[MSG_MAX_LEN];
	int plen = successor_encode(s->successor, payload, sizeof(payload));
	int len = plen < 0 ? plen
			   : sync_envelope(s, MSG_SUCCESSOR, payload, (size_t)plen, buf,
					   sizeof(buf));

	if (len < 0)
		return;
	sync_session_send(ss, buf, (size_t)len);
	ss->succ_sent = true;
	ss->succ = s->successor;
}

/* MASTER: name the best ready BACKUP, and tell every proven session when
 * its last word differs - the one named before first, so an old successor
 * is told before a new one is. */
static void successor_refresh(struct sync *s, bool master)
{
	struct successor_cand c[SYNC_MAX_SESSIONS];
	struct in_addr old = s->successor;
	size_t n = 0;
	struct list *pos;
	char a[INET_ADDRSTRLEN];

	list_for_each (pos, &s->accepted) {
		struct session *ss = list_entry(pos, struct session, link);

		if (n < SYNC_MAX_SESSIONS)
			c[n++] = (struct successor_cand){
				.addr = ss->peer,
				.priority = node_priority(s, ss->peer),
				.ready = !ss->dead && !ss->closing && ss->served &&
					 ss->addr_proven && sync_session_ready(ss),
			};
	}
	s->successor = master ? successor_choose(c, n) : (struct in_addr){ 0 };
	if (!master)
		return;
	if (s->successor.s_addr != old.s_addr)
		log_info("sync: named successor: %s",
			 s->successor.s_addr ? inet_ntop(AF_INET, &s->successor, a, sizeof(a))
					     : "none");
	for (int pass = 0; pass < 2; pass++)
		list_for_each (pos, &s->accepted) {
			struct session *ss = list_entry(pos, struct session, link);
			bool first = ss->peer.s_addr == old.s_addr;

			if ((pass == 0) != first || ss->dead || ss->closing || !ss->addr_proven ||
			    !sync_session_ready(ss))
				continue;
			if (!ss->succ_sent || ss->succ.s_addr != s->successor.s_addr)
				send_successor(s, ss);
		}
}

void sync_session_served(struct session *ss) { ss->served = true; }

void sync_session_rx_successor(struct session *ss, const struct msg *m)
{
	struct in_addr succ;
	char a[INET_ADDRSTRLEN];

	if (!ss->outgoing || ss->probe || ss != ss->s->up ||
	    successor_decode(m->payload, m->len, &succ) < 0) {
		ss->s->c.bad_payload++;
		return;
	}
	if (!ss->succ_named || ss->succ.s_addr != succ.s_addr)
		log_info("sync: MASTER %s names its successor: %s%s", inet_ntoa(ss->peer),
			 succ.s_addr ? inet_ntop(AF_INET, &succ, a, sizeof(a)) : "none",
			 succ.s_addr == ss->s->self.s_addr ? " (us)" : "");
	ss->succ_named = true;
	ss->succ = succ;
}

struct in_addr sync_session_successor(const struct sync *s)
{
	if (s->up && s->up->succ_named)
		return s->up->succ;
	return s->successor;
}

/* BACKUP: keep one session to the MASTER we hear; anything else: none. */
static void poll_fired(struct loop *loop, struct loop_timer *t)
{
	struct sync *s = t->arg;
	struct vrrp_status st;

	while (evict_unauthed(s, SYNC_AUTH_TIMEOUT_MS))
		;
	sweep_dead(s);
	vrrp_get_status(s->vrrp, &st);
	successor_refresh(s, st.state == VRRP_MASTER);
	if (st.state != VRRP_BACKUP || !st.master.s_addr || st.master.s_addr == s->self.s_addr ||
	    (s->up && s->up->peer.s_addr != st.master.s_addr)) {
		close_up(s, false); /* not a BACKUP, or a new MASTER to follow */
	} else if (!s->up && loop_now_ms(loop) - s->up_attempt_ms >= SYNC_RECONNECT_MS) {
		session_connect(s, st.master);
	} else if (s->up && loop_now_ms(loop) - s->alive_ms >= s->cfg->ha.advert_interval_ms) {
		sync_say_alive(s);
	}
	/* Issue 20: a live session to the MASTER, proven under its address,
	 * keeps the MASTER's adverts counting even while its snapshots are
	 * lost (no probe needed). */
	if (s->up && !s->up->dead && sync_session_ready(s->up) && s->up->addr_proven)
		sync_source_proven(s, s->up->peer);
	loop_timer_arm(loop, t, SYNC_POLL_MS);
}

static int tcp_open(struct sync *s)
{
	struct sockaddr_in any = { .sin_family = AF_INET,
				   .sin_port = htons(s->cfg->ha.sync_port) };
	int one = 1;

	s->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->tcp_fd < 0)
		return -errno;
	if (setsockopt(s->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s->tcp_fd, (struct sockaddr *)&any, sizeof(any)) < 0 || listen(s->tcp_fd, 64) < 0)
		return -errno;
	return acceptor_start(&s->tcp_acceptor, s->loop, s->tcp_fd, "sync listener",
			      SYNC_MAX_SESSIONS, accept_io, s);
}

/* ---- what sync.c asks of its sessions (sync_session.h) ---- */

int sync_sessions_open(struct sync *s)
{
	int err = tcp_open(s);

	if (!err)
		loop_timer_arm(s->loop, &s->poll_timer, SYNC_POLL_MS);
	return err;
}

void sync_sessions_init(struct sync *s)
{
	s->tcp_fd = -1;
	list_init(&s->accepted);
	list_init(&s->probes);
	loop_timer_init(&s->poll_timer, poll_fired, s);
}

void sync_sessions_close(struct sync *s)
{
	loop_timer_cancel(s->loop, &s->poll_timer);
	peer_check_destroy(s->confirm);
	s->confirm = NULL;
	/* Our MASTER reads the end of our session as a possible crash of
	 * ours when we are the MASTER of another VRRP instance (sync.h,
	 * peer_closed): say why, as to the BACKUPs below (best effort). */
	if (s->up)
		session_bye(s->up, s->bye_reason ? s->bye_reason : SYNC_BYE_SHUTDOWN);
	close_up(s, false);
	for (struct list *e; (e = list_pop_head(&s->probes));)
		session_close(list_entry(e, struct session, link), false);
	/* Popped first (list_del of an unlinked element is a no-op), so the
	 * loop never looks at a session that session_close freed. */
	for (struct list *e; (e = list_pop_head(&s->accepted));) {
		struct session *ss = list_entry(e, struct session, link);

		/* best effort: we are leaving (or being replaced) */
		session_bye(ss, s->bye_reason ? s->bye_reason : SYNC_BYE_SHUTDOWN);
		session_close(ss, false);
	}
	if (s->tcp_fd >= 0) {
		acceptor_stop(&s->tcp_acceptor);
		close(s->tcp_fd);
	}
}

void sync_session_close_up(struct sync *s) { close_up(s, false); }

void sync_session_authed(struct session *ss) { ss->authed = true; }

bool sync_session_ready(const struct session *ss) { return ss && ss->established && ss->proven; }

bool sync_session_established(const struct session *ss) { return ss && ss->established; }

bool sync_session_addr_proven(const struct session *ss) { return ss->addr_proven; }

struct in_addr sync_session_peer(const struct session *ss) { return ss->peer; }
