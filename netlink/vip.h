/* vip.h - add and remove the virtual IP address (SPEC "HA module") through
 * rtnetlink.  This is the only module that uses libnl-3 / libnl-route-3.
 *
 * One struct vip is bound to one interface and keeps one NETLINK_ROUTE
 * socket open for its whole life, so a failover pays one sendmsg + one
 * recvmsg per address and no socket set-up.  The calls are synchronous:
 * they are made only on state changes (a few per failover), and rtnetlink
 * answers an address request from within the sendmsg() that carries it, so
 * the wait is bounded by the kernel's RTNL lock, not by the network.
 *
 * Addresses we add carry the label "<ifname>:andr" (IFA_LABEL), so that
 * `ip addr` shows whose they are.  A label starts with the interface name
 * (the alias convention that ifconfig and `ip addr show label` rely on) and
 * the kernel keeps at most IFNAMSIZ-1 bytes of it, so the label is
 * truncated to 15 bytes: an interface name of 11 or more bytes shortens or
 * (at 15 bytes) drops the ":andr" suffix.
 *
 * Every call returns 0 (or a documented positive value) or -errno; each
 * failure is logged once with libnl's error text, the address and the
 * interface. */
#ifndef ANDROMEDA_VIP_H
#define ANDROMEDA_VIP_H

#include <netinet/in.h>

#define VIP_LABEL_SUFFIX ":andr"

struct vip;

/* Open the rtnetlink socket and resolve ifname.  *out is owned by the caller
 * and released with vip_close().  Returns 0, -ENODEV when the interface does
 * not exist, -EINVAL for an empty or too long name, or another -errno. */
int vip_open(struct vip **out, const char *ifname);
void vip_close(struct vip *v);

/* The label given to added addresses ("eth0:andr"). */
const char *vip_label(const struct vip *v);

/* Add addr/prefixlen (prefixlen 0..32) to the interface with our label.
 * Idempotent: an address with the same address and prefix already present
 * (whatever its label) returns 0.  Returns 0 or -errno. */
int vip_add(struct vip *v, struct in_addr addr, unsigned prefixlen);

/* Remove addr/prefixlen from the interface, whatever its label.  Idempotent:
 * an absent address returns 0.  Returns 0 or -errno. */
int vip_remove(struct vip *v, struct in_addr addr, unsigned prefixlen);

/* Returns 1 when addr/prefixlen is on the interface, 0 when not, or -errno.
 * Dumps the kernel's IPv4 addresses: not for a hot path. */
int vip_present(struct vip *v, struct in_addr addr, unsigned prefixlen);

/* Start-up clean-up: remove addr/prefixlen if an earlier run that crashed
 * left it on the interface (matched on address and prefix, whatever the
 * label), and log it.  Returns 1 when one was removed, 0 when there was
 * none, or -errno. */
int vip_remove_stale(struct vip *v, struct in_addr addr, unsigned prefixlen);

/* IPv6 VIPs (prefixlen 1..128), the same contracts as above, except:
 * added with IFA_F_NODAD (usable at once, no DAD) and without a label
 * (the kernel keeps none for IPv6). */
int vip6_add(struct vip *v, const struct in6_addr *addr, unsigned prefixlen);
int vip6_remove(struct vip *v, const struct in6_addr *addr, unsigned prefixlen);
int vip6_remove_stale(struct vip *v, const struct in6_addr *addr, unsigned prefixlen);
int vip6_present(struct vip *v, const struct in6_addr *addr, unsigned prefixlen);

#endif
