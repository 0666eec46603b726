/* successor_confirm.h - the named successor's last check before it takes
 * over at once (issue 15, successor.h), for ha/sync_session.c only.
 *
 * A reset of our session says the MASTER's kernel dropped it; a network
 * device or a blip can also reset a TCP session while the MASTER lives.
 * So the successor first connects to the MASTER's sync port once more: a
 * refusal, or a reset of the connection before any byte (the listener of
 * a dying process, closed after our SYN was queued, resets it) means its
 * kernel answers and nobody listens: the process is gone, take over now
 * (vrrp_successor_takeover).  Its HELLO (the MASTER lives), an EOF, or
 * no answer within one advert interval change nothing: the RFC's
 * Master_Down_Timer, armed by the last advert, still runs.  One or two
 * round trips on a LAN, well under a millisecond. */
#ifndef ANDROMEDA_SUCCESSOR_CONFIRM_H
#define ANDROMEDA_SUCCESSOR_CONFIRM_H

#include <netinet/in.h>

#include "sync_int.h"

void successor_confirm_init(struct sync *s);
/* Start the check against peer (a check running is replaced). */
void successor_confirm_start(struct sync *s, struct in_addr peer);
/* Stop a running check (shutdown). */
void successor_confirm_stop(struct sync *s);

#endif
