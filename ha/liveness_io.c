/* liveness_io.c - the fast liveness exchange (see liveness_io.h): one
 * timer sends MSG_LIVENESS every interval, one watches the MASTER's path,
 * and a silent MASTER's kernel is asked with TCP SYNs before the named
 * successor takes over. */
#include "liveness_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "sync_session.h"
#include "vrrp.h"

#define LIVENESS_MAX_PATHS   16
#define LIVENESS_CONFIRM_N   10 /* SYNs side by side: lost ones are no verdict */
#define LIVENESS_CONFIRM_MIN 10 /* ms: the kernel's answer needs a LAN round trip */
#define LIVENESS_BACKUP_MULT 5  /* a BACKUP sends every 5 intervals */

struct liveness;

struct live_probe { /* one SYN of the check */
	struct liveness *l;
	int fd;
};

struct liveness {
	struct sync *s;
	uint32_t interval_ms;
	struct loop_timer tx_timer, check_timer, confirm_timer;
	struct {
		struct in_addr addr;
		struct liveness_path p;
	} paths[LIVENESS_MAX_PATHS];
	size_t npaths;
	bool suspect;           /* our MASTER's UP path fell silent, not heard since */
	bool confirm_active;    /* the SYN check runs (its sockets may all be gone) */
	bool confirm_silent;    /* ... and its wait ended unanswered (or refused) */
	bool confirm_refused;   /* ... a SYN was refused: nobody listens */
	struct in_addr watched; /* the MASTER the check timer watches */
	struct in_addr confirm_peer;
	struct live_probe probe[LIVENESS_CONFIRM_N];
	struct liveness_status c; /* the counters */
	struct log_limit limit;
};

static struct liveness_path *path_find(struct liveness *l, struct in_addr a)
{
	for (size_t i = 0; i < l->npaths; i++)
		if (l->paths[i].addr.s_addr == a.s_addr)
			return &l->paths[i].p;
	return NULL;
}

/* A slot for a, the one heard longest ago when full. */
static struct liveness_path *path_get(struct liveness *l, struct in_addr a)
{
	struct liveness_path *p = path_find(l, a);
	size_t slot = l->npaths;

	if (p)
		return p;
	if (l->npaths < LIVENESS_MAX_PATHS) {
		l->npaths++;
	} else {
		for (size_t i = slot = 0; i < l->npaths; i++)
			if (l->paths[i].p.last_rx_ms < l->paths[slot].p.last_rx_ms)
				slot = i;
	}
	memset(&l->paths[slot], 0, sizeof(l->paths[slot]));
	l->paths[slot].addr = a;
	l->paths[slot].p.state = LIVE_DOWN;
	return &l->paths[slot].p;
}

/* ---- sending ---- */

static void send_to(struct liveness *l, const struct sockaddr_in *to, uint8_t role,
		    enum liveness_state heard)
{
	struct sync *s = l->s;
	struct liveness_msg m = { .interval_ms = role == LIVENESS_ROLE_MASTER
							 ? l->interval_ms
							 : LIVENESS_BACKUP_MULT * l->interval_ms,
				  .role = role,
				  .heard = heard };
	uint8_t payload[LIVENESS_PAYLOAD_LEN], buf[MSG_MAX_LEN];
	int plen = liveness_encode(&m, payload, sizeof(payload));
	int len =
		plen < 0 ? plen
			 : sync_envelope(s, MSG_LIVENESS, payload, (size_t)plen, buf, sizeof(buf));

	if (len < 0)
		return;
	if (sendto(s->udp_fd, buf, (size_t)len, 0, (const struct sockaddr *)to, sizeof(*to)) < 0)
		return; /* the sync channel's own sends say it when the link fails */
	l->c.sent++;
}

