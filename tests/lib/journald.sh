# journald.sh - a journald of the test's own, for tests and benches that
# check what reaches the journal where none runs (containers, CI).
# Source it; do not execute it.
#
#   journald_private "$0" "$@"   # first thing: re-runs the script in a
#                                # private mount namespace (once)
#   journald_start               # tmpfs on /run/systemd and /run/log,
#                                # systemd-journald as a background job
#   jctl -u ... / jctl REQUEST_ID=...   # journalctl on that journal
#
# Nothing leaves the namespace: the mounts are private (the host's
# /run/systemd is untouched, and gone with the script), journald is a
# background job of the script (lab_teardown kills the jobs of its shell).

JOURNALD=${JOURNALD:-/lib/systemd/systemd-journald}

journald_private() {
	[[ -n "${ANDROMEDA_PRIVATE_JOURNALD:-}" ]] && return 0
	ANDROMEDA_PRIVATE_JOURNALD=1 exec unshare -m --propagation private bash "$@"
}

journald_start() {
	local i
	[[ -n "${ANDROMEDA_PRIVATE_JOURNALD:-}" && -x "$JOURNALD" ]] || return 1
	mkdir -p /run/systemd /run/log || return 1
	mount -t tmpfs tmpfs /run/systemd || return 1
	mount -t tmpfs tmpfs /run/log || return 1
	"$JOURNALD" >/dev/null 2>&1 </dev/null &
	JOURNALD_PID=$!
	for ((i = 0; i < 100; i++)); do
		[[ -S /run/systemd/journal/socket && -S /run/systemd/journal/stdout ]] && return 0
		sleep 0.05
	done
	return 1
}

# jctl ARGS...: journalctl over the private journal, no pager.
jctl() { journalctl -D /run/log/journal --no-pager "$@" 2>/dev/null; }
