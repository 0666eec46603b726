/* control_proto.h - the control protocol between andromedactl and the
 * daemon's control socket (SPEC "Programs": andromedactl): what both
 * ends must agree on, and nothing else.  A header only.
 *
 * One exchange per connection:
 *   client -> daemon   ONE request line, at most CONTROL_LINE_MAX bytes
 *                      including the "\n" ("\r\n" and a line ended by the
 *                      client's shutdown(SHUT_WR) are accepted too): a
 *                      command word and arguments separated by spaces,
 *                      printable ASCII only, e.g. "drain web1".
 *   daemon -> client   ONE JSON document followed by "\n", then close.
 *                      Failures are {"error": "message"}.
 *
 * The server is core/daemon/control.[ch]; the client is
 * core/ctl/main_andromedactl.c, which includes nothing else of ours. */
#ifndef ANDROMEDA_CONTROL_PROTO_H
#define ANDROMEDA_CONTROL_PROTO_H

#define CONTROL_LINE_MAX       4096 /* request line, "\n" included */
#define CONTROL_DEFAULT_SOCKET "/run/andromeda/control.sock"

#endif
