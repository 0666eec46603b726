/* test_regmsg.c - the registration payload codec: hand-written byte
 * vectors, round trips, every rejection cause (truncation at every length,
 * trailing bytes, names, addresses, port 0, weights, intervals, flags,
 * enumerated fields) and the encoders' refusals. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "msg.h"
#include "regmsg.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static struct regmsg_announce announce(void)
{
	struct regmsg_announce a = {
		.name = "web-3.b_1",
		.addr = ip("198.18.0.23"),
		.port = 8080,
		.weight = 256,
		.interval_ms = 2000,
		.flags = REGMSG_F_HELLO,
	};
	return a;
}

static struct regmsg_withdraw withdraw(void)
{
	struct regmsg_withdraw w = {
		.name = "web3",
		.addr = ip("198.18.0.23"),
		.port = 80,
		.why = REGMSG_WD_SHUTDOWN,
	};
	return w;
}

static struct regmsg_ack ack(void)
{
	struct regmsg_ack k = {
		.name = "web3",
		.accepted = true,
		.of = MSG_ANNOUNCE,
		.node = "lb1",
		.reason = REGMSG_ACK_OK,
	};
	return k;
}

/* The layouts of regmsg.h, byte by byte. */
static const uint8_t announce_bytes[] = {
	4,    'w',  'e',  'b',  '3', /* name */
	198,  18,   0,    23,        /* address */
	0x1f, 0x90,                  /* port 8080 */
	0x00, 0x05,                  /* weight 5 */
	0x00, 0x00, 0x07, 0xd0,      /* interval 2000 ms */
	0x01,                        /* flags: hello */
};
static const uint8_t withdraw_bytes[] = { 4, 'w', 'e', 'b', '3', 198, 18, 0, 23, 0, 80, 2 };
static const uint8_t ack_bytes[] = { 4, 'w', 'e', 'b', '3', 0, 5, 3, 'l', 'b', '2', 2 };

Test(vector, announce_bytes)
{
	struct regmsg_announce a = announce(), d;
	uint8_t buf[REGMSG_MAX];

	strcpy(a.name, "web3");
	a.weight = 5;
	cr_assert_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), (int)sizeof(announce_bytes));
	cr_assert_arr_eq(buf, announce_bytes, sizeof(announce_bytes));
	cr_assert_eq(regmsg_decode_announce(announce_bytes, sizeof(announce_bytes), &d, NULL, 0),
		     REGMSG_OK);
	cr_expect_str_eq(d.name, "web3");
	cr_expect_eq(d.addr, ip("198.18.0.23"));
	cr_expect_eq(d.port, 8080);
	cr_expect_eq(d.weight, 5);
	cr_expect_eq(d.interval_ms, 2000);
	cr_expect_eq(d.flags, REGMSG_F_HELLO);
	cr_expect_eq(regmsg_expire_ms(&d), 6000);
}

Test(vector, withdraw_bytes)
{
	struct regmsg_withdraw w = withdraw(), d;
	uint8_t buf[REGMSG_MAX];

	w.why = REGMSG_WD_UNHEALTHY;
	cr_assert_eq(regmsg_encode_withdraw(&w, buf, sizeof(buf)), (int)sizeof(withdraw_bytes));
	cr_assert_arr_eq(buf, withdraw_bytes, sizeof(withdraw_bytes));
	cr_assert_eq(regmsg_decode_withdraw(withdraw_bytes, sizeof(withdraw_bytes), &d, NULL, 0),
		     REGMSG_OK);
	cr_expect_str_eq(d.name, "web3");
	cr_expect_eq(d.addr, ip("198.18.0.23"));
	cr_expect_eq(d.port, 80);
	cr_expect_eq(d.why, REGMSG_WD_UNHEALTHY);
}

