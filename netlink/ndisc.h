/* ndisc.h - unsolicited Neighbor Advertisements for the IPv6 VIPs (the
 * IPv6 twin of garp.h: a burst on becoming MASTER, then a refresh while
 * MASTER, the same garp_count / garp_interval / garp_refresh), and a look
 * at the NS/NA traffic of the HA link: malformed ones are counted by
 * cause, and an NA that gives one of our VIPs another MAC while we
 * announce it is counted as a conflict.  The only module with a raw
 * ICMPv6 socket.
 *
 * The NA (ndisc_packet.h) goes from the VIP itself (as Linux's own
 * unsolicited NAs do; the VIP is added with IFA_F_NODAD so it is usable
 * at once) to ff02::1 with hop limit 255, O set, S and R clear: a
 * balancer is not a router.  The kernel fills the checksum of an ICMPv6
 * raw socket (the same value ndisc_na_build() computed) and drops a
 * received one whose checksum fails before we see it. */
#ifndef ANDROMEDA_NDISC_H
#define ANDROMEDA_NDISC_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "garp.h"
#include "ndisc_packet.h"

struct loop;
struct ndisc;

struct ndisc_stats {
	uint64_t sent;                    /* NAs handed to the kernel */
	uint64_t errors;                  /* NAs the kernel refused */
	uint64_t rounds;                  /* rounds sent by the scheduler */
	uint64_t rx;                      /* well-formed NS/NA seen */
	uint64_t rx_drops[ND_RX_NCAUSES]; /* malformed, by cause ([ND_RX_OK] unused) */
	uint64_t conflicts;               /* an NA for a VIP we announce, with another MAC */
};

/* Open the ICMPv6 socket on ifname (CAP_NET_RAW), read its index and
 * MAC, and watch NS/NA on it.  p (burst and refresh) is copied.  0,
 * -ENODEV, -EOPNOTSUPP (not Ethernet), -EPERM or -errno (logged). */
int ndisc_open(struct ndisc **out, struct loop *loop, const char *ifname,
	       const struct garp_params *p);
/* Stop, unregister, close, free.  NULL is a no-op. */
void ndisc_close(struct ndisc *nd);

/* Announce ips[0..n-1] (n <= GARP_MAX_ADDRS): a round now, count-1 more
 * interval_ms apart, then one every refresh_ms until ndisc_stop().  0,
 * -EINVAL, or the first send's error (the schedule runs regardless). */
int ndisc_start(struct ndisc *nd, const struct in6_addr *ips, size_t n);
void ndisc_stop(struct ndisc *nd);
bool ndisc_running(const struct ndisc *nd);

const struct ndisc_stats *ndisc_get_stats(const struct ndisc *nd);

#endif
