/* health.c - active health checks on libcurl's multi interface.
 *
 * The daemon's only libcurl file besides curl_check.c, which drives the
 * multi handle from our loop: curl never blocks here, it tells us which
 * sockets to watch and when to wake it, and after every event we collect
 * the finished checks (process_done).
 *
 * Per server (struct hcheck, in srv->health_priv):
 *
 *   timer fires -> hc_start: easy handle into the multi, server_get()
 *   curl done   -> hc_done:  classify, log if the cause changed, re-arm the
 *                            timer, tell the pool, server_put()
 *   removed     -> hc_untrack: timer cancelled, easy handle out of the
 *                            multi (closing its socket), server_put()
 *
 * Checks are paced from their start (start + interval), so servers keep
 * the staggered phases they were given when added. */
#include "health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "curl_check.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "pool.h"

/* A check is about the status line; a large body is not read to its end. */
#define HC_BODY_MAX       (64u * 1024u)
/* First checks of servers are spread over min(interval, this). */
#define HC_STAGGER_MAX_MS 500u
#define HC_URL_MAX        (CFG_HOST_MAX + CFG_ADDR_TEXT_MAX + 256 + 16)

struct health {
	struct loop *loop;
	struct pool *pool;
	const struct config *cfg;
	struct curl_loop cl;        /* the multi handle on the loop */
	struct curl_slist *headers; /* shared by the checks without a Host of their own */
	struct list checks;         /* struct hcheck.link */
	uint32_t nstarted;          /* servers followed so far, for staggering */
	bool curl_global;           /* curl_global_init() succeeded */
};

struct hcheck {
	struct health *h;
	struct server *srv;
	CURL *easy;              /* reused for every check of srv */
	struct loop_timer timer; /* next check */
	bool inflight;           /* easy is in h->cl.multi; holds a ref on srv */
	bool tcp;                /* connect-only check */
	bool body_capped;
	size_t body_len;
	struct curl_slist *host_headers; /* with "Host: host", NULL: h->headers */
	struct curl_slist *connect_to;   /* tls = yes with a name: "NAME:PORT:ADDR" */
	char host[CFG_HOST_MAX];         /* the Host set on easy, "" = the URL's */
	uint64_t started_ms;
	struct health_result res;
	char url[HC_URL_MAX];
	char errbuf[CURL_ERROR_SIZE];
	struct list link; /* in h->checks */
};

const char *health_cause_name(enum health_cause cause)
{
	static const char *const names[HC__COUNT] = {
		[HC_NONE] = "not checked",
		[HC_OK] = "ok",
		[HC_REFUSED] = "connect refused",
		[HC_UNREACHABLE] = "unreachable",
		[HC_CONNECT_ERROR] = "connect error",
		[HC_CONNECT_TIMEOUT] = "connect timeout",
		[HC_TIMEOUT] = "timeout",
		[HC_HTTP_STATUS] = "http status",
		[HC_BAD_RESPONSE] = "bad response",
		[HC_INTERNAL] = "internal error",
		[HC_TLS] = "tls error",
	};
	return (unsigned)cause < HC__COUNT ? names[cause] : "unknown";
}

/* "http status 500", "ok, HTTP 200", "connect error (Network is down)". */
static int describe(const struct health_result *r, char *buf, size_t len)
{
	switch (r->cause) {
	case HC_OK:
		if (r->http_status)
			return snprintf(buf, len, "ok, HTTP %d", r->http_status);
		return snprintf(buf, len, "ok");
	case HC_HTTP_STATUS:
		return snprintf(buf, len, "http status %d", r->http_status);
	case HC_UNREACHABLE:
	case HC_CONNECT_ERROR:
		if (r->os_errno)
			return snprintf(buf, len, "%s (%s)", health_cause_name(r->cause),
					strerror(r->os_errno));
		return snprintf(buf, len, "%s", health_cause_name(r->cause));
	default:
		return snprintf(buf, len, "%s", health_cause_name(r->cause));
	}
}