Test(vector, ack_bytes)
{
	struct regmsg_ack k = { .name = "web3",
				.accepted = false,
				.of = MSG_WITHDRAW,
				.node = "lb2",
				.reason = REGMSG_ACK_NAME_TAKEN },
			  d;
	uint8_t buf[REGMSG_MAX];

	cr_assert_eq(regmsg_encode_ack(&k, buf, sizeof(buf)), (int)sizeof(ack_bytes));
	cr_assert_arr_eq(buf, ack_bytes, sizeof(ack_bytes));
	cr_assert_eq(regmsg_decode_ack(ack_bytes, sizeof(ack_bytes), &d, NULL, 0), REGMSG_OK);
	cr_expect_str_eq(d.name, "web3");
	cr_expect_not(d.accepted);
	cr_expect_eq(d.of, MSG_WITHDRAW);
	cr_expect_str_eq(d.node, "lb2");
	cr_expect_eq(d.reason, REGMSG_ACK_NAME_TAKEN);
}

Test(roundtrip, announce_every_weight_and_name_length)
{
	struct regmsg_announce a = announce(), d;
	uint8_t buf[REGMSG_MAX];
	int n;

	for (unsigned w = REGMSG_WEIGHT_MIN; w <= REGMSG_WEIGHT_MAX; w++) {
		size_t nl = 1 + w % (REGMSG_NAME_MAX - 1);

		memset(a.name, 'a' + (char)(w % 26), nl);
		a.name[nl] = '\0';
		a.weight = (uint16_t)w;
		a.flags = w & 1 ? REGMSG_F_HELLO : 0;
		a.interval_ms = w & 2 ? REGMSG_INTERVAL_MIN_MS : REGMSG_INTERVAL_MAX_MS;
		n = regmsg_encode_announce(&a, buf, sizeof(buf));
		cr_assert_eq(n, (int)(14 + nl));
		memset(&d, 0x55, sizeof(d));
		cr_assert_eq(regmsg_decode_announce(buf, (size_t)n, &d, NULL, 0), REGMSG_OK);
		cr_assert_str_eq(d.name, a.name);
		cr_assert_eq(d.addr, a.addr);
		cr_assert_eq(d.port, a.port);
		cr_assert_eq(d.weight, a.weight);
		cr_assert_eq(d.interval_ms, a.interval_ms);
		cr_assert_eq(d.flags, a.flags);
	}
}

Test(roundtrip, longest_messages_fit_the_max)
{
	struct regmsg_announce a = announce();
	struct regmsg_withdraw w = withdraw();
	struct regmsg_ack k = ack();
	uint8_t buf[REGMSG_MAX];

	memset(a.name, 'x', REGMSG_NAME_MAX - 1);
	a.name[REGMSG_NAME_MAX - 1] = '\0';
	strcpy(w.name, a.name);
	strcpy(k.name, a.name);
	strcpy(k.node, a.name);
	strcpy(a.health_host, a.name); /* the optional fields at their longest too */
	a.v6 = w.v6 = true;
	a.addr = w.addr = 0;
	inet_pton(AF_INET6, "2001:db8:18::23", a.addr6);
	memcpy(w.addr6, a.addr6, 16);
	cr_expect_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), REGMSG_ANNOUNCE_MAX);
	cr_expect_eq(regmsg_encode_withdraw(&w, buf, sizeof(buf)), REGMSG_WITHDRAW_MAX);
	cr_expect_eq(regmsg_encode_ack(&k, buf, sizeof(buf)), REGMSG_ACK_MAX);
	cr_expect_leq(REGMSG_MAX, MSG_MAX_PAYLOAD);
}

