/* test_journal.c - the on-disk journal: codec round trips and rejections,
 * sequence across restarts, torn tail at every byte, corruption in the
 * middle, compaction (bounded, crash-safe), --since reads, pool rebuild. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

static char dir[64];
static char path[128];
static struct journal *j;

static void rm_rf(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	char p[PATH_MAX];

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		if (unlink(p) < 0 && errno == EISDIR)
			rm_rf(p);
	}
	closedir(dp);
	rmdir(d);
}

static void setup(void)
{
	strcpy(dir, "/tmp/test_journal.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, JOURNAL_FILE);
	j = NULL;
}

static void teardown(void)
{
	journal_close(j);
	rm_rf(dir);
}

static void reopen(void)
{
	journal_close(j);
	j = NULL;
	cr_assert_eq(journal_open(&j, dir), 0);
}

/* A record of type t with every field exercised; i varies the content. */
static struct journal_rec make_rec(enum journal_type t, unsigned i)
{
	struct journal_rec r;
	char name[32], detail[64];

	snprintf(name, sizeof(name), "web-%u", i);
	snprintf(detail, sizeof(detail), "%s #%u: a detail, with blanks", journal_type_name(t), i);
	cr_assert_eq(journal_rec_init(&r, t, name, detail), 0);
	r.srv.addr.s_addr = htonl(0xc6120000u + i); /* 198.18.x.y */
	r.srv.port = (uint16_t)(8000 + i);
	r.srv.weight = (uint16_t)(1 + i % 256);
	r.srv.source = i % 2 ? SRV_REGISTERED : SRV_STATIC;
	r.srv.health = i % 3 ? SRV_UP : SRV_DOWN;
	r.srv.drain = i % 5 == 0;
	r.srv.expires_in_ms = r.srv.source == SRV_REGISTERED ? 30000 + i : 0;
	return r;
}

static void assert_rec_eq(const struct journal_rec *a, const struct journal_rec *b)
{
	cr_assert_eq(a->seq, b->seq);
	cr_assert_eq(a->time_ms, b->time_ms);
	cr_assert_eq(a->type, b->type);
	cr_assert_str_eq(a->srv.name, b->srv.name);
	cr_assert_eq(a->srv.addr.s_addr, b->srv.addr.s_addr);
	cr_assert_eq(a->srv.v6, b->srv.v6);
	cr_assert_eq(memcmp(&a->srv.addr6, &b->srv.addr6, sizeof(a->srv.addr6)), 0);
	cr_assert_eq(a->srv.port, b->srv.port);
	cr_assert_eq(a->srv.weight, b->srv.weight);
	cr_assert_eq(a->srv.source, b->srv.source);
	cr_assert_eq(a->srv.health, b->srv.health);
	cr_assert_eq(a->srv.drain, b->srv.drain);
	cr_assert_eq(a->srv.expires_in_ms, b->srv.expires_in_ms);
	cr_assert_str_eq(a->detail, b->detail);
}

/* Collect replayed records. */
struct collect {
	struct journal_rec *r;
	size_t n, cap;
};

static int collect_one(const struct journal_rec *r, void *arg)
{
	struct collect *c = arg;

	cr_assert_lt(c->n, c->cap);
	c->r[c->n++] = *r;
	return 0;
}

static size_t replay_all(struct journal_rec *out, size_t cap)
{
	struct collect c = { .r = out, .cap = cap };

	cr_assert_eq(journal_replay(j, collect_one, &c), 0);
	return c.n;
}

static size_t file_size(void)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	return (size_t)st.st_size;
}