/* MASTER: to the group, or each unicast peer (as the snapshots go). */
static void send_master(struct liveness *l)
{
	struct sync *s = l->s;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(s->cfg->ha.sync_port) };

	if (!s->cfg->ha.npeers) {
		send_to(l, &s->group, LIVENESS_ROLE_MASTER, LIVE_UP);
		return;
	}
	for (size_t i = 0; i < s->cfg->ha.npeers; i++) {
		struct liveness_path *p = path_find(l, s->cfg->ha.peers[i]);

		to.sin_addr = s->cfg->ha.peers[i];
		send_to(l, &to, LIVENESS_ROLE_MASTER, p ? p->state : LIVE_DOWN);
	}
}

/* BACKUP: to the MASTER it follows, once its session proved the key
 * (before that the MASTER would drop it as a stale first contact). */
static void send_backup(struct liveness *l, struct in_addr master)
{
	struct sync *s = l->s;
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(s->cfg->ha.sync_port),
				  .sin_addr = master };
	struct liveness_path *p = path_find(l, master);

	if (!sync_session_ready(s->up) || !sync_session_addr_proven(s->up) ||
	    sync_session_peer(s->up).s_addr != master.s_addr)
		return;
	send_to(l, &to, LIVENESS_ROLE_BACKUP, p ? p->state : LIVE_DOWN);
}

static void confirm_stop(struct liveness *l);

/* Follow the MASTER the election follows: a new one (or none) starts
 * without suspicion. */
static void watch_update(struct liveness *l, const struct vrrp_status *st)
{
	struct in_addr m = st->state == VRRP_BACKUP ? st->master : (struct in_addr){ 0 };

	if (m.s_addr == l->watched.s_addr)
		return;
	l->suspect = false;
	l->watched = m;
	loop_timer_cancel(l->s->loop, &l->check_timer);
	confirm_stop(l);
}

/* The MASTER sends every interval; a BACKUP every LIVENESS_BACKUP_MULT
 * intervals (BFD lets each side choose its rate): only the MASTER's
 * silence moves anything, a BACKUP's path is for status, and each
 * wake-up costs more than the packet (docs/robustness.md). */
static void tx_fired(struct loop *loop, struct loop_timer *t)
{
	struct liveness *l = t->arg;
	struct vrrp_status st;

	vrrp_get_status(l->s->vrrp, &st);
	if (st.state == VRRP_MASTER)
		send_master(l);
	else if (st.state == VRRP_BACKUP && st.master.s_addr)
		send_backup(l, st.master);
	watch_update(l, &st);
	loop_timer_arm(loop, t,
		       st.state == VRRP_MASTER ? l->interval_ms
					       : LIVENESS_BACKUP_MULT * l->interval_ms);
}

/* ---- the MASTER's kernel: SYNs to its sync port ---- */

