/* sigfd.h - signals as readable events on the loop, for both daemons:
 * the signals a program handles are blocked and read from a signalfd, so
 * no handler ever interrupts other code and each signal is dispatched
 * from the loop like any other input. */
#ifndef ANDROMEDA_SIGFD_H
#define ANDROMEDA_SIGFD_H

/* Ignore SIGPIPE (a peer that goes away is an EPIPE from send, not the
 * end of the process), block the signals of sigs (ended by 0) and open a
 * non-blocking, close-on-exec signalfd for them.  Call it before any
 * thread starts (proxy threads, libcurl's resolver): threads inherit the
 * mask, so the signals reach only the descriptor.  Returns the
 * descriptor (the caller's to close) or -errno. */
int sigfd_open(const int *sigs);

/* The number of the next pending signal read from fd, or 0 when none is
 * left (the descriptor is non-blocking: call it until 0). */
int sigfd_next(int fd);

#endif