static uint8_t *slurp(size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;

	cr_assert_not_null(f);
	*len = file_size();
	buf = malloc(*len ? *len : 1);
	cr_assert_eq(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static void spit(const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* Append one record of each type, n times over; returns how many. */
static size_t append_all_types(struct journal_rec *saved, size_t rounds)
{
	size_t k = 0;

	for (size_t i = 0; i < rounds; i++)
		for (int t = JR_STARTED; t <= JR_TYPE_MAX; t++) {
			struct journal_rec r = make_rec(t, (unsigned)k);

			cr_assert_eq(journal_append(j, &r), 0, "append %s", journal_type_name(t));
			cr_assert_eq(r.seq, k + 1);
			if (saved)
				saved[k] = r;
			k++;
		}
	return k;
}

static void append_n(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct journal_rec r = make_rec(JR_PEER_SEEN, i);

		cr_assert_eq(journal_append(j, &r), 0);
	}
}

TestSuite(codec);

Test(codec, crc32c_check_value)
{
	/* The standard check value of CRC-32C (RFC 3720 B.4 polynomial). */
	cr_assert_eq(journal_crc32c(0, "123456789", 9), 0xe3069283u);
	cr_assert_eq(journal_crc32c(journal_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
}

Test(codec, every_type_round_trips)
{
	for (int t = JR_STARTED; t <= JR_TYPE_MAX; t++) {
		struct journal_rec r = make_rec(t, (unsigned)t), d;
		uint8_t buf[JOURNAL_REC_MAX], again[JOURNAL_REC_MAX];
		size_t used = 0;
		int len;

		r.seq = 0x0102030405060708ull + (uint64_t)t;
		r.time_ms = 1700000000000ull + (uint64_t)t;
		len = journal_encode(&r, buf, sizeof(buf));
		cr_assert_gt(len, 0, "%s", journal_type_name(t));
		cr_assert_eq(journal_decode(buf, (size_t)len, &d, &used), 0);
		cr_assert_eq(used, (size_t)len);
		assert_rec_eq(&r, &d);
		cr_assert_eq(journal_encode(&d, again, sizeof(again)), len);
		cr_assert_arr_eq(buf, again, (size_t)len);
	}
}

Test(codec, longest_record_and_empty_strings)
{
	struct journal_rec r, d;
	uint8_t buf[JOURNAL_REC_MAX];
	size_t used;

	journal_rec_init(&r, JR_ROLE, NULL, NULL);
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf)), JOURNAL_REC_MIN);
	memset(r.srv.name, 'n', JOURNAL_NAME_MAX);
	memset(r.detail, 'd', JOURNAL_DETAIL_MAX);
	r.srv.v6 = true; /* the longest: an IPv6 address after the detail */
	inet_pton(AF_INET6, "2001:db8:18::21", &r.srv.addr6);
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf)), JOURNAL_REC_MAX);
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf) - 1), -ENOSPC);
	cr_assert_eq(journal_decode(buf, sizeof(buf), &d, &used), 0);
	assert_rec_eq(&r, &d);
}

Test(codec, long_or_bad_text_is_einval)
{
	char longname[JOURNAL_NAME_MAX + 2], longdetail[JOURNAL_DETAIL_MAX + 2];
	struct journal_rec r;
	uint8_t buf[JOURNAL_REC_MAX + 64];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(longdetail, 'b', sizeof(longdetail) - 1);
	longdetail[sizeof(longdetail) - 1] = '\0';
	cr_assert_eq(journal_rec_init(&r, JR_SERVER_UP, longname, NULL), -EINVAL);
	cr_assert_eq(journal_rec_init(&r, JR_ROLE, NULL, longdetail), -EINVAL);
	longname[JOURNAL_NAME_MAX] = '\0';
	cr_assert_eq(journal_rec_init(&r, JR_SERVER_UP, longname, NULL), 0, "63 characters fit");

	r = make_rec(JR_SERVER_UP, 1);
	memset(r.srv.name, 'x', sizeof(r.srv.name)); /* no terminator */
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf)), -EINVAL);
	r = make_rec(JR_ROLE, 1);
	memset(r.detail, 'x', sizeof(r.detail));
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf)), -EINVAL);
	r = make_rec(JR_ROLE, 1);
	strcpy(r.detail, "line\nbreak");
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf)), -EINVAL);
	r = make_rec(JR_SERVER_UP, 1);
	strcpy(r.srv.name, "has blank");
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf)), -EINVAL);
}

Test(codec, bad_fields_are_einval)
{
	struct journal_rec r = make_rec(JR_SERVER_DOWN, 1);
	uint8_t buf[JOURNAL_REC_MAX];

	r.srv.name[0] = '\0';
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf)), -EINVAL,
		     "server record without a name");
	r = make_rec(JR_SERVER_DOWN, 1);
	r.type = 0;
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.type = JR_TYPE_MAX + 1;
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf)), -EINVAL);
	r = make_rec(JR_SERVER_DOWN, 1);
	r.srv.source = 7;
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf)), -EINVAL);
	r = make_rec(JR_SERVER_DOWN, 1);
	r.srv.health = 2;
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf)), -EINVAL);
}

Test(codec, every_truncation_is_enodata)
{
	struct journal_rec r = make_rec(JR_SERVER_REGISTERED, 3), d;
	uint8_t buf[JOURNAL_REC_MAX];
	int len = journal_encode(&r, buf, sizeof(buf));
	size_t used;

	cr_assert_gt(len, 0);
	for (int cut = 0; cut < len; cut++)
		cr_assert_eq(journal_decode(buf, (size_t)cut, &d, &used), -ENODATA, "cut at %d",
			     cut);
}

Test(codec, every_changed_byte_is_refused)
{
	struct journal_rec r = make_rec(JR_SERVER_DRAINED, 4), d;
	uint8_t buf[JOURNAL_REC_MAX], bad[JOURNAL_REC_MAX];
	int len = journal_encode(&r, buf, sizeof(buf));
	size_t used;

	cr_assert_gt(len, 0);
	for (int i = 0; i < len; i++)
		for (unsigned x = 1; x < 256; x <<= 1) {
			memcpy(bad, buf, (size_t)len);
			bad[i] ^= (uint8_t)x;
			/* -EBADMSG, or -ENODATA when the length byte grew past the buffer. */
			cr_assert_lt(journal_decode(bad, (size_t)len, &d, &used), 0,
				     "byte %d ^ %#x", i, x);
		}
	memcpy(bad, buf, (size_t)len);
	bad[0] = 'X';
	cr_assert_eq(journal_decode(bad, (size_t)len, &d, &used), -EBADMSG);
	cr_assert_eq(journal_decode(bad, 3, &d, &used), -EBADMSG, "short and not our magic");
}