/* ---- one check ---- */

static size_t hc_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct hcheck *hc = arg;
	size_t n = size * nmemb;

	if (hc->body_len + n > HC_BODY_MAX) {
		hc->body_capped = true;
		return 0; /* ends the transfer with CURLE_WRITE_ERROR */
	}
	hc->body_len += n;
	return n;
}

static enum health_cause classify_connect(struct hcheck *hc, struct health_result *r)
{
	long err = 0;

	curl_easy_getinfo(hc->easy, CURLINFO_OS_ERRNO, &err);
	r->os_errno = (int)err;
	if (err == ECONNREFUSED)
		return HC_REFUSED;
	if (err == EHOSTUNREACH || err == ENETUNREACH)
		return HC_UNREACHABLE;
	return HC_CONNECT_ERROR;
}

static enum health_cause classify_status(long status)
{
	if (curl_check_status_ok(status))
		return HC_OK;
	return status ? HC_HTTP_STATUS : HC_BAD_RESPONSE;
}

static enum health_cause classify(struct hcheck *hc, CURLcode rc, struct health_result *r)
{
	curl_off_t t = 0;
	long status = 0;

	r->duration_ms = curl_check_duration_ms(hc->easy);
	if (!hc->tcp) {
		curl_easy_getinfo(hc->easy, CURLINFO_RESPONSE_CODE, &status);
		r->http_status = (int)status;
	}
	if (rc == CURLE_WRITE_ERROR && hc->body_capped)
		rc = CURLE_OK;
	switch (rc) {
	case CURLE_OK:
		return hc->tcp ? HC_OK : classify_status(status);
	case CURLE_COULDNT_CONNECT:
		return classify_connect(hc, r);
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(hc->easy, CURLINFO_CONNECT_TIME_T, &t);
		return t ? HC_TIMEOUT : HC_CONNECT_TIMEOUT;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT:
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_COULDNT_RESOLVE_HOST:
		return HC_INTERNAL; /* our problem, not the server's */
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return HC_TLS;
	default:
		return HC_BAD_RESPONSE; /* empty reply, not HTTP, reset, ... */
	}
}

/* One line per change of cause (relayd style); a server failing the same
 * way every second is not news. */
static void hc_log_change(struct hcheck *hc, const struct health_result *old,
			  const struct health_result *r)
{
	char now[128], was[128];
	const struct server *s = hc->srv;
	bool detail = r->cause == HC_BAD_RESPONSE || r->cause == HC_CONNECT_ERROR ||
		      r->cause == HC_INTERNAL || r->cause == HC_TLS;

	if (old->cause == r->cause &&
	    (r->cause != HC_HTTP_STATUS || old->http_status == r->http_status))
		return;
	describe(r, now, sizeof(now));
	describe(old, was, sizeof(was));
	if (r->cause == HC_OK)
		log_info("health: server %s (%s) check passed: %s in %u ms (was: %s)", s->name,
			 s->addr.text, now, r->duration_ms, was);
	else
		log_warnx("health: server %s (%s) check failed: %s after %u ms%s%s%s (was: %s)",
			  s->name, s->addr.text, now, r->duration_ms,
			  detail && hc->errbuf[0] ? " [" : "", detail ? hc->errbuf : "",
			  detail && hc->errbuf[0] ? "]" : "", was);
}

static void hc_schedule_next(struct hcheck *hc)
{
	uint64_t now = loop_now_ms(hc->h->loop);
	uint64_t next = hc->started_ms + hc->h->cfg->backend.health_interval_ms;

	loop_timer_arm_at(hc->h->loop, &hc->timer, next > now ? next : now);
}

/* Record r, log a change, schedule the next check, then tell the pool.
 * The pool call comes last: an observer of the DOWN/UP it may cause can
 * remove srv, which frees hc (hc_untrack), so hc is not touched after it.
 * The caller holds a reference on srv across this call. */
