# shellcheck shell=bash
# check.sh - the one assertion helper of every test script: the integration
# tests, soak, drill and benches (through tests/lib/lab.sh, which sources
# it), test_netlink and test_vrrp_wire (their own labs), and the package,
# systemd and cross-build tests.  Source it; do not execute it.
#
#   source tests/lib/check.sh
#   check "the VIP answers" curl -sf http://198.18.0.10/
#   check_eq "role" MASTER "$role"
#   check_summary || exit 1
#
# Every check prints one line, "ok   - what" or "FAIL - what", and counts
# itself in CHECK_PASSED or CHECK_FAILED.  check_summary prints the closing
# "N passed, M failed": the last line of every test's output, which a
# reader, ctest's log and tests/test.sh's phases look for; keep its form.

# Sourced twice (a script, then lab.sh): keep the counts already made.
if [[ -z "${CHECK_SH_LOADED:-}" ]]; then
	CHECK_SH_LOADED=1
	CHECK_PASSED=0
	CHECK_FAILED=0
fi

# check_pass / check_fail "description": count and print a verdict reached
# without a command (a set-up step that failed, a tool that is missing).
check_pass() {
	CHECK_PASSED=$((CHECK_PASSED + 1))
	printf 'ok   - %s\n' "$1"
}
check_fail() {
	CHECK_FAILED=$((CHECK_FAILED + 1))
	printf 'FAIL - %s\n' "$1"
}

# check "description" cmd... : run cmd; its exit status is the verdict,
# and check returns it (0 or 1) so a caller can stop on a failure.
check() {
	local desc=$1
	shift
	if "$@"; then
		check_pass "$desc"
		return 0
	fi
	check_fail "$desc"
	return 1
}

# check_eq "description" EXPECTED ACTUAL
check_eq() {
	if [[ "$2" == "$3" ]]; then
		check "$1 (= $3)" true
	else
		check "$1 (expected '$2', got '$3')" false
	fi
}

# check_le "description" VALUE MAX / check_ge VALUE MIN (integers)
check_le() {
	if [[ "$2" =~ ^-?[0-9]+$ ]] && (($2 <= $3)); then
		check "$1 ($2 <= $3)" true
	else
		check "$1 (got '$2', want <= $3)" false
	fi
}
check_ge() {
	if [[ "$2" =~ ^-?[0-9]+$ ]] && (($2 >= $3)); then
		check "$1 ($2 >= $3)" true
	else
		check "$1 (got '$2', want >= $3)" false
	fi
}

# check_summary: print "N passed, M failed"; non-zero when anything failed,
# and also when nothing was checked at all (a test that checks nothing
# cannot fail).
check_summary() {
	printf '%d passed, %d failed\n' "$CHECK_PASSED" "$CHECK_FAILED"
	((CHECK_FAILED == 0 && CHECK_PASSED > 0))
}