static void confirm_stop(struct liveness *l)
{
	l->confirm_active = false;
	l->confirm_silent = false;
	l->confirm_refused = false;
	loop_timer_cancel(l->s->loop, &l->confirm_timer);
	for (int i = 0; i < LIVENESS_CONFIRM_N; i++) {
		struct linger rst = { .l_onoff = 1, .l_linger = 0 };

		if (l->probe[i].fd < 0)
			continue;
		/* A reset, not a FIN: no TIME_WAIT here, the MASTER's session
		 * for it ends at once. */
		setsockopt(l->probe[i].fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		loop_del_fd(l->s->loop, l->probe[i].fd);
		close(l->probe[i].fd);
		l->probe[i].fd = -1;
	}
}

static void take_over(struct liveness *l, const char *why)
{
	struct sync *s = l->s;
	struct liveness_path *p = path_find(l, l->confirm_peer);
	uint64_t silent = p ? loop_now_ms(s->loop) - p->last_rx_ms : 0;

	confirm_stop(l);
	l->suspect = false;
	if (vrrp_get_state(s->vrrp) != VRRP_BACKUP)
		return;
	l->c.takeovers++;
	log_warnx("liveness: MASTER %s silent for %llu ms (liveness and adverts), %s: "
		  "taking over now as its named successor",
		  inet_ntoa(l->confirm_peer), (unsigned long long)silent, why);
	vrrp_liveness_takeover(s->vrrp);
}

static void judge_now(struct liveness *l);

/* One SYN of the check is done with (closed; the others go on). */
static void probe_close(struct liveness *l, struct live_probe *pr)
{
	loop_del_fd(l->s->loop, pr->fd);
	close(pr->fd);
	pr->fd = -1;
}

static void confirm_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct live_probe *pr = arg;
	struct liveness *l = pr->l;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)loop;
	(void)events;
	(void)fd;
	if (getsockopt(pr->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	enum liveness_syn outcome = liveness_syn_outcome(err);

	if (outcome == LIVE_SYN_GONE && l->suspect) {
		/* Its kernel answers that nobody listens: the process is gone
		 * (or between two processes of an upgrade, which the rule sees:
		 * its BYE "restart" ended our session, so no successor). */
		probe_close(l, pr);
		l->confirm_silent = l->confirm_refused = true;
		judge_now(l);
	} else if (outcome != LIVE_SYN_NO_ANSWER) {
		/* Its kernel answers: not a power cut, a dead cable or a hung
		 * kernel (a refusal before the silence is detected: the crash
		 * detector's and the RFC's business). */
		if (l->suspect) {
			l->c.vetoed++;
			log_warnx("liveness: MASTER %s is silent but its kernel answers on its "
				  "sync port: no early takeover, the RFC timer runs on",
				  inet_ntoa(l->confirm_peer));
		}
		l->suspect = false; /* a new silence must come from an UP path again */
		confirm_stop(l);
	} else {
		probe_close(l, pr); /* unreachable: not an answer */
	}
}

/* No SYN answered within the wait: a late answer still vetoes. */
static void confirm_timeout(struct loop *loop, struct loop_timer *t)
{
	struct liveness *l = t->arg;

	(void)loop;
	l->confirm_silent = true;
	if (l->suspect)
		judge_now(l);
}

/* SYNs side by side to the MASTER's sync port.  A powered MASTER's
 * kernel answers them (SYN-ACK, or a reset when its process is gone)
 * however busy its process is; a dead box or a dead cable does not. */
static void confirm_start(struct liveness *l, struct in_addr master)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(l->s->cfg->ha.sync_port),
				  .sin_addr = master };
	uint32_t wait = l->interval_ms / 2 > LIVENESS_CONFIRM_MIN ? l->interval_ms / 2
								  : LIVENESS_CONFIRM_MIN;

	l->confirm_peer = master;
	l->confirm_active = true;
	l->confirm_silent = false;
	l->c.confirms++;
	for (int i = 0; i < LIVENESS_CONFIRM_N; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			continue;
		if ((connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 &&
		     errno != EINPROGRESS) ||
		    loop_add_fd(l->s->loop, fd, LOOP_WRITE, confirm_io, &l->probe[i]) < 0) {
			close(fd);
			continue;
		}
		l->probe[i].fd = fd;
	}
	loop_timer_arm(l->s->loop, &l->confirm_timer, wait);
}

/* ---- watching the MASTER's path (BACKUP) ---- */

static uint64_t advert_age(const struct sync *s, struct in_addr master, uint64_t now)
{
	struct vrrp_peer peers[VRRP_MAX_PEERS];
	size_t n = vrrp_get_peers(s->vrrp, peers, VRRP_MAX_PEERS);

	for (size_t i = 0; i < n; i++)
		if (peers[i].addr.s_addr == master.s_addr && peers[i].last_seen_ms)
			return now - peers[i].last_seen_ms;
	return UINT64_MAX;
}

static void gate_fill(struct liveness *l, const struct vrrp_status *st,
		      const struct liveness_path *p, struct liveness_gate *g)
{
	struct sync *s = l->s;
	uint64_t now = loop_now_ms(s->loop);

	*g = (struct liveness_gate){
		.backup = st->state == VRRP_BACKUP,
		.link_up = st->link_up && !st->track_fault && st->primary.s_addr,
		.successor = s->self.s_addr && sync_session_successor(s).s_addr == s->self.s_addr,
		.have_state = s->applied_from == st->master.s_addr && s->c.rx_snapshots > 0,
		.was_up = l->suspect,
		.silent_ms = now - p->last_rx_ms,
		.detect_ms = liveness_detect_ms(p),
		.advert_age_ms = advert_age(s, st->master, now),
		.master_adver_interval_ms = st->master_adver_interval_ms,
		.liveness_interval_ms = l->interval_ms,
	};
}

