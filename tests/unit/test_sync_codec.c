/* test_sync_codec.c - replication payloads: round trips and every
 * rejection (truncation at every length, trailing bytes, bad fields). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "sync_codec.h"

static struct sync_server sample(int i)
{
	struct sync_server s = { .port = (uint16_t)(8000 + i),
				 .weight = (uint16_t)(1 + i % 256),
				 .source = (uint8_t)(i & 1),
				 .up = i % 3 != 0,
				 .drain = i % 5 == 0,
				 .expires_in_ms = (uint32_t)(1000 * i),
				 .requests = 1000000007ull * (uint64_t)i,
				 .failures = (uint64_t)i,
				 .inflight = (uint32_t)i,
				 .queued = (uint32_t)(2 * i),
				 .lb_current = -5 + i };

	snprintf(s.name, sizeof(s.name), "web-%d.example_1", i);
	s.addr = htonl(0xc6120000u + (uint32_t)i); /* 198.18.x.y */
	return s;
}

static void assert_same(const struct sync_server *a, const struct sync_server *b)
{
	cr_assert_str_eq(a->name, b->name);
	cr_assert_eq(a->addr, b->addr);
	cr_assert_eq(a->v6, b->v6);
	cr_assert_arr_eq(a->addr6, b->addr6, 16);
	cr_assert_eq(a->port, b->port);
	cr_assert_eq(a->weight, b->weight);
	cr_assert_eq(a->source, b->source);
	cr_assert_eq(a->up, b->up);
	cr_assert_eq(a->drain, b->drain);
	cr_assert_eq(a->expires_in_ms, b->expires_in_ms);
	cr_assert_eq(a->requests, b->requests);
	cr_assert_eq(a->failures, b->failures);
	cr_assert_eq(a->inflight, b->inflight);
	cr_assert_eq(a->queued, b->queued);
	cr_assert_eq(a->lb_current, b->lb_current);
	cr_assert_str_eq(a->health_host, b->health_host);
}

Test(sync_codec, snapshot_chunk_round_trip_at_full_size)
{
	size_t per = sync_snap_per_chunk(MSG_MAX_PAYLOAD);
	struct sync_server in[64], out;
	struct sync_snap_hdr h = { .state_seq = 42,
				   .snap_id = 7,
				   .chunk = 1,
				   .nchunks = 3,
				   .master = "lb1" },
			     g;
	uint8_t buf[MSG_MAX_PAYLOAD];
	size_t off;
	int len;

	cr_assert_geq(per, 10, "a chunk holds %zu servers", per);
	for (size_t i = 0; i < per; i++)
		in[i] = sample((int)i);
	/* Worst case: every name at its longest. */
	memset(in[0].name, 'x', SYNC_NAME_MAX - 1);
	in[0].name[SYNC_NAME_MAX - 1] = 0;
	h.nservers = (uint16_t)per;
	len = sync_snap_encode(&h, in, per, buf, sizeof(buf));
	cr_assert_gt(len, 0);
	cr_assert_eq(sync_snap_decode(buf, (size_t)len, &g, &off), 0);
	cr_assert_eq(g.state_seq, 42);
	cr_assert_eq(g.snap_id, 7);
	cr_assert_eq(g.chunk, 1);
	cr_assert_eq(g.nchunks, 3);
	cr_assert_eq(g.nservers, per);
	cr_assert_str_eq(g.master, "lb1");
	for (size_t i = 0; i < per; i++) {
		cr_assert_eq(sync_snap_server(buf, (size_t)len, &off, &out), 0);
		assert_same(&in[i], &out);
	}
	cr_assert_eq(off, (size_t)len, "no trailing bytes");
}

