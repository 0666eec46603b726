/* txn_http.h - HTTP/1.1 over a txn (txn_http.c): read and rewrite the
 * request, stream it to the backend, read and rewrite the response,
 * stream it back; keep-alive, pipelining, our own error responses. */
#ifndef ANDROMEDA_TXN_HTTP_H
#define ANDROMEDA_TXN_HTTP_H

#include "proxy_types.h"

/* HTTP's protocol (txn.h): a mode http client's from its start, until an
 * Upgrade hands the connection to the tunnel. */
extern const struct txn_ops txn_http_ops;

#endif
