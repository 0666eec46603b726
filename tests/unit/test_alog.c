/* test_alog.c - the access log (issue 14): the line's fields, escaping
 * and cutting of the path, tcp lines, the destinations, the termination
 * state codes, and the writer end to end into a file. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alog.h"
#include "txn_log.h"

static struct alog_rec http_rec(void)
{
	struct alog_rec r = {
		.start_ms = 1796598071123ULL, /* 2026-12-06T23:01:11.123Z */
		.client = "198.18.0.100:51234",
		.id = "req-1",
		.server = "web1",
		.method = "GET",
		.path = "/a b?q=\"x\"",
		.status = 200,
		.bytes_in = 78,
		.bytes_out = 312,
		.queue_ms = 0,
		.connect_ms = 1,
		.first_byte_ms = 3,
		.total_ms = 4,
		.term = "--",
	};
	return r;
}

Test(alog, http_line_has_every_field_in_order)
{
	struct alog_rec r = http_rec();
	char line[ALOG_LINE_MAX];
	size_t n = alog_format(&r, "198.18.0.10:80", line, sizeof(line));

	cr_expect_str_eq(line, "2026-12-06T23:01:11.123Z client=198.18.0.100:51234 id=req-1 "
			       "frontend=198.18.0.10:80 server=web1 method=GET "
			       "path=\"/a%20b?q=%22x%22\" status=200 bytes_in=78 bytes_out=312 "
			       "queue_ms=0 connect_ms=1 first_byte_ms=3 total_ms=4 retries=0 "
			       "redispatches=0 term=--");
	cr_expect_eq(n, strlen(line));
}

Test(alog, unreached_phases_and_no_server)
{
	struct alog_rec r = http_rec();
	char line[ALOG_LINE_MAX];

	r.server[0] = 0;
	r.status = 503;
	r.queue_ms = 5000;
	r.connect_ms = r.first_byte_ms = -1;
	r.retries = 2;
	r.redispatches = 3;
	memcpy(r.term, "sQ", 3);
	alog_format(&r, "198.18.0.10:80", line, sizeof(line));
	cr_expect(strstr(line, " server=- "), "%s", line);
	cr_expect(strstr(line, " status=503 "), "%s", line);
	cr_expect(strstr(line, " queue_ms=5000 connect_ms=-1 first_byte_ms=-1 total_ms=4 "
			       "retries=2 redispatches=3 term=sQ"),
		  "%s", line);
}

Test(alog, tcp_line_has_no_method_path_or_status)
{
	struct alog_rec r = http_rec();
	char line[ALOG_LINE_MAX];

	r.tcp = true;
	r.status = 0;
	memcpy(r.term, "CD", 3);
	alog_format(&r, "198.18.0.10:5432", line, sizeof(line));
	cr_expect(strstr(line, " server=web1 method=- path=\"-\" status=- bytes_in=78 "), "%s",
		  line);
	cr_expect(strstr(line, " term=CD"), "%s", line);
}

Test(alog, long_path_is_cut_and_marked)
{
	struct alog_rec r = http_rec();
	char line[ALOG_LINE_MAX];

	memset(r.path, 'a', ALOG_PATH_MAX - 1);
	r.path[ALOG_PATH_MAX - 1] = 0;
	r.path_cut = true;
	alog_format(&r, "f", line, sizeof(line));
	cr_expect(strstr(line, "aaaa...\" status=200"), "%s", line);
}

Test(alog, escaping_is_bounded)
{
	char out[8];

	cr_expect_eq(alog_escape("\x01\x02\x03", 3, out, sizeof(out)), 6);
	cr_expect_str_eq(out, "%01%02");
	cr_expect_eq(alog_escape("abc\\", 4, out, sizeof(out)), 6);
	cr_expect_str_eq(out, "abc%5C");
}

Test(alog, line_never_overflows)
{
	struct alog_rec r = http_rec();
	char line[40];
	size_t n = alog_format(&r, "f", line, sizeof(line));

	cr_expect_eq(n, sizeof(line) - 1);
	cr_expect_eq(strlen(line), sizeof(line) - 1);
}

Test(alog, destinations)
{
	cr_expect_eq(alog_dest_parse("off"), ALOG_OFF);
	cr_expect_eq(alog_dest_parse(""), ALOG_OFF);
	cr_expect_eq(alog_dest_parse("journal"), ALOG_JOURNAL);
	cr_expect_eq(alog_dest_parse("stderr"), ALOG_STDERR);
	cr_expect_eq(alog_dest_parse("/var/log/andromeda/access.log"), ALOG_FILE);
	cr_expect_eq(alog_dest_parse("access.log"), -1);
	cr_expect_eq(alog_dest_parse("syslog"), -1);
}

