/* vrrp6_socket.h - the raw IPv6 socket for VRRPv3 over IPv6 (next header
 * 112) on the HA interface; the IPv6 twin of vrrp_socket.h.
 *
 * Multicast only (the unicast `peers` are IPv4): joins ff02::12 on the
 * interface, sends there with hop limit 255 (IPV6_MULTICAST_HOPS), from
 * the interface's link-local address (IPV6_PKTINFO; RFC 5798 5.1.2.1),
 * without loopback.  Every packet is read with its hop limit
 * (IPV6_RECVHOPLIMIT) and destination and arrival interface
 * (IPV6_RECVPKTINFO): the kernel does not check a raw socket's hop limit
 * or (without IPV6_CHECKSUM) its checksum, vrrp6_msg_parse() does.
 *
 * Needs CAP_NET_RAW.  Non-blocking, registered with the loop. */
#ifndef ANDROMEDA_VRRP6_SOCKET_H
#define ANDROMEDA_VRRP6_SOCKET_H

#include <netinet/in.h>
#include <stddef.h>

#include "vrrp6_packet.h"

struct loop;
struct vrrp6_socket;

/* One VRRP message (no IPv6 header) and what the header said; valid
 * only during the call. */
typedef void (*vrrp6_socket_rx_fn)(void *arg, const void *msg, size_t len,
				   const struct vrrp6_rx_meta *m);

/* Open, join ff02::12, register.  The link-local address may be missing
 * (interface down, DAD running): vrrp6_socket_refresh() finds it later.
 * 0 or -errno (-ENODEV, -EPERM, a setsockopt failure: logged). */
int vrrp6_socket_open(struct loop *loop, const char *ifname, vrrp6_socket_rx_fn rx, void *arg,
		      struct vrrp6_socket **out);
void vrrp6_socket_close(struct vrrp6_socket *s);

/* Send adv (family AF_INET6) to ff02::12: sets src6 to our link-local
 * address and dst6 to the group.  0, -EADDRNOTAVAIL while we have no
 * link-local address, or -errno (logged at most once a minute). */
int vrrp6_socket_send(struct vrrp6_socket *s, struct vrrp_advert *adv);

/* Our link-local address (:: while none). */
struct in6_addr vrrp6_socket_linklocal(const struct vrrp6_socket *s);
/* Look it up again: 1 changed, 0 not, -errno. */
int vrrp6_socket_refresh(struct vrrp6_socket *s);

#endif
