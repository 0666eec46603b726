/* kwatch.c - rtnetlink link and IPv4 address events through libmnl.
 *
 * The only file that uses libmnl.  Messages are parsed with mnl_cb_run();
 * every attribute we read is validated in an mnl_attr_parse() callback
 * before use, and a message that fails is dropped and counted, never
 * half-used.  A lost event (ENOBUFS) is recovered by re-reading the link
 * state with a dump (netlink(7): "the application should resynchronise"). */
#include "kwatch.h"

#include "log.h"
#include "loop.h"
#include "macros.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>

#define KWATCH_BUF             32768 /* one datagram; link messages can be a few KiB */
#define KWATCH_RCVBUF          (256 * 1024)
#define KWATCH_DUMP_TIMEOUT_MS 2000

struct kwatch {
	struct loop *loop;
	struct mnl_socket *ev; /* RTMGRP_LINK | RTMGRP_IPV[46]_IFADDR */
	struct mnl_socket *q;  /* our RTM_GETLINK dumps */
	unsigned q_portid;
	unsigned q_seq; /* sequence of the dump in flight */
	bool dump_busy;
	bool dump_again;        /* overrun during a dump: dump once more */
	bool dump_resync;       /* call ops.resync when the dump completes */
	bool dump_seen;         /* the dump (or an event since) showed our link */
	bool notify;            /* false while kwatch_open reads the first state */
	char want[IF_NAMESIZE]; /* the configured name, followed across re-creation */
	struct kwatch_link link;
	struct kwatch_ops ops;
	void *arg;
	struct kwatch_stats stats;
	struct log_limit bad_limit;
	struct log_limit overrun_limit;
	uint8_t buf[KWATCH_BUF];
};

static const char *const oper_why[] = {
	[IF_OPER_UNKNOWN] = "up",
	[IF_OPER_NOTPRESENT] = "operstate notpresent",
	[IF_OPER_DOWN] = "operstate down",
	[IF_OPER_LOWERLAYERDOWN] = "operstate lowerlayerdown",
	[IF_OPER_TESTING] = "operstate testing",
	[IF_OPER_DORMANT] = "operstate dormant",
	[IF_OPER_UP] = "up",
};

bool kwatch_carrier_ok(unsigned flags, uint8_t operstate, const char **why)
{
	const char *w;
	bool ok = false;

	if (!(flags & IFF_UP))
		w = "admin down";
	else if (!(flags & IFF_LOWER_UP))
		w = "no carrier";
	else if (!(flags & IFF_RUNNING))
		w = "not running";
	else if (operstate != IF_OPER_UP && operstate != IF_OPER_UNKNOWN)
		w = operstate < ARRAY_SIZE(oper_why) ? oper_why[operstate]
						     : "operstate unknown value";
	else {
		w = "up";
		ok = true;
	}
	if (why)
		*why = w;
	return ok;
}

/* Log (rate-limited) and count a message we drop; MNL_CB_OK goes on with
 * the next message of the datagram. */
static int kwatch_bad(struct kwatch *k, const char *what)
{
	uint64_t more = 0;

	k->stats.bad++;
	if (log_limit_ok(&k->bad_limit, loop_clock_ms(), LOG_LIMIT_SHORT_MS, &more))
		log_warnx("kwatch: %s: %s, dropped (%llu more)", k->want, what,
			  (unsigned long long)more);
	return MNL_CB_OK;
}

static void copy_name(char dst[IF_NAMESIZE], const struct nlattr *a)
{
	const char *s = mnl_attr_get_str(a);
	size_t n = strnlen(s, IF_NAMESIZE - 1);

	memcpy(dst, s, n);
	dst[n] = '\0';
}

static void kwatch_update(struct kwatch *k, const struct kwatch_link *n)
{
	bool changed = n->carrier != k->link.carrier || n->ifindex != k->link.ifindex;

	k->link = *n;
	if (!changed || !k->notify)
		return;
	log_info("kwatch: %s (index %d) carrier %s (%s)", n->ifname, n->ifindex,
		 n->carrier ? "up" : "down", n->why);
	if (k->ops.link)
		k->ops.link(k->arg, &k->link);
}

static void kwatch_set_absent(struct kwatch *k, const char *why)
{
	struct kwatch_link n;

	memset(&n, 0, sizeof(n));
	memcpy(n.ifname, k->want, sizeof(n.ifname));
	n.why = why;
	kwatch_update(k, &n);
}

/* Keep only the attributes we read, each validated; newer kernels' unknown
 * types are skipped. */
static int kwatch_link_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, IFLA_MAX) < 0)
		return MNL_CB_OK;
	if (type == IFLA_IFNAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_ERROR;
	if (type == IFLA_OPERSTATE && mnl_attr_validate(a, MNL_TYPE_U8) < 0)
		return MNL_CB_ERROR;
	tb[type] = a;
	return MNL_CB_OK;
}

