/* redispatch.c - the retry rules (see redispatch.h). */
#include "redispatch.h"

bool redispatch_allowed(const struct redispatch_facts *f)
{
	if (f->response_started || f->retries_left == 0)
		return false;
	if (f->nothing_sent)
		return true;
	if (f->tcp_mode)
		return false; /* bytes of a stream went out: no replay */
	return f->idempotent && f->replayable;
}

unsigned redispatch_status(enum server_fail why)
{
	switch (why) {
	case FAIL_CONNECT:
	case FAIL_CONNECT_TMO:
	case FAIL_TLS: /* the server is there, but not one we may talk to */
		return 503;
	case FAIL_RESPONSE_TMO:
		return 504;
	default:
		return 502;
	}
}