static void hc_complete(struct hcheck *hc, struct health_result *r)
{
	struct pool *pool = hc->h->pool;
	struct server *srv = hc->srv;

	r->when_ms = loop_now_ms(hc->h->loop);
	r->checks = hc->res.checks + 1;
	r->failures = hc->res.failures + (r->cause != HC_OK);
	hc_log_change(hc, &hc->res, r);
	hc->res = *r;
	hc_schedule_next(hc);
	if (r->cause == HC_INTERNAL)
		return; /* not the server's fault: no verdict */
	srv->checked = true;
	if (r->cause == HC_OK)
		pool_server_ok(pool, srv, true);
	else
		pool_server_check_failed(pool, srv,
					 r->cause == HC_CONNECT_TIMEOUT || r->cause == HC_TIMEOUT);
}

/* A check that could not start: no verdict, the next one at its time.
 * The caller took a reference on srv for it. */
static void hc_fail_start(struct hcheck *hc, struct health_result *r)
{
	struct server *srv = hc->srv;

	hc_complete(hc, r);
	server_put(srv);
}

static void hc_done(struct hcheck *hc, CURLcode rc)
{
	struct health_result r = { 0 };
	struct server *srv = hc->srv;

	r.cause = classify(hc, rc, &r);
	curl_multi_remove_handle(hc->h->cl.multi, hc->easy);
	hc->inflight = false; /* the check's reference on srv is now ours */
	hc_complete(hc, &r);
	server_put(srv);
}

static void process_done(void *arg)
{
	struct health *h = arg;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->cl.multi, &left))) {
		struct hcheck *hc = NULL;
		CURLcode rc = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&hc);
		if (hc)
			hc_done(hc, rc); /* msg is invalid from here on */
	}
}

/* The Host of srv's checks: its own (a [server] or the agent's
 * health_host), else [backend] health_host, else "" (the URL's authority,
 * i.e. the server's address). */
static const char *hc_host(const struct hcheck *hc)
{
	return hc->srv->health_host[0] ? hc->srv->health_host : hc->h->cfg->backend.health_host;
}

static CURLcode hc_apply_target(struct hcheck *hc);

/* Follow a change of the Host (an agent's announcement, a reload) between
 * checks: curl reads the header list when a transfer starts, so the old
 * list is freed only while no check is in flight. */
static CURLcode hc_apply_host(struct hcheck *hc)
{
	const char *host = hc->tcp ? "" : hc_host(hc);
	struct curl_slist *l = NULL;
	CURLcode rc;

	if (!strcmp(host, hc->host))
		return CURLE_OK;
	if (host[0] && !(l = curl_check_headers(host)))
		return CURLE_OUT_OF_MEMORY;
	rc = curl_easy_setopt(hc->easy, CURLOPT_HTTPHEADER, l ? l : hc->h->headers);
	if (rc != CURLE_OK) {
		curl_slist_free_all(l);
		return rc;
	}
	curl_slist_free_all(hc->host_headers);
	hc->host_headers = l;
	snprintf(hc->host, sizeof(hc->host), "%s", host);
	return CURLE_OK;
}

static void hc_start(struct loop *loop, struct loop_timer *t)
{
	struct hcheck *hc = t->arg;
	CURLcode rc;
	CURLMcode mc;

	if (hc->inflight)
		return;
	if ((rc = hc_apply_host(hc)) != CURLE_OK || (rc = hc_apply_target(hc)) != CURLE_OK) {
		struct health_result r = { .cause = HC_INTERNAL };

		hc->started_ms = loop_now_ms(loop);
		snprintf(hc->errbuf, sizeof(hc->errbuf), "Host %s: %s", hc_host(hc),
			 curl_easy_strerror(rc));
		server_get(hc->srv);
		hc_fail_start(hc, &r);
		return;
	}
	hc->body_len = 0;
	hc->body_capped = false;
	hc->errbuf[0] = '\0';
	hc->started_ms = loop_now_ms(loop);
	server_get(hc->srv);
	mc = curl_multi_add_handle(hc->h->cl.multi, hc->easy);
	if (mc != CURLM_OK) {
		struct health_result r = { .cause = HC_INTERNAL };

		snprintf(hc->errbuf, sizeof(hc->errbuf), "%s", curl_multi_strerror(mc));
		hc_fail_start(hc, &r);
		return;
	}
	hc->inflight = true;
}