static void say_not_ours(struct liveness *l, struct in_addr master, const struct liveness_gate *g)
{
	if (log_limit_ok(&l->limit, loop_now_ms(l->s->loop), LOG_LIMIT_SHORT_MS, NULL))
		log_info("liveness: MASTER %s silent for %llu ms; %s: the RFC timers decide",
			 inet_ntoa(master), (unsigned long long)g->silent_ms,
			 !g->successor ? "not its named successor"
			 : !g->link_up ? "our own link is down"
				       : "not ready to take over");
}

/* The MASTER's path is silent (l->suspect): apply the rule.  Takes over
 * only with the SYN check done and unanswered. */
static void judge_now(struct liveness *l)
{
	struct vrrp_status st;
	struct liveness_path *p;
	struct liveness_gate g;

	vrrp_get_status(l->s->vrrp, &st);
	if (st.state != VRRP_BACKUP || !(p = path_find(l, st.master)))
		return;
	gate_fill(l, &st, p, &g);
	switch (liveness_judge(&g)) {
	case LIVE_WAIT_ADVERT:
		loop_timer_arm(l->s->loop, &l->check_timer,
			       liveness_advert_due_ms(&g) - g.advert_age_ms);
		break;
	case LIVE_CONFIRM:
		if (!l->confirm_active || l->confirm_peer.s_addr != st.master.s_addr)
			confirm_start(l, st.master);
		else if (l->confirm_silent)
			take_over(l,
				  l->confirm_refused
					  ? "its kernel refuses its sync port (process gone)"
					  : "its kernel does not answer a SYN to its sync port");
		break; /* else confirm_timeout() judges again */
	case LIVE_NOT_OURS:
		confirm_stop(l); /* a later verdict asks the kernel afresh */
		say_not_ours(l, st.master, &g);
		break;
	case LIVE_KEEP:
	case LIVE_NVERDICTS:
		break;
	}
}

/* Would we move if the path fell silent now?  Then the SYN check may
 * start one interval before the detection time, so that it is done when
 * the silence is. */
static bool could_move(struct liveness *l, const struct vrrp_status *st,
		       const struct liveness_path *p)
{
	struct liveness_gate g;

	gate_fill(l, st, p, &g);
	g.was_up = true;
	g.silent_ms = g.detect_ms;
	g.advert_age_ms = UINT64_MAX;
	return liveness_judge(&g) == LIVE_CONFIRM;
}

/* A datagram waits in the sync socket: our own loop ran late (a CPU hog
 * beside us, a stall between the wake-up and the timers), and what
 * came meanwhile is read before any silence is judged. */
static bool datagram_waiting(const struct sync *s)
{
	int n = 0;

	return ioctl(s->udp_fd, FIONREAD, &n) == 0 && n > 0;
}

/* Armed one interval before the MASTER's path would go DOWN, then at
 * that time. */
static void check_fired(struct loop *loop, struct loop_timer *t)
{
	struct liveness *l = t->arg;
	struct vrrp_status st;
	struct liveness_path *p;
	uint64_t now = loop_now_ms(loop), deadline;

	if (datagram_waiting(l->s)) {
		loop_timer_arm(loop, t, 0); /* after the loop's next read */
		return;
	}
	vrrp_get_status(l->s->vrrp, &st);
	if (st.state != VRRP_BACKUP || !(p = path_find(l, st.master)))
		return;
	deadline = liveness_path_deadline(p);
	if (p->state == LIVE_UP && now < deadline) {
		if (!l->confirm_active && could_move(l, &st, p))
			confirm_start(l, st.master); /* two intervals missed already */
		loop_timer_arm_at(loop, t, deadline);
		return;
	}
	if (liveness_path_expire(p, now)) {
		l->suspect = true;
		l->c.silences++;
	}
	if (l->suspect)
		judge_now(l);
}

/* ---- receiving ---- */