Test(sync_codec, snapshot_header_rejections)
{
	struct sync_snap_hdr h = { .state_seq = 1,
				   .snap_id = 1,
				   .chunk = 0,
				   .nchunks = 1,
				   .master = "lb1" },
			     g;
	uint8_t buf[256];
	size_t off;
	int len;

	cr_assert_eq(sync_snap_encode(&h, NULL, 0, buf, sizeof(buf)) > 0, true);
	h.nchunks = 0;
	cr_assert_eq(sync_snap_encode(&h, NULL, 0, buf, sizeof(buf)), -EINVAL);
	h.nchunks = 1;
	h.chunk = 1;
	cr_assert_eq(sync_snap_encode(&h, NULL, 0, buf, sizeof(buf)), -EINVAL,
		     "chunk beyond the count");
	h.chunk = 0;
	len = sync_snap_encode(&h, NULL, 0, buf, sizeof(buf));
	for (int cut = 0; cut < len; cut++)
		cr_assert_eq(sync_snap_decode(buf, (size_t)cut, &g, &off), -EBADMSG, "cut at %d",
			     cut);
	buf[20] = 'x' - 100; /* a control byte in the master's name */
	cr_assert_eq(sync_snap_decode(buf, (size_t)len, &g, &off), -EBADMSG);
}

Test(sync_codec, delta_round_trip_and_every_truncation)
{
	struct sync_delta d = { .state_seq = 99, .op = SYNC_OP_UPSERT, .srv = sample(3) }, g;
	uint8_t buf[256];
	int len = sync_delta_encode(&d, buf, sizeof(buf));

	cr_assert_gt(len, 0);
	cr_assert_eq(sync_delta_decode(buf, (size_t)len, &g), 0);
	cr_assert_eq(g.state_seq, 99);
	cr_assert_eq(g.op, SYNC_OP_UPSERT);
	assert_same(&d.srv, &g.srv);
	for (int cut = 0; cut < len; cut++)
		cr_assert_eq(sync_delta_decode(buf, (size_t)cut, &g), -EBADMSG, "cut at %d", cut);
	cr_assert_eq(sync_delta_decode(buf, (size_t)len + 1, &g), -EBADMSG, "trailing byte");
}

/* Field checks: encode, patch one field on the wire, decode must refuse. */
Test(sync_codec, delta_bad_fields)
{
	struct sync_delta d = { .state_seq = 1, .op = SYNC_OP_REMOVE, .srv = sample(1) }, g;
	uint8_t buf[256], bad[256];
	int len = sync_delta_encode(&d, buf, sizeof(buf));
	size_t name_len = strlen(d.srv.name);
	size_t port_off = 8 + 1 + 1 + name_len + 4, weight_off = port_off + 2,
	       flags_off = weight_off + 3;

	cr_assert_gt(len, 0);
	memcpy(bad, buf, (size_t)len);
	bad[8] = 3; /* op */
	cr_assert_eq(sync_delta_decode(bad, (size_t)len, &g), -EBADMSG, "unknown op");
	memcpy(bad, buf, (size_t)len);
	bad[port_off] = bad[port_off + 1] = 0;
	cr_assert_eq(sync_delta_decode(bad, (size_t)len, &g), -EBADMSG, "port 0");
	memcpy(bad, buf, (size_t)len);
	bad[weight_off] = 1;
	bad[weight_off + 1] = 1; /* 257 */
	cr_assert_eq(sync_delta_decode(bad, (size_t)len, &g), -EBADMSG, "weight 257");
	memcpy(bad, buf, (size_t)len);
	bad[flags_off] = 0x80;
	cr_assert_eq(sync_delta_decode(bad, (size_t)len, &g), -EBADMSG, "unknown flag");
	memcpy(bad, buf, (size_t)len);
	bad[9] = 0;
	cr_assert_eq(sync_delta_decode(bad, (size_t)len, &g), -EBADMSG, "empty name");
	d.op = 9;
	cr_assert_eq(sync_delta_encode(&d, buf, sizeof(buf)), -EINVAL);
}