Test(roundtrip, withdraw_and_ack_variants)
{
	struct regmsg_withdraw w = withdraw(), dw;
	struct regmsg_ack k = ack(), dk;
	uint8_t buf[REGMSG_MAX];
	int n;

	for (uint8_t why = REGMSG_WD_SHUTDOWN; why <= REGMSG_WD_MAX; why++) {
		w.why = why;
		n = regmsg_encode_withdraw(&w, buf, sizeof(buf));
		cr_assert_gt(n, 0);
		cr_assert_eq(regmsg_decode_withdraw(buf, (size_t)n, &dw, NULL, 0), REGMSG_OK);
		cr_assert_eq(dw.why, why);
		cr_assert_str_eq(dw.name, w.name);
	}
	for (uint8_t r = 0; r <= REGMSG_ACK_REASON_MAX; r++) {
		k.reason = r;
		k.accepted = r == REGMSG_ACK_OK;
		k.of = r & 1 ? MSG_WITHDRAW : MSG_ANNOUNCE;
		n = regmsg_encode_ack(&k, buf, sizeof(buf));
		cr_assert_gt(n, 0);
		cr_assert_eq(regmsg_decode_ack(buf, (size_t)n, &dk, NULL, 0), REGMSG_OK);
		cr_assert_eq(dk.reason, r);
		cr_assert_eq(dk.accepted, k.accepted);
		cr_assert_eq(dk.of, k.of);
		cr_assert_str_eq(dk.node, "lb1");
		cr_assert_str_neq((char *)regmsg_ack_reason_name(r), "?");
	}
}

/* ------------------------------------------------------------ rejection -- */

typedef enum regmsg_err (*decode_fn)(const uint8_t *, size_t, char *, size_t);

static enum regmsg_err dec_announce(const uint8_t *b, size_t n, char *why, size_t wl)
{
	struct regmsg_announce a;

	return regmsg_decode_announce(b, n, &a, why, wl);
}

static enum regmsg_err dec_withdraw(const uint8_t *b, size_t n, char *why, size_t wl)
{
	struct regmsg_withdraw w;

	return regmsg_decode_withdraw(b, n, &w, why, wl);
}

static enum regmsg_err dec_ack(const uint8_t *b, size_t n, char *why, size_t wl)
{
	struct regmsg_ack k;

	return regmsg_decode_ack(b, n, &k, why, wl);
}

/* Every strict prefix is "short" (with a reason), the whole is OK, and one
 * more byte of any value is "trailing". */
static void truncate_everywhere(const uint8_t *msg, size_t len, decode_fn dec)
{
	uint8_t buf[REGMSG_MAX + 1];
	char why[128];

	memcpy(buf, msg, len);
	for (size_t n = 0; n < len; n++) {
		why[0] = '\0';
		cr_assert_eq(dec(buf, n, why, sizeof(why)), REGMSG_E_SHORT, "prefix of %zu/%zu", n,
			     len);
		cr_assert(strstr(why, "truncated") != NULL, "why: \"%s\"", why);
	}
	cr_assert_eq(dec(buf, len, NULL, 0), REGMSG_OK);
	for (unsigned v = 0; v < 256; v += 51) {
		buf[len] = (uint8_t)v;
		cr_assert_eq(dec(buf, len + 1, why, sizeof(why)), REGMSG_E_TRAILING);
		cr_assert_str_eq(why, "1 trailing byte");
	}
}

Test(reject, truncation_and_trailing_at_every_length)
{
	struct regmsg_announce a = announce();
	struct regmsg_withdraw w = withdraw();
	struct regmsg_ack k = ack();
	uint8_t buf[REGMSG_MAX];
	int n;

	n = regmsg_encode_announce(&a, buf, sizeof(buf));
	truncate_everywhere(buf, (size_t)n, dec_announce);
	n = regmsg_encode_withdraw(&w, buf, sizeof(buf));
	truncate_everywhere(buf, (size_t)n, dec_withdraw);
	n = regmsg_encode_ack(&k, buf, sizeof(buf));
	truncate_everywhere(buf, (size_t)n, dec_ack);
	truncate_everywhere(announce_bytes, sizeof(announce_bytes), dec_announce);
	truncate_everywhere(withdraw_bytes, sizeof(withdraw_bytes), dec_withdraw);
	truncate_everywhere(ack_bytes, sizeof(ack_bytes), dec_ack);
}

/* Copy of a vector with byte off set to v. */
static enum regmsg_err patched(const uint8_t *msg, size_t len, size_t off, uint8_t v,
			       decode_fn dec, char *why, size_t wl)
{
	uint8_t buf[REGMSG_MAX];

	memcpy(buf, msg, len);
	buf[off] = v;
	return dec(buf, len, why, wl);
}

