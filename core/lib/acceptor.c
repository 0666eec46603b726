/* acceptor.c - accept loop with the out-of-descriptors policy (acceptor.h). */
#include "acceptor.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void acceptor_update(struct acceptor *a)
{
	loop_set_mask(a->loop, a->fd, a->enabled && !a->paused ? LOOP_READ : 0);
}

/* Errors accept(2) returns for one connection (aborted, or a network
 * error pending on it): the next one may well succeed. */
static bool error_is_per_connection(int err)
{
	switch (err) {
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case EPERM:
	case ENETDOWN:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case EOPNOTSUPP:
	case ENETUNREACH:
		return true;
	default:
		return false;
	}
}

static void pause_accepting(struct acceptor *a, int err)
{
	uint64_t now = loop_now_ms(a->loop), more = 0;

	a->episode_fails++;
	if (!a->short_episode) {
		a->short_episode = true;
		a->episode_ms = now;
		a->episode_logged = log_limit_ok(&a->log_limit, now, LOG_LIMIT_SHORT_MS, &more);
		if (a->episode_logged)
			log_errno(
				err,
				"%s: cannot accept, pausing (retry every %u ms or when a connection closes;"
				" %llu shorter episodes not logged)",
				a->name, ACCEPTOR_PAUSE_MS, (unsigned long long)more);
	}
	a->paused = true;
	acceptor_update(a);
	loop_timer_arm(a->loop, &a->resume, ACCEPTOR_PAUSE_MS);
}

/* The backlog is empty: a shortage, if there was one, is over. */
static void caught_up(struct acceptor *a)
{
	if (!a->short_episode)
		return;
	a->short_episode = false;
	if (a->episode_logged) /* an unlogged start gets no end line either */
		log_info("%s: accepting again after %llu ms (%llu accepts refused)", a->name,
			 (unsigned long long)(loop_now_ms(a->loop) - a->episode_ms),
			 (unsigned long long)a->episode_fails);
	a->episode_fails = 0;
}

static void on_readable(struct loop *loop, int lfd, unsigned events, void *arg)
{
	struct acceptor *a = arg;

	for (unsigned i = 0; i < a->batch && a->enabled && !a->paused; i++) {
		struct sockaddr_storage peer = { .ss_family = AF_UNSPEC };
		socklen_t len = sizeof(peer);
		int fd =
			accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int err;

		if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			caught_up(a);
			return;
		}
		if (fd < 0 && error_is_per_connection(errno))
			continue;
		if (fd < 0) {
			pause_accepting(a, -errno);
			return;
		}
		if ((err = a->fn(a->arg, fd, &peer)) < 0) {
			pause_accepting(a, err);
			return;
		}
	}
}

static void on_resume(struct loop *loop, struct loop_timer *t) { acceptor_kick(t->arg); }

int acceptor_start(struct acceptor *a, struct loop *loop, int lfd, const char *name,
		   unsigned batch, acceptor_fn fn, void *arg)
{
	int err;

	*a = (struct acceptor){ .loop = loop,
				.fd = lfd,
				.batch = batch ? batch : 1,
				.enabled = true,
				.fn = fn,
				.arg = arg };
	snprintf(a->name, sizeof(a->name), "%s", name);
	loop_timer_init(&a->resume, on_resume, a);
	if ((err = loop_add_fd(loop, lfd, LOOP_READ, on_readable, a)) < 0)
		a->loop = NULL;
	return err;
}

void acceptor_stop(struct acceptor *a)
{
	if (!a->loop)
		return;
	loop_timer_cancel(a->loop, &a->resume);
	loop_del_fd(a->loop, a->fd);
	a->loop = NULL;
}

void acceptor_enable(struct acceptor *a, bool on)
{
	if (!a->loop || a->enabled == on)
		return;
	a->enabled = on;
	acceptor_update(a);
}

void acceptor_kick(struct acceptor *a)
{
	if (!a->loop || !a->paused)
		return;
	loop_timer_cancel(a->loop, &a->resume);
	a->paused = false;
	acceptor_update(a);
}