Test(sync_codec, request_round_trip_and_rejections)
{
	struct sync_request q = { .have_seq = 123456789, .priority = 100, .node = "lb-2" }, g;
	uint8_t buf[128];
	int len = sync_request_encode(&q, buf, sizeof(buf));

	cr_assert_gt(len, 0);
	cr_assert_eq(sync_request_decode(buf, (size_t)len, &g), 0);
	cr_assert_eq(g.have_seq, 123456789);
	cr_assert_eq(g.priority, 100);
	cr_assert_str_eq(g.node, "lb-2");
	for (int cut = 0; cut < len; cut++)
		cr_assert_eq(sync_request_decode(buf, (size_t)cut, &g), -EBADMSG, "cut at %d",
			     cut);
	cr_assert_eq(sync_request_decode(buf, (size_t)len + 1, &g), -EBADMSG);
	cr_assert_eq(sync_request_encode(&q, buf, 5), -ENOSPC);
}

/* ---- the optional health host (an agent's health_host) ---- */

Test(sync_codec, health_host_round_trip_and_every_truncation)
{
	struct sync_delta d = { .state_seq = 7, .op = SYNC_OP_UPSERT, .srv = sample(4) }, g;
	uint8_t buf[512], plain[512];
	int len, plen;

	plen = sync_delta_encode(&d, plain, sizeof(plain));
	strcpy(d.srv.health_host, "api.example.test:8080");
	len = sync_delta_encode(&d, buf, sizeof(buf));
	/* 1 length byte + 21 characters more; without a host, the older bytes. */
	cr_assert_eq(len, plen + 1 + 21);
	cr_assert_arr_eq(buf + plen + 1, "api.example.test:8080", 21);
	cr_assert_eq(sync_delta_decode(buf, (size_t)len, &g), 0);
	assert_same(&d.srv, &g.srv);
	for (int cut = 0; cut < len; cut++)
		cr_assert_eq(sync_delta_decode(buf, (size_t)cut, &g), -EBADMSG, "cut at %d", cut);
	cr_assert_eq(sync_delta_decode(plain, (size_t)plen, &g), 0);
	cr_assert_str_empty(g.srv.health_host);
}

Test(sync_codec, health_host_bad_values)
{
	struct sync_delta d = { .state_seq = 7, .op = SYNC_OP_UPSERT, .srv = sample(4) }, g;
	uint8_t buf[512];
	int len;

	strcpy(d.srv.health_host, "a b");
	cr_assert_lt(sync_delta_encode(&d, buf, sizeof(buf)), 0, "encoder refuses a bad host");
	strcpy(d.srv.health_host, "host");
	len = sync_delta_encode(&d, buf, sizeof(buf));
	cr_assert_gt(len, 0);
	buf[len - 2] = '/';
	cr_assert_eq(sync_delta_decode(buf, (size_t)len, &g), -EBADMSG, "bad character");
	buf[len - 2] = 0;
	cr_assert_eq(sync_delta_decode(buf, (size_t)len, &g), -EBADMSG, "NUL inside");
	buf[len - 2] = 's';
	buf[len - 5] = 0; /* the length byte */
	cr_assert_eq(sync_delta_decode(buf, (size_t)len - 4, &g), -EBADMSG, "length 0");
}

/* A chunk is sized for the longest health host it carries: 11 servers
 * without hosts, fewer with long ones, and a full chunk still fits. */
static void make_v6(struct sync_server *s, unsigned i)
{
	s->addr = 0;
	s->v6 = true;
	inet_pton(AF_INET6, "2001:db8:18::", s->addr6);
	s->addr6[15] = (uint8_t)i;
}

/* Flag bit 3: the IPv4 field 0 and 16 bytes at the end of the record
 * (after the health host); an IPv4 server's bytes are as before. */
