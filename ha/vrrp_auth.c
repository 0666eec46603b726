/* vrrp_auth.c - the table of advert sources that proved the cluster key
 * (see vrrp_auth.h). */
#include "vrrp_auth.h"

#include <string.h>

void vrrp_auth_init(struct vrrp_auth *a, uint32_t fresh_ms)
{
	memset(a, 0, sizeof(*a));
	a->fresh_ms = fresh_ms;
}

static struct vrrp_auth_source *find(const struct vrrp_auth_source *t, size_t n,
				     struct in_addr addr)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].addr.s_addr == addr.s_addr)
			return (struct vrrp_auth_source *)&t[i];
	return NULL;
}

/* addr's entry in table t (n used of max): its own, else a free one,
 * else the one stamped longest ago; then stamped now_ms. */
static void stamp(struct vrrp_auth_source *t, size_t *n, size_t max, struct in_addr addr,
		  uint64_t now_ms)
{
	struct vrrp_auth_source *s = find(t, *n, addr);

	if (!s && *n < max)
		s = &t[(*n)++];
	if (!s) {
		s = &t[0];
		for (size_t i = 1; i < *n; i++)
			if (t[i].proven_ms < s->proven_ms)
				s = &t[i];
	}
	s->addr = addr;
	s->proven_ms = now_ms;
}

static bool fresh(const struct vrrp_auth *a, const struct vrrp_auth_source *s, uint64_t now_ms)
{
	return s && now_ms >= s->proven_ms && now_ms - s->proven_ms <= a->fresh_ms;
}

void vrrp_auth_prove(struct vrrp_auth *a, struct in_addr addr, uint64_t now_ms)
{
	struct vrrp_auth_source *d = find(a->differs, a->ndiffers, addr);

	stamp(a->src, &a->nsrc, VRRP_AUTH_MAX_SOURCES, addr, now_ms);
	if (d)
		*d = a->differs[--a->ndiffers]; /* its key is ours now (restarted) */
}

bool vrrp_auth_ok(const struct vrrp_auth *a, struct in_addr addr, uint64_t now_ms)
{
	return fresh(a, find(a->src, a->nsrc, addr), now_ms);
}

void vrrp_auth_key_differs(struct vrrp_auth *a, struct in_addr addr, uint64_t now_ms)
{
	stamp(a->differs, &a->ndiffers, VRRP_AUTH_MAX_DIFFERS, addr, now_ms);
}

bool vrrp_auth_differs(const struct vrrp_auth *a, struct in_addr addr, uint64_t now_ms)
{
	return fresh(a, find(a->differs, a->ndiffers, addr), now_ms);
}

uint64_t vrrp_auth_hold(struct vrrp_auth *a, const struct vrrp_advert *adv, uint64_t now_ms)
{
	struct vrrp_auth_held *slot = NULL;
	bool same = false;

	for (size_t i = 0; i < VRRP_AUTH_MAX_HELD && !same; i++) {
		struct vrrp_auth_held *h = &a->held[i];

		same = h->at_ms && h->adv.src.s_addr == adv->src.s_addr;
		if (same || !slot || (slot->at_ms && (!h->at_ms || h->at_ms < slot->at_ms)))
			slot = h;
	}
	now_ms = now_ms ? now_ms : 1;
	if (!same || now_ms < slot->at_ms || now_ms - slot->at_ms > VRRP_AUTH_STREAK_GAP_MS)
		slot->first_ms = now_ms;
	slot->adv = *adv;
	slot->at_ms = now_ms;
	return now_ms - slot->first_ms;
}

bool vrrp_auth_take(struct vrrp_auth *a, struct in_addr addr, uint64_t now_ms,
		    struct vrrp_advert *out)
{
	for (size_t i = 0; i < VRRP_AUTH_MAX_HELD; i++) {
		struct vrrp_auth_held *h = &a->held[i];
		uint64_t max_age = 3u * 10u * h->adv.interval_cs;

		if (!h->at_ms || h->adv.src.s_addr != addr.s_addr)
			continue;
		if (now_ms < h->at_ms || now_ms - h->at_ms > max_age) {
			h->at_ms = 0;
			return false;
		}
		h->at_ms = 0;
		*out = h->adv;
		return true;
	}
	return false;
}