/* ---- termination state ---- */

static const char *term_of(enum txn_state st, char who, char phase, bool done)
{
	static char out[3];
	struct txn t;

	memset(&t, 0, sizeof(t));
	t.state = st;
	t.log.who = who;
	t.log.phase = phase;
	t.log.done = done;
	txn_log_term(&t, out);
	return out;
}

Test(alog, termination_codes)
{
	cr_expect_str_eq(term_of(TXN_RESPONDING, 0, 0, true), "--");
	cr_expect_str_eq(term_of(TXN_TUNNEL, 0, 0, true), "--");
	/* Freed without a cause: the client went away, in the txn's phase. */
	cr_expect_str_eq(term_of(TXN_READING, 0, 0, false), "CR");
	cr_expect_str_eq(term_of(TXN_QUEUED, 0, 0, false), "CQ");
	cr_expect_str_eq(term_of(TXN_CONNECTING, 0, 0, false), "CC");
	cr_expect_str_eq(term_of(TXN_SENDING, 0, 0, false), "CH");
	cr_expect_str_eq(term_of(TXN_WAITING, 0, 0, false), "CH");
	cr_expect_str_eq(term_of(TXN_RESPONDING, 0, 0, false), "CD");
	/* A cause set by the code that ended it. */
	cr_expect_str_eq(term_of(TXN_WAITING, 'S', 0, false), "SH");
	cr_expect_str_eq(term_of(TXN_WAITING, 's', 0, false), "sH");
	cr_expect_str_eq(term_of(TXN_QUEUED, 's', 'Q', false), "sQ");
	cr_expect_str_eq(term_of(TXN_READING, 'S', 'C', false), "SC");
	cr_expect_str_eq(term_of(TXN_READING, 'P', 0, false), "PR");
	cr_expect_str_eq(term_of(TXN_READING, 'c', 0, false), "cR");
	/* A cause wins over "completed" (an error answer sent in full). */
	cr_expect_str_eq(term_of(TXN_CONNECTING, 'S', 0, true), "SC");
}

Test(alog, txn_ended_keeps_the_first_cause)
{
	struct txn t;

	memset(&t, 0, sizeof(t));
	txn_ended(&t, 'S', 0);
	txn_ended(&t, 'P', 'R');
	cr_expect_eq(t.log.who, 'S');
	cr_expect_eq(t.log.phase, 0);
	txn_ended(NULL, 'C', 0); /* no txn: nothing */
}

/* ---- the writer ---- */

Test(alog, writer_writes_whole_lines_from_every_thread_and_reopens)
{
	char dir[] = "/tmp/andromeda-alog-XXXXXX", path[128], moved[160], line[2048];
	struct config cfg;
	struct alog *a;
	struct alog_rec r = http_rec();
	FILE *fp;
	int n = 0;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/access.log", dir);
	snprintf(moved, sizeof(moved), "%s.1", path);
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.frontend.access_log, sizeof(cfg.frontend.access_log), "%s", path);
	snprintf(cfg.frontend.listen.text, sizeof(cfg.frontend.listen.text), "198.18.0.10:80");
	cr_assert_eq(alog_open(&a, &cfg, 2), 0);
	cr_assert_not_null(a);
	for (int i = 0; i < 300; i++) {
		snprintf(r.id, sizeof(r.id), "t%d-%d", i % 2, i);
		alog_push(a, (unsigned)(i % 2), &r);
	}
	cr_assert_eq(rename(path, moved), 0);
	alog_reopen(a);
	for (int i = 0; i < 50 && access(path, F_OK); i++)
		usleep(20000);
	cr_expect_eq(access(path, F_OK), 0, "reopened");
	snprintf(r.id, sizeof(r.id), "after");
	alog_push(a, 0, &r);
	alog_close(a); /* flushes */
	cr_assert_not_null(fp = fopen(moved, "r"));
	while (fgets(line, sizeof(line), fp)) {
		cr_expect(strstr(line, " term=--\n"), "whole line: %s", line);
		n++;
	}
	fclose(fp);
	cr_expect_eq(n, 300);
	cr_assert_not_null(fp = fopen(path, "r"));
	cr_expect_not_null(fgets(line, sizeof(line), fp));
	cr_expect(strstr(line, " id=after "), "%s", line);
	fclose(fp);
	unlink(path);
	unlink(moved);
	rmdir(dir);
}