Test(sync_codec, ipv6_address_round_trip_and_every_truncation)
{
	struct sync_delta d = { .state_seq = 9, .op = SYNC_OP_UPSERT, .srv = sample(5) }, g;
	uint8_t buf[512], plain[512];
	int len, plen;

	strcpy(d.srv.health_host, "www.example.test");
	plen = sync_delta_encode(&d, plain, sizeof(plain));
	make_v6(&d.srv, 0x21);
	len = sync_delta_encode(&d, buf, sizeof(buf));
	cr_assert_eq(len, plen + 16);
	cr_assert_arr_eq(buf + plen, d.srv.addr6, 16);
	cr_assert_eq(sync_delta_decode(buf, (size_t)len, &g), 0);
	assert_same(&d.srv, &g.srv);
	for (int cut = 0; cut < len; cut++)
		cr_assert_eq(sync_delta_decode(buf, (size_t)cut, &g), -EBADMSG, "cut at %d", cut);
	cr_assert_eq(sync_delta_decode(buf, (size_t)len + 1, &g), -EBADMSG, "trailing byte");
	/* Both families at once: refused either way. */
	d.srv.addr = htonl(0xc6120001u);
	cr_assert_lt(sync_delta_encode(&d, buf, sizeof(buf)), 0);
	{
		size_t addr_off = 8 + 1 + 1 + strlen(d.srv.name);

		buf[addr_off + 3] = 1;
		cr_assert_eq(sync_delta_decode(buf, (size_t)len, &g), -EBADMSG, "v6 and v4");
	}
}

Test(sync_codec, chunk_size_counts_ipv6_addresses)
{
	struct sync_server in[16], out;
	struct sync_snap_hdr h = { .state_seq = 1, .snap_id = 1, .nchunks = 1, .master = "lb1" },
			     g;
	uint8_t buf[MSG_MAX_PAYLOAD];
	size_t per, off;
	int len;

	for (size_t i = 0; i < 16; i++) {
		in[i] = sample((int)i);
		memset(in[i].name, 'n', SYNC_NAME_MAX - 1);
		in[i].name[SYNC_NAME_MAX - 1] = 0;
		in[i].name[0] = (char)('a' + i);
		memset(in[i].health_host, 'h', SYNC_HOST_MAX - 1);
		in[i].health_host[SYNC_HOST_MAX - 1] = 0;
		make_v6(&in[i], (unsigned)i);
	}
	per = sync_snap_per_chunk_for(MSG_MAX_PAYLOAD, in, 16);
	cr_assert_geq(per, 6, "%zu per chunk", per);
	h.nservers = (uint16_t)per;
	len = sync_snap_encode(&h, in, per, buf, sizeof(buf));
	cr_assert_gt(len, 0, "a chunk of %zu IPv6 servers with the longest hosts fits", per);
	cr_assert_eq(sync_snap_decode(buf, (size_t)len, &g, &off), 0);
	for (size_t i = 0; i < per; i++) {
		cr_assert_eq(sync_snap_server(buf, (size_t)len, &off, &out), 0);
		assert_same(&in[i], &out);
	}
}

Test(sync_codec, chunk_size_follows_the_longest_health_host)
{
	struct sync_server in[16], out;
	struct sync_snap_hdr h = { .state_seq = 1,
				   .snap_id = 1,
				   .chunk = 0,
				   .nchunks = 1,
				   .master = "lb1" },
			     g;
	uint8_t buf[MSG_MAX_PAYLOAD];
	size_t per, off;
	int len;

	for (size_t i = 0; i < 16; i++)
		in[i] = sample((int)i);
	cr_assert_eq(sync_snap_per_chunk_for(MSG_MAX_PAYLOAD, in, 16),
		     sync_snap_per_chunk(MSG_MAX_PAYLOAD));
	for (size_t i = 0; i < 16; i++) {
		memset(in[i].name, 'n', SYNC_NAME_MAX - 1);
		in[i].name[SYNC_NAME_MAX - 1] = 0;
		in[i].name[0] = (char)('a' + i);
		memset(in[i].health_host, 'h', SYNC_HOST_MAX - 1);
		in[i].health_host[SYNC_HOST_MAX - 1] = 0;
	}
	per = sync_snap_per_chunk_for(MSG_MAX_PAYLOAD, in, 16);
	cr_assert_geq(per, 7, "%zu per chunk", per);
	cr_assert_lt(per, sync_snap_per_chunk(MSG_MAX_PAYLOAD));
	h.nservers = (uint16_t)per;
	len = sync_snap_encode(&h, in, per, buf, sizeof(buf));
	cr_assert_gt(len, 0, "a chunk of %zu servers with the longest hosts fits", per);
	cr_assert_eq(sync_snap_decode(buf, (size_t)len, &g, &off), 0);
	for (size_t i = 0; i < per; i++) {
		cr_assert_eq(sync_snap_server(buf, (size_t)len, &off, &out), 0);
		assert_same(&in[i], &out);
	}
	cr_assert_eq(off, (size_t)len);
}