/* ---- following the pool ---- */

/* An unset timeout (hand-made configs) falls back to the interval. */
static uint32_t check_timeout_ms(const struct config *cfg)
{
	return cfg->backend.health_timeout_ms ? cfg->backend.health_timeout_ms
					      : cfg->backend.health_interval_ms;
}

/* A static server with tls = yes, or NULL. */
static const struct cfg_server *tls_server(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nservers; i++)
		if (cfg->servers[i].tls && !strcmp(cfg->servers[i].name, name))
			return &cfg->servers[i];
	return NULL;
}

/* The name a tls = yes server is checked under, as the proxy does
 * (tls_backend.c): tls_sni, else the health host without its port; ""
 * for none (or an address: no SNI for it, the certificate must name the
 * address). */
static void tls_name(const struct config *cfg, const struct cfg_server *cs, char *out, size_t cap)
{
	const char *hp = cs->tls_sni[0]                ? cs->tls_sni
			 : cs->health_host[0]          ? cs->health_host
			 : cfg->backend.health_host[0] ? cfg->backend.health_host
						       : cs->host; /* a server by name */
	size_t n = strcspn(hp, ":");

	if (n >= cap || strspn(hp, "0123456789.") >= n)
		n = 0;
	memcpy(out, hp, n);
	out[n] = '\0';
}

/* The check's target, again before every check (a reload may have
 * changed the server's tls keys): http://ADDR/path, or for tls = yes
 * https://NAME:PORT/path with curl connecting to the server's address
 * (CURLOPT_CONNECT_TO: no resolver, no shared DNS cache entry), so SNI
 * and the certificate check use NAME, with the [server]'s verify
 * settings, as the proxy's connections (tls_backend.c).  Between
 * checks only: curl holds on to the lists while one runs. */
static CURLcode hc_apply_target(struct hcheck *hc)
{
	const struct config *cfg = hc->h->cfg;
	const char *path = cfg->backend.health_check;
	const struct cfg_server *cs = tls_server(cfg, hc->srv->name);
	char name[CFG_HOST_MAX] = "", to[CFG_HOST_MAX + CFG_ADDR_TEXT_MAX + 16];
	CURL *e = hc->easy;
	CURLcode rc = CURLE_OK;

#define SETOPT(opt, val) (rc = rc != CURLE_OK ? rc : curl_easy_setopt(e, opt, val))
	if (cs)
		tls_name(cfg, cs, name, sizeof(name));
	snprintf(hc->url, sizeof(hc->url), "%s://%s%s%s%s", cs ? "https" : "http",
		 name[0] ? name : hc->srv->addr.text,
		 name[0] ? strrchr(hc->srv->addr.text, ':') : "", path[0] == '/' ? "" : "/", path);
	SETOPT(CURLOPT_URL, hc->url);
	SETOPT(CURLOPT_PROTOCOLS_STR, cs ? "https" : "http");
	SETOPT(CURLOPT_SSL_VERIFYPEER, !cs || cs->tls_verify ? 1L : 0L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, !cs || cs->tls_verify ? 2L : 0L);
	SETOPT(CURLOPT_CAINFO, cs && cs->tls_ca[0] ? cs->tls_ca : NULL);
	curl_slist_free_all(hc->connect_to);
	hc->connect_to = NULL;
	if (name[0]) {
		snprintf(to, sizeof(to), "%s:%s:%s", name, strrchr(hc->srv->addr.text, ':') + 1,
			 hc->srv->addr.text);
		if (!(hc->connect_to = curl_slist_append(NULL, to)))
			rc = CURLE_OUT_OF_MEMORY;
	}
	SETOPT(CURLOPT_CONNECT_TO, hc->connect_to);
	/* The address is a literal (an IPv6 one in brackets): its family only. */
	SETOPT(CURLOPT_IPRESOLVE, hc->srv->addr.sa.sa_family == AF_INET6
					  ? (long)CURL_IPRESOLVE_V6
					  : (long)CURL_IPRESOLVE_V4);
#undef SETOPT
	return rc;
}

