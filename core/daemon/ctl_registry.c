/* ctl_registry.c - the registration listener's counters (registry.h)
 * rendered as JSON for `andromedactl status`. */
#include "ctl_registry.h"

#include "msg.h"
#include "registry.h"

static json_t *registry_json(const struct registry_stats *st)
{
	json_t *o = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "announces", (json_int_t)st->announces,
		"withdraws", (json_int_t)st->withdraws, "added", (json_int_t)st->added, "removed",
		(json_int_t)st->removed, "expired", (json_int_t)st->expired, "refused",
		(json_int_t)st->refused, "ignored_not_active", (json_int_t)st->ignored_not_active,
		"bad_payload", (json_int_t)st->bad_payload);
	json_t *drops = json_object();

	for (int d = 1; drops && d < MSG_DROP_NCAUSES; d++)
		json_object_set_new(drops, msg_drop_name(d),
				    json_integer((json_int_t)st->drops[d]));
	if (!o || !drops || json_object_set_new(o, "dropped", drops)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int ctl_registry_status(json_t *status, void *registry)
{
	struct registry_stats st;

	if (!registry)
		return 0;
	registry_get_stats(registry, &st);
	/* Out of memory leaves the key out: status still answers. */
	json_object_set_new(status, "registration", registry_json(&st));
	return 0;
}
