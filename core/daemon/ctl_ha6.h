/* ctl_ha6.h - the "vrrp6" object of `andromedactl status --json`: the
 * IPv6 family of the instance (ha/ha6.h), docs/vrrp.md#ipv6. */
#ifndef ANDROMEDA_CTL_HA6_H
#define ANDROMEDA_CTL_HA6_H

#include <jansson.h>

struct ha_status;

/* A new object, or NULL (no memory). */
json_t *ctl_ha6_json(const struct ha_status *hs);

#endif
