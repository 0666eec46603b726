/* upgrade_ring.h - the TLS session-ticket key ring handed to the new
 * process of a hitless upgrade (docs/tls-keys.md), so that the tickets
 * clients hold still resume after an upgrade of the MASTER.
 *
 * The new process makes a one-off transfer key and sends it in HELLO
 * (" key=HEX"); the old one exports its ring under that key
 * (tls_keys_export: AES-256-GCM) and appends " tls=HEX" to TAKE.  The
 * channel is a socketpair between the two processes, so the transfer key
 * only keeps the ring out of anything that might log the messages.
 * Either side without it (an older binary) just goes without: the new
 * process keeps the ring it made, as before. */
#ifndef ANDROMEDA_UPGRADE_RING_H
#define ANDROMEDA_UPGRADE_RING_H

#include <stddef.h>
#include <stdint.h>

#define UPGRADE_RING_KEY_LEN  32
/* " tls=" and the hex of an exported ring, with room to spare */
#define UPGRADE_RING_TEXT_MAX 800

/* New process: a random transfer key, and its " key=HEX" for HELLO.
 * Returns 0 or -errno. */
int upgrade_ring_key(uint8_t key[UPGRADE_RING_KEY_LEN], char *text, size_t cap);
/* Old process: if hello carries a key, append " tls=HEX" (the process's
 * ring under it) to msg (cap bytes).  Returns 1 if appended, 0 if hello
 * has no key, -errno on a failure (logged; TAKE goes without). */
int upgrade_ring_append(const char *hello, char *msg, size_t cap);
/* New process: import the ring of take's " tls=HEX" into the process's
 * ring.  Returns 1 if imported, 0 if take has none, -errno (logged). */
int upgrade_ring_take(const char *take, const uint8_t key[UPGRADE_RING_KEY_LEN]);

#endif