static bool kwatch_is_ours(const struct kwatch *k, const struct nlmsghdr *nlh, int ifindex,
			   const struct nlattr *name)
{
	if (k->link.ifindex)
		return ifindex == k->link.ifindex;
	/* Absent: adopt an interface that appears under the configured name. */
	return nlh->nlmsg_type == RTM_NEWLINK && name &&
	       strcmp(mnl_attr_get_str(name), k->want) == 0;
}

static int kwatch_link_msg(struct kwatch *k, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL };
	const struct ifinfomsg *ifm;
	struct kwatch_link n;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm))
		return kwatch_bad(k, "short link message");
	ifm = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*ifm), kwatch_link_attr, tb) != MNL_CB_OK)
		return kwatch_bad(k, "invalid link attribute");
	if (!kwatch_is_ours(k, nlh, ifm->ifi_index, tb[IFLA_IFNAME]))
		return MNL_CB_OK;
	if (nlh->nlmsg_type == RTM_DELLINK) {
		kwatch_set_absent(k, "interface deleted");
		return MNL_CB_OK;
	}
	k->dump_seen = true;
	memset(&n, 0, sizeof(n));
	n.ifindex = ifm->ifi_index;
	if (tb[IFLA_IFNAME])
		copy_name(n.ifname, tb[IFLA_IFNAME]);
	else
		memcpy(n.ifname, k->link.ifname, sizeof(n.ifname));
	n.flags = ifm->ifi_flags;
	n.operstate = tb[IFLA_OPERSTATE] ? mnl_attr_get_u8(tb[IFLA_OPERSTATE]) : IF_OPER_UNKNOWN;
	n.carrier = kwatch_carrier_ok(n.flags, n.operstate, &n.why);
	kwatch_update(k, &n);
	return MNL_CB_OK;
}

/* The attributes of an address message, and the length its family's
 * addresses have. */
struct addr_attrs {
	const struct nlattr *tb[IFA_MAX + 1];
	size_t alen;
};

static int kwatch_addr_attr(const struct nlattr *a, void *data)
{
	struct addr_attrs *aa = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, IFA_MAX) < 0)
		return MNL_CB_OK;
	switch (type) {
	case IFA_LOCAL:
	case IFA_ADDRESS:
		if (mnl_attr_validate2(a, MNL_TYPE_BINARY, aa->alen) < 0)
			return MNL_CB_ERROR;
		break;
	case IFA_LABEL:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_ERROR;
		break;
	default:
		return MNL_CB_OK;
	}
	aa->tb[type] = a;
	return MNL_CB_OK;
}

static int kwatch_addr_msg(struct kwatch *k, const struct nlmsghdr *nlh)
{
	struct addr_attrs aa = { .tb = { NULL } };
	const struct ifaddrmsg *ifa;
	const struct nlattr *at;
	struct kwatch_addr a;
	bool six;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return kwatch_bad(k, "short address message");
	ifa = mnl_nlmsg_get_payload(nlh);
	six = ifa->ifa_family == AF_INET6;
	if ((ifa->ifa_family != AF_INET && !six) || !k->link.ifindex ||
	    (int)ifa->ifa_index != k->link.ifindex)
		return MNL_CB_OK;
	aa.alen = six ? sizeof(struct in6_addr) : sizeof(struct in_addr);
	if (mnl_attr_parse(nlh, sizeof(*ifa), kwatch_addr_attr, &aa) != MNL_CB_OK)
		return kwatch_bad(k, "invalid address attribute");
	at = aa.tb[IFA_LOCAL] ? aa.tb[IFA_LOCAL] : aa.tb[IFA_ADDRESS];
	if (!at || ifa->ifa_prefixlen > (six ? 128 : 32))
		return kwatch_bad(k, "address message without a valid address");
	memset(&a, 0, sizeof(a));
	a.ifindex = (int)ifa->ifa_index;
	a.family = ifa->ifa_family;
	memcpy(six ? (void *)&a.addr6 : (void *)&a.addr, mnl_attr_get_payload(at), aa.alen);
	a.prefixlen = ifa->ifa_prefixlen;
	if (aa.tb[IFA_LABEL])
		copy_name(a.label, aa.tb[IFA_LABEL]);
	if (k->notify && k->ops.addr)
		k->ops.addr(k->arg, nlh->nlmsg_type == RTM_NEWADDR, &a);
	return MNL_CB_OK;
}

static int kwatch_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct kwatch *k = data;

	k->stats.messages++;
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return kwatch_link_msg(k, nlh);
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return kwatch_addr_msg(k, nlh);
	default:
		return MNL_CB_OK;
	}
}

/* mnl_cb_run() silently stops at a message that overruns the datagram;
 * a datagram must be whole messages, so check the framing first. */
