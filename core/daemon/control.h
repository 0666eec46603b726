/* control.h - the daemon's control socket (SPEC "Programs": andromedactl).
 *
 * The protocol, which andromedactl shares, is core/lib/control_proto.h:
 * one request line in, one JSON document out, per connection.  A client
 * that has not sent its line within CONTROL_TIMEOUT_MS (or stops reading
 * the reply for that long) is disconnected.  Everything runs on the event
 * loop, non-blocking; no threads.
 *
 * The commands are registered by the ctl_*.c files, one per area
 * (ctl_pool, ctl_proxy, ctl_ha, ctl_registry, ctl_journal): each reads a
 * module's plain-C getters and builds the JSON, so that no room but this
 * one knows Jansson.  "help" is built in; so is "status", an object
 * composed by status providers in the order they were added
 * (control_status_add), so the daemon's main decides the key order of
 * `andromedactl status` (SPEC: node, role, priority, vip_held, vips, peers,
 * servers, sync).
 *
 * JSON values are Jansson's json_t (libjansson). */
#ifndef ANDROMEDA_CONTROL_H
#define ANDROMEDA_CONTROL_H

#include <jansson.h>
#include <sys/types.h>

#include "control_proto.h"

#define CONTROL_MAX_ARGS    32   /* command word included */
#define CONTROL_MAX_CLIENTS 128  /* served at once; more are refused */
#define CONTROL_TIMEOUT_MS  2000 /* to send the request / to read the reply */

struct control;
struct loop;

/* A command handler.  argv[0] is the command word, argv[1..argc-1] its
 * arguments (argc >= 1; the strings live until the handler returns).
 * Returns a NEW reference to the reply: any JSON value, or control_error()
 * for a failure.  NULL means out of memory and is answered with
 * {"error":"CMD: internal error"}. */
typedef json_t *(*control_fn)(int argc, char **argv, void *arg);

/* A status provider: adds its keys to the "status" object (e.g.
 * json_object_set_new(status, "servers", ...)).  Returns 0 or -errno; on
 * failure "status" answers with an error. */
typedef int (*control_status_fn)(json_t *status, void *arg);

/* Create the unix socket at path and serve it on loop.  The parent
 * directory is created (0755) if missing; a stale socket left by a dead
 * daemon is removed, but a socket that still accepts connections gives
 * -EADDRINUSE and any other file at path gives -EEXIST (never deleted).
 * The socket gets mode 0660 and the process's uid/gid (see control_chown).
 * Returns 0 or -errno (one log line says what failed). */
int control_open(struct control **out, struct loop *loop, const char *path);

/* Disconnect every client, stop listening and unlink the socket (only if
 * the file at path is still the one we created).  NULL is a no-op. */
void control_close(struct control *c);

/* Give the socket file to uid:gid (e.g. 0 and the daemon user's group
 * before dropping privileges, so that members of that group may use
 * andromedactl).  -1 leaves that id unchanged.  Returns 0 or -errno. */
int control_chown(struct control *c, uid_t uid, gid_t gid);

/* Register a command.  cmd: one word (copied); help: one line starting
 * with the usage, e.g. "drain NAME - ..." (must outlive c, normally a
 * literal).  Returns 0, -EEXIST (already registered), -EINVAL (empty or
 * contains a space) or -ENOMEM. */
int control_register(struct control *c, const char *cmd, const char *help, control_fn fn,
		     void *arg);

/* Append a provider to the built-in "status" command.  At most 16;
 * returns 0 or -ENOSPC. */
int control_status_add(struct control *c, control_status_fn fn, void *arg);

/* {"error": <formatted message>}: a new reference, or NULL on ENOMEM. */
json_t *control_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The request-line parser behind the socket (pure; what the fuzzer and
 * the unit tests drive).  line holds len bytes (the line without its
 * "\n") followed by a NUL, and is split in place: a trailing "\r" is
 * dropped, words are separated by spaces and tabs, argv[0..argc) point
 * into line.  argv has room for max entries.  Returns argc (1..max),
 * -EILSEQ if a byte is not printable ASCII or a tab (a NUL included),
 * -ENODATA if there is no word, -E2BIG if there are more than max. */
int control_parse_line(char *line, size_t len, char **argv, int max);

/* Run a registered command as if argv had come over the socket (the
 * stats listener's /status.json and page share "status" and "journal"
 * this way, so they are exactly what andromedactl gets).  Returns the
 * reply (a new reference; {"error": ...} for an unknown command) or NULL
 * when out of memory.  Main thread. */
json_t *control_call(struct control *c, int argc, char **argv);
/* A reply's text as the socket sends it (compact, keys in order, no
 * newline): malloc'd, or NULL. */
char *control_encode(json_t *reply);

/* Path the socket was opened on. */
const char *control_path(const struct control *c);
/* Clients connected right now (for tests and "status"). */
unsigned control_nclients(const struct control *c);

#endif
