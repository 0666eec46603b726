/* test_stats.c - the [stats] listener: the Prometheus writer (names,
 * types, escaping of label values), the metrics of a pool, the strict
 * request parser, and the responder on a real loop (routes, bad and
 * oversized requests, basic auth, the client limit, a slowloris closed
 * at its deadline). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "pool.h"
#include "stats_http.h"
#include "stats_metrics.h"

/* ---- the writer ---- */

Test(metrics, family_and_samples)
{
	struct mtext m;

	mtext_init(&m);
	metrics_family(&m, "andromeda_x_total", "counter", "Things.");
	metrics_u64(&m, "andromeda_x_total", NULL, "a=\"1\"", 18446744073709551615ull);
	metrics_i64(&m, "andromeda_y", NULL, NULL, -42);
	metrics_ms(&m, "andromeda_t_seconds", "_sum", "", 1234);
	metrics_ms(&m, "andromeda_t_seconds", "_sum", NULL, 2000);
	metrics_ms(&m, "andromeda_t_seconds", "_sum", NULL, 1230);
	metrics_ms(&m, "andromeda_t_seconds", "_sum", NULL, 5);
	metrics_us(&m, "andromeda_u_seconds", NULL, NULL, 1234);
	metrics_us(&m, "andromeda_u_seconds", NULL, NULL, 3000000);
	cr_assert_str_eq(mtext_str(&m), "# HELP andromeda_x_total Things.\n"
					"# TYPE andromeda_x_total counter\n"
					"andromeda_x_total{a=\"1\"} 18446744073709551615\n"
					"andromeda_y -42\n"
					"andromeda_t_seconds_sum 1.234\n"
					"andromeda_t_seconds_sum 2\n"
					"andromeda_t_seconds_sum 1.23\n"
					"andromeda_t_seconds_sum 0.005\n"
					"andromeda_u_seconds 0.001234\n"
					"andromeda_u_seconds 3\n");
	mtext_free(&m);
}

Test(metrics, label_values_are_escaped)
{
	char l[64] = "";

	cr_assert_eq(metrics_label(l, sizeof(l), "server", "a\"b\\c\nd"), 0);
	cr_assert_eq(metrics_label(l, sizeof(l), "code", "2xx"), 0);
	cr_assert_str_eq(l, "server=\"a\\\"b\\\\c\\nd\",code=\"2xx\"");
	/* Too long: refused whole, the set unchanged. */
	cr_assert_eq(metrics_label(l, sizeof(l), "k", "0123456789012345678901234567890"), -ENOSPC);
	cr_assert_str_eq(l, "server=\"a\\\"b\\\\c\\nd\",code=\"2xx\"");
}

/* ---- the metrics of a pool ---- */

static struct cfg_endpoint endpoint(const char *ip, int port)
{
	struct cfg_endpoint ep = { 0 };

	ep.sin.sin_family = AF_INET;
	ep.sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &ep.sin.sin_addr);
	snprintf(ep.text, sizeof(ep.text), "%s:%d", ip, port);
	return ep;
}

static char *render_pool(struct pool *pool)
{
	struct config cfg = { 0 };
	struct stats_sources src = { .cfg = &cfg, .pool = pool };
	struct mtext m;
	char *out;

	snprintf(cfg.node.name, sizeof(cfg.node.name), "lb1");
	mtext_init(&m);
	stats_metrics_render(&src, &m);
	cr_assert(!m.oom);
	out = strdup(mtext_str(&m));
	mtext_free(&m);
	return out;
}

/* Every line is a HELP, a TYPE or a sample of the family last typed;
 * no family is typed twice; counters end in _total. */