static bool kwatch_framing_ok(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;

	if (len > KWATCH_BUF)
		return false;
	while (mnl_nlmsg_ok(nlh, rem))
		nlh = mnl_nlmsg_next(nlh, &rem);
	return rem <= 0; /* < 0: the last message's alignment padding */
}

int kwatch_input(struct kwatch *k, const void *buf, size_t len)
{
	/* seq 0 / port id 0: notifications answer nobody's request of ours; a
	 * change made by `ip` carries ip's port id and sequence, so these
	 * checks apply to our dumps only.  The sender was checked instead. */
	if (!kwatch_framing_ok(buf, len) ||
	    mnl_cb_run(buf, len, 0, 0, kwatch_msg_cb, k) == MNL_CB_ERROR) {
		kwatch_bad(k, "malformed event datagram");
		return -EBADMSG;
	}
	return 0;
}

/* One datagram.  Only the kernel (port id 0) may speak to these sockets.
 * Returns its length or -errno (-EAGAIN: empty; -ENOBUFS: overrun;
 * -EMSGSIZE: truncated; -EPERM: not from the kernel). */
static ssize_t kwatch_recv(int fd, void *buf, size_t len)
{
	struct sockaddr_nl sa;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1
	};
	ssize_t n = recvmsg(fd, &msg, 0);

	if (n < 0)
		return -errno;
	if (msg.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	if (msg.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
		return -EPERM;
	return n;
}

static int kwatch_dump_start(struct kwatch *k)
{
	union {
		struct nlmsghdr h;
		uint8_t b[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifinfomsg))];
	} req;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	memset(&req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req.b);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	if (++k->q_seq == 0) /* 0 would disable mnl_cb_run's sequence check */
		k->q_seq = 1;
	nlh->nlmsg_seq = k->q_seq;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	if (mnl_socket_sendto(k->q, nlh, nlh->nlmsg_len) < 0) {
		int err = -errno;

		log_errno(err, "kwatch: cannot ask the kernel for the state of %s", k->want);
		return err;
	}
	k->dump_busy = true;
	k->dump_seen = false;
	return 0;
}

/* Read one datagram of the dump.  Returns 1 when the dump is complete, 0
 * when more is to come, or -errno (-EAGAIN: nothing yet). */
static int kwatch_dump_read(struct kwatch *k)
{
	ssize_t n = kwatch_recv(mnl_socket_get_fd(k->q), k->buf, sizeof(k->buf));
	int r;

	if (n < 0)
		return (int)n;
	if (!kwatch_framing_ok(k->buf, (size_t)n)) {
		kwatch_bad(k, "malformed dump datagram");
		return -EBADMSG;
	}
	r = mnl_cb_run(k->buf, (size_t)n, k->q_seq, k->q_portid, kwatch_msg_cb, k);
	if (r != MNL_CB_ERROR)
		return r == MNL_CB_STOP ? 1 : 0;
	if (errno == ESRCH || errno == EPROTO) {
		/* Not the answer to the dump in flight (port id / sequence). */
		kwatch_bad(k, "reply with a foreign port id or sequence");
		return 0;
	}
	if (errno == EINTR) {
		/* NLM_F_DUMP_INTR: the table changed mid-dump; ask again. */
		k->dump_busy = false;
		return kwatch_dump_start(k);
	}
	return -errno;
}

static void kwatch_dump_end(struct kwatch *k, int err)
{
	k->dump_busy = false;
	if (err) {
		log_errno(err, "kwatch: reading the state of %s failed", k->want);
	} else {
		k->stats.dumps++;
		if (!k->dump_seen && k->link.ifindex)
			kwatch_set_absent(k, "interface absent");
	}
	if (k->dump_again) {
		k->dump_again = false;
		if (kwatch_dump_start(k) == 0)
			return; /* resync once the newer dump is in */
	}
	if (k->dump_resync) {
		k->dump_resync = false;
		if (k->notify && k->ops.resync)
			k->ops.resync(k->arg);
	}
}

static void kwatch_on_query(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct kwatch *k = arg;
	int i;

	for (i = 0; i < LOOP_IO_BATCH; i++) {
		int r;

		if (!k->dump_busy) {
			/* Nothing asked: drain and drop, never take it for a dump. */
			ssize_t n = kwatch_recv(fd, k->buf, sizeof(k->buf));

			if (n == -EAGAIN || n == -EINTR)
				return;
			kwatch_bad(k, "unexpected message on the query socket");
			continue;
		}
		r = kwatch_dump_read(k);

		if (r == -EAGAIN || r == -EINTR)
			return;
		if (r == 0)
			continue;
		kwatch_dump_end(k, r < 0 ? r : 0);
		return;
	}
}