void liveness_rx(struct sync *s, const struct msg *m)
{
	struct liveness *l = s->live;
	struct liveness_msg lm;
	struct liveness_path *p;
	struct in_addr from = { .s_addr = m->sender };
	uint64_t now;

	if (!l || liveness_decode(m->payload, m->len, &lm) < 0) {
		if (l)
			s->c.bad_payload++;
		return;
	}
	now = loop_now_ms(s->loop);
	p = path_get(l, from);
	liveness_path_rx(p, now, lm.interval_ms);
	l->c.received++;
	if (lm.role != LIVENESS_ROLE_MASTER)
		return;
	if (from.s_addr != l->watched.s_addr) {
		struct vrrp_status st;

		vrrp_get_status(s->vrrp, &st); /* a new MASTER: follow it now */
		watch_update(l, &st);
		if (from.s_addr != l->watched.s_addr)
			return;
	}
	/* Our MASTER speaks: no suspicion, no check; watch for the next silence. */
	l->suspect = false;
	if (l->confirm_active)
		confirm_stop(l);
	loop_timer_arm_at(s->loop, &l->check_timer,
			  liveness_path_deadline(p) - (p->state == LIVE_UP ? p->interval_ms : 0));
}

/* ---- life cycle, status ---- */

void liveness_role_changed(struct sync *s)
{
	if (s->live) /* a new MASTER starts sending now, not a BACKUP period later */
		loop_timer_arm(s->loop, &s->live->tx_timer, 0);
}

int liveness_open(struct sync *s)
{
	struct liveness *l;

	s->live = NULL;
	if (!s->cfg->ha.liveness_interval_ms)
		return 0;
	if (!(l = calloc(1, sizeof(*l))))
		return -ENOMEM;
	l->s = s;
	l->interval_ms = s->cfg->ha.liveness_interval_ms;
	for (int i = 0; i < LIVENESS_CONFIRM_N; i++)
		l->probe[i] = (struct live_probe){ .l = l, .fd = -1 };
	loop_timer_init(&l->tx_timer, tx_fired, l);
	loop_timer_init(&l->check_timer, check_fired, l);
	loop_timer_init(&l->confirm_timer, confirm_timeout, l);
	loop_timer_arm(s->loop, &l->tx_timer, 0);
	s->live = l;
	return 0;
}

void liveness_close(struct sync *s)
{
	struct liveness *l = s->live;

	if (!l)
		return;
	confirm_stop(l);
	loop_timer_cancel(s->loop, &l->tx_timer);
	loop_timer_cancel(s->loop, &l->check_timer);
	free(l);
	s->live = NULL;
}

void liveness_get_status(const struct sync *s, struct liveness_status *out)
{
	const struct liveness *l = s->live;
	const struct liveness_path *p = NULL;
	uint64_t now = loop_now_ms(s->loop);

	memset(out, 0, sizeof(*out));
	out->last_seen_ms = -1;
	if (!l)
		return;
	*out = l->c;
	out->interval_ms = l->interval_ms;
	out->peer =
		vrrp_get_state(s->vrrp) == VRRP_MASTER ? sync_session_successor(s) : l->watched;
	out->last_seen_ms = -1;
	for (size_t i = 0; i < l->npaths; i++) {
		/* DOWN now if silent, whether or not a timer looked yet */
		bool up = l->paths[i].p.state == LIVE_UP &&
			  now - l->paths[i].p.last_rx_ms < liveness_detect_ms(&l->paths[i].p);

		out->paths_up += up;
		if (out->peer.s_addr && l->paths[i].addr.s_addr == out->peer.s_addr)
			p = &l->paths[i].p;
	}
	if (!p || !p->last_rx_ms) {
		out->state = out->peer.s_addr ? LIVE_DOWN : LIVE_OFF;
		return;
	}
	out->last_seen_ms = (int64_t)(now - p->last_rx_ms);
	out->detect_ms = liveness_detect_ms(p);
	out->state = p->state != LIVE_DOWN && now - p->last_rx_ms >= out->detect_ms ? LIVE_DOWN
										    : p->state;
}