static void check_exposition(const char *text)
{
	regex_t sample, help;
	char family[128] = "", type[16] = "", seen[16384] = " ";
	const char *p = text;

	cr_assert_eq(
		regcomp(&sample,
			"^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\""
			"(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*\\})? -?[0-9.]+$",
			REG_EXTENDED | REG_NOSUB),
		0);
	cr_assert_eq(regcomp(&help, "^# HELP [a-z_]+ [^\\\\]+$", REG_EXTENDED | REG_NOSUB), 0);
	cr_assert(strlen(text) > 0 && text[strlen(text) - 1] == '\n', "final newline");
	while (*p) {
		const char *nl = strchr(p, '\n');
		char line[1024], key[140];

		cr_assert_not_null(nl);
		cr_assert_lt((size_t)(nl - p), sizeof(line));
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		p = nl + 1;
		if (!strncmp(line, "# HELP ", 7)) {
			cr_assert_eq(regexec(&help, line, 0, NULL, 0), 0, "%s", line);
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			cr_assert_eq(sscanf(line, "# TYPE %127s %15s", family, type), 2, "%s",
				     line);
			snprintf(key, sizeof(key), " %s ", family);
			cr_assert_null(strstr(seen, key), "family %s typed twice", family);
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			cr_assert_eq(strncmp(family, "andromeda_", 10), 0, "%s", family);
			if (!strcmp(type, "counter"))
				cr_assert(strstr(family, "_total") == family + strlen(family) - 6,
					  "counter %s", family);
			continue;
		}
		cr_assert_eq(regexec(&sample, line, 0, NULL, 0), 0, "bad sample: %s", line);
		cr_assert_eq(strncmp(line, family, strlen(family)), 0, "%s outside %s", line,
			     family);
	}
	regfree(&sample);
	regfree(&help);
}

Test(stats_metrics, a_pool_renders_valid_families)
{
	struct cfg_endpoint a1 = endpoint("198.18.0.21", 80), a2 = endpoint("198.18.0.22", 80);
	struct pool *pool = pool_create(NULL);
	struct server *s1, *s2;
	int err;
	char *text;

	log_set_level(LOG_LVL_ERR);
	s1 = pool_server_add(pool, "web1", &a1, 3, SRV_STATIC, &err);
	s2 = pool_server_add(pool, "we\"b\\2", &a2, 1, SRV_REGISTERED, &err);
	cr_assert(s1 && s2);
	server_count(&s1->th[0].requests, 7);
	server_count_response(s1, 0, 200, 3);     /* <= 5 ms */
	server_count_response(s1, 0, 503, 700);   /* <= 1 s */
	server_count_response(s1, 0, 204, 60000); /* beyond 10 s: +Inf only */
	pool_server_failed(pool, s1, FAIL_CONNECT);
	text = render_pool(pool);
	check_exposition(text);
	cr_assert_not_null(strstr(text, "\nandromeda_server_requests_total{server=\"web1\"} 7\n"));
	cr_assert_not_null(strstr(text, "\nandromeda_server_weight{server=\"web1\"} 3\n"));
	cr_assert_not_null(
		strstr(text, "\nandromeda_server_status{server=\"web1\",state=\"up\"} 1\n"));
	cr_assert_not_null(
		strstr(text,
		       "\nandromeda_server_status{server=\"we\\\"b\\\\2\",state=\"down\"} 1\n"),
		"%s", text);
	cr_assert_not_null(strstr(
		text,
		"\nandromeda_server_http_responses_total{server=\"web1\",code=\"2xx\"} 2\n"));
	cr_assert_not_null(strstr(
		text,
		"\nandromeda_server_http_responses_total{server=\"web1\",code=\"5xx\"} 1\n"));
	cr_assert_not_null(
		strstr(text,
		       "\nandromeda_server_failures_total{server=\"web1\",cause=\"connect_error\"} 1\n"),
		"%s", text);
	/* The backend's histogram: cumulative buckets, +Inf and _count hold
	 * every response; per server a summary (sum and count). */
	cr_assert_not_null(strstr(
		text, "\nandromeda_backend_response_time_seconds_bucket{le=\"0.005\"} 1\n"));
	cr_assert_not_null(
		strstr(text, "\nandromeda_backend_response_time_seconds_bucket{le=\"0.5\"} 1\n"));
	cr_assert_not_null(
		strstr(text, "\nandromeda_backend_response_time_seconds_bucket{le=\"1\"} 2\n"));
	cr_assert_not_null(
		strstr(text, "\nandromeda_backend_response_time_seconds_bucket{le=\"10\"} 2\n"));
	cr_assert_not_null(
		strstr(text, "\nandromeda_backend_response_time_seconds_bucket{le=\"+Inf\"} 3\n"));
	cr_assert_not_null(strstr(
		text, "\nandromeda_server_response_time_seconds_sum{server=\"web1\"} 60.703\n"));
	cr_assert_not_null(strstr(
		text, "\nandromeda_server_response_time_seconds_count{server=\"web1\"} 3\n"));
	cr_assert_not_null(strstr(text, "\nandromeda_backend_servers{state=\"up\"} 1\n"));
	cr_assert_not_null(strstr(text, "\nandromeda_backend_requests_total 7\n"));
	cr_assert_not_null(strstr(text, "andromeda_info{node=\"lb1\",version=\"" ANDROMEDA_VERSION
					"\"} 1\n"));
	free(text);
	pool_destroy(pool);
}