#define A(off, v, why) \
	patched(announce_bytes, sizeof(announce_bytes), off, v, dec_announce, why, sizeof(why))
#define W(off, v, why) \
	patched(withdraw_bytes, sizeof(withdraw_bytes), off, v, dec_withdraw, why, sizeof(why))
#define K(off, v, why) patched(ack_bytes, sizeof(ack_bytes), off, v, dec_ack, why, sizeof(why))

Test(reject, bad_name_characters_in_every_name)
{
	static const uint8_t bad[] = { ' ', '/', ':', '\0', '\n', 0x7f, 0x80, 0xff, '@', '*' };
	char why[128];

	for (size_t i = 0; i < sizeof(bad); i++) {
		for (size_t pos = 1; pos <= 4; pos++) {
			cr_assert_eq(A(pos, bad[i], why), REGMSG_E_NAME, "byte 0x%02x at %zu",
				     bad[i], pos);
			cr_assert(strstr(why, "[A-Za-z0-9._-]"), "why: %s", why);
			cr_assert_eq(W(pos, bad[i], why), REGMSG_E_NAME);
			cr_assert_eq(K(pos, bad[i], why), REGMSG_E_NAME);
		}
		for (size_t pos = 8; pos <= 10; pos++) /* the ack's node name */
			cr_assert_eq(K(pos, bad[i], why), REGMSG_E_NAME, "node byte 0x%02x",
				     bad[i]);
	}
}

Test(reject, name_lengths)
{
	char why[128];

	cr_expect_eq(A(0, 0, why), REGMSG_E_NAME);
	cr_expect_str_eq(why, "name length 0 outside 1..63");
	cr_expect_eq(A(0, 64, why), REGMSG_E_NAME);
	cr_expect_eq(A(0, 255, why), REGMSG_E_NAME);
	cr_expect_eq(W(0, 0, why), REGMSG_E_NAME);
	cr_expect_eq(K(0, 0, why), REGMSG_E_NAME);
	cr_expect_eq(K(7, 0, why), REGMSG_E_NAME); /* node name */
	cr_expect_str_eq(why, "node name length 0 outside 1..63");
	cr_expect_eq(K(7, 64, why), REGMSG_E_NAME);
	/* A longer length that still fits the buffer swallows the other fields:
	 * the name then holds address bytes, which are not name characters. */
	cr_expect_eq(A(0, 8, why), REGMSG_E_NAME);
	/* One that does not fit is a truncation. */
	cr_expect_eq(A(0, 63, why), REGMSG_E_SHORT);
}

Test(reject, port_zero)
{
	char why[128];
	uint8_t buf[sizeof(announce_bytes)];

	memcpy(buf, announce_bytes, sizeof(buf));
	buf[9] = buf[10] = 0;
	cr_expect_eq(dec_announce(buf, sizeof(buf), why, sizeof(why)), REGMSG_E_PORT);
	cr_expect_str_eq(why, "port 0");
	cr_expect_eq(A(9, 0, why), REGMSG_OK); /* port 0x0090 */
	cr_expect_eq(W(9, 0, why), REGMSG_OK); /* port 80 stays */
	cr_expect_eq(W(10, 0, why), REGMSG_E_PORT);
}

Test(reject, weights)
{
	char why[128];
	uint8_t buf[sizeof(announce_bytes)];

	cr_expect_eq(A(12, 0, why), REGMSG_E_WEIGHT); /* weight 0 */
	cr_expect_str_eq(why, "weight 0 outside 1..256");
	memcpy(buf, announce_bytes, sizeof(buf));
	buf[11] = 0x01;
	buf[12] = 0x00; /* 256 */
	cr_expect_eq(dec_announce(buf, sizeof(buf), NULL, 0), REGMSG_OK);
	buf[12] = 0x01; /* 257 */
	cr_expect_eq(dec_announce(buf, sizeof(buf), why, sizeof(why)), REGMSG_E_WEIGHT);
	cr_expect_eq(A(11, 0xff, why), REGMSG_E_WEIGHT);
}

