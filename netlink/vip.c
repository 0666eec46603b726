/* vip.c - the virtual IP address through libnl-route-3 (rtnl_addr).
 *
 * The only file that talks libnl.  libnl reports its own NLE_* codes; the
 * kernel's errno for a refused request is taken from the NLMSG_ERROR itself
 * (an error callback on the socket) so callers see the real -errno, and
 * local failures are mapped with nle_to_errno(). */
#include "vip.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_addr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

struct vip {
	struct nl_sock *sk; /* NETLINK_ROUTE, open for the life of the vip */
	int ifindex;
	int kernel_err; /* errno carried by the last NLMSG_ERROR, else 0 */
	char ifname[IF_NAMESIZE];
	char label[IF_NAMESIZE];
};

/* "198.18.0.10/24", for log lines. */
struct vip_text {
	char s[INET6_ADDRSTRLEN + 5];
};

static struct vip_text vip_fmt(struct in_addr addr, unsigned prefixlen)
{
	struct vip_text t;
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &addr, a, sizeof(a));
	snprintf(t.s, sizeof(t.s), "%s/%u", a, prefixlen);
	return t;
}

/* libnl error -> errno, for failures that never reached the kernel. */
static int nle_to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_INTR:
	case NLE_DUMP_INTR:
		return EINTR;
	case NLE_BAD_SOCK:
		return EBADF;
	case NLE_AGAIN:
		return EAGAIN;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_EXIST:
		return EEXIST;
	case NLE_INVAL:
	case NLE_MISSING_ATTR:
	case NLE_ATTRSIZE:
		return EINVAL;
	case NLE_RANGE:
		return ERANGE;
	case NLE_MSGSIZE:
	case NLE_MSG_OVERFLOW:
	case NLE_MSG_TRUNC:
		return EMSGSIZE;
	case NLE_OPNOTSUPP:
	case NLE_MSGTYPE_NOSUPPORT:
		return EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:
		return ENOENT;
	case NLE_NOADDR:
		return EADDRNOTAVAIL;
	case NLE_BUSY:
		return EBUSY;
	case NLE_NOACCESS:
		return EACCES;
	case NLE_PERM:
		return EPERM;
	case NLE_NODEV:
		return ENODEV;
	case NLE_SEQ_MISMATCH:
	case NLE_PROTO_MISMATCH:
		return EPROTO;
	default:
		return EIO;
	}
}

/* NLMSG_ERROR from the kernel: keep its errno, then let libnl fail the call
 * (NL_STOP makes nl_recvmsgs return the mapped NLE code). */
static int vip_on_nlmsgerr(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct vip *v = arg;

	v->kernel_err = e->error < 0 ? -e->error : e->error;
	return NL_STOP;
}

/* -errno for a libnl return value nle (< 0) of the call just made. */
static int vip_errno(const struct vip *v, int nle)
{
	return v->kernel_err ? -v->kernel_err : -nle_to_errno(nle);
}

static int vip_resolve(struct vip *v)
{
	struct rtnl_link *link = NULL;
	int nle;

	v->kernel_err = 0;
	nle = rtnl_link_get_kernel(v->sk, 0, v->ifname, &link);
	if (nle < 0) {
		int err = vip_errno(v, nle);

		log_errno(err, "vip: cannot resolve interface %s: netlink: %s", v->ifname,
			  nl_geterror(nle));
		return err;
	}
	v->ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return 0;
}

/* An IPv4 label starts with the device name (the alias convention of
 * ifconfig and iproute2) and the kernel keeps IFNAMSIZ - 1 bytes of it
 * (IFA_LABEL in net/ipv4/devinet.c): truncate here, not there. */
static void vip_make_label(char label[IF_NAMESIZE], const char *ifname)
{
	size_t n = strlen(ifname), s = strlen(VIP_LABEL_SUFFIX);

	memcpy(label, ifname, n);
	if (n + s > IF_NAMESIZE - 1)
		s = IF_NAMESIZE - 1 - n;
	memcpy(label + n, VIP_LABEL_SUFFIX, s);
	label[n + s] = '\0';
}

static int vip_socket(struct vip *v)
{
	struct nl_cb *cb;
	int nle;

	v->sk = nl_socket_alloc();
	if (!v->sk)
		return -ENOMEM;
	nle = nl_connect(v->sk, NETLINK_ROUTE);
	if (nle < 0) {
		log_errno(-nle_to_errno(nle),
			  "vip: cannot open rtnetlink socket for %s: netlink: %s", v->ifname,
			  nl_geterror(nle));
		return -nle_to_errno(nle);
	}
	cb = nl_socket_get_cb(v->sk);
	nle = nl_cb_err(cb, NL_CB_CUSTOM, vip_on_nlmsgerr, v);
	nl_cb_put(cb);
	return nle < 0 ? -nle_to_errno(nle) : 0;
}