Test(stats_metrics, an_empty_pool_is_still_valid)
{
	struct pool *pool = pool_create(NULL);
	char *text = render_pool(pool);

	check_exposition(text);
	cr_assert_not_null(strstr(text, "\nandromeda_backend_servers{state=\"up\"} 0\n"));
	free(text);
	pool_destroy(pool);
}

/* ---- the request parser ---- */

static unsigned parse(const char *head, struct stats_req *r)
{
	return stats_http_parse(head, strlen(head), r);
}

Test(stats_http, parses_get_and_head)
{
	struct stats_req r;

	cr_assert_eq(parse("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", &r), 0);
	cr_assert_str_eq(r.path, "/metrics");
	cr_assert(!r.head);
	cr_assert_str_eq(r.auth, "");
	cr_assert_eq(parse("HEAD /status.json?x=1 HTTP/1.0\r\n\r\n", &r), 0);
	cr_assert_str_eq(r.path, "/status.json");
	cr_assert(r.head);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nauthorization:  Basic YQ==  \r\n\r\n", &r), 0);
	cr_assert_str_eq(r.auth, "Basic YQ==");
}

Test(stats_http, refuses_what_is_not_a_plain_get)
{
	struct stats_req r;
	char longpath[400];

	cr_assert_eq(parse("POST /metrics HTTP/1.1\r\n\r\n", &r), 405);
	cr_assert_eq(parse("DELETE / HTTP/1.1\r\n\r\n", &r), 405);
	cr_assert_eq(parse("GET /metrics HTTP/2.0\r\n\r\n", &r), 505);
	cr_assert_eq(parse("GET /metrics HTTP/1.1 \r\n\r\n", &r), 400);
	cr_assert_eq(parse("GET  /metrics HTTP/1.1\r\n\r\n", &r), 400);
	cr_assert_eq(parse("GET metrics HTTP/1.1\r\n\r\n", &r), 400);
	cr_assert_eq(parse("get / HTTP/1.1\r\n\r\n", &r), 400);
	cr_assert_eq(parse("GET / HTTP/1.1\nHost: x\r\n\r\n", &r), 400);    /* bare LF */
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost x\r\n\r\n", &r), 400);   /* no colon */
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost : x\r\n\r\n", &r), 400); /* blank before : */
	cr_assert_eq(parse("GET / HTTP/1.1\r\n folded\r\n\r\n", &r), 400);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", &r), 400);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n", &r),
		     400);
	cr_assert_eq(parse("GET / HTTP/1.1\r\n", &r), 400); /* no blank line */
	cr_assert_eq(stats_http_parse("GET / HTTP/1.1\r\n\0\r\n\r\n", 20, &r), 400);
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	snprintf(longpath + 300, 100, " HTTP/1.1\r\n\r\n");
	cr_assert_eq(parse("GET x", &r), 400);
	{
		char req[512];

		snprintf(req, sizeof(req), "GET %s", longpath);
		cr_assert_eq(parse(req, &r), 414);
	}
}

