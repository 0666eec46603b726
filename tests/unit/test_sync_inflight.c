/* test_sync_inflight.c - the MSG_INFLIGHT codec (ha/sync_inflight.h):
 * round trip, the bound of one payload, and the refusals. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "sync_inflight.h"

static struct sync_inflight in, out;

static void fill(unsigned n, size_t idlen)
{
	memset(&in, 0, sizeof(in));
	in.at_ms = 1700000000123ull;
	in.total = n + 5;
	in.n = n;
	for (unsigned i = 0; i < n; i++) {
		snprintf(in.req[i].server, sizeof(in.req[i].server), "web%u", i % 3);
		memset(in.req[i].id, 'a' + (char)(i % 26), idlen);
		in.req[i].id[idlen] = '\0';
	}
}

Test(sync_inflight, round_trip)
{
	uint8_t buf[MSG_MAX_PAYLOAD];
	int len;

	fill(5, 20);
	len = sync_inflight_encode(&in, buf, sizeof(buf));
	cr_assert_eq(len, 14 + 5 * (1 + 4 + 1 + 20));
	cr_assert_eq(sync_inflight_decode(buf, (size_t)len, &out), 0);
	cr_assert_eq(out.at_ms, in.at_ms);
	cr_assert_eq(out.total, 10);
	cr_assert_eq(out.n, 5);
	for (unsigned i = 0; i < 5; i++) {
		cr_assert_str_eq(out.req[i].server, in.req[i].server);
		cr_assert_str_eq(out.req[i].id, in.req[i].id);
	}
}

Test(sync_inflight, empty_list)
{
	uint8_t buf[64];
	int len;

	fill(0, 0);
	len = sync_inflight_encode(&in, buf, sizeof(buf));
	cr_assert_eq(len, 14);
	cr_assert_eq(sync_inflight_decode(buf, (size_t)len, &out), 0);
	cr_assert_eq(out.n, 0);
	cr_assert_eq(out.total, 5);
}

/* Longest ids: what does not fit in one datagram is left out, counted
 * by total only, and the payload stays within MSG_MAX_PAYLOAD. */
Test(sync_inflight, bounded_by_the_payload)
{
	uint8_t buf[MSG_MAX_PAYLOAD];
	int len;

	fill(SYNC_INFLIGHT_MAX, SYNC_INFLIGHT_ID_MAX);
	len = sync_inflight_encode(&in, buf, sizeof(buf));
	cr_assert_gt(len, 0);
	cr_assert_leq(len, MSG_MAX_PAYLOAD);
	cr_assert_eq(sync_inflight_decode(buf, (size_t)len, &out), 0);
	cr_assert_lt(out.n, SYNC_INFLIGHT_MAX);
	cr_assert_eq(out.n, (MSG_MAX_PAYLOAD - 14) / (1 + 4 + 1 + SYNC_INFLIGHT_ID_MAX));
	cr_assert_eq(out.total, SYNC_INFLIGHT_MAX + 5);
	cr_assert_eq(sync_inflight_encode(&in, buf, 10), -ENOSPC);
}

Test(sync_inflight, refusals)
{
	uint8_t buf[MSG_MAX_PAYLOAD];
	int len;

	fill(2, 8);
	len = sync_inflight_encode(&in, buf, sizeof(buf));
	for (int cut = 0; cut < len; cut++) /* truncated anywhere */
		cr_assert_eq(sync_inflight_decode(buf, (size_t)cut, &out), -EBADMSG, "cut %d",
			     cut);
	cr_assert_eq(sync_inflight_decode(buf, (size_t)len + 1, &out), -EBADMSG); /* trailing */
	buf[14 + 1] = ' '; /* a blank in the first server name */
	cr_assert_eq(sync_inflight_decode(buf, (size_t)len, &out), -EBADMSG);
	sync_inflight_encode(&in, buf, sizeof(buf));
	buf[14] = 0; /* an empty server name */
	cr_assert_eq(sync_inflight_decode(buf, (size_t)len, &out), -EBADMSG);
	sync_inflight_encode(&in, buf, sizeof(buf));
	buf[12] = 0xff; /* more than SYNC_INFLIGHT_MAX */
	cr_assert_eq(sync_inflight_decode(buf, (size_t)len, &out), -EBADMSG);
}