int vip_open(struct vip **out, const char *ifname)
{
	struct vip *v;
	int err;

	*out = NULL;
	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
		log_warnx("vip: bad interface name '%s'", ifname ? ifname : "");
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	strcpy(v->ifname, ifname);
	vip_make_label(v->label, ifname);
	err = vip_socket(v);
	if (!err)
		err = vip_resolve(v);
	if (err) {
		vip_close(v);
		return err;
	}
	*out = v;
	return 0;
}

void vip_close(struct vip *v)
{
	if (!v)
		return;
	nl_socket_free(v->sk);
	free(v);
}

const char *vip_label(const struct vip *v) { return v->label; }

/* An address of either family, as the requests below take it. */
struct vip_any {
	int family;
	const void *bytes; /* struct in_addr or struct in6_addr */
	unsigned len;      /* 4 or 16 */
	unsigned prefixlen;
};

static struct vip_any any4(const struct in_addr *a, unsigned prefixlen)
{
	return (struct vip_any){ AF_INET, a, sizeof(*a), prefixlen };
}

static struct vip_any any6(const struct in6_addr *a, unsigned prefixlen)
{
	return (struct vip_any){ AF_INET6, a, sizeof(*a), prefixlen };
}

/* An rtnl_addr for addr on our interface; the label only for IPv4
 * additions: a label in RTM_DELADDR would make the kernel skip an address
 * whose label differs, and removal must not depend on who added it (IPv6
 * addresses have no labels).  An IPv6 addition is IFA_F_NODAD: the VIP
 * is usable at once instead of tentative for a second of DAD, which
 * would also refuse it as our NAs' source. */
static struct rtnl_addr *vip_obj(const struct vip *v, const struct vip_any *a, bool add)
{
	struct rtnl_addr *obj = rtnl_addr_alloc();
	struct nl_addr *local = nl_addr_build(a->family, a->bytes, a->len);
	bool ok = obj && local;

	if (ok) {
		nl_addr_set_prefixlen(local, (int)a->prefixlen);
		rtnl_addr_set_ifindex(obj, v->ifindex);
		ok = rtnl_addr_set_local(obj, local) == 0;
		rtnl_addr_set_prefixlen(obj, (int)a->prefixlen);
		if (ok && add && a->family == AF_INET)
			ok = rtnl_addr_set_label(obj, v->label) == 0;
		if (ok && add && a->family == AF_INET6)
			rtnl_addr_set_flags(obj, IFA_F_NODAD);
	}
	nl_addr_put(local);
	if (!ok) {
		rtnl_addr_put(obj);
		return NULL;
	}
	return obj;
}

/* One RTM_NEWADDR (add) or RTM_DELADDR and its ack.  When the kernel says
 * ENODEV the interface was re-created under a new index: resolve the name
 * again and retry once.  Returns 0 or -errno; *nle gets libnl's code. */
static int vip_request(struct vip *v, bool add, const struct vip_any *a, int *nle)
{
	int attempt, err = 0;

	*nle = 0;
	for (attempt = 0; attempt < 2; attempt++) {
		struct rtnl_addr *obj = vip_obj(v, a, add);

		if (!obj)
			return -ENOMEM;
		v->kernel_err = 0;
		*nle = add ? rtnl_addr_add(v->sk, obj, NLM_F_EXCL)
			   : rtnl_addr_delete(v->sk, obj, 0);
		rtnl_addr_put(obj);
		if (*nle >= 0)
			return 0;
		err = vip_errno(v, *nle);
		if (err != -ENODEV || attempt > 0 || vip_resolve(v) < 0)
			break;
	}
	return err;
}

int vip_add(struct vip *v, struct in_addr addr, unsigned prefixlen)
{
	int nle, err;

	struct vip_any a = any4(&addr, prefixlen);

	if (prefixlen > 32)
		return -EINVAL;
	err = vip_request(v, true, &a, &nle);
	if (err == -EEXIST) {
		log_debug("vip: %s already on %s", vip_fmt(addr, prefixlen).s, v->ifname);
		return 0;
	}
	if (err) {
		log_errno(err, "vip: cannot add %s to %s: netlink: %s", vip_fmt(addr, prefixlen).s,
			  v->ifname, nl_geterror(nle));
		return err;
	}
	log_info("vip: added %s to %s (label %s)", vip_fmt(addr, prefixlen).s, v->ifname,
		 v->label);
	return 0;
}

/* Returns 1 removed, 0 absent, or -errno (logged). */
static int vip_del(struct vip *v, struct in_addr addr, unsigned prefixlen)
{
	int nle, err;

	struct vip_any a = any4(&addr, prefixlen);

	if (prefixlen > 32)
		return -EINVAL;
	err = vip_request(v, false, &a, &nle);
	if (err == -EADDRNOTAVAIL)
		return 0;
	if (err) {
		log_errno(err, "vip: cannot remove %s from %s: netlink: %s",
			  vip_fmt(addr, prefixlen).s, v->ifname, nl_geterror(nle));
		return err;
	}
	return 1;
}

