/* acceptor.h - the one accept loop of every listening socket (proxy
 * frontends, the sync listener, the control socket), with one policy when
 * the process is short of descriptors or memory.
 *
 * Why: the loop is level-triggered, so a listener whose accept() fails
 * with EMFILE (the backlog still waiting) wakes the loop again at once and
 * the daemon spins at 100% CPU without doing anything.  Policy (documented
 * in docs/robustness.md, "Out of file descriptors"):
 *  - EMFILE, ENFILE, ENOBUFS, ENOMEM (or any unexpected error, or the
 *    owner's callback failing for want of a resource): pause - the
 *    listener is disarmed (the kernel keeps the backlog) and re-armed
 *    ACCEPTOR_PAUSE_MS later, or at once by acceptor_kick() when the owner
 *    frees a descriptor;
 *  - one warning when a shortage starts (an "episode"), one info line when
 *    it ends (an accept() finds the backlog empty), never one per accept;
 *    episodes starting within 10 s (LOG_LIMIT_SHORT_MS) of a logged one
 *    are counted, not logged;
 *  - errors that concern one connection only (ECONNABORTED, EINTR, EPROTO,
 *    EPERM, the network errors accept(2) passes on): skip it, go on;
 *  - at most `batch` accepts per wake-up, so a flood cannot starve the
 *    rest of the loop.
 * Like struct loop_timer, the struct is embedded in its owner; its fields
 * are private to acceptor.c.  Not thread-safe: one loop, one thread. */
#ifndef ANDROMEDA_ACCEPTOR_H
#define ANDROMEDA_ACCEPTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "log.h"
#include "loop.h"

#define ACCEPTOR_PAUSE_MS 100

/* Called with each accepted socket (non-blocking, close-on-exec), which it
 * now owns; peer is the client's address (family AF_UNSPEC if unknown).
 * Returns 0 to go on, or -errno (e.g. -ENOMEM) when the connection could
 * not be set up for want of a resource: the callback has closed fd, and
 * the acceptor pauses as it would for EMFILE. */
typedef int (*acceptor_fn)(void *arg, int fd, const struct sockaddr_storage *peer);

struct acceptor {
	struct loop *loop;
	int fd;
	unsigned batch;
	bool enabled;           /* the owner's wish (maxconn, draining) */
	bool paused;            /* short of a resource: resume timer armed */
	bool short_episode;     /* paused since the backlog was last empty */
	bool episode_logged;    /* its start was logged (not rate-limited) */
	uint64_t episode_ms;    /* when the episode started */
	uint64_t episode_fails; /* accept()s refused in this episode */
	struct loop_timer resume;
	struct log_limit log_limit;
	acceptor_fn fn;
	void *arg;
	char name[128];
};

/* Watch the listening socket lfd (non-blocking) on loop and start
 * accepting.  name says which listener in log lines ("frontend
 * 0.0.0.0:80").  lfd stays the caller's: close it after acceptor_stop().
 * Returns 0 or -errno (from loop_add_fd). */
int acceptor_start(struct acceptor *a, struct loop *loop, int lfd, const char *name,
		   unsigned batch, acceptor_fn fn, void *arg);
/* Stop watching and cancel the resume timer; a no-op if not started. */
void acceptor_stop(struct acceptor *a);
/* The owner's gate: off while at its connection limit or draining.  A
 * pause for want of resources still applies when it is on. */
void acceptor_enable(struct acceptor *a, bool on);
/* The owner freed a descriptor: if paused, try again now. */
void acceptor_kick(struct acceptor *a);

#endif