Test(reject, intervals)
{
	char why[128];
	uint8_t buf[sizeof(announce_bytes)];
	const uint32_t cases[][2] = {
		{ 0, REGMSG_E_INTERVAL },
		{ 99, REGMSG_E_INTERVAL },
		{ 100, REGMSG_OK },
		{ 600000, REGMSG_OK },
		{ 600001, REGMSG_E_INTERVAL },
		{ UINT32_MAX, REGMSG_E_INTERVAL },
	};

	memcpy(buf, announce_bytes, sizeof(buf));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t v = htonl(cases[i][0]);

		memcpy(buf + 13, &v, 4);
		cr_expect_eq(dec_announce(buf, sizeof(buf), why, sizeof(why)), cases[i][1],
			     "interval %u", cases[i][0]);
	}
}

Test(reject, flags)
{
	char why[128];

	cr_expect_eq(A(17, 0x00, why), REGMSG_OK);
	/* Bit 1 is REGMSG_F_HOST: the host it announces is missing. */
	cr_expect_eq(A(17, REGMSG_F_HOST, why), REGMSG_E_SHORT);
	cr_expect_str_eq(why, "truncated in health host");
	/* Bit 2 is REGMSG_F_V6: the IPv6 address it announces is missing. */
	cr_expect_eq(A(17, REGMSG_F_V6, why), REGMSG_E_SHORT);
	cr_expect_str_eq(why, "truncated in IPv6 address");
	for (unsigned bit = 3; bit < 8; bit++)
		cr_expect_eq(A(17, (uint8_t)(1u << bit), why), REGMSG_E_FLAGS, "bit %u", bit);
	cr_expect_str_eq(why, "unknown flags 0x80");
}

Test(reject, addresses)
{
	static const uint8_t bad_first[] = { 0, 127, 224, 239, 240, 255 };
	char why[128];

	for (size_t i = 0; i < sizeof(bad_first); i++) {
		cr_expect_eq(A(5, bad_first[i], why), REGMSG_E_ADDR, "%u.18.0.23", bad_first[i]);
		cr_expect_eq(W(5, bad_first[i], why), REGMSG_E_ADDR);
	}
	cr_expect_str_eq(why, "address 255.18.0.23 is not a unicast service address");
	cr_expect_eq(A(5, 10, why), REGMSG_OK);
	cr_expect_eq(A(5, 223, why), REGMSG_OK);
	cr_expect(regmsg_addr_ok(ip("198.18.0.1")));
	cr_expect_not(regmsg_addr_ok(ip("255.255.255.255")));
	cr_expect_not(regmsg_addr_ok(ip("0.0.0.0")));
}

/* An IPv6 service (issue 16): flag bit 2 (announce) or bit 7 of why
 * (withdraw), the IPv4 field 0, 16 bytes last; an IPv4 agent's bytes are
 * unchanged. */
