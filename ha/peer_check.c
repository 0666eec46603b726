/* peer_check.c - is a balancer's sync port closed?  See peer_check.h. */
#include "peer_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

struct check {
	struct peer_check *pc;
	int fd; /* -1: slot free */
	struct in_addr peer;
	bool connected;
	uint64_t started_ms;
	struct loop_timer timer;
};

struct peer_check {
	struct loop *loop;
	uint16_t port;
	uint32_t timeout_ms;
	peer_check_dead_fn dead;
	void *arg;
	struct check c[PEER_CHECK_MAX];
};

static void check_stop(struct check *c)
{
	loop_timer_cancel(c->pc->loop, &c->timer);
	if (c->fd < 0)
		return;
	loop_del_fd(c->pc->loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

static void check_dead(struct check *c, const char *how)
{
	struct peer_check *pc = c->pc;
	struct in_addr peer = c->peer;

	check_stop(c);
	log_warnx("peer %s %s: its process is gone", inet_ntoa(peer), how);
	pc->dead(pc->arg, peer);
}

static void check_alive(struct check *c, const char *how)
{
	log_info("peer %s %s: alive, the RFC timers run on", inet_ntoa(c->peer), how);
	check_stop(c);
}

/* Connected: a dying peer may still have had its listener open, so wait
 * for a word; the listener of a dead one resets what it had not
 * accepted. */
static void check_read(struct check *c)
{
	char buf[64];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

	if (n > 0)
		check_alive(c, "answers on its sync port");
	else if (n < 0 && errno == ECONNRESET)
		check_dead(c, "reset our check");
	else if (n == 0)
		check_alive(c, "closed our check without a reset");
	else if (errno != EAGAIN && errno != EINTR)
		check_alive(c, "could not be checked");
}

static void check_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct check *c = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)events;
	if (c->connected) {
		check_read(c);
		return;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err == ECONNREFUSED) {
		check_dead(c, "refuses its sync port");
	} else if (err) {
		check_alive(c, "could not be checked");
	} else {
		c->connected = true;
		loop_set_mask(loop, fd, LOOP_READ);
	}
}

static void check_timeout(struct loop *loop, struct loop_timer *t)
{
	struct check *c = t->arg;

	(void)loop;
	check_alive(c, "did not answer our check");
}

int peer_check_create(struct peer_check **out, struct loop *loop, uint16_t port,
		      uint32_t timeout_ms, peer_check_dead_fn dead, void *arg)
{
	struct peer_check *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return -ENOMEM;
	*pc = (struct peer_check){
		.loop = loop, .port = port, .timeout_ms = timeout_ms, .dead = dead, .arg = arg
	};
	for (size_t i = 0; i < PEER_CHECK_MAX; i++) {
		pc->c[i] = (struct check){ .pc = pc, .fd = -1 };
		loop_timer_init(&pc->c[i].timer, check_timeout, &pc->c[i]);
	}
	*out = pc;
	return 0;
}

void peer_check_destroy(struct peer_check *pc)
{
	if (!pc)
		return;
	for (size_t i = 0; i < PEER_CHECK_MAX; i++)
		check_stop(&pc->c[i]);
	free(pc);
}

/* The slot of peer's running check, else a free one, else the oldest. */
static struct check *slot_for(struct peer_check *pc, struct in_addr peer, bool *running)
{
	struct check *pick = &pc->c[0];

	*running = false;
	for (size_t i = 0; i < PEER_CHECK_MAX; i++) {
		struct check *c = &pc->c[i];

		if (c->fd >= 0 && c->peer.s_addr == peer.s_addr) {
			*running = true;
			return c;
		}
		if (pick->fd >= 0 && (c->fd < 0 || c->started_ms < pick->started_ms))
			pick = c;
	}
	return pick;
}

void peer_check_start(struct peer_check *pc, struct in_addr peer)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(pc->port),
				  .sin_addr = peer };
	bool running;
	struct check *c = slot_for(pc, peer, &running);
	int fd;

	if (running)
		return;
	check_stop(c);
	c->peer = peer;
	c->connected = false;
	c->started_ms = loop_now_ms(pc->loop);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EINPROGRESS) {
		int err = errno;

		close(fd);
		if (err == ECONNREFUSED)
			check_dead(c, "refuses its sync port");
		return;
	}
	if (loop_add_fd(pc->loop, fd, LOOP_WRITE, check_io, c) < 0) {
		close(fd);
		return;
	}
	c->fd = fd;
	loop_timer_arm(pc->loop, &c->timer, pc->timeout_ms);
}