static void kwatch_overrun(struct kwatch *k, int err)
{
	uint64_t more = 0;

	k->stats.overruns++;
	if (log_limit_ok(&k->overrun_limit, loop_clock_ms(), LOG_LIMIT_SHORT_MS, &more))
		log_errno(err,
			  "kwatch: lost kernel events for %s, re-reading its state (%llu more)",
			  k->want, (unsigned long long)more);
	k->dump_resync = true;
	if (k->dump_busy) {
		k->dump_again = true;
		return;
	}
	if (kwatch_dump_start(k) < 0)
		kwatch_dump_end(k, -EIO);
}

static void kwatch_on_event(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct kwatch *k = arg;
	int i;

	for (i = 0; i < LOOP_IO_BATCH; i++) {
		ssize_t n = kwatch_recv(fd, k->buf, sizeof(k->buf));

		if (n == -EAGAIN)
			return;
		if (n == -ENOBUFS || n == -EMSGSIZE) {
			kwatch_overrun(k, (int)n);
		} else if (n == -EPERM) {
			kwatch_bad(k, "message not sent by the kernel");
		} else if (n < 0 && n != -EINTR) {
			kwatch_bad(k, "receive error on the event socket");
			return;
		} else if (n > 0) {
			kwatch_input(k, k->buf, (size_t)n);
		}
	}
}

/* The first state, synchronously: the owner needs it to choose between
 * BACKUP and FAULT before its loop runs. */
static int kwatch_first_dump(struct kwatch *k)
{
	uint64_t deadline = loop_clock_ms() + KWATCH_DUMP_TIMEOUT_MS;
	int r = kwatch_dump_start(k);

	while (r >= 0 || r == -EAGAIN || r == -EINTR) {
		struct pollfd p = { .fd = mnl_socket_get_fd(k->q), .events = POLLIN };
		uint64_t now = loop_clock_ms();

		if (r == 1) {
			kwatch_dump_end(k, 0);
			return 0;
		}
		if (now >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return -errno;
		r = kwatch_dump_read(k);
	}
	log_errno(r, "kwatch: cannot read the link state of %s", k->want);
	return r;
}

static int kwatch_socket(struct mnl_socket **out, unsigned groups)
{
	*out = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!*out)
		return -errno;
	if (mnl_socket_bind(*out, groups, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	return 0;
}

static int kwatch_setup(struct kwatch *k)
{
	int err = kwatch_socket(&k->ev, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);

	if (!err)
		err = kwatch_socket(&k->q, 0);
	if (err) {
		log_errno(err, "kwatch: cannot open an rtnetlink socket for %s", k->want);
		return err;
	}
	k->q_portid = mnl_socket_get_portid(k->q);
	k->q_seq = (unsigned)loop_clock_ms();
	kwatch_set_rcvbuf(k, KWATCH_RCVBUF); /* best effort: capped by rmem_max */
	/* Subscribed before the dump, so no change falls between the two. */
	err = kwatch_first_dump(k);
	if (!err)
		err = loop_add_fd(k->loop, mnl_socket_get_fd(k->ev), LOOP_READ, kwatch_on_event,
				  k);
	if (!err)
		err = loop_add_fd(k->loop, mnl_socket_get_fd(k->q), LOOP_READ, kwatch_on_query, k);
	return err;
}

int kwatch_open(struct kwatch **out, struct loop *loop, const char *ifname,
		const struct kwatch_ops *ops, void *arg)
{
	struct kwatch *k;
	int err;

	*out = NULL;
	if (!loop || !ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->loop = loop;
	strcpy(k->want, ifname);
	if (ops)
		k->ops = *ops;
	k->arg = arg;
	memcpy(k->link.ifname, k->want, sizeof(k->link.ifname));
	k->link.why = "interface absent";
	err = kwatch_setup(k);
	if (err) {
		kwatch_close(k);
		return err;
	}
	if (!k->link.ifindex)
		log_warnx("kwatch: interface %s does not exist (yet): carrier down", ifname);
	k->notify = true;
	*out = k;
	return 0;
}

void kwatch_close(struct kwatch *k)
{
	if (!k)
		return;
	if (k->ev) {
		loop_del_fd(k->loop, mnl_socket_get_fd(k->ev));
		mnl_socket_close(k->ev);
	}
	if (k->q) {
		loop_del_fd(k->loop, mnl_socket_get_fd(k->q));
		mnl_socket_close(k->q);
	}
	free(k);
}

const struct kwatch_link *kwatch_link_state(const struct kwatch *k) { return &k->link; }
const struct kwatch_stats *kwatch_get_stats(const struct kwatch *k) { return &k->stats; }

int kwatch_set_rcvbuf(struct kwatch *k, int bytes)
{
	int fd = mnl_socket_get_fd(k->ev);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0) {
		int err = -errno;

		log_errno(err, "kwatch: cannot set the receive buffer of %s's socket", k->want);
		return err;
	}
	return 0;
}
