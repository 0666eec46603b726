/* alog_jload.c - what the access log's journal entries cost journald,
 * without a proxy: synthetic requests sent as the writer sends them
 * (alog_jbatch_build + sd_journal_sendv), so tests/bench/journal_cost.sh
 * can read journald's CPU per request for one entry design at a time.
 *
 *   alog_jload [-n REQUESTS] [-b LINES] [-c CLIENTS] [-r RATE] [-i | -m]
 *              [-x NAME,...] [-v]
 *
 * -b LINES per entry (1: one entry per request, every field), -c the
 * clients' ports the requests cycle through (keep-alive connections), -r
 * requests a second (0: as fast as journald takes them), -i the entries
 * before every field was written: MESSAGE and one REQUEST_ID per line
 * (the comparison), -m MESSAGE alone (what the lines cost without any
 * field to find them by), -x the fields named left out (what each costs
 * journald).  The records look like tests/bench/accesslog.sh's: 3 servers,
 * status 200, a few distinct timings; -v varies them as a real site does
 * (response sizes, times and paths mostly distinct per request).  Prints
 * the requests sent and the entries. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "alog_journal.h"

static void make(struct alog_rec *r, unsigned long i, unsigned clients, bool vary)
{
	unsigned long h = i * 2654435761UL; /* a spread of i */

	memset(r, 0, sizeof(*r));
	r->start_ms = (unsigned long long)time(NULL) * 1000 + i % 1000;
	snprintf(r->client, sizeof(r->client), "198.18.0.100:%lu", 40000 + i % clients);
	snprintf(r->id, sizeof(r->id), "%016lx", 0x5eed000000000000UL + i);
	snprintf(r->server, sizeof(r->server), "be%lu", 1 + i % 3);
	memcpy(r->method, "GET", 4);
	memcpy(r->path, "/", 2);
	r->status = 200;
	r->bytes_in = 40;
	r->bytes_out = 157;
	r->connect_ms = 0;
	r->first_byte_ms = (int32_t)(i % 4);
	r->total_ms = (int32_t)(i % 4 + i % 3 / 2);
	memcpy(r->term, "--", 3);
	if (vary) {
		snprintf(r->path, sizeof(r->path), "/item/%lu", h % 5000);
		r->bytes_in = 300 + h % 200;
		r->bytes_out = 500 + h % 60000;
		r->first_byte_ms = (int32_t)(h % 97);
		r->total_ms = r->first_byte_ms + (int32_t)(h / 97 % 200);
	}
}

/* Whether item v names one of the fields of the comma list drop. */
static bool dropped(const struct iovec *v, const char *drop)
{
	const char *eq = memchr(v->iov_base, '=', v->iov_len);
	size_t n = eq ? (size_t)(eq - (const char *)v->iov_base) : 0;

	for (const char *p = drop; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, v->iov_base, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* The entry of before: the lines, one REQUEST_ID per line (ids), or the
 * lines alone. */
static int ids_only(const struct iovec *all, int cnt, struct iovec *out, bool ids)
{
	int n = 0;

	for (int i = 0; i < cnt; i++)
		if (i < 3 ||
		    (ids && all[i].iov_len > 11 && !memcmp(all[i].iov_base, "REQUEST_ID=", 11)))
			out[n++] = all[i];
	return n;
}

static int without(const struct iovec *all, int cnt, struct iovec *out, const char *drop)
{
	int n = 0;

	for (int i = 0; i < cnt; i++)
		if (i < 3 || !dropped(&all[i], drop))
			out[n++] = all[i];
	return n;
}

/* Send n requests in entries of at most batch lines.  Returns 0 or 1. */
static int run(struct alog_jbatch *b, struct alog_rec *r, unsigned long n, unsigned batch,
	       unsigned clients, unsigned rate, bool old, bool msg, bool vary, const char *drop)
{
	static struct iovec sub[ALOG_J_ITEMS_MAX];
	unsigned long sent = 0, entries = 0;

	while (sent < n) {
		unsigned want = n - sent < ALOG_J_BATCH ? (unsigned)(n - sent) : ALOG_J_BATCH,
			 took;
		const struct iovec *iov;
		int cnt, err;

		for (unsigned k = 0; k < want; k++)
			make(&r[k], sent + k, clients, vary);
		took = alog_jbatch_build(b, r, want, batch, "198.18.0.10:83", &iov, &cnt);
		if (old || msg)
			cnt = ids_only(iov, cnt, sub, old), iov = sub;
		else if (drop)
			cnt = without(iov, cnt, sub, drop), iov = sub;
		if ((err = sd_journal_sendv(iov, cnt)) < 0) {
			fprintf(stderr, "sd_journal_sendv (%d items): %s\n", cnt, strerror(-err));
			return 1;
		}
		sent += took;
		entries++;
		if (rate)
			usleep((useconds_t)(1000000ULL * took / rate));
	}
	printf("requests=%lu entries=%lu\n", sent, entries);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long n = 100000;
	unsigned batch = 64, clients = 64, rate = 0;
	bool old = false, msg = false, vary = false;
	const char *drop = NULL;
	struct alog_rec *r;
	struct alog_jbatch *b;
	int c, rc = 1;

	while ((c = getopt(argc, argv, "n:b:c:r:imx:v")) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			batch = (unsigned)atoi(optarg);
			break;
		case 'c':
			clients = (unsigned)atoi(optarg);
			break;
		case 'r':
			rate = (unsigned)atoi(optarg);
			break;
		case 'i':
			old = true;
			break;
		case 'm':
			msg = true;
			break;
		case 'x':
			drop = optarg;
			break;
		case 'v':
			vary = true;
			break;
		default:
			fprintf(stderr,
				"usage: alog_jload [-n N] [-b LINES] [-c CLIENTS] [-r RATE] [-i | -m] "
				"[-x NAME,...] [-v]\n");
			return 2;
		}
	}
	if (!batch || !clients)
		return 2;
	r = calloc(ALOG_J_BATCH, sizeof(*r));
	b = alog_jbatch_new();
	if (r && b)
		rc = run(b, r, n, batch, clients, rate, old, msg, vary, drop);
	alog_jbatch_free(b);
	free(r);
	return rc;
}
