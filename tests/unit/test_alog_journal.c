/* test_alog_journal.c - the access log's journal entries (issue 14): a
 * request alone has every field once; an entry of several requests has,
 * for every field, every value its lines have (so journalctl FIELD=value
 * finds each request's entry), each once, and stays within journald's
 * field limit whatever the records hold. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "alog_journal.h"

#define FRONTEND "198.18.0.10:80"

static struct alog_rec rec(unsigned i)
{
	struct alog_rec r = {
		.start_ms = 1796598071123ULL,
		.client = "198.18.0.100:51234",
		.server = "web1",
		.method = "GET",
		.path = "/cart?id=7",
		.status = 200,
		.bytes_in = 78,
		.bytes_out = 312,
		.connect_ms = 1,
		.first_byte_ms = 3,
		.total_ms = 4,
		.term = "--",
	};
	snprintf(r.id, sizeof(r.id), "req-%u", i);
	return r;
}

/* How many items of the entry are exactly "text". */
static int items(const struct iovec *iov, int cnt, const char *text)
{
	int n = 0;

	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len == strlen(text) &&
		     !memcmp(iov[i].iov_base, text, strlen(text));
	return n;
}

/* How many items of the entry are some "NAME=...". */
static int named(const struct iovec *iov, int cnt, const char *name)
{
	int n = 0;

	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len > strlen(name) &&
		     !memcmp(iov[i].iov_base, name, strlen(name)) &&
		     ((const char *)iov[i].iov_base)[strlen(name)] == '=';
	return n;
}

