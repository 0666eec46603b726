/* test_redispatch.c - which failed requests go to another server, and what
 * the client gets otherwise (SPEC "Failure detection"). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "redispatch.h"

struct rcase {
	const char *what;
	struct redispatch_facts f;
	bool allowed;
};

ParameterizedTestParameters(redispatch, rules)
{
	static struct rcase cases[] = {
		{ "connect failed: anything may go elsewhere",
		  { .nothing_sent = 1, .retries_left = 1 },
		  true },
		{ "connect failed, POST",
		  { .nothing_sent = 1, .idempotent = 0, .retries_left = 2 },
		  true },
		{ "connect failed but no retries left",
		  { .nothing_sent = 1, .retries_left = 0 },
		  false },
		{ "GET sent, whole in buffer",
		  { .idempotent = 1, .replayable = 1, .retries_left = 2 },
		  true },
		{ "GET sent, body no longer buffered",
		  { .idempotent = 1, .replayable = 0, .retries_left = 2 },
		  false },
		{ "POST sent: never duplicated",
		  { .idempotent = 0, .replayable = 1, .retries_left = 2 },
		  false },
		{ "GET, response already started",
		  { .idempotent = 1, .replayable = 1, .response_started = 1, .retries_left = 2 },
		  false },
		{ "tcp: before connect",
		  { .tcp_mode = 1, .nothing_sent = 1, .retries_left = 1 },
		  true },
		{ "tcp: bytes went out",
		  { .tcp_mode = 1, .idempotent = 1, .replayable = 1, .retries_left = 1 },
		  false },
	};
	return cr_make_param_array(struct rcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct rcase *c, redispatch, rules)
{
	cr_assert_eq(redispatch_allowed(&c->f), c->allowed, "%s", c->what);
}

Test(redispatch, status_when_not_retried)
{
	cr_assert_eq(redispatch_status(FAIL_CONNECT), 503);
	cr_assert_eq(redispatch_status(FAIL_CONNECT_TMO), 503);
	cr_assert_eq(redispatch_status(FAIL_RESPONSE_TMO), 504);
	cr_assert_eq(redispatch_status(FAIL_PROTOCOL), 502);
	cr_assert_eq(redispatch_status(FAIL_CHECK), 502);
}
