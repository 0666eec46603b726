/* kwatch.h - watch the kernel for the HA interface (SPEC "Watching the
 * kernel"): carrier lost / back, and IPv4 and IPv6 addresses added to or
 * removed from it (a VIP removed by hand is put back by the daemon).  The only
 * module that uses libmnl.
 *
 * Two netlink sockets, both non-blocking and registered on the event loop:
 *  - an event socket subscribed to RTMGRP_LINK | RTMGRP_IPV4_IFADDR |
 *    RTMGRP_IPV6_IFADDR;
 *    only messages sent by the kernel (sender port id 0) are accepted;
 *  - a query socket for RTM_GETLINK dumps, whose replies must carry our
 *    port id and the dump's sequence number (mnl_cb_run checks both).
 * The link state is dumped once in kwatch_open(), synchronously, and again
 * whenever the event socket overruns (ENOBUFS: the kernel dropped events),
 * after which ops->resync tells the owner to re-check what it relies on.
 *
 * The interface is followed by name: if it does not exist (yet), or is
 * deleted and re-created, the new index is adopted when it appears. */
#ifndef ANDROMEDA_KWATCH_H
#define ANDROMEDA_KWATCH_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

struct kwatch_link {
	int ifindex; /* 0 while the interface does not exist */
	char ifname[IF_NAMESIZE];
	unsigned flags;    /* ifi_flags: IFF_UP, IFF_RUNNING, IFF_LOWER_UP... */
	uint8_t operstate; /* IFLA_OPERSTATE: IF_OPER_* (RFC 2863 ifOperStatus) */
	bool carrier;      /* usable for HA: see kwatch_carrier_ok() */
	const char *why;   /* static text: "up", "admin down", "no carrier"... */
};

struct kwatch_addr {
	int ifindex;
	int family;            /* AF_INET or AF_INET6 */
	struct in_addr addr;   /* AF_INET: IFA_LOCAL, or IFA_ADDRESS when absent */
	struct in6_addr addr6; /* AF_INET6: the same (IPv6 sends IFA_ADDRESS) */
	uint8_t prefixlen;
	char label[IF_NAMESIZE]; /* IFA_LABEL, "" when absent */
};

/* Callbacks, each optional.  They run from the event loop and must not call
 * kwatch_close() on the kwatch that called them. */
struct kwatch_ops {
	/* The carrier verdict of the watched interface changed (edge-triggered;
	 * not called for the initial state, read that with kwatch_link_state()
	 * after kwatch_open()). */
	void (*link)(void *arg, const struct kwatch_link *l);
	/* An IPv4 or IPv6 address (a->family) was added to (or changed on: the
	 * kernel sends RTM_NEWADDR for updates too) or removed from the
	 * watched interface. */
	void (*addr)(void *arg, bool added, const struct kwatch_addr *a);
	/* Events were lost (socket overrun); the link state has been re-read and
	 * ops->link called if it changed.  Address events may be missing: the
	 * owner re-checks its addresses (e.g. vip_present()). */
	void (*resync)(void *arg);
};

struct kwatch_stats {
	uint64_t messages; /* rtnetlink messages processed */
	uint64_t overruns; /* ENOBUFS on the event socket */
	uint64_t dumps;    /* link dumps completed */
	uint64_t bad;      /* malformed or unexpected messages dropped */
};

struct kwatch;

/* Open both sockets, dump the link state (up to 2 s), and register on loop.
 * ops is copied; arg is passed back to every callback.  A missing interface
 * is not an error: the state says carrier false, "interface absent".
 * Returns 0, -EINVAL, or -errno. */
int kwatch_open(struct kwatch **out, struct loop *loop, const char *ifname,
		const struct kwatch_ops *ops, void *arg);
/* Unregister from the loop and close.  NULL is a no-op. */
void kwatch_close(struct kwatch *k);

const struct kwatch_link *kwatch_link_state(const struct kwatch *k);
const struct kwatch_stats *kwatch_get_stats(const struct kwatch *k);

/* The event socket's receive buffer (SO_RCVBUF).  kwatch_open sets 256 KiB;
 * tests shrink it to provoke an overrun.  Returns 0 or -errno. */
int kwatch_set_rcvbuf(struct kwatch *k, int bytes);

/* Pure verdict: an interface can carry the VIP when it is administratively
 * up (IFF_UP), has carrier (IFF_LOWER_UP), is running (IFF_RUNNING), and
 * its RFC 2863 operational state is up or unknown (drivers that do not
 * report one).  *why (may be NULL) gets a static reason. */
bool kwatch_carrier_ok(unsigned flags, uint8_t operstate, const char **why);

/* Process a buffer of rtnetlink messages (at most 32 KiB) as if read from
 * the event socket (for tests and fuzzers).  Returns 0, or -EBADMSG when
 * the framing is broken (a length that overruns the buffer: nothing of it
 * is used) or the buffer carries an NLMSG_ERROR.  A message with an
 * invalid attribute is dropped alone.  Every drop counts in stats.bad. */
int kwatch_input(struct kwatch *k, const void *buf, size_t len);

#endif
