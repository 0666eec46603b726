/* redispatch.h - when a request that failed on one server may be sent to
 * another (SPEC "Failure detection"), as a pure function so the rules are
 * unit-tested apart from sockets.
 *
 * A request may go to another server when the client has seen nothing of
 * a response, a retry is left, and either nothing reached the failed server
 * (connect failed, or it was still queued), or the request is idempotent
 * (RFC 9110 9.2.2) and still whole in our buffer.  Otherwise the client gets
 * redispatch_status(): 503 when no connection could be made, 504 when the
 * server did not answer in time, 502 for anything else - never a silent
 * duplicate of a non-idempotent request. */
#ifndef ANDROMEDA_REDISPATCH_H
#define ANDROMEDA_REDISPATCH_H

#include <stdbool.h>

#include "pool.h"

struct redispatch_facts {
	bool nothing_sent; /* not one byte of the request reached the server */
	bool idempotent;
	bool replayable;       /* the whole request is still in our buffer */
	bool response_started; /* the client already got bytes of a response */
	bool tcp_mode;         /* whole connections: only before connecting */
	unsigned retries_left;
};

bool redispatch_allowed(const struct redispatch_facts *f);
unsigned redispatch_status(enum server_fail why);

#endif