/* Options that stay the same for every check of this server: those of
 * every check (curl_check_setup).  The URL holds the server's address
 * literal, so curl never resolves a name (a tls = yes server: the name
 * only names, see hc_apply_target). */
static CURLcode hc_setup_easy(struct hcheck *hc, const struct config *cfg)
{
	const char *path = cfg->backend.health_check;
	CURL *e = hc->easy;
	CURLcode rc;

#define SETOPT(opt, val) (rc = rc != CURLE_OK ? rc : curl_easy_setopt(e, opt, val))
	hc->tcp = !path[0];
	rc = curl_check_setup(e, "", hc->errbuf, "http", (long)check_timeout_ms(cfg));
	SETOPT(CURLOPT_PRIVATE, (char *)hc);
#undef SETOPT
	if (rc == CURLE_OK)
		rc = hc_apply_target(hc);
	if (rc != CURLE_OK)
		return rc;
	if (hc->tcp)
		return curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
	/* Host is the URL's authority, i.e. the server address (RFC 9110
	 * 7.2), until hc_apply_host() sets a health_host before a check. */
	return curl_check_setup_http(e, "andromeda-health/" ANDROMEDA_VERSION, hc->h->headers,
				     hc_discard, hc);
}

/* Golden-ratio spread: the n-th server starts at frac(n * 0.618) of the
 * window, so any number of servers added together fan out evenly. */
static uint64_t stagger_ms(struct health *h)
{
	uint32_t span = h->cfg->backend.health_interval_ms;

	if (span > HC_STAGGER_MAX_MS)
		span = HC_STAGGER_MAX_MS;
	return (uint64_t)span * ((h->nstarted++ * 618u) % 1000u) / 1000u;
}

static void hc_track(struct health *h, struct server *srv)
{
	struct hcheck *hc;
	CURLcode rc = CURLE_OUT_OF_MEMORY;

	if (srv->health_priv || !h->cfg->backend.health_interval_ms)
		return;
	hc = calloc(1, sizeof(*hc));
	if (hc && (hc->easy = curl_easy_init())) {
		hc->h = h;
		hc->srv = srv;
		rc = hc_setup_easy(hc, h->cfg);
	}
	if (rc != CURLE_OK) {
		log_warnx("health: server %s (%s) will not be checked: %s", srv->name,
			  srv->addr.text, curl_easy_strerror(rc));
		if (hc) {
			curl_easy_cleanup(hc->easy);
			curl_slist_free_all(hc->connect_to);
		}
		free(hc);
		return;
	}
	loop_timer_init(&hc->timer, hc_start, hc);
	list_add_tail(&h->checks, &hc->link);
	srv->health_priv = hc;
	loop_timer_arm(h->loop, &hc->timer, stagger_ms(h));
}

/* After this, nothing here refers to srv any more. */
static void hc_untrack(struct hcheck *hc)
{
	struct server *srv = hc->srv;

	loop_timer_cancel(hc->h->loop, &hc->timer);
	if (hc->inflight) {
		/* Closes the check's socket (via CURL_POLL_REMOVE) at once. */
		curl_multi_remove_handle(hc->h->cl.multi, hc->easy);
		hc->inflight = false;
		server_put(srv);
	}
	curl_easy_cleanup(hc->easy);
	curl_slist_free_all(hc->host_headers);
	curl_slist_free_all(hc->connect_to);
	list_del(&hc->link);
	srv->health_priv = NULL;
	free(hc);
}

