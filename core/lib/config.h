/* config.h - the daemon's configuration (INI, SPEC "Configuration"):
 * struct config, which every room of the daemon reads, and the value
 * parsers.  Its loader, config_load(), is the daemon's
 * (core/daemon/config_load.h).  Every key is validated; an error is
 * returned as "FILE:LINE: reason" in the caller's buffer.  Durations take
 * units (ms, s, m, h); a bare number is rejected so that "100" is never
 * mistaken for seconds. */
#ifndef ANDROMEDA_CONFIG_H
#define ANDROMEDA_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CFG_NAME_MAX      64
#define CFG_ADDR_TEXT_MAX 64
#define CFG_HOST_MAX      64  /* health_host: 1..63 characters + NUL (REGMSG_HOST_MAX) */
#define CFG_DNSNAME_MAX   254 /* [server] address by name: 1..253 characters + NUL */
#define CFG_MAX_PEERS     16
#define CFG_MAX_VIPS      8
#define CFG_MAX_THREADS   16
#define CFG_MAX_LISTEN    8   /* addresses in listen and in tls_listen, each */
#define CFG_MAX_CERTS     8   /* tls_cert files */
#define CFG_MAX_TRACKS    16  /* [track NAME] sections */
#define CFG_MAX_TRACK_IFS 8   /* [ha] track_interface entries */
#define CFG_SCRIPT_MAX    512 /* notify, [track] script: path and arguments */
#define CFG_MAX_INSTANCES 16  /* VRRP instances: [ha] and up to 15 [vrrp NAME] */
/* The [ha] instance's name in status, metrics, notify and the journal;
 * no [vrrp NAME] may take it. */
#define CFG_HA_INSTANCE   "ha"

enum cfg_mode {
	MODE_HTTP,
	MODE_TCP
};

/* [backend] balance (core/pool/lb.h); 0 is the default. */
enum cfg_balance {
	BALANCE_ROUNDROBIN,
	BALANCE_LEASTCONN,
	BALANCE_SOURCE
};

/* An IPv4 or IPv6 address and port, as "a.b.c.d:port" or "[v6]:port".
 * The family is sa.sa_family; netaddr.h sizes, prints and compares it. */
struct cfg_endpoint {
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	};
	char text[CFG_ADDR_TEXT_MAX]; /* as netaddr_text() prints it */
};

/* One frontend listening address: plain (listen) or TLS (tls_listen). */
struct cfg_listener {
	struct cfg_endpoint ep;
	bool tls;
};

/* One VIP of `vip`: IPv4 (family AF_INET, addr) or IPv6 (AF_INET6,
 * addr6; VRRPv3 over IPv6, docs/vrrp.md#ipv6). */
struct cfg_vip {
	struct in_addr addr;
	uint8_t prefixlen;            /* 1..32 or 1..128 */
	char text[CFG_ADDR_TEXT_MAX]; /* "198.18.0.10/24", "2001:db8:18::10/64" */
	sa_family_t family;
	struct in6_addr addr6;
};

struct cfg_server {
	char name[CFG_NAME_MAX];
	struct cfg_endpoint addr; /* by name: family AF_UNSPEC, text "NAME:PORT" */
	/* address = NAME:PORT (core/pool/resolve.h): resolved at run time. */
	char host[CFG_DNSNAME_MAX];     /* "" = addr is the address */
	uint16_t port;                  /* with host */
	unsigned weight;                /* 1..256, default 1 */
	char health_host[CFG_HOST_MAX]; /* Host of its checks; "" = backend.health_host */
	int line;                       /* of the [server NAME] section, for errors */
	/* HTTPS to this server (core/proxy/tls_backend.h, docs/configuration.md). */
	bool tls;                   /* default no */
	bool tls_verify;            /* check its certificate, default yes */
	char tls_ca[PATH_MAX];      /* CA file (PEM); "" = the system's store */
	char tls_sni[CFG_HOST_MAX]; /* SNI and name to verify; "" = health host, else none */
};

/* [ha] track_interface: "eth1" (FAULT without carrier) or "eth1:-20". */
struct cfg_track_if {
	char ifname[IF_NAMESIZE];
	int weight; /* -253..253; 0 = FAULT while down */
};

/* A [track NAME] section: a check script (docs/vrrp.md, "Hooks"). */
struct cfg_track {
	char name[CFG_NAME_MAX];
	char script[CFG_SCRIPT_MAX]; /* absolute path, then arguments split on blanks */
	uint32_t interval_ms;        /* default 1s */
	uint32_t timeout_ms;         /* default = interval, at most interval */
	int weight;                  /* -253..253, default 0 = FAULT while failing */
	unsigned fall, rise;         /* default 1, 1 (keepalived's) */
	int line;                    /* of its header, for errors */
};

