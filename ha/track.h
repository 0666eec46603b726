/* track.h - what moves one VRRP instance's priority, keepalived's way:
 * `[ha] track_interface` (interfaces besides the HA one) and `[track NAME]`
 * scripts (docs/vrrp.md, "Hooks").
 *
 * Each tracked item is up or down.  A script is down after `fall`
 * consecutive failures (exit status other than 0, killed, or still running
 * at its timeout) and up again after `rise` consecutive successes; it
 * starts up.  An interface is down without carrier (kwatch_carrier_ok()).
 * An item's weight says what its verdict does:
 *
 *   weight < 0   while down, the priority is lowered by -weight
 *   weight > 0   while up, the priority is raised by weight
 *   weight = 0   while down, the instance is in FAULT
 *
 * Effective priority = base + the weights that apply, clamped to 1..254.
 *
 * The interfaces' carrier comes from the caller (ha.c owns the kernel
 * watch: track_link()); the scripts run here, on the loop (child.h). */
#ifndef ANDROMEDA_TRACK_H
#define ANDROMEDA_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct config;
struct track;

#define TRACK_MAX_ITEMS 24

/* ---- pure parts (tested alone) ---- */

/* base + sum clamped to 1..254 (a base of 255 would be the address owner:
 * never moved, but the loader refuses it). */
unsigned track_effective_priority(unsigned base, int sum);

/* Consecutive results against the verdict; the verdict flips after fall
 * failures (when up) or rise successes (when down). */
struct track_fr {
	bool up;
	unsigned count;
};
/* Feed one result; true when the verdict flipped. */
bool track_fr_feed(struct track_fr *fr, bool ok, unsigned fall, unsigned rise);
/* The weight an item with this verdict adds (0 when it adds none). */
int track_weight_applied(int weight, bool up);

/* ---- the instance's tracked items ---- */

struct track_item_status {
	char name[64]; /* the [track NAME], or the interface's name */
	bool is_interface;
	bool up;
	int weight;
	unsigned fall, rise;     /* scripts */
	uint64_t runs, failures; /* scripts: calls, calls that failed */
	char last[96];           /* scripts: the last call's outcome */
};

/* Called when the effective priority or the fault verdict changed (never
 * from inside track_create or a track_* call's return path of the
 * caller's own making: only from track_link() and the scripts' ends).
 * why names the item ("track uplink down", "eth1 no carrier"). */
typedef void (*track_changed_fn)(void *arg, const char *why);

/* The items of cfg (cfg->ha.track_if, cfg->tracks) for an instance of
 * base priority base.  Interfaces start up (the caller reports their
 * state with track_link() at once); scripts start up and run first in
 * the loop's next iteration, then every interval.  cfg must outlive t.  Returns 0 or -ENOMEM. */
int track_create(struct track **out, struct loop *loop, const struct config *cfg, unsigned base,
		 track_changed_fn changed, void *arg);
void track_destroy(struct track *t);

/* Carrier of tracked interface ifname (ignored if not tracked). */
void track_link(struct track *t, const char *ifname, bool carrier, const char *why);

unsigned track_priority(const struct track *t);
/* The same for another base (an instance other than the one t was made
 * for: the weights apply to every instance). */
unsigned track_priority_of(const struct track *t, unsigned base);
/* True while a weight-0 item is down; *why (may be NULL) names it. */
bool track_fault(const struct track *t, const char **why);
/* Copy up to max items; returns how many. */
size_t track_get(const struct track *t, struct track_item_status *out, size_t max);

#endif
