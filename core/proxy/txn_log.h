/* txn_log.h - what the access log says of a txn (txn_log.c): the facts
 * gathered along the way (struct txn_log in proxy_types.h), and the
 * record handed to alog.h when the txn ends. */
#ifndef ANDROMEDA_TXN_LOG_H
#define ANDROMEDA_TXN_LOG_H

#include "proxy_types.h"

/* t was given srv (txn_dispatch). */
void txn_log_server(struct txn *t, const struct server *srv);
/* The request head is complete in head (txn_http.c): keep method and
 * target for the line.  Only when px->alog is set. */
void txn_log_request(struct txn *t, const char *head);
/* t's termination state, e.g. "--", "SH", "CD" (docs/observability.md). */
void txn_log_term(const struct txn *t, char out[3]);
/* t ends (txn_free): push its record.  Only when px->alog is set. */
void txn_log_end(struct txn *t);

#endif
