/* stats_metrics.c - the daemon's counters as Prometheus families
 * (stats_metrics.h).  Families are written whole, one after the other
 * (the format wants every sample of a family together), so the servers
 * are read once into an array and walked once per family. */
#include "stats_metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "alog.h"
#include "config.h"
#include "ha.h"
#include "msg.h"
#include "pool.h"
#include "proxy.h"
#include "registry.h"
#include "sync.h"
#include "vrrp_packet.h"
#include "workers.h"

#define P          "andromeda_"
#define LABELS_MAX (2 * CFG_NAME_MAX + 64)

static const char *const class_names[SERVER_NCLASSES] = { "other", "1xx", "2xx",
							  "3xx",   "4xx", "5xx" };

struct srv_snap {
	const struct server *s;
	char labels[LABELS_MAX]; /* server="name" */
	struct server_counters c;
};

/* base plus one more label, into out. */
static const char *with(char *out, const char *base, const char *key, const char *value)
{
	snprintf(out, LABELS_MAX, "%s", base);
	if (metrics_label(out, LABELS_MAX, key, value) < 0)
		snprintf(out, LABELS_MAX, "%s", base); /* cannot happen with our names */
	return out;
}

/* A cause as a label value: "connect error" -> "connect_error" (the log
 * lines and status keep the words; labels are easier to match without
 * spaces). */
static const char *snake(const char *words, char *out, size_t cap)
{
	size_t n = 0;

	for (; *words && n + 1 < cap; words++) {
		char c = *words;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9'))
			c = '_';
		out[n++] = c;
	}
	out[n] = '\0';
	return out;
}

/* ---- process ---- */

