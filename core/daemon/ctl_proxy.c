/* ctl_proxy.c - the routing table and proxy counters over the control socket. */
#include "ctl_proxy.h"

#include <errno.h>

#include "control.h"
#include "proxy.h"
#include "workers.h"

static void route_row(const struct proxy_route *r, void *arg)
{
	json_t *rows = arg;

	json_array_append_new(rows, json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:I}", "request_id",
					      r->request_id, "client", r->client, "server",
					      r->server, "state", r->state, "method", r->method,
					      "age_ms", (json_int_t)r->age_ms));
}

json_t *ctl_proxy_routes_json(struct workers *ws)
{
	json_t *rows = json_array();

	if (rows)
		workers_for_each_route(ws, route_row, rows);
	return rows;
}

static json_t *cmd_routes(int argc, char **argv, void *arg)
{
	if (argc != 1)
		return control_error("usage: routes");
	return ctl_proxy_routes_json(arg);
}

/* "tls": completed handshakes, resumed ones, failures by cause. */
static json_t *tls_json(const struct proxy_stats *st)
{
	json_t *fails = json_object();

	for (int i = 0; fails && i < TLS_FAIL_COUNT; i++)
		json_object_set_new(fails, tls_fail_name((enum tls_fail)i),
				    json_integer((json_int_t)st->tls_failures[i]));
	return json_pack("{s:I, s:I, s:o*}", "handshakes", (json_int_t)st->tls_handshakes,
			 "resumed", (json_int_t)st->tls_resumed, "failures", fails);
}

static json_t *stats_json(const struct proxy_stats *st)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i}", "accepted",
			      (json_int_t)st->accepted, "requests", (json_int_t)st->requests,
			      "responses", (json_int_t)st->responses, "redispatched",
			      (json_int_t)st->redispatched, "queued_total", (json_int_t)st->queued,
			      "errors_4xx", (json_int_t)st->errors_4xx, "errors_5xx",
			      (json_int_t)st->errors_5xx, "aborted", (json_int_t)st->aborted,
			      "clients", (int)st->clients, "active", (int)st->active);

	if (o && json_object_set_new(o, "tls", tls_json(st))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void stats_add(struct proxy_stats *sum, const struct proxy_stats *st)
{
	sum->accepted += st->accepted;
	sum->requests += st->requests;
	sum->responses += st->responses;
	sum->redispatched += st->redispatched;
	sum->queued += st->queued;
	sum->errors_4xx += st->errors_4xx;
	sum->errors_5xx += st->errors_5xx;
	sum->aborted += st->aborted;
	sum->tls_handshakes += st->tls_handshakes;
	sum->tls_resumed += st->tls_resumed;
	for (int i = 0; i < TLS_FAIL_COUNT; i++)
		sum->tls_failures[i] += st->tls_failures[i];
	sum->clients += st->clients;
	sum->active += st->active;
}

/* "proxy": the sums; "proxy.threads": the same counters per thread. */
static int status_proxy(json_t *status, void *arg)
{
	struct workers *ws = arg;
	struct proxy_stats sum = { 0 }, st;
	json_t *o, *threads = json_array();

	if (!threads)
		return -ENOMEM;
	for (unsigned i = 0; i < workers_count(ws); i++) {
		workers_get_stats(ws, i, &st);
		stats_add(&sum, &st);
		json_array_append_new(threads, stats_json(&st));
	}
	o = stats_json(&sum);
	if (!o || json_object_set_new(o, "threads", threads)) {
		json_decref(o);
		return -ENOMEM;
	}
	return json_object_set_new(status, "proxy", o) ? -ENOMEM : 0;
}

int ctl_proxy_register(struct control *c, struct workers *ws)
{
	int err = control_register(c, "routes",
				   "routes - the routing table: request id, client, server, state",
				   cmd_routes, ws);

	return err ? err : control_status_add(c, status_proxy, ws);
}