static void on_pool_event(struct pool *pool, struct server *srv, enum pool_event ev, void *arg)
{
	struct health *h = arg;
	struct hcheck *hc = srv->health_priv;

	if (ev == POOL_SERVER_ADDED)
		hc_track(h, srv);
	else if (ev == POOL_SERVER_REMOVED && hc && hc->h == h)
		hc_untrack(hc);
}

/* ---- public API ---- */

static int health_init_curl(struct health *h)
{
	/* Reference counted by libcurl: paired with the cleanup in destroy. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	h->curl_global = true;
	h->cl.multi = curl_multi_init();
	h->headers = curl_check_headers(NULL);
	if (!h->cl.multi || !h->headers)
		return -ENOMEM;
	return curl_loop_attach(&h->cl) == CURLM_OK ? 0 : -EIO;
}

int health_create(struct health **out, struct loop *loop, struct pool *pool,
		  const struct config *cfg)
{
	struct health *h = calloc(1, sizeof(*h));
	struct server *s;
	int err;

	if (!h) {
		log_errno(-ENOMEM, "health: cannot create the health checker");
		return -ENOMEM;
	}
	h->loop = loop;
	h->pool = pool;
	h->cfg = cfg;
	list_init(&h->checks);
	curl_loop_init(&h->cl, loop, process_done, h, "health: cannot watch check socket");
	err = health_init_curl(h);
	if (!err)
		err = pool_add_observer(pool, on_pool_event, h);
	if (err) {
		log_errno(err, "health: cannot start health checks");
		health_destroy(h);
		return err;
	}
	for (s = pool_first(pool); s; s = pool_next(pool, s))
		hc_track(h, s);
	if (!cfg->backend.health_interval_ms)
		log_info("health: active checks disabled (health_interval is 0)");
	else
		log_info("health: %s checks%s%s every %u ms, timeout %u ms, rise %u, fall %u",
			 cfg->backend.health_check[0] ? "HTTP" : "TCP connect",
			 cfg->backend.health_check[0] && cfg->backend.health_host[0]
				 ? " with Host: "
				 : "",
			 cfg->backend.health_check[0] ? cfg->backend.health_host : "",
			 cfg->backend.health_interval_ms, check_timeout_ms(cfg), cfg->backend.rise,
			 cfg->backend.fall);
	*out = h;
	return 0;
}

void health_destroy(struct health *h)
{
	struct list *e;

	if (!h)
		return;
	/* Popped first: hc_untrack's own list_del is then a no-op, and the
	 * loop visibly moves on to the next check before this one is freed. */
	while ((e = list_pop_head(&h->checks)))
		hc_untrack(list_entry(e, struct hcheck, link));
	if (h->cl.multi)
		curl_multi_cleanup(h->cl.multi);
	curl_loop_stop(&h->cl);
	curl_slist_free_all(h->headers);
	if (h->curl_global)
		curl_global_cleanup();
	free(h);
}

int health_check_now(struct health *h, struct server *srv)
{
	struct hcheck *hc = srv->health_priv;

	if (!hc || hc->h != h)
		return -ENOENT;
	if (!hc->inflight)
		loop_timer_arm(h->loop, &hc->timer, 0);
	return 0;
}

int health_get_result(const struct server *srv, struct health_result *out)
{
	const struct hcheck *hc = srv->health_priv;

	if (!hc)
		return -ENOENT;
	*out = hc->res;
	return 0;
}

int health_last_result(const struct server *srv, char *buf, size_t len)
{
	struct health_result r;
	char what[128];

	if (health_get_result(srv, &r) < 0 || r.cause == HC_NONE)
		return snprintf(buf, len, "not checked");
	describe(&r, what, sizeof(what));
	return snprintf(buf, len, "%s in %u ms", what, r.duration_ms);
}