static uint64_t proc_status_kb(const char *key)
{
	char line[256];
	uint64_t v = 0;
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen)) {
			v = strtoull(line + klen, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static uint64_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	uint64_t n = 0;
	struct dirent *e;

	if (!d)
		return 0;
	/* readdir on the main thread only (the proxy threads never scrape). */
	// cppcheck-suppress readdirCalled
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n ? n - 1 : 0; /* the directory's own descriptor */
}

static void render_process(const struct stats_sources *src, struct mtext *m)
{
	char l[LABELS_MAX] = "";

	metrics_label(l, sizeof(l), "node", src->cfg->node.name);
	metrics_label(l, sizeof(l), "version", ANDROMEDA_VERSION);
	metrics_family(m, P "info", "gauge", "Always 1; the node name and version as labels.");
	metrics_u64(m, P "info", NULL, l, 1);
	metrics_family(m, P "stats_last_scrape_duration_seconds", "gauge",
		       "Time the previous GET /metrics took to render (0 before it).");
	metrics_us(m, P "stats_last_scrape_duration_seconds", NULL, NULL, src->last_scrape_us);
	metrics_family(m, P "process_threads", "gauge", "Threads of the daemon.");
	metrics_u64(m, P "process_threads", NULL, NULL, proc_status_kb("Threads:"));
	metrics_family(m, P "process_open_fds", "gauge", "Open file descriptors.");
	metrics_u64(m, P "process_open_fds", NULL, NULL, open_fds());
	metrics_family(m, P "process_resident_memory_bytes", "gauge", "Resident memory size.");
	metrics_u64(m, P "process_resident_memory_bytes", NULL, NULL,
		    proc_status_kb("VmRSS:") * 1024);
}

/* ---- frontend ---- */

static void proxy_sum(struct workers *ws, struct proxy_stats *sum)
{
	struct proxy_stats st;

	*sum = (struct proxy_stats){ 0 };
	for (unsigned i = 0; ws && i < workers_count(ws); i++) {
		workers_get_stats(ws, i, &st);
		sum->accepted += st.accepted;
		sum->requests += st.requests;
		sum->redispatched += st.redispatched;
		sum->queued += st.queued;
		sum->errors_4xx += st.errors_4xx;
		sum->errors_5xx += st.errors_5xx;
		sum->aborted += st.aborted;
		sum->bytes_in += st.bytes_in;
		sum->bytes_out += st.bytes_out;
		for (int k = 0; k < SERVER_NCLASSES; k++)
			sum->responses_by_class[k] += st.responses_by_class[k];
		sum->clients += st.clients;
		sum->active += st.active;
	}
}

static void counter(struct mtext *m, const char *name, const char *help, const char *labels,
		    uint64_t v)
{
	metrics_family(m, name, "counter", help);
	metrics_u64(m, name, NULL, labels, v);
}

static void gauge(struct mtext *m, const char *name, const char *help, const char *labels,
		  int64_t v)
{
	metrics_family(m, name, "gauge", help);
	metrics_i64(m, name, NULL, labels, v);
}

static void by_class(struct mtext *m, const char *name, const char *base, const uint64_t *v)
{
	for (int k = 1; k <= SERVER_NCLASSES; k++) /* 1xx..5xx, then other */
		metrics_u64x(m, name, NULL, base, "code", class_names[k % SERVER_NCLASSES],
			     v[k % SERVER_NCLASSES]);
}

static void render_frontend(const struct proxy_stats *st, struct mtext *m)
{
	counter(m, P "frontend_connections_total", "Client connections accepted.", NULL,
		st->accepted);
	gauge(m, P "frontend_current_connections", "Client connections open now.", NULL,
	      st->clients);
	gauge(m, P "frontend_current_requests", "Requests in the routing table now.", NULL,
	      st->active);
	counter(m, P "frontend_requests_total", "Requests (http) or connections (tcp) dispatched.",
		NULL, st->requests);
	metrics_family(m, P "frontend_http_responses_total", "counter",
		       "Responses sent to clients by status class, our own errors included.");
	by_class(m, P "frontend_http_responses_total", "", st->responses_by_class);
	counter(m, P "frontend_request_errors_total",
		"Requests refused with our own 4xx (bad input, timeouts, limits).", NULL,
		st->errors_4xx);
	counter(m, P "frontend_internal_errors_total",
		"Our own 502/503/504 answers (no server, queue timeout, backend failure).", NULL,
		st->errors_5xx);
	counter(m, P "frontend_aborted_total", "Connections closed in the middle of a response.",
		NULL, st->aborted);
	counter(m, P "frontend_bytes_in_total", "Bytes read from clients.", NULL, st->bytes_in);
	counter(m, P "frontend_bytes_out_total", "Bytes written to clients.", NULL, st->bytes_out);
}

/* ---- servers and the backend ---- */

struct srv_counter {
	const char *name, *help;
	size_t off; /* a uint64_t in struct server_counters */
};

#define SC(n, h, f)                                                   \
	{                                                             \
		P "server_" n, h, offsetof(struct server_counters, f) \
	}
static const struct srv_counter srv_counters[] = {
	SC("requests_total", "Requests (http) or connections (tcp) dispatched to the server.",
	   requests),
	SC("retries_total", "Attempts on the server that failed and were retried elsewhere.",
	   retries),
	SC("redispatches_total",
	   "Requests moved off the server (retries, server down or drained).", redispatched),
	SC("bytes_in_total", "Bytes sent to the server.", bytes_in),
	SC("bytes_out_total", "Bytes received from the server.", bytes_out),
};

static uint64_t cval(const struct server_counters *c, size_t off)
{
	return *(const uint64_t *)((const char *)c + off);
}

static void render_server_counters(const struct srv_snap *sn, size_t n, struct mtext *m)
{
	for (size_t k = 0; k < sizeof(srv_counters) / sizeof(srv_counters[0]); k++) {
		metrics_family(m, srv_counters[k].name, "counter", srv_counters[k].help);
		for (size_t i = 0; i < n; i++)
			metrics_u64(m, srv_counters[k].name, NULL, sn[i].labels,
				    cval(&sn[i].c, srv_counters[k].off));
	}
}

static void render_server_states(const struct srv_snap *sn, size_t n, struct mtext *m)
{
	static const char *const states[] = { "up", "down", "drain" };
	char l[LABELS_MAX];

	metrics_family(m, P "server_status", "gauge",
		       "1 for the server's state (up, down or drain), 0 for the others.");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			metrics_u64x(m, P "server_status", NULL, sn[i].labels, "state", states[k],
				     !strcmp(server_state_name(sn[i].s), states[k]));
	metrics_family(m, P "server_check_up", "gauge",
		       "1 if the last health check passed, 0 if it failed (absent before "
		       "the first).");
	for (size_t i = 0; i < n; i++)
		if (sn[i].s->checked)
			metrics_u64(m, P "server_check_up", NULL, sn[i].labels,
				    sn[i].s->consecutive_ok > 0);
	metrics_family(m, P "server_info", "gauge",
		       "Always 1; the server's address and source (static or registered).");
	for (size_t i = 0; i < n; i++) {
		char a[LABELS_MAX];

		with(l, sn[i].labels, "address", sn[i].s->addr.text);
		metrics_u64(m, P "server_info", NULL,
			    with(a, l, "source",
				 sn[i].s->source == SRV_STATIC ? "static" : "registered"),
			    1);
	}
}

static void render_server_gauges(const struct srv_snap *sn, size_t n, struct mtext *m)
{
	metrics_family(m, P "server_weight", "gauge", "Balancing weight.");
	for (size_t i = 0; i < n; i++)
		metrics_u64(m, P "server_weight", NULL, sn[i].labels, sn[i].s->weight);
	metrics_family(m, P "server_current_inflight", "gauge", "Requests in flight now.");
	for (size_t i = 0; i < n; i++)
		metrics_u64(m, P "server_current_inflight", NULL, sn[i].labels,
			    server_inflight(sn[i].s));
	metrics_family(m, P "server_max_inflight", "gauge", "maxconn: the in-flight limit.");
	for (size_t i = 0; i < n; i++)
		metrics_u64(m, P "server_max_inflight", NULL, sn[i].labels,
			    __atomic_load_n(&sn[i].s->maxconn, __ATOMIC_RELAXED));
	metrics_family(m, P "server_current_queue", "gauge", "Requests waiting for a slot now.");
	for (size_t i = 0; i < n; i++)
		metrics_u64(m, P "server_current_queue", NULL, sn[i].labels, sn[i].c.queued);
	metrics_family(m, P "server_idle_connections", "gauge",
		       "Idle keep-alive connections to the server.");
	for (size_t i = 0; i < n; i++)
		metrics_u64(m, P "server_idle_connections", NULL, sn[i].labels, sn[i].c.idle);
}

static void render_server_failures(const struct srv_snap *sn, size_t n, struct mtext *m)
{
	char l[LABELS_MAX], causes[FAIL__COUNT][32];

	for (int f = 0; f < FAIL__COUNT; f++)
		snake(server_fail_name(f), causes[f], sizeof(causes[f]));
	metrics_family(m, P "server_failures_total", "counter",
		       "Failures counted against the server, by cause.");
	for (size_t i = 0; i < n; i++)
		for (int f = 0; f < FAIL__COUNT; f++)
			metrics_u64(m, P "server_failures_total", NULL,
				    with(l, sn[i].labels, "cause", causes[f]),
				    sn[i].s->fail_by[f]);
	metrics_family(m, P "server_http_responses_total", "counter",
		       "Responses from the server by status class.");
	for (size_t i = 0; i < n; i++)
		by_class(m, P "server_http_responses_total", sn[i].labels, sn[i].c.responses);
}

/* One histogram's samples: cumulative buckets, +Inf, sum, count. */
static void histogram(struct mtext *m, const char *name, const char *base,
		      const struct server_counters *c)
{
	/* SERVER_RT_BOUNDS_MS in seconds. */
	static const char *const le[SERVER_RT_BUCKETS] = { "0.005", "0.01", "0.025", "0.05",
							   "0.1",   "0.25", "0.5",   "1",
							   "2.5",   "5",    "10" };
	for (int b = 0; b < SERVER_RT_BUCKETS; b++)
		metrics_u64x(m, name, "_bucket", base, "le", le[b], c->rt_bucket[b]);
	metrics_u64x(m, name, "_bucket", base, "le", "+Inf", c->rt_count);
	metrics_ms(m, name, "_sum", base, c->rt_sum_ms);
	metrics_u64(m, name, "_count", base, c->rt_count);
}

static const char rt_help[] =
	"Time from the request's first byte to the response's last, responses only.";

static void render_servers(const struct srv_snap *sn, size_t n, struct mtext *m)
{
	render_server_states(sn, n, m);
	render_server_gauges(sn, n, m);
	render_server_counters(sn, n, m);
	render_server_failures(sn, n, m);
	/* A summary without quantiles (sum and count: the mean over any
	 * window) per server, the histogram for the backend only: 12 lines
	 * fewer per server, a third of a 1,000-server scrape. */
	metrics_family(m, P "server_response_time_seconds", "summary", rt_help);
	for (size_t i = 0; i < n; i++) {
		metrics_ms(m, P "server_response_time_seconds", "_sum", sn[i].labels,
			   sn[i].c.rt_sum_ms);
		metrics_u64(m, P "server_response_time_seconds", "_count", sn[i].labels,
			    sn[i].c.rt_count);
	}
}

static void sum_counters(struct server_counters *t, const struct server_counters *c)
{
	t->requests += c->requests;
	t->bytes_in += c->bytes_in;
	t->bytes_out += c->bytes_out;
	t->retries += c->retries;
	for (int k = 0; k < SERVER_NCLASSES; k++)
		t->responses[k] += c->responses[k];
	for (int b = 0; b < SERVER_RT_BUCKETS; b++)
		t->rt_bucket[b] += c->rt_bucket[b];
	t->rt_count += c->rt_count;
	t->rt_sum_ms += c->rt_sum_ms;
	t->queued += c->queued;
}

static void render_backend(const struct srv_snap *sn, size_t n, const struct proxy_stats *px,
			   struct mtext *m)
{
	struct server_counters t = { 0 };
	uint64_t up = 0, down = 0, drain = 0, inflight = 0, failures = 0;

	for (size_t i = 0; i < n; i++) {
		const char *st = server_state_name(sn[i].s);

		sum_counters(&t, &sn[i].c);
		up += !strcmp(st, "up");
		down += !strcmp(st, "down");
		drain += !strcmp(st, "drain");
		inflight += server_inflight(sn[i].s);
		failures += sn[i].s->failures;
	}
	metrics_family(m, P "backend_servers", "gauge", "Servers in the pool by state.");
	metrics_u64(m, P "backend_servers", NULL, "state=\"up\"", up);
	metrics_u64(m, P "backend_servers", NULL, "state=\"down\"", down);
	metrics_u64(m, P "backend_servers", NULL, "state=\"drain\"", drain);
	gauge(m, P "backend_current_inflight", "Requests in flight to all servers now.", NULL,
	      (int64_t)inflight);
	gauge(m, P "backend_current_queue", "Requests waiting for a server slot now.", NULL,
	      t.queued);
	counter(m, P "backend_requests_total", "Requests dispatched to any server.", NULL,
		t.requests);
	metrics_family(m, P "backend_http_responses_total", "counter",
		       "Responses from the servers by status class.");
	by_class(m, P "backend_http_responses_total", "", t.responses);
	counter(m, P "backend_failures_total", "Failures counted against any server.", NULL,
		failures);
	counter(m, P "backend_retries_total", "Attempts that failed and were retried elsewhere.",
		NULL, t.retries);
	counter(m, P "backend_redispatches_total",
		"Requests moved to another server (retries, server down or drained).", NULL,
		px->redispatched);
	counter(m, P "backend_queued_total", "Requests that waited in a server queue.", NULL,
		px->queued);
	counter(m, P "backend_bytes_in_total", "Bytes sent to the servers.", NULL, t.bytes_in);
	counter(m, P "backend_bytes_out_total", "Bytes received from the servers.", NULL,
		t.bytes_out);
	metrics_family(m, P "backend_response_time_seconds", "histogram", rt_help);
	histogram(m, P "backend_response_time_seconds", "", &t);
}

/* ---- HA: the election, replication, registration ---- */

static void drops(struct mtext *m, const char *name, const char *help, const char *base,
		  const uint64_t *v, int ncauses, const char *(*cause)(int))
{
	char c_[64];

	metrics_family(m, name, "counter", help);
	for (int c = 1; c < ncauses; c++)
		metrics_u64x(m, name, NULL, base, "cause", snake(cause(c), c_, sizeof(c_)), v[c]);
}

static const char *msg_cause(int c) { return msg_drop_name(c); }

/* One VRRP instance's status and its label set (instance="NAME"). */
struct vrrp_snap {
	char labels[LABELS_MAX];
	struct ha_status hs;
};

/* A family with one sample per instance: expr reads hs, the instance's
 * status (a family's samples stay together, as the format wants). */
#define VRRP_FAMILY(m, sn, n, name, type, help, expr)                                 \
	do {                                                                          \
		metrics_family(m, name, type, help);                                  \
		for (size_t i_ = 0; i_ < (n); i_++) {                                 \
			const struct ha_status *hs = &(sn)[i_].hs;                    \
			metrics_i64(m, name, NULL, (sn)[i_].labels, (int64_t)(expr)); \
		}                                                                     \
	} while (0)

/* The notify script's calls and the tracked items (docs/vrrp.md "Hooks"). */
static void render_hooks(const struct vrrp_snap *sn, size_t n, struct mtext *m)
{
	const char *name = P "vrrp_track_up";

	VRRP_FAMILY(m, sn, n, P "vrrp_notify_calls_total", "counter",
		    "Notify script calls started.", hs->notify.calls);
	VRRP_FAMILY(m, sn, n, P "vrrp_notify_failures_total", "counter",
		    "Notify script calls that failed (status, signal, timeout).",
		    hs->notify.failures);
	VRRP_FAMILY(m, sn, n, P "vrrp_notify_dropped_total", "counter",
		    "Notify calls dropped on a full queue (collapsed to the latest).",
		    hs->notify.dropped);
	if (!sn[0].hs.ntracks)
		return;
	metrics_family(m, name, "gauge", "1 while a tracked interface or script is up.");
	for (size_t i = 0; i < n; i++)
		for (size_t t = 0; t < sn[i].hs.ntracks; t++)
			metrics_u64x(m, name, NULL, sn[i].labels, "track", sn[i].hs.tracks[t].name,
				     sn[i].hs.tracks[t].up);
}

static void render_vrrp_families(const struct vrrp_snap *sn, size_t n, struct mtext *m)
{
	const char *name = P "vrrp_dropped_total";
	char c_[64];

	VRRP_FAMILY(m, sn, n, P "vrrp_state", "gauge",
		    "Role: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.", hs->vrrp.state);
	VRRP_FAMILY(m, sn, n, P "vrrp_priority", "gauge",
		    "Effective priority in the election (base moved by tracking).",
		    hs->vrrp.priority);
	VRRP_FAMILY(m, sn, n, P "vrrp_base_priority", "gauge",
		    "Configured priority ([ha] or [vrrp NAME] priority).", hs->vrrp.base_priority);
	VRRP_FAMILY(m, sn, n, P "vrrp_vip_held", "gauge",
		    "1 while this node holds the instance's VIPs.", hs->vip_held);
	VRRP_FAMILY(m, sn, n, P "vrrp_transitions_total", "counter", "Role changes.",
		    hs->stats.transitions);
	VRRP_FAMILY(m, sn, n, P "vrrp_adverts_sent_total", "counter", "VRRP advertisements sent.",
		    hs->stats.tx_adverts);
	VRRP_FAMILY(m, sn, n, P "vrrp_adverts_received_total", "counter",
		    "Valid VRRP advertisements received.", hs->stats.rx_adverts);
	VRRP_FAMILY(m, sn, n, P "vrrp_send_errors_total", "counter",
		    "Advertisements that could not be sent.", hs->stats.tx_errors);
	VRRP_FAMILY(m, sn, n, P "vrrp_vip_restored_total", "counter",
		    "VIPs removed by someone else and put back.", hs->vip_restored);
	metrics_family(m, name, "counter", "VRRP packets dropped, by cause.");
	for (size_t i = 0; i < n; i++)
		for (int c = 1; c < VRRP_RX_NCAUSES; c++)
			metrics_u64x(m, name, NULL, sn[i].labels, "cause",
				     snake(vrrp_rx_result_str(c), c_, sizeof(c_)),
				     sn[i].hs.stats.rx_drops[c]);
}

static const char *vrrp_cause(int c) { return vrrp_rx_result_str(c); }
static const char *nd_cause(int c) { return ha6_nd_cause_name((unsigned)c); }

/* The IPv6 family of an instance with IPv6 VIPs (docs/vrrp.md#ipv6). */
/* A family with one sample per instance that has IPv6 VIPs: expr reads
 * v, the instance's IPv6 side. */
#define VRRP6_FAMILY(m, sn, n, name, type, help, expr)                                        \
	do {                                                                                  \
		metrics_family(m, name, type, help);                                          \
		for (size_t i_ = 0; i_ < (n); i_++) {                                         \
			const struct ha6_status *v = &(sn)[i_].hs.v6;                         \
			if ((sn)[i_].hs.has_v6)                                               \
				metrics_i64(m, name, NULL, (sn)[i_].labels, (int64_t)(expr)); \
		}                                                                             \
	} while (0)

static void drops6(const struct vrrp_snap *sn, size_t n, struct mtext *m, const char *name,
		   const char *help, bool nd)
{
	char c_[64];

	metrics_family(m, name, "counter", help);
	for (size_t i = 0; i < n; i++) {
		const struct ha6_status *v = &sn[i].hs.v6;
		int ncauses = nd ? HA6_ND_CAUSES : VRRP_RX_NCAUSES;
		const char *(*cause)(int) = nd ? nd_cause : vrrp_cause;

		for (int c = 1; sn[i].hs.has_v6 && c < ncauses; c++)
			metrics_u64x(m, name, NULL, sn[i].labels, "cause",
				     snake(cause(c), c_, sizeof(c_)),
				     nd ? v->nd_drops[c] : v->stats.rx_drops[c]);
	}
}

/* The IPv6 side of every instance with IPv6 VIPs (docs/vrrp.md "IPv6"). */
static void render_vrrp6(const struct vrrp_snap *sn, size_t n, struct mtext *m)
{
	VRRP6_FAMILY(m, sn, n, P "vrrp6_vip_held", "gauge",
		     "1 while this node holds the instance's IPv6 VIPs.", v->vip_held);
	VRRP6_FAMILY(m, sn, n, P "vrrp6_adverts_sent_total", "counter",
		     "VRRPv3 advertisements sent over IPv6.", v->stats.tx_adverts);
	VRRP6_FAMILY(m, sn, n, P "vrrp6_adverts_received_total", "counter",
		     "Valid VRRPv3 advertisements received over IPv6.", v->stats.rx_adverts);
	drops6(sn, n, m, P "vrrp6_dropped_total", "VRRPv3-over-IPv6 packets dropped, by cause.",
	       false);
	VRRP6_FAMILY(m, sn, n, P "vrrp6_na_sent_total", "counter",
		     "Unsolicited Neighbor Advertisements sent.", v->na_sent);
	VRRP6_FAMILY(m, sn, n, P "vrrp6_ndisc_conflicts_total", "counter",
		     "Neighbor Advertisements giving one of our IPv6 VIPs another MAC.",
		     v->nd_conflicts);
	drops6(sn, n, m, P "vrrp6_ndisc_dropped_total",
	       "Malformed NS/NA seen on the HA link, by cause.", true);
}

/* Every VRRP instance, labelled instance="ha" (the [ha] one) or "NAME". */
static void render_vrrp(struct ha *ha, struct mtext *m)
{
	size_t n = ha_instances(ha);
	struct vrrp_snap *sn = calloc(n, sizeof(*sn));

	if (!sn) {
		m->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		ha_get_instance_status(ha, i, &sn[i].hs);
		metrics_label(sn[i].labels, sizeof(sn[i].labels), "instance", sn[i].hs.name);
	}
	render_vrrp_families(sn, n, m);
	render_hooks(sn, n, m);
	for (size_t i = 0; i < n; i++)
		if (sn[i].hs.has_v6) { /* some instance has IPv6 VIPs */
			render_vrrp6(sn, n, m);
			break;
		}
	free(sn);
}

static void render_sync(struct sync *s, struct mtext *m)
{
	struct sync_stats st;

	sync_get_stats(s, &st);
	gauge(m, P "sync_sequence", "Sequence number of the replicated state.", NULL,
	      (int64_t)st.state_seq);
	if (st.last_snapshot_age_ms >= 0) {
		metrics_family(m, P "sync_last_snapshot_age_seconds", "gauge",
			       "Since the last snapshot sent (MASTER) or applied (BACKUP).");
		metrics_ms(m, P "sync_last_snapshot_age_seconds", NULL, NULL,
			   (uint64_t)st.last_snapshot_age_ms);
	}
	gauge(m, P "sync_session_up", "BACKUP: 1 while its session to the MASTER is connected.",
	      NULL, st.session_up);
	gauge(m, P "sync_sessions_served", "MASTER: BACKUPs holding a session to us.", NULL,
	      st.sessions_served);
	counter(m, P "sync_snapshots_sent_total", "Full snapshots sent.", NULL, st.snapshots_sent);
	counter(m, P "sync_deltas_sent_total", "Journal deltas sent.", NULL, st.deltas_sent);
	counter(m, P "sync_snapshots_applied_total", "Snapshots applied.", NULL,
		st.snapshots_applied);
	counter(m, P "sync_deltas_applied_total", "Deltas applied.", NULL, st.deltas_applied);
	counter(m, P "sync_gaps_total", "Deltas missed (a snapshot was asked for).", NULL,
		st.gaps);
	counter(m, P "sync_crash_detections_total",
		"The MASTER's session closed and was taken as its crash (fast takeover).", NULL,
		st.master_lost);
	drops(m, P "sync_dropped_total", "Sync messages dropped, by cause.", "", st.drops,
	      MSG_DROP_NCAUSES, msg_cause);
	gauge(m, P "sync_liveness_paths_up",
	      "Fast liveness: peers whose path is up (packets every liveness_interval).", NULL,
	      st.liveness.paths_up);
	counter(m, P "sync_liveness_silences_total",
		"Fast liveness: the MASTER's healthy path fell silent (BACKUP).", NULL,
		st.liveness.silences);
	counter(m, P "sync_liveness_takeovers_total",
		"Fast liveness: early takeovers as the named successor.", NULL,
		st.liveness.takeovers);
}

static void render_registry(struct registry *r, struct mtext *m)
{
	struct registry_stats st;

	registry_get_stats(r, &st);
	counter(m, P "registration_announces_total", "Agent announcements decoded.", NULL,
		st.announces);
	counter(m, P "registration_added_total", "Servers added by registration.", NULL, st.added);
	counter(m, P "registration_expired_total", "Registered servers that stopped announcing.",
		NULL, st.expired);
	counter(m, P "registration_refused_total", "Announcements refused.", NULL, st.refused);
	drops(m, P "registration_dropped_total", "Registration messages dropped, by cause.", "",
	      st.drops, MSG_DROP_NCAUSES, msg_cause);
}

/* ---- the whole scrape ---- */

/* Only with [frontend] access_log on. */
static void render_access_log(struct alog *a, struct mtext *m)
{
	struct alog_stats st;

	alog_get_stats(a, &st);
	counter(m, P "access_log_lines_total", "Access-log lines written (or sent to journald).",
		NULL, st.lines);
	counter(m, P "access_log_dropped_total",
		"Access-log records dropped: a thread's buffer was full, or the write failed.",
		NULL, st.dropped);
	counter(m, P "access_log_reopens_total", "Access-log file reopened (SIGHUP).", NULL,
		st.reopens);
}

static struct srv_snap *snapshot_servers(struct pool *pool, size_t *n)
{
	struct srv_snap *sn;
	size_t cnt = 0, i = 0;

	for (struct server *s = pool_first(pool); s; s = pool_next(pool, s))
		cnt++;
	if (!(sn = calloc(cnt ? cnt : 1, sizeof(*sn))))
		return NULL;
	for (struct server *s = pool_first(pool); s && i < cnt; s = pool_next(pool, s), i++) {
		sn[i].s = s;
		metrics_label(sn[i].labels, sizeof(sn[i].labels), "server", s->name);
		server_get_counters(s, &sn[i].c);
	}
	*n = i;
	return sn;
}

void stats_metrics_render(const struct stats_sources *src, struct mtext *m)
{
	struct proxy_stats px;
	size_t n = 0;
	struct srv_snap *sn = snapshot_servers(src->pool, &n);

	if (!sn) {
		m->oom = true;
		return;
	}
	proxy_sum(src->workers, &px);
	render_process(src, m);
	render_frontend(&px, m);
	render_backend(sn, n, &px, m);
	render_servers(sn, n, m);
	if (src->ha)
		render_vrrp(src->ha, m);
	if (src->sync)
		render_sync(src->sync, m);
	if (src->registry)
		render_registry(src->registry, m);
	if (src->alog && *src->alog)
		render_access_log(*src->alog, m);
	free(sn);
}