Test(roundtrip, ipv6_service)
{
	struct regmsg_announce a = announce(), a2;
	struct regmsg_withdraw w = withdraw(), w2;
	uint8_t buf[REGMSG_MAX], v4[REGMSG_MAX];
	char why[128];
	int n, n4 = regmsg_encode_announce(&a, v4, sizeof(v4));

	a.addr = 0;
	a.v6 = true;
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8:18::23", a.addr6), 1);
	n = regmsg_encode_announce(&a, buf, sizeof(buf));
	cr_assert_eq(n, n4 + 16);
	cr_assert_arr_eq(buf + n - 16, a.addr6, 16);
	cr_assert_eq(regmsg_decode_announce(buf, (size_t)n, &a2, why, sizeof(why)), REGMSG_OK,
		     "%s", why);
	cr_expect(a2.v6);
	cr_expect_eq(a2.addr, 0);
	cr_expect_arr_eq(a2.addr6, a.addr6, 16);
	cr_expect_eq(a2.flags & REGMSG_F_V6, REGMSG_F_V6);
	for (int cut = 0; cut < n; cut++)
		cr_expect_eq(regmsg_decode_announce(buf, (size_t)cut, &a2, why, sizeof(why)),
			     REGMSG_E_SHORT, "cut at %d", cut);
	buf[1 + strlen(a.name) + 3] = 1; /* an IPv4 address as well */
	cr_expect_eq(regmsg_decode_announce(buf, (size_t)n, &a2, why, sizeof(why)), REGMSG_E_ADDR);

	w.addr = 0;
	w.v6 = true;
	memcpy(w.addr6, a.addr6, 16);
	n = regmsg_encode_withdraw(&w, buf, sizeof(buf));
	cr_assert_eq(n, 8 + (int)strlen(w.name) + 16);
	cr_expect_eq(buf[n - 17], REGMSG_WD_SHUTDOWN | REGMSG_WD_F_V6);
	cr_assert_eq(regmsg_decode_withdraw(buf, (size_t)n, &w2, why, sizeof(why)), REGMSG_OK);
	cr_expect(w2.v6);
	cr_expect_eq(w2.why, REGMSG_WD_SHUTDOWN);
	cr_expect_arr_eq(w2.addr6, w.addr6, 16);
}

Test(reject, ipv6_addresses)
{
	static const char *const bad[] = { "::", "::1", "ff02::114", "fe80::1",
					   "::ffff:198.18.0.1" };
	struct regmsg_announce a = announce();
	uint8_t buf[REGMSG_MAX];

	a.addr = 0;
	a.v6 = true;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		inet_pton(AF_INET6, bad[i], a.addr6);
		cr_expect_not(regmsg_addr6_ok(a.addr6), "%s", bad[i]);
		cr_expect_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), -EINVAL, "%s", bad[i]);
	}
	inet_pton(AF_INET6, "fd00:18::1", a.addr6);
	cr_expect(regmsg_addr6_ok(a.addr6), "unique local");
	inet_pton(AF_INET6, "2001:db8:18::1", a.addr6);
	cr_expect(regmsg_addr6_ok(a.addr6));
	cr_expect_neq(regmsg_sender6(a.addr6), 0);
	a.addr = ip("198.18.0.23");
	cr_expect_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), -EINVAL, "both families");
}

Test(reject, enumerated_fields)
{
	char why[128];

	cr_expect_eq(W(11, 0, why), REGMSG_E_FIELD);
	cr_expect_eq(W(11, 3, why), REGMSG_E_FIELD);
	cr_expect_str_eq(why, "unknown withdraw reason 3");
	cr_expect_eq(K(5, 2, why), REGMSG_E_FIELD); /* accepted = 2 */
	cr_expect_eq(K(6, MSG_ACK, why), REGMSG_E_FIELD);
	cr_expect_eq(K(6, MSG_ANNOUNCE, why), REGMSG_OK);
	cr_expect_eq(K(11, REGMSG_ACK_REASON_MAX + 1, why), REGMSG_E_FIELD);
	cr_expect_eq(K(11, REGMSG_ACK_OK, why), REGMSG_E_FIELD); /* rejected with "ok" */
	cr_expect(strstr(why, "disagrees"), "why: %s", why);
	cr_expect_eq(K(5, 1, why), REGMSG_E_FIELD); /* accepted with "name taken" */
}

Test(reject, why_is_optional_and_bounded)
{
	char why[8];

	cr_expect_eq(A(12, 0, why), REGMSG_E_WEIGHT);
	cr_expect_eq(strlen(why), 7); /* truncated, terminated */
	cr_expect_eq(dec_announce(announce_bytes, 3, NULL, 0), REGMSG_E_SHORT);
	cr_expect_eq(dec_announce(NULL, 0, NULL, 0), REGMSG_E_SHORT);
}

/* ------------------------------------------------------------- encoders -- */

