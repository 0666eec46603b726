/* ctl_upgrade.c - the "upgrade" command (ctl_upgrade.h). */
#include "ctl_upgrade.h"

#include <string.h>
#include <unistd.h>

#include "control.h"
#include "upgrade.h"

static json_t *upgrade_status_json(struct upgrade *u)
{
	const char *error;
	pid_t pid;
	enum upgrade_state st = upgrade_status(u, &pid, &error);
	json_t *o = json_pack("{s:I,s:s}", "pid", (json_int_t)getpid(), "upgrade",
			      upgrade_state_name(st));

	if (o && pid > 0)
		json_object_set_new(o, "new_pid", json_integer(pid));
	if (o && error)
		json_object_set_new(o, "reason", json_string(error));
	return o;
}

static json_t *cmd_upgrade(int argc, char **argv, void *arg)
{
	struct upgrade *u = arg;
	char why[256];
	pid_t pid;

	if (argc == 2 && !strcmp(argv[1], "status"))
		return upgrade_status_json(u);
	if (argc != 1)
		return control_error("usage: upgrade [status]");
	if ((pid = upgrade_start(u, why, sizeof(why))) < 0)
		return control_error("upgrade: %s", why);
	return json_pack("{s:s,s:I,s:I}", "upgrade", "started", "pid", (json_int_t)getpid(),
			 "new_pid", (json_int_t)pid);
}

int ctl_upgrade_register(struct control *c, struct upgrade *u)
{
	return control_register(
		c, "upgrade",
		"upgrade [status] - start the program file again, hitless (status: how it went)",
		cmd_upgrade, u);
}
