/* notify.h - the [ha] notify script of one VRRP instance (keepalived's
 * `notify`): run on every role change as
 *
 *     SCRIPT INSTANCE ROLE PRIORITY      (ROLE = MASTER | BACKUP | FAULT | STOP)
 *
 * with ANDROMEDA_* variables in its environment (docs/vrrp.md, "Hooks").
 *
 * Calls of one instance run strictly one after the other, in the order of
 * the changes: the next starts only when the previous has ended (or was
 * killed at notify_timeout), so a FAULT never overtakes the MASTER before
 * it.  The election never waits: a change is queued and the loop goes on.
 * The queue is bounded (NOTIFY_QUEUE_MAX); a change that finds it full
 * collapses it to that latest change (the calls in between are dropped,
 * counted and logged; the order of what runs is kept, and the latest
 * role is always the last call). */
#ifndef ANDROMEDA_NOTIFY_H
#define ANDROMEDA_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct notify;

#define NOTIFY_QUEUE_MAX 8
#define NOTIFY_ROLE_MAX  8 /* "MASTER" + NUL, rounded */

/* One role change, as the script sees it. */
struct notify_event {
	char role[NOTIFY_ROLE_MAX]; /* MASTER, BACKUP, FAULT, STOP */
	char prev[NOTIFY_ROLE_MAX]; /* the role of the call before (INIT at start) */
	unsigned priority;          /* effective priority at the change */
	unsigned base_priority;
	char reason[96]; /* the election's, e.g. "link down" */
};

/* The pure queue (tests drive it alone). */
struct notify_queue {
	struct notify_event ev[NOTIFY_QUEUE_MAX];
	size_t head, n;
};
/* Append ev; when full, the queued events are dropped and ev alone stays,
 * its prev set to the role before the first dropped one (what the script
 * saw last).  Returns how many were dropped. */
size_t notify_queue_push(struct notify_queue *q, const struct notify_event *ev);
/* The oldest event into *out; false when empty. */
bool notify_queue_pop(struct notify_queue *q, struct notify_event *out);

struct notify_params {
	const char *script; /* absolute path; NULL or "" = no script (no-op) */
	uint32_t timeout_ms;
	const char *instance;  /* "ha"; a [vrrp NAME] instance's NAME later */
	const char *node;      /* [node] name */
	const char *vips;      /* "198.18.0.10/24,198.18.0.11/24" */
	const char *interface; /* the instance's interface */
	unsigned vrid;
};

struct notify_stats {
	uint64_t calls;    /* started */
	uint64_t failures; /* ended other than with status 0 (timeouts included) */
	uint64_t timeouts; /* killed at notify_timeout */
	uint64_t dropped;  /* collapsed away on a full queue */
};

/* The strings of p are copied.  Returns 0, -EINVAL (a string too long)
 * or -ENOMEM. */
int notify_create(struct notify **out, struct loop *loop, const struct notify_params *p);
/* Queue one change; starts it at once when nothing runs. */
void notify_push(struct notify *n, const struct notify_event *ev);
/* True while a call runs or waits. */
bool notify_busy(const struct notify *n);
/* At the daemon's exit, the loop stopped: run what is queued to its end,
 * blocking, each call bounded by the timeout (the STOP call must finish
 * before systemd kills what is left in the unit's cgroup). */
void notify_flush(struct notify *n);
/* Kill a running call (its process group) and free. */
void notify_destroy(struct notify *n);
const struct notify_stats *notify_get_stats(const struct notify *n);

#endif