Test(codec, valid_crc_with_bad_fields_is_ebadmsg)
{
	struct journal_rec r = make_rec(JR_SERVER_UP, 2), d;
	uint8_t buf[JOURNAL_REC_MAX];
	int len = journal_encode(&r, buf, sizeof(buf));
	const int offsets[] = { 6, 7, 36, 37, 38 }; /* version, type, source, health, flags */
	size_t used;

	for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++) {
		uint8_t bad[JOURNAL_REC_MAX];

		memcpy(bad, buf, (size_t)len);
		bad[offsets[k]] = 0xee;
		/* Re-seal it, so that only the field check can refuse it. */
		uint32_t crc = journal_crc32c(0, bad, (size_t)len - 4);
		bad[len - 4] = (uint8_t)(crc >> 24);
		bad[len - 3] = (uint8_t)(crc >> 16);
		bad[len - 2] = (uint8_t)(crc >> 8);
		bad[len - 1] = (uint8_t)crc;
		cr_assert_eq(journal_decode(bad, (size_t)len, &d, &used), -EBADMSG, "offset %d",
			     offsets[k]);
	}
}

Test(codec, type_names)
{
	cr_assert_str_eq(journal_type_name(0), "unknown");
	cr_assert_str_eq(journal_type_name(JR_TYPE_MAX + 1), "unknown");
	cr_assert_str_eq(journal_type_name(JR_ROLE), "role");
	cr_assert_str_eq(journal_type_name(JR_SERVER_REGISTERED), "server-registered");
	for (int a = JR_STARTED; a <= JR_TYPE_MAX; a++) {
		cr_assert_str_neq(journal_type_name(a), "unknown");
		for (int b = a + 1; b <= JR_TYPE_MAX; b++)
			cr_assert_str_neq(journal_type_name(a), journal_type_name(b));
	}
	cr_assert(journal_type_durable(JR_ROLE));
	cr_assert(journal_type_durable(JR_SERVER_REGISTERED));
	cr_assert_not(journal_type_durable(JR_SERVER_DOWN), "health flaps never wait on the disk");
}

Test(codec, server_from_pool_server)
{
	struct server s;
	struct journal_server js;

	memset(&s, 0, sizeof(s));
	strcpy(s.name, "agent-7");
	s.addr.sin.sin_family = AF_INET;
	s.addr.sin.sin_addr.s_addr = htonl(0xc6120015);
	s.addr.sin.sin_port = htons(8080);
	s.weight = 3;
	s.source = SRV_REGISTERED;
	s.health = SRV_DOWN;
	s.drain = true;
	s.expires_ms = 15000;
	cr_assert_eq(journal_server_from(&js, &s, 10000), 0);
	cr_assert_str_eq(js.name, "agent-7");
	cr_assert_eq(js.addr.s_addr, htonl(0xc6120015));
	cr_assert_eq(js.port, 8080);
	cr_assert_not(js.v6);
	cr_assert_eq(js.weight, 3);
	cr_assert_eq(js.source, SRV_REGISTERED);
	cr_assert_eq(js.health, SRV_DOWN);
	cr_assert(js.drain);
	cr_assert_eq(js.expires_in_ms, 5000);
	cr_assert_eq(journal_server_from(&js, &s, 20000), 0);
	cr_assert_eq(js.expires_in_ms, 1, "overdue: expires at once");
	s.expires_ms = 0;
	cr_assert_eq(journal_server_from(&js, &s, 20000), 0);
	cr_assert_eq(js.expires_in_ms, 0, "never");
}

/* An IPv6 server: flag bit 1, its 16 bytes after the detail, the IPv4
 * field 0; a record that breaks either rule is refused. */
