#!/usr/bin/env bash
# postinst_test.sh - what the package's postinst does to a running
# balancer on an upgrade (deploy/debian/postinst, docs/operations.md
# "Restarts and package upgrades"), without systemd or root: the script
# runs with /run/systemd/system and the key moved into a temporary
# directory, and fake systemctl, andromedactl, getent, install and
# andromeda on PATH that log their calls.  Asserts: a running daemon is
# upgraded with `andromedactl upgrade` and not restarted; a failed upgrade
# (the old process still serves) is reported and not restarted; a daemon
# that cannot be reached, or is too old for the command, is restarted; a
# stopped daemon is left alone; a first install touches no service.
# Usage: bash tests/package/postinst_test.sh [SRC_DIR]   (ctest: package/postinst)
set -u
SRC_DIR=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SRC_DIR/tests/lib/check.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/bin" "$TMP/run-systemd"
sed -e "s#/run/systemd/system#$TMP/run-systemd#g" -e "s#^KEY=.*#KEY=$TMP/cluster.key#" \
	"$SRC_DIR/deploy/debian/postinst" >"$TMP/postinst"

# Each fake logs "NAME ARGS" to calls; CTL_RC / CTL_OUT / ACTIVE steer them.
for cmd in systemctl andromedactl getent install andromeda; do
	cat >"$TMP/bin/$cmd" <<FAKE
#!/bin/sh
echo "$cmd \$*" >>"$TMP/calls"
case "$cmd \$*" in
"systemctl -q is-active andromeda.service") exit \${ACTIVE:-0} ;;
"andromedactl upgrade") [ -n "\${CTL_OUT:-}" ] && echo "\$CTL_OUT" >&2; exit \${CTL_RC:-0} ;;
esac
exit 0
FAKE
	chmod +x "$TMP/bin/$cmd"
done

# run ARGS...: the postinst with the fakes; its stderr in $TMP/err.
run() {
	: >"$TMP/calls"
	PATH="$TMP/bin:$PATH" sh "$TMP/postinst" "$@" 2>"$TMP/err"
}
called() { grep -qx -- "$1" "$TMP/calls"; }
not_called() { ! grep -q -- "$1" "$TMP/calls"; }

run configure 0.1.0
check_eq "upgrade of a running balancer: postinst exits 0" 0 $?
check "... runs andromedactl upgrade" called "andromedactl upgrade"
check "... does not restart the balancer" not_called "restart andromeda.service"
check "... restarts the agent if it runs" called "systemctl try-restart andromeda-agent.service"

CTL_RC=1 CTL_OUT="andromedactl: upgrade failed: it exited before taking over (exit status 2); process 12 still serves" \
	run configure 0.1.0
check_eq "a failed upgrade: postinst exits 0" 0 $?
check "... does not restart the balancer (the old process serves)" not_called "restart andromeda.service"
check "... says why and what to do" grep -q "upgrade failed.*still serves" "$TMP/err"

CTL_RC=2 CTL_OUT="andromedactl: cannot connect to /run/andromeda/control.sock: No such file or directory" \
	run configure 0.1.0
check "no daemon answers: the balancer is restarted" called "systemctl restart andromeda.service"

CTL_RC=1 CTL_OUT='andromedactl: unknown command "upgrade"' run configure 0.1.0
check "a daemon too old to upgrade is restarted" called "systemctl restart andromeda.service"

ACTIVE=3 run configure 0.1.0
check "a stopped balancer is not upgraded" not_called "andromedactl"
check "... nor started" not_called "restart andromeda.service"

run configure
check_eq "first install: postinst exits 0" 0 $?
check "... touches no service" not_called "andromedactl\|restart"

check_summary