Test(sync_codec, hello_round_trip_and_rejections)
{
	struct sync_hello h = { .nonce = 0x0102030405060708ull, .echo = 0xfffffffffffffffeull }, g;
	uint8_t buf[32];
	int len = sync_hello_encode(&h, buf, sizeof(buf));

	cr_assert_eq(len, 16);
	cr_assert_eq(buf[0], 0x01, "network byte order");
	cr_assert_eq(buf[7], 0x08);
	cr_assert_eq(sync_hello_decode(buf, (size_t)len, &g), 0);
	cr_assert_eq(g.nonce, h.nonce);
	cr_assert_eq(g.echo, h.echo);
	h.echo = 0; /* nothing to echo yet: valid */
	len = sync_hello_encode(&h, buf, sizeof(buf));
	cr_assert_eq(sync_hello_decode(buf, (size_t)len, &g), 0);
	cr_assert_eq(g.echo, 0);
	for (int cut = 0; cut < len; cut++)
		cr_assert_eq(sync_hello_decode(buf, (size_t)cut, &g), -EBADMSG, "cut at %d", cut);
	cr_assert_eq(sync_hello_decode(buf, (size_t)len + 1, &g), -EBADMSG, "trailing byte");
	memset(buf, 0, 8);
	cr_assert_eq(sync_hello_decode(buf, 16, &g), -EBADMSG, "a zero nonce is never sent");
	cr_assert_eq(sync_hello_encode(&h, buf, 15), -ENOSPC);
}

Test(sync_codec, bye_round_trip_and_rejections)
{
	uint8_t buf[4], why = 0;

	for (uint8_t r = 1; r <= SYNC_BYE_MAX; r++) {
		cr_assert_eq(sync_bye_encode(r, buf, sizeof(buf)), 1);
		cr_assert_eq(sync_bye_decode(buf, 1, &why), 0);
		cr_assert_eq(why, r);
		cr_assert_str_neq(sync_bye_name(r), "unknown");
	}
	cr_assert_str_eq(sync_bye_name(SYNC_BYE_SLOW_READER), "slow_reader");
	cr_assert_eq(sync_bye_encode(0, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(sync_bye_encode(SYNC_BYE_MAX + 1, buf, sizeof(buf)), -EINVAL);
	buf[0] = SYNC_BYE_MAX + 1;
	cr_assert_eq(sync_bye_decode(buf, 1, &why), -EBADMSG, "unknown reason");
	buf[0] = 0;
	cr_assert_eq(sync_bye_decode(buf, 1, &why), -EBADMSG);
	buf[0] = SYNC_BYE_EVICTED;
	cr_assert_eq(sync_bye_decode(buf, 0, &why), -EBADMSG, "empty");
	cr_assert_eq(sync_bye_decode(buf, 2, &why), -EBADMSG, "trailing byte");
	cr_assert_eq(sync_bye_encode(SYNC_BYE_EVICTED, buf, 0), -ENOSPC);
	cr_assert_str_eq(sync_bye_name(0), "unknown");
}