Test(codec, ipv6_server_round_trips)
{
	struct server s;
	struct journal_rec r, d;
	uint8_t buf[JOURNAL_REC_MAX];
	size_t used;
	int len;

	memset(&s, 0, sizeof(s));
	strcpy(s.name, "web6");
	s.addr.sin6.sin6_family = AF_INET6;
	s.addr.sin6.sin6_port = htons(8080);
	inet_pton(AF_INET6, "2001:db8:18::21", &s.addr.sin6.sin6_addr);
	s.weight = 2;
	journal_rec_init(&r, JR_SERVER_REGISTERED, NULL, "hello");
	cr_assert_eq(journal_server_from(&r.srv, &s, 0), 0);
	cr_assert(r.srv.v6);
	cr_assert_eq(r.srv.port, 8080);
	len = journal_encode(&r, buf, sizeof(buf));
	cr_assert_eq(len, JOURNAL_REC_MIN + 4 + 5 + 16);
	cr_assert_eq(buf[38], 0x02);
	cr_assert_eq(memcmp(buf + JOURNAL_HDR_LEN + 9, &s.addr.sin6.sin6_addr, 16), 0);
	cr_assert_eq(journal_decode(buf, (size_t)len, &d, &used), 0);
	assert_rec_eq(&r, &d);
	/* Both an IPv4 and an IPv6 address: not encodable, not decodable. */
	r.srv.addr.s_addr = htonl(0xc6120015);
	cr_assert_eq(journal_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.srv.v6 = false;
	len = journal_encode(&r, buf, sizeof(buf));
	buf[38] = 0x02; /* claims v6 with the address in the IPv4 field */
	cr_assert_eq(journal_decode(buf, (size_t)len, &d, &used), -EBADMSG);
}

TestSuite(file, .init = setup, .fini = teardown);

Test(file, every_type_round_trips_through_the_file)
{
	struct journal_rec saved[2 * JR_TYPE_MAX], back[2 * JR_TYPE_MAX];
	uint64_t before = journal_now_ms(), after;
	size_t n;

	cr_assert_eq(journal_open(&j, dir), 0);
	cr_assert_eq(journal_last_seq(j), 0);
	n = append_all_types(saved, 2);
	after = journal_now_ms();
	cr_assert_eq(journal_count(j), n);
	cr_assert_eq(journal_size(j), file_size());
	for (size_t i = 0; i < n; i++)
		cr_assert(saved[i].time_ms >= before && saved[i].time_ms <= after);
	reopen();
	cr_assert_eq(replay_all(back, n), n);
	for (size_t i = 0; i < n; i++)
		assert_rec_eq(&back[i], &saved[i]);
	cr_assert_eq(journal_count(j), n);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(file, reopen_continues_the_sequence)
{
	struct journal_rec r = make_rec(JR_ROLE, 1);

	cr_assert_eq(journal_open(&j, dir), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(journal_append(j, &r), 0);
	cr_assert_eq(r.seq, 5);
	reopen();
	cr_assert_eq(journal_last_seq(j), 5);
	cr_assert_eq(journal_append(j, &r), 0);
	cr_assert_eq(r.seq, 6);
	reopen();
	cr_assert_eq(journal_last_seq(j), 6);
	cr_assert_eq(journal_count(j), 6);
}

Test(file, invalid_record_writes_nothing)
{
	struct journal_rec r = make_rec(JR_ROLE, 1);

	cr_assert_eq(journal_open(&j, dir), 0);
	cr_assert_eq(journal_append(j, &r), 0);
	r = make_rec(JR_SERVER_UP, 2);
	r.seq = 77;
	memset(r.srv.name, 'z', sizeof(r.srv.name));
	cr_assert_eq(journal_append(j, &r), -EINVAL);
	cr_assert_eq(r.seq, 77, "untouched on failure");
	cr_assert_eq(journal_last_seq(j), 1);
	cr_assert_eq(journal_size(j), file_size());
	r = make_rec(JR_SERVER_UP, 2);
	cr_assert_eq(journal_append(j, &r), 0);
	cr_assert_eq(r.seq, 2, "no sequence number was used");
}

/* Truncate the file to every length inside its last record: each is a torn
 * write; open drops it, keeps every earlier record, and appends go on. */
Test(file, torn_tail_at_every_byte)
{
	struct journal_rec saved[64], back[64];
	size_t n, full, last_len, cut;
	uint8_t *orig;

	cr_assert_eq(journal_open(&j, dir), 0);
	n = append_all_types(saved, 1);
	journal_close(j);
	j = NULL;
	orig = slurp(&full);
	{
		uint8_t buf[JOURNAL_REC_MAX];

		last_len = (size_t)journal_encode(&saved[n - 1], buf, sizeof(buf));
	}
	log_set_level(LOG_LVL_ERR); /* one "dropped N bytes" line per cut */
	for (cut = full - last_len + 1; cut < full; cut++) {
		spit(orig, cut);
		cr_assert_eq(journal_open(&j, dir), 0, "cut at %zu", cut);
		cr_assert_eq(journal_count(j), n - 1, "cut at %zu", cut);
		cr_assert_eq(journal_last_seq(j), n - 1);
		cr_assert_eq(file_size(), full - last_len, "tail truncated away at cut %zu", cut);
		cr_assert_eq(replay_all(back, 64), n - 1);
		for (size_t i = 0; i < n - 1; i++)
			assert_rec_eq(&back[i], &saved[i]);
		struct journal_rec r = make_rec(JR_PEER_SEEN, 9);
		cr_assert_eq(journal_append(j, &r), 0);
		cr_assert_eq(r.seq, n);
		reopen();
		cr_assert_eq(journal_count(j), n, "the new record survives a reopen (cut %zu)",
			     cut);
		journal_close(j);
		j = NULL;
	}
	free(orig);
}

/* A damaged record in the middle ends the journal there: the records
 * before it survive, it and every later one are dropped (docs/journal.md). */
Test(file, corrupt_middle_record_stops_the_replay)
{
	struct journal_rec saved[64], back[64];
	uint8_t buf[JOURNAL_REC_MAX], *orig;
	size_t n, full, start = 0, len;
	const size_t k = 5; /* damage record index 5 (seq 6) */

	cr_assert_eq(journal_open(&j, dir), 0);
	n = append_all_types(saved, 1);
	journal_close(j);
	j = NULL;
	orig = slurp(&full);
	for (size_t i = 0; i < k; i++)
		start += (size_t)journal_encode(&saved[i], buf, sizeof(buf));
	len = (size_t)journal_encode(&saved[k], buf, sizeof(buf));
	log_set_level(LOG_LVL_ERR);
	for (size_t b = start; b < start + len; b++) {
		orig[b] ^= 0x20;
		spit(orig, full);
		orig[b] ^= 0x20;
		cr_assert_eq(journal_open(&j, dir), 0);
		cr_assert_eq(journal_count(j), k, "byte %zu", b);
		cr_assert_eq(journal_last_seq(j), k);
		cr_assert_eq(file_size(), start);
		cr_assert_eq(replay_all(back, 64), k);
		for (size_t i = 0; i < k; i++)
			assert_rec_eq(&back[i], &saved[i]);
		journal_close(j);
		j = NULL;
	}
	cr_assert_gt(n, k + 1, "there were later records to lose");
	free(orig);
}

Test(file, garbage_after_good_records_is_dropped)
{
	uint8_t *orig, *more;
	size_t full;

	cr_assert_eq(journal_open(&j, dir), 0);
	append_all_types(NULL, 1);
	journal_close(j);
	j = NULL;
	orig = slurp(&full);
	more = malloc(full + 100);
	memcpy(more, orig, full);
	memset(more + full, 0, 100); /* a filesystem may leave zeros after a crash */
	spit(more, full + 100);
	cr_assert_eq(journal_open(&j, dir), 0);
	cr_assert_eq(journal_last_seq(j), JR_TYPE_MAX);
	cr_assert_eq(file_size(), full);
	free(orig);
	free(more);
}

Test(file, sequence_going_backwards_ends_the_journal)
{
	struct journal_rec a = make_rec(JR_ROLE, 1), b = make_rec(JR_ROLE, 2),
			   c = make_rec(JR_ROLE, 3);
	uint8_t buf[3 * JOURNAL_REC_MAX];
	size_t len = 0;

	a.seq = 10;
	b.seq = 11;
	c.seq = 11; /* a valid record, but it does not follow its predecessor */
	len += (size_t)journal_encode(&a, buf + len, sizeof(buf) - len);
	len += (size_t)journal_encode(&b, buf + len, sizeof(buf) - len);
	size_t good = len;
	len += (size_t)journal_encode(&c, buf + len, sizeof(buf) - len);
	spit(buf, len);
	cr_assert_eq(journal_open(&j, dir), 0);
	cr_assert_eq(journal_count(j), 2);
	cr_assert_eq(journal_last_seq(j), 11);
	cr_assert_eq(file_size(), good);
}

Test(file, sequence_at_its_maximum_refuses_appends)
{
	struct journal_rec r = make_rec(JR_ROLE, 1);
	uint8_t buf[JOURNAL_REC_MAX];

	r.seq = UINT64_MAX; /* only a forged file gets here */
	spit(buf, (size_t)journal_encode(&r, buf, sizeof(buf)));
	cr_assert_eq(journal_open(&j, dir), 0);
	cr_assert_eq(journal_last_seq(j), UINT64_MAX);
	cr_assert_eq(journal_append(j, &r), -EOVERFLOW);
	cr_assert_eq(journal_compact(j, NULL, 0), -EOVERFLOW);
	cr_assert_eq(journal_size(j), file_size());
}

/* A write the kernel takes only in part (here: RLIMIT_FSIZE, as a full
 * disk would) is rolled back, so the next record does not follow garbage
 * and survives a reopen. */
Test(file, short_write_is_rolled_back)
{
	struct rlimit lim;
	struct journal_rec r = make_rec(JR_SERVER_REGISTERED, 1);

	cr_assert_eq(journal_open(&j, dir), 0);
	append_n(3);
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &lim), 0);
	struct rlimit small = { .rlim_cur = journal_size(j) + 10, .rlim_max = lim.rlim_max };
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	cr_assert_eq(journal_append(j, &r), -EFBIG);
	cr_assert_eq(file_size(), journal_size(j), "the 10 bytes that fit were cut off again");
	cr_assert_eq(journal_last_seq(j), 3);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	cr_assert_eq(journal_append(j, &r), 0);
	cr_assert_eq(r.seq, 4);
	reopen();
	cr_assert_eq(journal_count(j), 4);
}

Test(file, second_open_of_a_dir_is_ebusy)
{
	struct journal *other = NULL;

	cr_assert_eq(journal_open(&j, dir), 0);
	cr_assert_eq(journal_open(&other, dir), -EBUSY);
	cr_assert_null(other);
	journal_close(j);
	cr_assert_eq(journal_open(&j, dir), 0, "the lock goes with the journal");
}

Test(file, missing_dir_is_enoent)
{
	char missing[128];

	snprintf(missing, sizeof(missing), "%s/nope", dir);
	cr_assert_eq(journal_open(&j, missing), -ENOENT);
	cr_assert_null(j);
}

static int stop_at_3(const struct journal_rec *r, void *arg)
{
	(*(unsigned *)arg)++;
	return r->seq == 3 ? 42 : 0;
}

Test(file, replay_stops_when_the_callback_says_so)
{
	unsigned calls = 0;

	cr_assert_eq(journal_open(&j, dir), 0);
	append_all_types(NULL, 1);
	cr_assert_eq(journal_replay(j, stop_at_3, &calls), 42);
	cr_assert_eq(calls, 3);
}

TestSuite(read, .init = setup, .fini = teardown);

Test(read, since_filters_and_keeps_order)
{
	struct journal_rec out[16];
	uint64_t skipped;
	size_t n;

	cr_assert_eq(journal_open(&j, dir), 0);
	append_n(10);
	cr_assert_eq(journal_read(j, 6, out, 16, &n, &skipped), 0);
	cr_assert_eq(n, 4);
	cr_assert_eq(skipped, 0);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(out[i].seq, 7 + i);
	cr_assert_eq(journal_read(j, 10, out, 16, &n, &skipped), 0);
	cr_assert_eq(n, 0, "nothing after the last");
	cr_assert_eq(journal_read(j, 0, out, 16, &n, NULL), 0);
	cr_assert_eq(n, 10);
}

Test(read, bounded_count_keeps_the_newest)
{
	struct journal_rec out[3];
	uint64_t skipped;
	size_t n;

	cr_assert_eq(journal_open(&j, dir), 0);
	append_n(10);
	for (size_t max = 1; max <= 3; max++) {
		cr_assert_eq(journal_read(j, 0, out, max, &n, &skipped), 0);
		cr_assert_eq(n, max);
		cr_assert_eq(skipped, 10 - max);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(out[i].seq, 10 - max + 1 + i, "max %zu, out[%zu]", max, i);
	}
	cr_assert_eq(journal_read(j, 2, out, 0, &n, &skipped), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(skipped, 8);
}

TestSuite(rebuild, .init = setup, .fini = teardown);

static void append_srv(enum journal_type t, const char *name, bool drain, enum server_health h,
		       uint32_t expires_in_ms)
{
	struct journal_rec r;

	cr_assert_eq(journal_rec_init(&r, t, name, "test"), 0);
	r.srv.addr.s_addr = htonl(0xc6120015);
	r.srv.port = 80;
	r.srv.weight = 1;
	r.srv.source = SRV_REGISTERED;
	r.srv.health = h;
	r.srv.drain = drain;
	r.srv.expires_in_ms = expires_in_ms;
	cr_assert_eq(journal_append(j, &r), 0);
}

static const struct journal_server *find(const struct journal_server *s, size_t n,
					 const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].name, name) == 0)
			return &s[i];
	return NULL;
}

