/* ctl_upgrade.h - `andromedactl upgrade`: the "upgrade" command.
 *   upgrade         start a hitless upgrade (upgrade.h); the reply names
 *                   the new process: {"upgrade":"started","pid":OLD,"new_pid":NEW}
 *   upgrade status  {"pid":SELF,"upgrade":STATE[,"new_pid":N][,"reason":WHY]}
 * andromedactl polls "upgrade status" until NEW answers (success) or OLD
 * reports "failed". */
#ifndef ANDROMEDA_CTL_UPGRADE_H
#define ANDROMEDA_CTL_UPGRADE_H

struct control;
struct upgrade;

/* Returns 0 or -errno. */
int ctl_upgrade_register(struct control *c, struct upgrade *u);

#endif