Test(encode, refuses_what_a_receiver_would_drop)
{
	uint8_t buf[REGMSG_MAX];
	struct regmsg_announce a;
	struct regmsg_withdraw w;
	struct regmsg_ack k;

	a = announce();
	a.name[0] = '\0';
	cr_expect_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	a = announce();
	strcpy(a.name, "web 1");
	cr_expect_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	a = announce();
	memset(a.name, 'a', sizeof(a.name)); /* not terminated */
	cr_expect_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	a = announce();
	a.weight = 0;
	cr_expect_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	a = announce();
	a.port = 0;
	cr_expect_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	a = announce();
	a.addr = ip("127.0.0.1");
	cr_expect_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	a = announce();
	a.interval_ms = 50;
	cr_expect_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	a = announce();
	a.flags = 0x80;
	cr_expect_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), -EINVAL);
	w = withdraw();
	w.why = 0;
	cr_expect_eq(regmsg_encode_withdraw(&w, buf, sizeof(buf)), -EINVAL);
	w = withdraw();
	w.port = 0;
	cr_expect_eq(regmsg_encode_withdraw(&w, buf, sizeof(buf)), -EINVAL);
	k = ack();
	k.of = MSG_ACK;
	cr_expect_eq(regmsg_encode_ack(&k, buf, sizeof(buf)), -EINVAL);
	k = ack();
	k.reason = REGMSG_ACK_FULL; /* still accepted */
	cr_expect_eq(regmsg_encode_ack(&k, buf, sizeof(buf)), -EINVAL);
	k = ack();
	strcpy(k.node, "");
	cr_expect_eq(regmsg_encode_ack(&k, buf, sizeof(buf)), -EINVAL);
}

Test(encode, enospc_at_every_short_capacity)
{
	struct regmsg_announce a = announce();
	struct regmsg_ack k = ack();
	uint8_t buf[REGMSG_MAX];
	int full = regmsg_encode_announce(&a, buf, sizeof(buf));
	int kfull = regmsg_encode_ack(&k, buf, sizeof(buf));

	for (int cap = 0; cap < full; cap++)
		cr_assert_eq(regmsg_encode_announce(&a, buf, (size_t)cap), -ENOSPC, "cap %d", cap);
	for (int cap = 0; cap < kfull; cap++)
		cr_assert_eq(regmsg_encode_ack(&k, buf, (size_t)cap), -ENOSPC, "cap %d", cap);
	cr_assert_eq(regmsg_encode_announce(&a, buf, (size_t)full), full);
}

Test(names, every_cause_has_a_name)
{
	for (int e = 0; e < REGMSG_E_NCAUSES; e++)
		cr_expect_str_neq((char *)regmsg_err_name((enum regmsg_err)e), "?", "cause %d", e);
	cr_expect_str_eq((char *)regmsg_err_name(REGMSG_E_NCAUSES), "?");
	cr_expect_str_eq((char *)regmsg_withdraw_why_name(REGMSG_WD_SHUTDOWN), "agent stopping");
	cr_expect_str_eq((char *)regmsg_withdraw_why_name(0), "?");
	cr_expect_str_eq((char *)regmsg_ack_reason_name(200), "?");
}

/* ---------------------------------------------------------- health host -- */

/* announce_bytes with REGMSG_F_HOST and "api.example.test:8080" after the flags. */
static const uint8_t announce_host_bytes[] = {
	4,    'w',  'e',  'b',  '3',  198,  18,   0,   23,  0x1f, 0x90,
	0x00, 0x05, 0x00, 0x00, 0x07, 0xd0, 0x03, /* flags: hello | host */
	21,   'a',  'p',  'i',  '.',  'e',  'x',  'a', 'm', 'p',  'l',
	'e',  '.',  't',  'e',  's',  't',  ':',  '8', '0', '8',  '0',
};

