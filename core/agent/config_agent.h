/* config_agent.h - andromeda-agent's configuration (INI, one [agent]
 * section; SPEC "Backend registration" and "Configuration").
 *
 * Same rules and error format as the daemon's loader (config.h): every key
 * is validated, unknown or repeated keys are errors, durations need a unit,
 * and an error comes back as "FILE:LINE: reason".  The value syntax is
 * shared with the daemon (config_value.h). */
#ifndef ANDROMEDA_CONFIG_AGENT_H
#define ANDROMEDA_CONFIG_AGENT_H

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define AGENT_URL_MAX       512
#define AGENT_MAX_BALANCERS CFG_MAX_PEERS

#define AGENT_STATE_FILE_DEFAULT "/var/lib/andromeda-agent/epoch"

struct agent_config {
	char path[PATH_MAX];
	char name[CFG_NAME_MAX]; /* required: the server's name in the pool */
	struct cfg_endpoint
		service; /* required: a.b.c.d:port or [v6]:port the balancers forward to */
	unsigned weight; /* 1..256, default 1 */
	char health_url[AGENT_URL_MAX]; /* default http://<service>/ */
	char health_host[CFG_HOST_MAX]; /* announced: the Host of the balancers' checks
					 * (and of our own); "" = theirs */
	uint32_t health_timeout_ms;     /* default 1s, capped to half the interval
					 * when not set; < announce_interval */
	char interface[IF_NAMESIZE];    /* broadcast on this interface's LAN */
	uint32_t announce_interval_ms;  /* default 2s (REGMSG_INTERVAL_MIN_MS..MAX_MS) */
	char key_file[PATH_MAX];        /* required: the cluster key */
	char state_file[PATH_MAX];      /* boot epoch of the message sequence,
					 * default AGENT_STATE_FILE_DEFAULT */
	struct in_addr balancers[AGENT_MAX_BALANCERS]; /* unicast, in addition to broadcast */
	size_t nbalancers;
	uint16_t port; /* balancers' registration port, default 7789 */
	int log_level; /* enum log_level, default info */
};

/* Fill *cfg with defaults, then read path.  At least one of interface and
 * balancers must be set (somewhere to send to).  Returns 0, or -1 with
 * "path:line: reason" (line 0 when it concerns the whole file) in err.
 * Nothing is allocated and nothing is logged. */
int agent_config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen);

#endif
