/* garp.h - gratuitous ARP for the VIP (SPEC "HA module": a burst on
 * becoming active, then a refresh every few seconds while active).  The only
 * module that uses AF_PACKET.
 *
 * Three layers:
 *  - garp_build(): pure frame builder (bytes out, no I/O; unit-tested).
 *  - struct garp: an AF_PACKET SOCK_DGRAM socket on one interface;
 *    garp_send() sends one frame to the Ethernet broadcast address.
 *  - garp_start()/garp_stop(): the burst + refresh scheduler on the event
 *    loop, owned by whoever holds the VIP (the HA module). */
#ifndef ANDROMEDA_GARP_H
#define ANDROMEDA_GARP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct config;

/* An ARP packet for Ethernet/IPv4 (RFC 826): 8-byte header + 2 * (6 + 4). */
#define GARP_PKT_LEN   28
#define GARP_MAX_ADDRS 8 /* addresses announced together (CFG_MAX_VIPS) */

enum garp_op {
	/* RFC 5227 section 3 "ARP Announcement": an ARP request with sender and
	 * target IP both set to the address, target MAC all zeroes.  Updates
	 * every neighbour that already has an entry for the address. */
	GARP_REQUEST = 1,
	/* The reply form (RFC 5944 section 4.6): target MAC = sender MAC.  Some
	 * old stacks only learn from replies. */
	GARP_REPLY = 2,
};

/* Write the ARP packet announcing ip at mac into buf (the kernel adds the
 * Ethernet header: SOCK_DGRAM).  Pure.  Returns GARP_PKT_LEN, -ENOSPC when
 * buflen is too small, or -EINVAL for an unknown op. */
int garp_build(uint8_t *buf, size_t buflen, enum garp_op op, const uint8_t mac[6],
	       struct in_addr ip);

struct garp_params {
	unsigned count;       /* frames (rounds) in the burst at garp_start; 0 = none */
	uint32_t interval_ms; /* spacing of the burst */
	uint32_t refresh_ms;  /* one round every refresh_ms after the burst; 0 = off */
	bool reply_too;       /* each round also sends the GARP_REPLY form */
};

/* Fill p from cfg->ha.garp_count, garp_interval_ms, garp_refresh_ms
 * (reply_too off). */
void garp_params_from_config(struct garp_params *p, const struct config *cfg);

struct garp_stats {
	uint64_t sent;   /* frames handed to the kernel */
	uint64_t errors; /* frames the kernel refused */
	uint64_t rounds; /* rounds sent by the scheduler */
};

struct garp;

/* Open an AF_PACKET socket on ifname (needs CAP_NET_RAW) and read the
 * interface's index and MAC; the interface must be Ethernet-like.  loop is
 * used by the scheduler only and must outlive the garp.  p is copied.
 * Returns 0, -ENODEV, -EOPNOTSUPP (not Ethernet), -EPERM, or -errno. */
int garp_open(struct garp **out, struct loop *loop, const char *ifname,
	      const struct garp_params *p);
/* Stops the scheduler (cancels its timer) and closes the socket. */
void garp_close(struct garp *g);

/* Send one frame announcing ip.  Non-blocking: a full queue is -EAGAIN.
 * If the interface was re-created (new index or MAC) the index and MAC are
 * read again and the frame retried once.  Returns 0 or -errno (logged,
 * rate-limited). */
int garp_send(struct garp *g, struct in_addr ip, enum garp_op op);

/* Announce ips[0..n-1] (n <= GARP_MAX_ADDRS): one round (a request, and a
 * reply if reply_too, per address) right now, count-1 more rounds
 * interval_ms apart, then one round every refresh_ms until garp_stop().
 * Starting a running scheduler restarts it with the new addresses.
 * Returns 0, -EINVAL, or the error of the first immediate send (the
 * schedule is armed regardless: later rounds may succeed). */
int garp_start(struct garp *g, const struct in_addr *ips, size_t n);
/* Cancel every pending round.  A no-op when not running. */
void garp_stop(struct garp *g);
/* True from garp_start() until garp_stop(), even once nothing is left to
 * send (count rounds done, refresh off). */
bool garp_running(const struct garp *g);

const struct garp_stats *garp_get_stats(const struct garp *g);
/* The MAC the frames carry, as read at open (or at the last re-read). */
const uint8_t *garp_mac(const struct garp *g);

#endif
