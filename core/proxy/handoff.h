/* handoff.h - `systemctl restart` without a failover (docs/operations.md
 * "systemctl restart"): the plain HTTP keep-alive clients of a process
 * that stops for a restart are not closed but kept, between two requests,
 * for systemd's file descriptor store; the next process serves them as
 * if it had just accepted them.  Bytes a client sends meanwhile wait in
 * the kernel's socket buffer.
 *
 * The list is process-wide (every proxy thread adds to it) and guarded
 * by a mutex; the daemon takes it once every thread has drained. */
#ifndef ANDROMEDA_HANDOFF_H
#define ANDROMEDA_HANDOFF_H

#include <stdbool.h>

struct client;

/* A client that may be handed over now: plain (no TLS), between two
 * requests, nothing of a next request read yet.  That it speaks HTTP
 * (not a tunnel) is the caller's to know. */
bool handoff_client_idle(const struct client *cl);
/* Keep cl's socket for the next process and close cl (the socket stays
 * open: a copy is in the list).  On failure (no memory, no descriptor)
 * the client is simply closed, as a plain stop would. */
void handoff_client(struct client *cl);
/* Move up to max kept sockets into fds (now the caller's); returns how
 * many. */
unsigned handoff_take(int *fds, unsigned max);
/* How many are kept. */
unsigned handoff_count(void);

#endif