/* Records of every string length, empty to full, each with its own
 * numbers: the writer's lines are alog_format's of the records pushed,
 * byte for byte (the records are queued packed, alog.c). */
static void varied_rec(struct alog_rec *r, int i)
{
	static const char *const methods[] = { "GET", "", "PROPFIND", "M23456789012345" };

	memset(r, 0, sizeof(*r));
	r->start_ms = 1796598071123ULL + (uint64_t)i * 997;
	memset(r->client, 'a' + i % 26, (size_t)(i * 7) % sizeof(r->client));
	memset(r->id, '0' + i % 10, (size_t)(i * 13) % sizeof(r->id));
	memset(r->server, 's', (size_t)(i * 5) % sizeof(r->server));
	snprintf(r->method, sizeof(r->method), "%s", methods[i % 4]);
	memset(r->path, '/', (size_t)(i * 11) % sizeof(r->path));
	r->path_cut = i % 3 == 0;
	r->tcp = i % 17 == 0;
	r->status = i % 5 ? 200 + (unsigned)i : 0;
	r->bytes_in = (uint64_t)i << 33 | 7;
	r->bytes_out = UINT64_MAX - (uint64_t)i;
	r->queue_ms = i % 4 ? i : -1;
	r->connect_ms = -i;
	r->first_byte_ms = INT32_MAX - i;
	r->total_ms = i * 1000;
	r->retries = (unsigned)i % 3;
	r->redispatches = (unsigned)i % 4;
	memcpy(r->term, i % 2 ? "SH" : "--", 3);
}

Test(alog, queued_records_come_out_as_pushed)
{
	char dir[] = "/tmp/andromeda-alog-XXXXXX", path[128], line[2048], want[2048];
	struct config cfg;
	struct alog *a;
	struct alog_rec r;
	FILE *fp;
	int n = 0;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/access.log", dir);
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.frontend.access_log, sizeof(cfg.frontend.access_log), "%s", path);
	snprintf(cfg.frontend.listen.text, sizeof(cfg.frontend.listen.text), "198.18.0.10:80");
	cr_assert_eq(alog_open(&a, &cfg, 1), 0);
	for (int i = 0; i < 1000; i++) {
		varied_rec(&r, i);
		alog_push(a, 0, &r);
	}
	alog_close(a);
	cr_assert_not_null(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp)) {
		varied_rec(&r, n++);
		alog_format(&r, "198.18.0.10:80", want, sizeof(want));
		strcat(want, "\n");
		cr_expect_str_eq(line, want, "record %d", n - 1);
	}
	fclose(fp);
	cr_expect_eq(n, 1000);
	unlink(path);
	rmdir(dir);
}

Test(alog, off_creates_nothing)
{
	struct config cfg;
	struct alog *a = (struct alog *)1;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.frontend.access_log, sizeof(cfg.frontend.access_log), "off");
	cr_expect_eq(alog_open(&a, &cfg, 1), 0);
	cr_expect_null(a);
	alog_close(a);
}

/* ---- a stuck destination never holds a proxy thread ---- */

static int pipe_rd;

static void *drain_pipe(void *arg)
{
	char buf[65536];

	(void)arg;
	while (read(pipe_rd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

Test(alog, a_stuck_writer_drops_records_and_never_blocks, .timeout = 60)
{
	struct alog_rec r = http_rec();
	struct alog_stats st;
	struct config cfg;
	struct alog *a;
	struct timespec t0, t1;
	pthread_t reader;
	int p[2];
	double ms;

	/* The destination is a pipe nobody reads (as a dead NFS server:
	 * write(2) does not return), opened by path like a file. */
	cr_assert_eq(pipe(p), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.frontend.access_log, sizeof(cfg.frontend.access_log), "/proc/self/fd/%d",
		 p[1]);
	cr_assert_eq(alog_open(&a, &cfg, 1), 0);
	close(p[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 3 * ALOG_SLOT_RECS; i++) {
		alog_push(a, 0, &r);
		if (i == 100)
			usleep(200000); /* the writer fills the pipe and blocks */
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6 - 200;
	alog_get_stats(a, &st);
	cr_expect_lt(ms, 1000, "pushing took %.0f ms", ms);
	cr_expect_geq(st.dropped, ALOG_SLOT_RECS, "dropped %llu", (unsigned long long)st.dropped);
	/* Unstick it: the writer finishes and alog_close returns. */
	pipe_rd = p[0];
	cr_assert_eq(pthread_create(&reader, NULL, drain_pipe, NULL), 0);
	alog_close(a);
	pthread_join(reader, NULL);
	close(p[0]);
}