Test(host, announce_with_host_bytes_and_round_trip)
{
	struct regmsg_announce a = announce(), d;
	uint8_t buf[REGMSG_MAX];

	strcpy(a.name, "web3");
	a.weight = 5;
	strcpy(a.health_host, "api.example.test:8080");
	cr_assert_eq(regmsg_encode_announce(&a, buf, sizeof(buf)),
		     (int)sizeof(announce_host_bytes));
	cr_assert_arr_eq(buf, announce_host_bytes, sizeof(announce_host_bytes));
	memset(&d, 0x55, sizeof(d));
	cr_assert_eq(regmsg_decode_announce(buf, sizeof(announce_host_bytes), &d, NULL, 0),
		     REGMSG_OK);
	cr_expect_str_eq(d.health_host, "api.example.test:8080");
	cr_expect_eq(d.flags, REGMSG_F_HELLO | REGMSG_F_HOST);
	truncate_everywhere(announce_host_bytes, sizeof(announce_host_bytes), dec_announce);
}

/* Backward compatible: without a host, an agent sends exactly the older
 * layout (no flag, no byte more), and an older payload decodes with an
 * empty host; the encoder derives the flag from the host, whatever the
 * caller set. */
Test(host, without_host_the_bytes_are_the_older_layout)
{
	struct regmsg_announce a = announce(), d;
	uint8_t buf[REGMSG_MAX];

	strcpy(a.name, "web3");
	a.weight = 5;
	a.flags = REGMSG_F_HELLO | REGMSG_F_HOST;
	cr_assert_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), (int)sizeof(announce_bytes));
	cr_assert_arr_eq(buf, announce_bytes, sizeof(announce_bytes));
	memset(&d, 0x55, sizeof(d));
	cr_assert_eq(regmsg_decode_announce(announce_bytes, sizeof(announce_bytes), &d, NULL, 0),
		     REGMSG_OK);
	cr_expect_str_empty(d.health_host);
}

Test(host, bad_hosts_are_rejected_on_both_sides)
{
	static const char *const bad[] = { "a b", "web/1", "x:",    "x:0",   "x:65536", "x:123456",
					   ":80", "x:8a",  "x:+80", "[::1]", "x:80:81", "\x7f" };
	uint8_t buf[REGMSG_MAX], raw[REGMSG_MAX];
	struct regmsg_announce a = announce(), d;
	char why[128];
	int n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_not(regmsg_host_ok(bad[i]), "%s", bad[i]);
		strcpy(a.health_host, bad[i]);
		cr_expect_eq(regmsg_encode_announce(&a, buf, sizeof(buf)), -EINVAL, "%s", bad[i]);
	}
	cr_expect(regmsg_host_ok("www.example.test"));
	cr_expect(regmsg_host_ok("198.18.0.21:65535"));
	cr_expect(regmsg_host_ok("x:1"));
	/* On the wire: a byte outside the rule, length 0, a NUL inside. */
	strcpy(a.health_host, "good.host");
	n = regmsg_encode_announce(&a, raw, sizeof(raw));
	cr_assert_gt(n, 0);
	memcpy(buf, raw, (size_t)n);
	buf[n - 1] = ' ';
	cr_expect_eq(regmsg_decode_announce(buf, (size_t)n, &d, why, sizeof(why)), REGMSG_E_HOST);
	buf[n - 1] = '\0';
	cr_expect_eq(regmsg_decode_announce(buf, (size_t)n, &d, why, sizeof(why)), REGMSG_E_HOST);
	memcpy(buf, raw, (size_t)n);
	buf[n - 10] = 0; /* the length byte */
	cr_expect_eq(regmsg_decode_announce(buf, (size_t)n - 9, &d, why, sizeof(why)),
		     REGMSG_E_HOST);
	cr_expect_str_eq(why, "health host length 0 outside 1..63");
	buf[n - 10] = 64;
	cr_expect_eq(regmsg_decode_announce(buf, (size_t)n, &d, why, sizeof(why)), REGMSG_E_HOST);
	/* 64 characters do not fit; 63 do. */
	memset(a.health_host, 'h', REGMSG_HOST_MAX - 1);
	a.health_host[REGMSG_HOST_MAX - 1] = '\0';
	cr_expect_gt(regmsg_encode_announce(&a, buf, sizeof(buf)), 0);
	cr_expect_not(regmsg_host_ok(
		"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"));
}