Test(stats_http, auth_value_is_basic_base64)
{
	char v[64];

	cr_assert_eq(stats_http_auth_value("admin:secret", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "Basic YWRtaW46c2VjcmV0");
	cr_assert_eq(stats_http_auth_value("nocolon", v, sizeof(v)), -EINVAL);
	cr_assert_eq(stats_http_auth_value(":pw", v, sizeof(v)), -EINVAL);
	cr_assert_eq(stats_http_auth_value("a:0123456789012345678901234567890123456789012345", v,
					   sizeof(v)),
		     -EINVAL);
}

/* ---- the responder on a loop ---- */

static struct loop *loop;
static struct stats_http *srv;
static unsigned routed;

static void route(void *arg, const char *path, struct stats_reply *r)
{
	routed++;
	if (strcmp(path, "/hello")) {
		*r = (struct stats_reply){ .status = 404 };
		return;
	}
	*r = (struct stats_reply){
		.status = 200, .type = "text/plain", .body = strdup("hi\n"), .len = 3
	};
}

static void open_srv(const char *auth)
{
	struct cfg_endpoint ep = endpoint("127.0.0.1", 0);

	log_set_level(LOG_LVL_ERR);
	cr_assert_eq(loop_create(&loop), 0);
	cr_assert_eq(stats_http_open(&srv, loop, &ep, auth, route, NULL), 0);
	routed = 0;
}

static void close_srv(void)
{
	stats_http_close(srv);
	loop_destroy(loop);
}

static int connect_srv(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)stats_http_port(srv)) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	cr_assert(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 || errno == EINPROGRESS);
	return fd;
}

/* Run the loop until the server closes fd's connection, up to max_ms;
 * returns what it sent (malloc'd). */
static char *read_all(int fd, int max_ms)
{
	size_t cap = 65536, n = 0;
	char *buf = calloc(1, cap);
	uint64_t end = loop_clock_ms() + (uint64_t)max_ms;

	while (loop_clock_ms() < end) {
		ssize_t r;

		loop_run_once(loop, 10);
		r = recv(fd, buf + n, cap - n - 1, MSG_DONTWAIT);
		if (r == 0)
			return buf;
		if (r > 0)
			n += (size_t)r;
		else if (errno != EAGAIN)
			return buf;
	}
	cr_assert_fail("no close within %d ms; got: %s", max_ms, buf);
	return buf;
}