Test(alog_journal, one_request_has_every_field_once)
{
	struct alog_jbatch *b = alog_jbatch_new();
	struct alog_rec r[2] = { rec(1), rec(2) };
	const struct iovec *iov;
	int cnt;

	r[0].path_cut = true;
	r[0].queue_ms = -1;
	cr_assert_eq(alog_jbatch_build(b, r, 2, 1, FRONTEND, &iov, &cnt), 1);
	cr_expect_eq(cnt, 3 + ALOG_J_FIELDS);
	cr_expect(!memcmp(iov[0].iov_base, "MESSAGE=2026-12-06T23:01:11.123Z client=", 40));
	cr_expect_eq(iov[0].iov_len, 8 + strlen((char *)iov[0].iov_base + 8));
	static const char *want[] = {
		"PRIORITY=6",
		"ANDROMEDA_LOG=access",
		"REQUEST_ID=req-1",
		"CLIENT=198.18.0.100:51234",
		"FRONTEND=198.18.0.10:80",
		"SERVER=web1",
		"METHOD=GET",
		"PATH=/cart?id=7...",
		"STATUS=200",
		"BYTES_IN=78",
		"BYTES_OUT=312",
		"TIMERS_MS=-1/1/3/4",
		"RETRIES=0",
		"REDISPATCHES=0",
		"TERMINATION=--",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect_eq(items(iov, cnt, want[i]), 1, "%s", want[i]);
	alog_jbatch_free(b);
}

Test(alog_journal, tcp_and_no_server_as_before)
{
	struct alog_jbatch *b = alog_jbatch_new();
	struct alog_rec r = rec(1);
	const struct iovec *iov;
	int cnt;

	r.tcp = true;
	r.server[0] = 0;
	r.status = 0;
	alog_jbatch_build(b, &r, 1, 1, FRONTEND, &iov, &cnt);
	cr_expect_eq(items(iov, cnt, "METHOD=-"), 1);
	cr_expect_eq(items(iov, cnt, "PATH=-"), 1);
	cr_expect_eq(items(iov, cnt, "SERVER=-"), 1);
	cr_expect_eq(items(iov, cnt, "STATUS=0"), 1);
	alog_jbatch_free(b);
}

/* The bug this file fixed: entries of several lines had REQUEST_ID only,
 * so journalctl STATUS=502 missed every request logged under load. */
Test(alog_journal, a_batch_has_every_value_of_every_field_once)
{
	struct alog_jbatch *b = alog_jbatch_new();
	struct alog_rec r[100];
	const struct iovec *iov;
	int cnt;
	char want[64];

	for (unsigned i = 0; i < 100; i++) {
		r[i] = rec(i);
		r[i].status = i % 10 == 3 ? 502 : 200;
		snprintf(r[i].server, sizeof(r[i].server), "web%u", i % 3);
		snprintf(r[i].client, sizeof(r[i].client), "198.18.0.100:%u", 40000 + i % 7);
		if (i == 42)
			memcpy(r[i].term, "SH", 3);
	}
	cr_assert_eq(alog_jbatch_build(b, r, 100, ALOG_J_BATCH, FRONTEND, &iov, &cnt), 100);
	for (unsigned i = 0; i < 100; i++) {
		snprintf(want, sizeof(want), "REQUEST_ID=req-%u", i);
		cr_expect_eq(items(iov, cnt, want), 1, "%s", want);
	}
	cr_expect_eq(items(iov, cnt, "STATUS=200"), 1);
	cr_expect_eq(items(iov, cnt, "STATUS=502"), 1);
	cr_expect_eq(named(iov, cnt, "STATUS"), 2);
	cr_expect_eq(named(iov, cnt, "SERVER"), 3);
	cr_expect_eq(items(iov, cnt, "SERVER=web2"), 1);
	cr_expect_eq(named(iov, cnt, "CLIENT"), 7);
	cr_expect_eq(items(iov, cnt, "CLIENT=198.18.0.100:40006"), 1);
	cr_expect_eq(items(iov, cnt, "TERMINATION=SH"), 1);
	cr_expect_eq(named(iov, cnt, "TERMINATION"), 2);
	for (const char *f = "FRONTEND\0METHOD\0PRIORITY\0ANDROMEDA_LOG\0MESSAGE\0"; *f;
	     f += strlen(f) + 1)
		cr_expect_eq(named(iov, cnt, f), 1, "%s", f);
	/* The numbers and the path: in the lines only. */
	for (const char *f = "PATH\0BYTES_IN\0BYTES_OUT\0TIMERS_MS\0RETRIES\0REDISPATCHES\0"; *f;
	     f += strlen(f) + 1)
		cr_expect_eq(named(iov, cnt, f), 0, "%s", f);
	/* FRONTEND, 100 ids, 7 clients, 3 servers, METHOD, 2 statuses, 2 terms */
	cr_expect_eq(cnt, 3 + 1 + 100 + 7 + 3 + 1 + 2 + 2);
	/* The message: the 100 lines, in order. */
	const char *m = iov[0].iov_base;
	int lines = 1;
	for (size_t i = 0; i < iov[0].iov_len; i++)
		lines += m[i] == '\n';
	cr_expect_eq(lines, 100);
	cr_expect(strstr(m, " id=req-0 ") && strstr(m, " id=req-99 ") &&
		  strstr(m, " id=req-0 ") < strstr(m, " id=req-99 "));
	cr_expect(strstr(m, " id=req-3 ") && strstr(strstr(m, " id=req-3 "), "status=502"));
	alog_jbatch_free(b);
}

/* What sd_journal_sendv makes of the entry: 2 iovecs per field, 5 for a
 * value with a newline. */
static int sendmsg_iovecs(const struct iovec *iov, int cnt)
{
	int n = 0;

	for (int i = 0; i < cnt; i++)
		n += memchr(iov[i].iov_base, '\n', iov[i].iov_len) ? 5 : 2;
	return n;
}

Test(alog_journal, batches_are_cut_at_the_line_and_field_limits)
{
	struct alog_jbatch *b = alog_jbatch_new();
	static struct alog_rec r[300];
	const struct iovec *iov;
	int cnt;
	unsigned took;

	for (unsigned i = 0; i < 300; i++)
		r[i] = rec(i);
	cr_expect_eq(alog_jbatch_build(b, r, 300, 1000, FRONTEND, &iov, &cnt), ALOG_J_BATCH);
	cr_expect_eq(alog_jbatch_build(b, r, 300, 10, FRONTEND, &iov, &cnt), 10);
	/* Every field different on every line, the longest values: the entry
	 * stops before journald's limit, and the next one takes the rest. */
	for (unsigned i = 0; i < 300; i++) {
		memset(r[i].path, 'p', sizeof(r[i].path) - 1);
		r[i].path[0] = (char)('a' + i % 26);
		r[i].path[1] = (char)('a' + i / 26);
		r[i].path_cut = true;
		memset(r[i].id, 'i', sizeof(r[i].id) - 1);
		snprintf(r[i].id, 8, "%u", i);
		r[i].id[strlen(r[i].id)] = 'x';
		snprintf(r[i].client, sizeof(r[i].client), "[2001:db8:18::100]:%u", 1000 + i);
		snprintf(r[i].server, sizeof(r[i].server), "server-%u", i);
		snprintf(r[i].method, sizeof(r[i].method), "M%u", i);
		r[i].status = 100 + i;
		r[i].bytes_in = i;
		r[i].bytes_out = UINT64_MAX - i;
		r[i].total_ms = (int32_t)i;
		r[i].retries = i;
		r[i].redispatches = i;
		snprintf(r[i].term, sizeof(r[i].term), "%c%c", 'A' + i % 26, 'A' + i / 26);
	}
	took = alog_jbatch_build(b, r, 300, ALOG_J_BATCH, FRONTEND, &iov, &cnt);
	cr_expect_lt(took, ALOG_J_BATCH);
	cr_expect_leq(cnt, ALOG_J_ITEMS_MAX);
	/* no room for one more line (its fields but FRONTEND, all new) */
	cr_expect_gt(cnt + ALOG_J_BATCH_FIELDS - 1, ALOG_J_ITEMS_MAX);
	cr_expect_leq(sendmsg_iovecs(iov, cnt), 1024);
	cr_expect_eq(named(iov, cnt, "STATUS"), (int)took);
	cr_expect_eq(named(iov, cnt, "REQUEST_ID"), (int)took);
	cr_expect_eq(named(iov, cnt, "FRONTEND"), 1);
	cr_expect_eq(
		alog_jbatch_build(b, r + took, 300 - took, ALOG_J_BATCH, FRONTEND, &iov, &cnt),
		took);
	cr_expect(!memcmp(iov[0].iov_base, "MESSAGE=", 8));
	/* sd_journal_sendv sends a field with a newline as five iovecs, and
	 * one sendmsg takes 1,024 at most (EINVAL beyond): were the values to
	 * hold newlines, the entry still fits. */
	for (unsigned i = 0; i < 300; i++)
		r[i].path[5] = r[i].id[4] = '\n';
	took = alog_jbatch_build(b, r, 300, ALOG_J_BATCH, FRONTEND, &iov, &cnt);
	cr_expect_gt(took, 0);
	cr_expect_leq(sendmsg_iovecs(iov, cnt), 1024);
	alog_jbatch_free(b);
}

/* The writer asks with what all threads have queued in a pass: four
 * threads with 20 records each are 80, batched, so that journald's rate
 * limit never sees more than ALOG_JOURNAL_SINGLE entries a pass. */
Test(alog_journal, a_pass_batches_above_the_single_limit)
{
	cr_expect_eq(alog_j_lines_per_entry(0, 32), 1u);
	cr_expect_eq(alog_j_lines_per_entry(1, 32), 1u);
	cr_expect_eq(alog_j_lines_per_entry(32, 32), 1u);
	cr_expect_eq(alog_j_lines_per_entry(33, 32), (unsigned)ALOG_J_BATCH);
	cr_expect_eq(alog_j_lines_per_entry(4 * 20, 32), (unsigned)ALOG_J_BATCH);
}
