/* vrrp_auth.c - the table of advert sources that proved the cluster key
 * (see vrrp_auth.h). */
#include "vrrp_auth.h"

#include <string.h>

void vrrp_auth_init(struct vrrp_auth *a, uint32_t fresh_ms)
{
	memset(a, 0, sizeof(*a));
	a->fresh_ms = fresh_ms;
}

static struct vrrp_auth_source *find(const struct vrrp_auth *a, struct in_addr addr)
{
	for (size_t i = 0; i < a->nsrc; i++)
		if (a->src[i].addr.s_addr == addr.s_addr)
			return (struct vrrp_auth_source *)&a->src[i];
	return NULL;
}

/* The slot for a source not in the table: a free one, else the one
 * proven longest ago. */
static struct vrrp_auth_source *new_slot(struct vrrp_auth *a)
{
	struct vrrp_auth_source *s = &a->src[0];

	if (a->nsrc < VRRP_AUTH_MAX_SOURCES)
		return &a->src[a->nsrc++];
	for (size_t i = 1; i < a->nsrc; i++)
		if (a->src[i].proven_ms < s->proven_ms)
			s = &a->src[i];
	return s;
}

void vrrp_auth_prove(struct vrrp_auth *a, struct in_addr addr, uint64_t now_ms)
{
	struct vrrp_auth_source *s = find(a, addr);

	if (!s)
		s = new_slot(a);
	s->addr = addr;
	s->proven_ms = now_ms;
}

bool vrrp_auth_ok(const struct vrrp_auth *a, struct in_addr addr, uint64_t now_ms)
{
	const struct vrrp_auth_source *s = find(a, addr);

	return s && now_ms >= s->proven_ms && now_ms - s->proven_ms <= a->fresh_ms;
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
