/* successor_confirm.c - is the MASTER's sync port closed?  See
 * successor_confirm.h. */
#include "successor_confirm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "vrrp.h"

void successor_confirm_stop(struct sync *s)
{
	loop_timer_cancel(s->loop, &s->confirm_timer);
	if (s->confirm_fd < 0)
		return;
	loop_del_fd(s->loop, s->confirm_fd);
	close(s->confirm_fd);
	s->confirm_fd = -1;
}

/* Only the MASTER we followed, and only while we still wait for it. */
static bool still_relevant(struct sync *s)
{
	struct vrrp_status st;

	vrrp_get_status(s->vrrp, &st);
	return st.state == VRRP_BACKUP && st.master.s_addr == s->confirm_peer.s_addr;
}

static void confirm_dead(struct sync *s, const char *how)
{
	successor_confirm_stop(s);
	if (!still_relevant(s))
		return;
	log_warnx("sync: MASTER %s %s: its process is gone, taking over now as its named "
		  "successor",
		  inet_ntoa(s->confirm_peer), how);
	vrrp_successor_takeover(s->vrrp);
}

static void confirm_alive(struct sync *s, const char *how)
{
	successor_confirm_stop(s);
	log_warnx("sync: MASTER %s %s: no early takeover, the RFC timer runs on",
		  inet_ntoa(s->confirm_peer), how);
}

/* Connected: a dying MASTER may still have had its listener open (its
 * kernel closes the sockets one after the other), so wait for a word.
 * A live one sends its HELLO at once; the listener of a dead one resets
 * the connections it had not accepted. */
static void confirm_read(struct sync *s, int fd)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	if (n > 0)
		confirm_alive(s, "still answers on its sync port");
	else if (n < 0 && errno == ECONNRESET)
		confirm_dead(s, "reset our check");
	else if (n == 0)
		confirm_alive(s, "closed our check without a reset");
	else if (errno != EAGAIN && errno != EINTR)
		confirm_alive(s, "could not be checked");
}

static void confirm_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct sync *s = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)events;
	if (s->confirm_connected) {
		confirm_read(s, fd);
		return;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err == ECONNREFUSED) {
		confirm_dead(s, "refuses its sync port");
	} else if (err) {
		confirm_alive(s, "could not be checked");
	} else {
		s->confirm_connected = true;
		loop_set_mask(loop, fd, LOOP_READ);
	}
}

static void confirm_timeout(struct loop *loop, struct loop_timer *t)
{
	struct sync *s = t->arg;

	(void)loop;
	log_warnx("sync: MASTER %s did not answer the check: the RFC timer runs on",
		  inet_ntoa(s->confirm_peer));
	successor_confirm_stop(s);
}

void successor_confirm_init(struct sync *s)
{
	s->confirm_fd = -1;
	loop_timer_init(&s->confirm_timer, confirm_timeout, s);
}

void successor_confirm_start(struct sync *s, struct in_addr peer)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(s->cfg->ha.sync_port),
				  .sin_addr = peer };
	int fd;

	successor_confirm_stop(s);
	s->confirm_peer = peer;
	s->confirm_connected = false;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EINPROGRESS) {
		int err = errno;

		close(fd);
		if (err == ECONNREFUSED)
			confirm_dead(s, "refuses its sync port");
		return;
	}
	if (loop_add_fd(s->loop, fd, LOOP_WRITE, confirm_io, s) < 0) {
		close(fd);
		return;
	}
	s->confirm_fd = fd;
	/* A dead MASTER's kernel answers in one round trip, but a loaded
	 * node may read it late; a late "refused" still beats the RFC
	 * timer (Master_Down_Interval, about 3 adverts), so wait that long. */
	loop_timer_arm(s->loop, &s->confirm_timer, 3 * s->cfg->ha.advert_interval_ms);
}