/* A [vrrp NAME] section: one more VRRP instance on the [ha] interface
 * (docs/vrrp.md "Instances").  Its own VRID, priority, VIPs and timers;
 * interface, key_file, peers, garp_*, checksum_rfc5798, interop, notify
 * and the tracked items are [ha]'s.  advert_interval, preempt and
 * preempt_delay default to [ha]'s. */
struct cfg_vrrp {
	char name[CFG_NAME_MAX];
	unsigned vrid;               /* 1..255, unique among the instances */
	unsigned priority;           /* 1..254 */
	uint32_t advert_interval_ms; /* as [ha] advert_interval */
	bool preempt;
	uint32_t preempt_delay_ms;
	struct cfg_vip vips[CFG_MAX_VIPS]; /* no VIP in two instances */
	size_t nvips;
	struct cfg_vip vips6[CFG_MAX_VIPS]; /* its IPv6 ones (follow its IPv4 election) */
	size_t nvips6;
	unsigned given;                 /* CFG_VRRP_* keys set in the section */
	int line, vrid_line, vips_line; /* for errors */
};
#define CFG_VRRP_INTERVAL      (1u << 0)
#define CFG_VRRP_PREEMPT       (1u << 1)
#define CFG_VRRP_PREEMPT_DELAY (1u << 2)

struct config {
	char path[PATH_MAX];

	struct {
		char name[CFG_NAME_MAX];  /* default: hostname */
		char state_dir[PATH_MAX]; /* default /var/lib/andromeda */
		char control_socket[108]; /* default /run/andromeda/control.sock */
		char user[CFG_NAME_MAX];  /* drop to this user (empty: stay) */
		int log_level;            /* log_level: error|warning|info|debug */
	} node;

	struct {
		struct cfg_endpoint listen; /* the first address of listen (or of tls_listen
					     * when there is no listen): the one address
					     * shown where one is enough */
		/* Every listener, those of listen then those of tls_listen; at
		 * least one.  nlisteners == 0 (a struct config built by hand, as
		 * the unit tests do): listen alone, plain. */
		struct cfg_listener listeners[2 * CFG_MAX_LISTEN];
		unsigned nlisteners;
		char tls_cert[CFG_MAX_CERTS][PATH_MAX]; /* PEM files; the first is the default */
		unsigned ntls_certs;
		uint32_t tls_handshake_timeout_ms; /* default 10s */
		enum cfg_mode mode;                /* http (default) | tcp */
		bool via;                          /* add Via: 1.1 <name> (default yes) */
		bool xff;                          /* add X-Forwarded-* (default yes) */
		unsigned maxconn;                  /* client connections, default 10000 */
		uint32_t header_timeout_ms;        /* whole request head, default 10s -> 408 */
		uint32_t client_timeout_ms;        /* client inactivity mid-request, default 30s */
		uint32_t keepalive_timeout_ms;     /* idle keep-alive client, default 60s */
		uint32_t max_header_size;          /* request head bytes, default 8192 -> 431 */
		uint32_t max_uri_size;             /* default 4096 -> 414 */
		uint64_t max_body_size;            /* 0 = unlimited -> 413 */
		uint32_t grace_ms;                 /* SIGTERM: finish in-flight, default 5s */
		unsigned threads;                  /* proxy threads (SO_REUSEPORT), default 1 */
		char access_log[PATH_MAX];         /* off (default) | journal | stderr | /path */
	} frontend;

	struct {
		unsigned maxconn;               /* in flight per server, default 32 */
		uint32_t queue_timeout_ms;      /* default 5s -> 503 */
		uint32_t connect_timeout_ms;    /* default 1s */
		uint32_t server_timeout_ms;     /* default 10s -> 504 */
		unsigned retries;               /* re-dispatches per request, default 2 */
		char health_check[256];         /* path; empty -> TCP connect check */
		char health_host[CFG_HOST_MAX]; /* Host of HTTP checks; "" = the server's address
						 */
		uint32_t health_interval_ms;    /* default 1s */
		uint32_t health_timeout_ms;     /* default 1s (<= interval) */
		unsigned rise;                  /* default 2 */
		unsigned fall;                  /* default 3 */
		unsigned max_idle; /* idle keep-alive conns per server, default 65535 */
		unsigned max_ejection_percent; /* failed requests take out at most this share
						* of the pool (at least 1 server), default 10 */
		unsigned panic_threshold;      /* below this percent in rotation: use all
						* servers, default 50, 0 = never */
		enum cfg_balance balance;      /* default roundrobin */
		uint32_t resolve_interval_ms;  /* servers by name: re-resolve, default 30s */
	} backend;

