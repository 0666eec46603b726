/* tunnel.h - bytes relayed both ways between a client and its backend
 * (tunnel.c): whole connections in mode tcp, and HTTP connections after a
 * 101 Switching Protocols (WebSocket). */
#ifndef ANDROMEDA_TUNNEL_H
#define ANDROMEDA_TUNNEL_H

#include "proxy_types.h"

/* The tunnel's protocol (txn.h): a mode tcp client's from its start. */
extern const struct txn_ops tunnel_ops;

/* Relay from now on: t's backend is connected and whatever t->rh, t->rs
 * and the client's input hold goes out first.  t's client takes
 * tunnel_ops (HTTP's Upgrade swap). */
void tunnel_start(struct txn *t);

#endif
