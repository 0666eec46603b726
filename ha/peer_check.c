/* peer_check.c - is a balancer's process gone?  See peer_check.h. */
#include "peer_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	peer_check_fn verdict;
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

/* The verdict: stop first, as the callback may start a new check. */
static void check_done(struct check *c, bool gone, const char *how)
{
	struct peer_check *pc = c->pc;
	struct in_addr peer = c->peer;

	check_stop(c);
	pc->verdict(pc->arg, peer, gone, how);
}

static void check_failed(struct check *c, int err)
{
	char how[96];

	snprintf(how, sizeof(how), "could not be checked: %s", strerror(err));
	check_done(c, false, how);
}

/* Connected: a dying peer may still have had its listener open (its
 * kernel closes the sockets one after the other), so wait for a word.
 * A live one sends its HELLO at once. */
static void check_read(struct check *c)
{
	char buf[64];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

	if (n > 0)
		check_done(c, false, "still answers on its sync port");
	else if (n == 0)
		check_done(c, false, "closed our check without a reset");
	else if (errno == ECONNRESET)
		check_done(c, true, "reset our check");
	else if (errno != EAGAIN && errno != EINTR)
		check_failed(c, errno);
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
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == ECONNREFUSED)
		check_done(c, true, "refuses its sync port");
	else if (err == ECONNRESET) /* connected, then reset before we looked */
		check_done(c, true, "reset our check");
	else if (err)
		check_failed(c, err);
	else {
		c->connected = true;
		loop_set_mask(loop, fd, LOOP_READ);
	}
}

static void check_timeout(struct loop *loop, struct loop_timer *t)
{
	struct check *c = t->arg;

	(void)loop;
	check_done(c, false, "did not answer our check");
}

int peer_check_create(struct peer_check **out, struct loop *loop, uint16_t port,
		      peer_check_fn verdict, void *arg)
{
	struct peer_check *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return -ENOMEM;
	*pc = (struct peer_check){ .loop = loop, .port = port, .verdict = verdict, .arg = arg };
	for (size_t i = 0; i < PEER_CHECK_MAX; i++) {
		pc->c[i] = (struct check){ .pc = pc, .fd = -1 };
		loop_timer_init(&pc->c[i].timer, check_timeout, &pc->c[i]);
	}
	*out = pc;
	return 0;
}

void peer_check_cancel(struct peer_check *pc)
{
	for (size_t i = 0; i < PEER_CHECK_MAX; i++)
		check_stop(&pc->c[i]);
}

void peer_check_destroy(struct peer_check *pc)
{
	if (!pc)
		return;
	peer_check_cancel(pc);
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

void peer_check_start(struct peer_check *pc, struct in_addr peer, uint32_t timeout_ms)
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
	if (fd < 0) {
		log_warn("peer check of %s: socket", inet_ntoa(peer));
		return;
	}
	c->fd = fd;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EINPROGRESS) {
		int err = errno;

		close(fd);
		c->fd = -1;
		if (err == ECONNREFUSED)
			check_done(c, true, "refuses its sync port");
		else
			check_failed(c, err);
		return;
	}
	if (loop_add_fd(pc->loop, fd, LOOP_WRITE, check_io, c) < 0) {
		close(fd);
		c->fd = -1;
		check_failed(c, ENOMEM);
		return;
	}
	loop_timer_arm(pc->loop, &c->timer, timeout_ms);
}
