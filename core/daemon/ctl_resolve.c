/* ctl_resolve.c - servers by name in `andromedactl status`
 * (ctl_resolve.h). */
#include "ctl_resolve.h"

#include <errno.h>

#include "resolve.h"

struct names_json {
	json_t *arr;
	int err;
};

static void name_json(void *arg, const struct resolver_name *n)
{
	struct names_json *nj = arg;
	const char *state = n->resolved ? "resolved" : n->error ? "failed" : "resolving";
	json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "server", n->server, "host", n->host, "port",
			      (int)n->port, "state", state);

	if (o && n->error && json_object_set_new(o, "error", json_string(n->error)) < 0) {
		json_decref(o);
		o = NULL;
	}
	if (!o || json_array_append_new(nj->arr, o) < 0)
		nj->err = -ENOMEM;
}

int ctl_resolve_status(json_t *status, void *resolver)
{
	struct names_json nj = { .arr = json_array() };

	if (!nj.arr)
		return -ENOMEM;
	resolver_foreach(resolver, name_json, &nj);
	if (nj.err || !json_array_size(nj.arr)) {
		json_decref(nj.arr);
		return nj.err;
	}
	return json_object_set_new(status, "names", nj.arr) < 0 ? -ENOMEM : 0;
}