int vip_remove(struct vip *v, struct in_addr addr, unsigned prefixlen)
{
	int r = vip_del(v, addr, prefixlen);

	if (r == 1)
		log_info("vip: removed %s from %s", vip_fmt(addr, prefixlen).s, v->ifname);
	else if (r == 0)
		log_debug("vip: %s was not on %s", vip_fmt(addr, prefixlen).s, v->ifname);
	return r < 0 ? r : 0;
}

int vip_remove_stale(struct vip *v, struct in_addr addr, unsigned prefixlen)
{
	int r = vip_del(v, addr, prefixlen);

	if (r == 1)
		log_warnx("vip: removed stale %s from %s (left by an earlier run)",
			  vip_fmt(addr, prefixlen).s, v->ifname);
	return r;
}

static bool vip_obj_matches(struct rtnl_addr *a, int ifindex, const struct vip_any *want)
{
	struct nl_addr *local = rtnl_addr_get_local(a);

	return rtnl_addr_get_family(a) == want->family && rtnl_addr_get_ifindex(a) == ifindex &&
	       rtnl_addr_get_prefixlen(a) == (int)want->prefixlen && local &&
	       nl_addr_get_len(local) == want->len &&
	       memcmp(nl_addr_get_binary_addr(local), want->bytes, want->len) == 0;
}

/* 1 when want is on the interface, 0 when not, -errno (logged with text). */
static int vip_any_present(struct vip *v, const struct vip_any *want, const char *text)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int nle, found = 0;

	v->kernel_err = 0;
	nle = rtnl_addr_alloc_cache(v->sk, &cache);
	if (nle < 0) {
		int err = vip_errno(v, nle);

		log_errno(err, "vip: cannot list addresses of %s to look for %s: netlink: %s",
			  v->ifname, text, nl_geterror(nle));
		return err;
	}
	for (o = nl_cache_get_first(cache); o && !found; o = nl_cache_get_next(o))
		found = vip_obj_matches((struct rtnl_addr *)o, v->ifindex, want);
	nl_cache_free(cache);
	return found;
}

int vip_present(struct vip *v, struct in_addr addr, unsigned prefixlen)
{
	struct vip_any a = any4(&addr, prefixlen);

	return vip_any_present(v, &a, vip_fmt(addr, prefixlen).s);
}

/* ---- IPv6 (VRRPv3 over IPv6, docs/vrrp.md#ipv6) ---- */

static struct vip_text vip6_fmt(const struct in6_addr *addr, unsigned prefixlen)
{
	struct vip_text t;
	char a[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, addr, a, sizeof(a));
	snprintf(t.s, sizeof(t.s), "%s/%u", a, prefixlen);
	return t;
}

int vip6_add(struct vip *v, const struct in6_addr *addr, unsigned prefixlen)
{
	struct vip_any a = any6(addr, prefixlen);
	int nle, err;

	if (prefixlen > 128)
		return -EINVAL;
	err = vip_request(v, true, &a, &nle);
	if (err == -EEXIST)
		return 0;
	if (err) {
		log_errno(err, "vip: cannot add %s to %s: netlink: %s",
			  vip6_fmt(addr, prefixlen).s, v->ifname, nl_geterror(nle));
		return err;
	}
	log_info("vip: added %s to %s (nodad)", vip6_fmt(addr, prefixlen).s, v->ifname);
	return 0;
}

/* 1 removed, 0 absent, or -errno (logged). */
static int vip6_del(struct vip *v, const struct in6_addr *addr, unsigned prefixlen)
{
	struct vip_any a = any6(addr, prefixlen);
	int nle, err;

	if (prefixlen > 128)
		return -EINVAL;
	err = vip_request(v, false, &a, &nle);
	if (err == -EADDRNOTAVAIL || err == -ENOENT)
		return 0;
	if (err) {
		log_errno(err, "vip: cannot remove %s from %s: netlink: %s",
			  vip6_fmt(addr, prefixlen).s, v->ifname, nl_geterror(nle));
		return err;
	}
	return 1;
}

int vip6_remove(struct vip *v, const struct in6_addr *addr, unsigned prefixlen)
{
	int r = vip6_del(v, addr, prefixlen);

	if (r == 1)
		log_info("vip: removed %s from %s", vip6_fmt(addr, prefixlen).s, v->ifname);
	return r < 0 ? r : 0;
}

int vip6_present(struct vip *v, const struct in6_addr *addr, unsigned prefixlen)
{
	struct vip_any a = any6(addr, prefixlen);

	return vip_any_present(v, &a, vip6_fmt(addr, prefixlen).s);
}

int vip6_remove_stale(struct vip *v, const struct in6_addr *addr, unsigned prefixlen)
{
	int r = vip6_del(v, addr, prefixlen);

	if (r == 1)
		log_warnx("vip: removed stale %s from %s (left by an earlier run)",
			  vip6_fmt(addr, prefixlen).s, v->ifname);
	return r;
}