Test(rebuild, last_record_wins_and_removals_remove)
{
	struct journal_server s[8];
	size_t n;

	cr_assert_eq(journal_open(&j, dir), 0);
	append_srv(JR_SERVER_REGISTERED, "a", false, SRV_DOWN, 0);
	append_srv(JR_SERVER_REGISTERED, "b", false, SRV_DOWN, 0);
	append_srv(JR_SERVER_REGISTERED, "c", false, SRV_DOWN, 0);
	append_srv(JR_SERVER_UP, "a", false, SRV_UP, 0);
	append_srv(JR_SERVER_DRAINED, "a", true, SRV_UP, 0);
	append_srv(JR_SERVER_WITHDRAWN, "b", true, SRV_UP, 0);
	append_srv(JR_SERVER_EXPIRED, "c", false, SRV_DOWN, 0);
	append_srv(JR_SERVER_REGISTERED, "d", false, SRV_DOWN, 0);
	struct journal_rec role = make_rec(JR_ROLE, 1);
	cr_assert_eq(journal_append(j, &role), 0);
	reopen();
	cr_assert_eq(journal_rebuild(j, journal_now_ms(), s, 8, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(s[0].name, "a");
	cr_assert(s[0].drain);
	cr_assert_eq(s[0].health, SRV_UP);
	cr_assert_str_eq(s[1].name, "d");
	cr_assert_null(find(s, n, "b"));
	cr_assert_null(find(s, n, "c"));
	cr_assert_eq(journal_rebuild(j, journal_now_ms(), s, 1, &n), -ENOSPC);
}

/* A compacted record says "what follows is the whole state": whatever
 * came before it no longer counts, even if it is still in the file. */
Test(rebuild, compacted_record_resets_the_set)
{
	struct journal_server s[4];
	struct journal_rec mark;
	size_t n;

	cr_assert_eq(journal_open(&j, dir), 0);
	append_srv(JR_SERVER_REGISTERED, "old", false, SRV_UP, 0);
	cr_assert_eq(journal_rec_init(&mark, JR_COMPACTED, NULL, "by hand"), 0);
	cr_assert_eq(journal_append(j, &mark), 0);
	append_srv(JR_SERVER_STATE, "new", false, SRV_UP, 0);
	cr_assert_eq(journal_rebuild(j, journal_now_ms(), s, 4, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(s[0].name, "new");
}

Test(rebuild, registrations_expire_by_wall_clock)
{
	struct journal_server s[4];
	struct journal_rec out[2];
	size_t n;
	uint64_t t;

	cr_assert_eq(journal_open(&j, dir), 0);
	append_srv(JR_SERVER_REGISTERED, "soon", false, SRV_UP, 1000);
	append_srv(JR_SERVER_REGISTERED, "never", false, SRV_UP, 0);
	cr_assert_eq(journal_read(j, 0, out, 2, &n, NULL), 0);
	cr_assert_str_eq(out[0].srv.name, "soon");
	t = out[0].time_ms;
	cr_assert_eq(journal_rebuild(j, t + 400, s, 4, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(find(s, n, "soon")->expires_in_ms, 600, "rebased on now");
	cr_assert_eq(find(s, n, "never")->expires_in_ms, 0);
	cr_assert_eq(journal_rebuild(j, t + 1000, s, 4, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(s[0].name, "never");
}

TestSuite(compact, .init = setup, .fini = teardown);

static struct journal_server mk_server(const char *name, bool drain)
{
	struct journal_server s = { 0 };

	strcpy(s.name, name);
	s.addr.s_addr = htonl(0xc6120016);
	s.port = 8080;
	s.weight = 2;
	s.source = SRV_REGISTERED;
	s.health = SRV_UP;
	s.drain = drain;
	s.expires_in_ms = 0;
	return s;
}

Test(compact, keeps_state_drops_history)
{
	struct journal_server state[2] = { mk_server("a", true), mk_server("d", false) }, s[8];
	struct journal_rec back[8];
	size_t n;
	uint64_t last;

	cr_assert_eq(journal_open(&j, dir), 0);
	append_all_types(NULL, 3);
	append_srv(JR_SERVER_REGISTERED, "gone", false, SRV_UP, 0);
	last = journal_last_seq(j);
	cr_assert_eq(journal_compact(j, state, 2), 0);
	cr_assert_eq(journal_last_seq(j), last + 3);
	cr_assert_eq(journal_count(j), 3);
	cr_assert_eq(journal_size(j), file_size());
	reopen();
	cr_assert_eq(journal_last_seq(j), last + 3);
	cr_assert_eq(replay_all(back, 8), 3);
	cr_assert_eq(back[0].type, JR_COMPACTED);
	cr_assert_eq(back[0].seq, last + 1);
	cr_assert_eq(back[1].type, JR_SERVER_STATE);
	cr_assert_str_eq(back[1].srv.name, "a");
	cr_assert(back[1].srv.drain);
	cr_assert_str_eq(back[2].srv.name, "d");
	cr_assert_eq(journal_rebuild(j, journal_now_ms(), s, 8, &n), 0);
	cr_assert_eq(n, 2, "the compacted state, not the history (\"gone\" is not in it)");
	cr_assert_null(find(s, n, "gone"));
	append_srv(JR_SERVER_WITHDRAWN, "a", false, SRV_UP, 0);
	cr_assert_eq(journal_last_seq(j), last + 4, "appends follow the snapshot");
	cr_assert_eq(journal_rebuild(j, journal_now_ms(), s, 8, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(s[0].name, "d");
}

Test(compact, empty_state_keeps_the_sequence)
{
	cr_assert_eq(journal_open(&j, dir), 0);
	append_n(7);
	cr_assert_eq(journal_compact(j, NULL, 0), 0);
	reopen();
	cr_assert_eq(journal_last_seq(j), 8, "the marker carries the sequence");
	cr_assert_eq(journal_count(j), 1);
}

Test(compact, bad_state_changes_nothing)
{
	struct journal_server bad = mk_server("x", false);
	size_t before;

	cr_assert_eq(journal_open(&j, dir), 0);
	append_n(3);
	before = file_size();
	bad.name[0] = '\0';
	cr_assert_eq(journal_compact(j, &bad, 1), -EINVAL);
	cr_assert_eq(journal_compact(j, &bad, JOURNAL_STATE_MAX + 1), -E2BIG);
	cr_assert_eq(file_size(), before);
	cr_assert_eq(journal_last_seq(j), 3);
	reopen();
	cr_assert_eq(journal_count(j), 3);
}

struct source {
	unsigned calls;
	struct journal_server s[2];
};

static int give_state(struct journal_server *out, size_t cap, void *arg)
{
	struct source *src = arg;

	cr_assert_geq(cap, 2);
	src->calls++;
	out[0] = src->s[0];
	out[1] = src->s[1];
	return 2;
}

/* Appends past the bounds compact by themselves; the file never grows past
 * the bound by more than one record, and the sequence never goes back. */
static void check_bounded(unsigned appends, const char *detail)
{
	struct source src = { .s = { mk_server("a", false), mk_server("b", true) } };
	uint64_t max_size = 0, max_count = 0;
	struct journal_server s[4];
	size_t n;

	cr_assert_eq(journal_open(&j, dir), 0);
	journal_set_state_source(j, give_state, &src);
	for (unsigned i = 0; i < appends; i++) {
		struct journal_rec r;
		uint64_t prev = journal_last_seq(j);

		cr_assert_eq(journal_rec_init(&r, JR_PEER_SEEN, "lb2", detail), 0);
		cr_assert_eq(journal_append(j, &r), 0);
		cr_assert_eq(r.seq, prev + 1);
		max_size = journal_size(j) > max_size ? journal_size(j) : max_size;
		max_count = journal_count(j) > max_count ? journal_count(j) : max_count;
	}
	cr_assert_geq(src.calls, 2, "compacted %u times", src.calls);
	cr_assert_leq(max_size, JOURNAL_COMPACT_BYTES + JOURNAL_REC_MAX);
	cr_assert_leq(max_count, JOURNAL_COMPACT_RECORDS + 1);
	cr_assert_eq(journal_size(j), file_size());
	cr_assert_eq(journal_last_seq(j), appends + 3 * src.calls);
	reopen();
	cr_assert_eq(journal_rebuild(j, journal_now_ms(), s, 4, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(s[0].name, "a");
	cr_assert(s[1].drain);
}

Test(compact, bounded_by_records) { check_bounded(3 * JOURNAL_COMPACT_RECORDS, "short"); }

Test(compact, bounded_by_bytes)
{
	char detail[JOURNAL_DETAIL_MAX + 1];

	memset(detail, 'x', JOURNAL_DETAIL_MAX);
	detail[JOURNAL_DETAIL_MAX] = '\0';
	/* ~260 bytes a record: the byte bound comes first. */
	check_bounded(3 * JOURNAL_COMPACT_BYTES / 260, detail);
}

/* A crash between writing journal.tmp and the rename leaves the temporary
 * behind: the old journal is the truth and the temporary is removed. */
Test(compact, crash_before_rename_keeps_the_old_file)
{
	char tmp[160];
	struct journal_rec r = make_rec(JR_SERVER_STATE, 1);
	uint8_t buf[JOURNAL_REC_MAX];
	int len = journal_encode(&r, buf, sizeof(buf));
	FILE *f;

	cr_assert_eq(journal_open(&j, dir), 0);
	append_n(5);
	journal_close(j);
	j = NULL;
	snprintf(tmp, sizeof(tmp), "%s/%s", dir, JOURNAL_TMP_FILE);
	f = fopen(tmp, "wb");
	cr_assert_not_null(f);
	fwrite(buf, 1, (size_t)len / 2, f); /* half-written snapshot */
	fclose(f);
	cr_assert_eq(journal_open(&j, dir), 0);
	cr_assert_eq(access(tmp, F_OK), -1, "stale temporary removed");
	cr_assert_eq(journal_count(j), 5);
	cr_assert_eq(journal_last_seq(j), 5);
}

/* A compaction that cannot write its temporary fails cleanly: the old
 * journal is intact and appends go on. */
Test(compact, failed_compaction_keeps_the_old_file)
{
	char tmp[160];
	struct journal_server st = mk_server("a", false);

	cr_assert_eq(journal_open(&j, dir), 0);
	append_n(5);
	snprintf(tmp, sizeof(tmp), "%s/%s", dir, JOURNAL_TMP_FILE);
	cr_assert_eq(mkdir(tmp, 0700), 0); /* openat(O_TRUNC) of it fails */
	cr_assert_lt(journal_compact(j, &st, 1), 0);
	cr_assert_eq(journal_last_seq(j), 5);
	append_n(1);
	cr_assert_eq(journal_last_seq(j), 6);
	rmdir(tmp);
	reopen();
	cr_assert_eq(journal_count(j), 6);
}

static int compact_inside(const struct journal_rec *r, void *arg)
{
	return journal_compact(arg, NULL, 0);
}

Test(compact, not_from_inside_a_replay)
{
	cr_assert_eq(journal_open(&j, dir), 0);
	append_n(2);
	cr_assert_eq(journal_replay(j, compact_inside, j), -EBUSY);
	cr_assert_eq(journal_count(j), 2);
}