static char *ask(const char *req, size_t len)
{
	int fd = connect_srv();
	char *out;

	loop_run_once(loop, 10);
	cr_assert_eq(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	out = read_all(fd, 3000);
	close(fd);
	return out;
}

#define ASK(s) ask((s), strlen(s))

TestSuite(stats_server, .timeout = 60);

Test(stats_server, routes_and_errors)
{
	char *r;

	open_srv(NULL);
	r = ASK("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(strncmp(r, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", r);
	cr_assert_not_null(strstr(r, "\r\nContent-Length: 3\r\n"));
	cr_assert_not_null(strstr(r, "\r\nConnection: close\r\n"));
	cr_assert(strlen(r) > 3 && !strcmp(r + strlen(r) - 7, "\r\n\r\nhi\n"), "%s", r);
	free(r);
	r = ASK("HEAD /hello HTTP/1.1\r\n\r\n");
	cr_assert(strstr(r, "Content-Length: 3\r\n") && !strcmp(r + strlen(r) - 4, "\r\n\r\n"),
		  "%s", r);
	free(r);
	r = ASK("GET /other HTTP/1.1\r\n\r\n");
	cr_assert_eq(strncmp(r, "HTTP/1.1 404 ", 13), 0, "%s", r);
	free(r);
	r = ASK("POST /hello HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	cr_assert_eq(strncmp(r, "HTTP/1.1 405 ", 13), 0, "%s", r);
	cr_assert_not_null(strstr(r, "\r\nAllow: GET, HEAD\r\n"));
	free(r);
	r = ASK("GET /hello HTTP/1.1\nHost: x\n\n\r\n\r\n");
	cr_assert_eq(strncmp(r, "HTTP/1.1 400 ", 13), 0, "%s", r);
	free(r);
	cr_assert_eq(routed, 3, "only well-formed requests reach the routes");
	close_srv();
}

Test(stats_server, oversized_head_gets_431)
{
	char *big = malloc(STATS_HEAD_MAX + 100), *r;

	open_srv(NULL);
	memset(big, 'a', STATS_HEAD_MAX + 100);
	memcpy(big, "GET /hello HTTP/1.1\r\nX: ", 24);
	r = ask(big, STATS_HEAD_MAX + 100);
	cr_assert_eq(strncmp(r, "HTTP/1.1 431 ", 13), 0, "%.100s", r);
	cr_assert_eq(routed, 0);
	free(r);
	free(big);
	close_srv();
}

Test(stats_server, basic_auth_is_enforced)
{
	char *r;

	open_srv("Basic YWRtaW46c2VjcmV0");
	r = ASK("GET /hello HTTP/1.1\r\n\r\n");
	cr_assert_eq(strncmp(r, "HTTP/1.1 401 ", 13), 0, "%s", r);
	cr_assert_not_null(strstr(r, "\r\nWWW-Authenticate: Basic realm=\"andromeda\"\r\n"));
	free(r);
	r = ASK("GET /hello HTTP/1.1\r\nAuthorization: Basic YWRtaW46c2VjcmV1\r\n\r\n");
	cr_assert_eq(strncmp(r, "HTTP/1.1 401 ", 13), 0, "%s", r);
	free(r);
	r = ASK("GET /hello HTTP/1.1\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\n\r\n");
	cr_assert_eq(strncmp(r, "HTTP/1.1 200 ", 13), 0, "%s", r);
	free(r);
	cr_assert_eq(routed, 1);
	close_srv();
}

/* A byte every 200 ms does not extend the deadline: the connection is
 * closed STATS_READ_TIMEOUT_MS after it opened, with a 408. */
Test(stats_server, slowloris_is_closed_at_the_deadline)
{
	static const char req[] =
		"GET /hello HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	uint64_t start = loop_clock_ms();
	size_t i = 0, n = 0;
	int fd;
	char buf[512] = "";

	open_srv(NULL);
	fd = connect_srv();
	for (;;) {
		ssize_t r;

		loop_run_once(loop, 200);
		if (i < sizeof(req) - 1)
			(void)!send(fd, req + i++, 1, MSG_NOSIGNAL);
		r = recv(fd, buf + n, sizeof(buf) - n - 1, MSG_DONTWAIT);
		if (r > 0)
			n += (size_t)r;
		if (r == 0 || (r < 0 && errno != EAGAIN))
			break;
		cr_assert_lt(loop_clock_ms() - start, STATS_READ_TIMEOUT_MS + 3000, "still open");
	}
	cr_assert_geq(loop_clock_ms() - start, STATS_READ_TIMEOUT_MS - 50);
	cr_assert_eq(strncmp(buf, "HTTP/1.1 408 ", 13), 0, "%s", buf);
	cr_assert_eq(stats_http_nclients(srv), 0);
	cr_assert_eq(routed, 0);
	close(fd);
	close_srv();
}

Test(stats_server, clients_beyond_the_limit_get_503)
{
	int fds[STATS_MAX_CLIENTS], extra;
	char *r;

	open_srv(NULL);
	for (int i = 0; i < STATS_MAX_CLIENTS; i++)
		fds[i] = connect_srv();
	for (int i = 0; i < 20 && stats_http_nclients(srv) < STATS_MAX_CLIENTS; i++)
		loop_run_once(loop, 10);
	cr_assert_eq(stats_http_nclients(srv), STATS_MAX_CLIENTS);
	extra = connect_srv();
	r = read_all(extra, 3000);
	cr_assert_eq(strncmp(r, "HTTP/1.1 503 ", 13), 0, "%s", r);
	free(r);
	close(extra);
	for (int i = 0; i < STATS_MAX_CLIENTS; i++)
		close(fds[i]);
	/* Their places free up: a new client is served. */
	for (int i = 0; i < 50 && stats_http_nclients(srv); i++)
		loop_run_once(loop, 10);
	r = ASK("GET /hello HTTP/1.1\r\n\r\n");
	cr_assert_eq(strncmp(r, "HTTP/1.1 200 ", 13), 0, "%s", r);
	free(r);
	close_srv();
}
