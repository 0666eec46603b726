/* fdpass.h - descriptors handed from one andromeda process to the next
 * (hitless upgrade, docs/operations.md "Hitless upgrade"): one message
 * with up to FDPASS_MAX descriptors over a SOCK_SEQPACKET unix socket
 * (SCM_RIGHTS), and the table of listening sockets the new process
 * received, which the proxy consults before binding one of its own.
 *
 * The table is process-wide on purpose: like systemd's LISTEN_FDS it
 * describes what the process was started with, before any module
 * exists.  It is filled once (main thread, before the proxy threads
 * start) and emptied by fdpass_inherited_close(). */
#ifndef ANDROMEDA_FDPASS_H
#define ANDROMEDA_FDPASS_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define FDPASS_MAX 250 /* under the kernel's SCM_MAX_FD (253) */

/* Send len bytes of msg with nfds descriptors (which stay the caller's).
 * Returns 0 or -errno. */
int fdpass_send(int sock, const void *msg, size_t len, const int *fds, unsigned nfds);
/* Receive one message (at most cap bytes, NUL-terminated: cap - 1 are
 * usable) and up to FDPASS_MAX descriptors into fds (close-on-exec),
 * waiting at most timeout_ms.  Returns the message length (0: the peer
 * closed), or -errno (-ETIMEDOUT). */
ssize_t fdpass_recv(int sock, char *msg, size_t cap, int *fds, unsigned *nfds, int timeout_ms);

/* Hand the received listening sockets to the table (taken over). */
void fdpass_inherit(const int *fds, unsigned nfds);
/* A listening TCP socket of the table bound to exactly sa, removed from
 * the table (now the caller's), or -1 if there is none. */
int fdpass_inherited_take(const struct sockaddr *sa, socklen_t len);
/* Close what nobody took (a listener the new configuration dropped);
 * returns how many. */
unsigned fdpass_inherited_close(void);

#endif
