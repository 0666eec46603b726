/* vrrp_socket.h - the raw IPv4 socket for VRRP (IP protocol 112) on the HA
 * interface.  The only file that opens, configures, reads or writes it.
 *
 * Multicast mode (no peers): joins 224.0.0.18 on the interface only, sends
 * there with TTL 255, without loopback of our own adverts.  Unicast mode
 * (peers given): sends one copy to each peer, joins nothing.  Either way
 * the socket is bound to the device (SO_BINDTODEVICE) and IP_PKTINFO
 * re-checks the arrival interface, so only the HA link is heard.  The
 * kernel writes the IP header; the source address is set per packet to
 * our primary address (IP_PKTINFO ipi_spec_dst) so that it matches the
 * pseudo-header the checksum was computed over.
 *
 * Needs CAP_NET_RAW.  Non-blocking, registered with the loop for reading;
 * sends never block (a full socket buffer is a counted error). */
#ifndef ANDROMEDA_VRRP_SOCKET_H
#define ANDROMEDA_VRRP_SOCKET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "vrrp_packet.h"

struct loop;
struct vrrp_socket;

/* One packet as received, IPv4 header included (what vrrp_recv_packet()
 * and vrrp_packet_parse() take).  Valid only during the call. */
typedef void (*vrrp_socket_rx_fn)(void *arg, const void *pkt, size_t len);

struct vrrp_socket_params {
	const char *ifname;          /* the HA interface */
	const struct in_addr *peers; /* unicast peers; npeers 0 = multicast */
	size_t npeers;
	const struct in_addr *vips; /* never chosen as our primary address */
	size_t nvips;
	vrrp_socket_rx_fn rx;
	void *rx_arg;
};

/* Open, configure and register the socket; look up the primary address.
 * An interface that is down or has no IPv4 address (other than the VIPs)
 * yet is not an error: the primary is then 0.0.0.0 until
 * vrrp_socket_refresh_primary() finds one (boot order).  Returns 0, or
 * -errno: -ENODEV (no such interface), -EPERM (no CAP_NET_RAW), -EINVAL
 * (more than CFG_MAX_PEERS peers), or a setsockopt failure (logged with
 * the option's name). */
int vrrp_socket_open(struct loop *loop, const struct vrrp_socket_params *p,
		     struct vrrp_socket **out);
/* Unregister, close, free.  NULL is a no-op. */
void vrrp_socket_close(struct vrrp_socket *s);

/* Send adv to 224.0.0.18 or to each peer.  Sets adv->src to our primary
 * address and adv->dst per destination (the checksum covers both).
 * Returns 0 when every copy left, -EADDRNOTAVAIL (nothing sent) while we
 * have no primary address, else the first -errno (each failure is logged
 * at most once per minute and counted). */
int vrrp_socket_send(struct vrrp_socket *s, struct vrrp_advert *adv);

/* Our primary IPv4 address on the interface, as found at open or by the
 * last successful refresh; 0.0.0.0 while it has none. */
struct in_addr vrrp_socket_primary(const struct vrrp_socket *s);
/* Look the primary address up again (after an address or link event).
 * Returns 1 when it changed (to 0.0.0.0 when no IPv4 address is left), 0
 * when not, or -errno (-ENODEV: the interface is gone; the old one is
 * kept). */
int vrrp_socket_refresh_primary(struct vrrp_socket *s);

/* The first IPv4 address of ifname that is not in exclude[] (the kernel
 * lists primary addresses before secondaries).  0, -ENODEV or
 * -EADDRNOTAVAIL.  Exposed for the daemon's start-up checks. */
int vrrp_iface_primary(const char *ifname, const struct in_addr *exclude, size_t nexclude,
		       struct in_addr *out);

#endif