	struct cfg_server *servers;
	size_t nservers;

	struct {
		bool enabled; /* an [ha] section is present */
		char interface[IF_NAMESIZE];
		unsigned vrid;                     /* 1..255 */
		unsigned priority;                 /* 1..254 (255 = address owner, refused) */
		uint32_t advert_interval_ms;       /* 10ms..40950ms, multiple of 10ms */
		bool preempt;                      /* default yes */
		uint32_t preempt_delay_ms;         /* default 0 */
		struct cfg_vip vips[CFG_MAX_VIPS]; /* the IPv4 ones of `vip` */
		size_t nvips;
		struct cfg_vip vips6[CFG_MAX_VIPS]; /* the IPv6 ones: their own election */
		size_t nvips6;
		char key_file[PATH_MAX];
		struct in_addr peers[CFG_MAX_PEERS];
		size_t npeers;
		unsigned garp_count;       /* burst on becoming MASTER, default 5 */
		uint32_t garp_interval_ms; /* spacing within the burst, default 100ms */
		uint32_t garp_refresh_ms;  /* periodic refresh while MASTER, default 5s, 0 = off */
		bool checksum_rfc5798;     /* default yes: pseudo-header includes IPv4 addresses
					    * (RFC 5798 5.2.8); no = RFC 9568 compat variant */
		uint16_t sync_port;        /* UDP+TCP state sync, default 7788 */
		uint32_t liveness_interval_ms; /* MSG_LIVENESS on the sync port, default 20ms,
						* 0 = off (issue 15, ha/liveness.h) */
		bool interop; /* default no: only adverts from balancers that proved the
			       * cluster key count (issue 20); yes: any VRRPv3 speaker */
		/* Hooks (issue 14): keepalived's notify and track_interface. */
		char notify[CFG_SCRIPT_MAX]; /* absolute path; "" = none */
		uint32_t notify_timeout_ms;  /* default 10s: the process group is killed */
		struct cfg_track_if track_if[CFG_MAX_TRACK_IFS];
		size_t ntrack_ifs;
	} ha;

	struct {
		bool enabled;
		uint16_t port;      /* UDP, default 7789 */
		uint32_t expire_ms; /* no announcement for this long -> removed, default 10s */
		char key_file[PATH_MAX]; /* HMAC key for announcements; default: ha.key_file
					  * (so a standalone node can register servers too) */
	} registration;

	struct {
		bool enabled;               /* [stats] listen is set */
		struct cfg_endpoint listen; /* GET /metrics, /, /status.json */
		char auth_file[PATH_MAX];   /* "user:password" for basic auth; "" = none */
	} stats;

	/* [track NAME] sections (and [ha] track_interface): they apply to
	 * every VRRP instance, each from its own base priority. */
	struct cfg_track tracks[CFG_MAX_TRACKS];
	size_t ntracks;

	/* [vrrp NAME] sections, in file order: the instances after [ha]. */
	struct cfg_vrrp vrrps[CFG_MAX_INSTANCES - 1];
	size_t nvrrps;
};

/* "100ms", "2s", "1m", "1h" -> milliseconds; a bare "0" is 0.  0, -EINVAL
 * (syntax, including any other bare number) or -ERANGE (overflow). */
int config_parse_duration(const char *s, uint64_t *ms);
/* "512", "8k", "1M", "2G" (powers of 1024) -> bytes.  0, -EINVAL or -ERANGE. */
int config_parse_size(const char *s, uint64_t *bytes);
/* yes/no, true/false, on/off, 1/0.  0 or -EINVAL. */
int config_parse_bool(const char *s, bool *out);
/* ep = family's address (4 or 16 bytes, network order) and port (host
 * order), its text included: how the codecs' raw addresses become one. */
void cfg_endpoint_set(struct cfg_endpoint *ep, int family, const void *addr, uint16_t port);
/* "NAME:PORT" with a DNS host name (RFC 1123 labels, not all digits) ->
 * host (CFG_DNSNAME_MAX) and port.  0 or -EINVAL. */
int config_parse_host_port(const char *s, char *host, uint16_t *port);
/* "a.b.c.d:port" or "[IPv6]:port" (brackets required; no zone) -> endpoint.
 * 0 or -EINVAL. */
int config_parse_endpoint(const char *s, struct cfg_endpoint *ep);

#endif
