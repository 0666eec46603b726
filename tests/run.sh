#!/usr/bin/env bash
# run.sh - shake out flaky tests: run the unit and/or integration tests of a
# built tree many times, optionally with the CPU taken by busy loops, and
# count every run (issue 18).  A test that depends on the machine's speed
# or load fails here long before it fails in CI.
#
#   bash tests/run.sh [--build DIR] [--repeat N] [--hog] [--unit] [--integration]
#                     [--only REGEX]
#
#   --build DIR    a built tree (default build/); a Sanitize build runs with
#                  the same ASAN_OPTIONS/UBSAN_OPTIONS as tests/test.sh
#   --repeat N     run each selected test N times (default 1)
#   --hog          one busy loop pinned on each CPU (taskset) for the whole
#                  run, so the tests share the machine with a CPU hog
#   --unit         the Criterion unit test binaries (build/tests/test_*)
#   --integration  the ctest label "integration" (root: network namespaces)
#                  (neither flag: both)
#   --only REGEX   only tests whose name matches (unit binary name, or the
#                  ctest name such as integration/test_proxy_rr)
#
# Prints one line per failed run with its log, then "N passed, M failed"
# counting runs; exits 1 if any run failed.  Logs: BUILD/run-logs/.
set -uo pipefail

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$SRC_DIR/build
REPEAT=1 HOG=0 UNIT=0 INTEG=0 ONLY=.
HOG_PIDS=()

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }

parse_args() {
	while (($#)); do
		case $1 in
		--build) BUILD_DIR=$(cd "$2" && pwd) || exit 2; shift ;;
		--repeat) REPEAT=$2; shift ;;
		--hog) HOG=1 ;;
		--unit) UNIT=1 ;;
		--integration) INTEG=1 ;;
		--only) ONLY=$2; shift ;;
		-h | --help) usage; exit 0 ;;
		*) echo "run.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
		esac
		shift
	done
	[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --repeat needs a positive count" >&2; exit 2; }
	((UNIT + INTEG == 0)) && UNIT=1 INTEG=1
	[[ -d "$BUILD_DIR/tests" ]] || { echo "run.sh: $BUILD_DIR is not a built tree" >&2; exit 2; }
}

hog_start() {
	local cpu
	for ((cpu = 0; cpu < $(nproc); cpu++)); do
		taskset -c "$cpu" bash -c 'while :; do :; done' &
		HOG_PIDS+=($!)
	done
	echo "run.sh: CPU hog on $(nproc) CPU(s): pids ${HOG_PIDS[*]}"
}

hog_stop() {
	((${#HOG_PIDS[@]})) || return 0
	kill "${HOG_PIDS[@]}" 2>/dev/null
	wait "${HOG_PIDS[@]}" 2>/dev/null
	HOG_PIDS=()
}

sanitizer_env() {
	if grep -q '^CMAKE_BUILD_TYPE:STRING=Sanitize' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
		export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0}
		export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	fi
}

PASSED=0 FAILED=0

# record NAME ROUND LOG RC: count one run; a sanitizer report fails it too.
record() {
	if (($4 == 0)) && ! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$3"; then
		PASSED=$((PASSED + 1))
		rm -f "$3"
	else
		FAILED=$((FAILED + 1))
		printf 'FAIL %s (round %d): %s\n' "$1" "$2" "$3"
	fi
}

run_unit() {
	local round=$1 bin name log
	for bin in "$BUILD_DIR"/tests/test_*; do
		[[ -x "$bin" ]] || continue
		name=$(basename "$bin")
		[[ "$name" =~ $ONLY ]] || continue
		log="$LOG_DIR/$name.$round.log"
		(cd "$BUILD_DIR/tests" && timeout 300 "$bin" --jobs 1 --short-filename) >"$log" 2>&1
		record "$name" "$round" "$log" $?
	done
}

run_integration() {
	local round=$1 name log
	for name in $(cd "$BUILD_DIR" && ctest -N -L integration | sed -n 's/^ *Test *#[0-9]*: //p'); do
		[[ "$name" =~ $ONLY ]] || continue
		log="$LOG_DIR/${name//\//_}.$round.log"
		(cd "$BUILD_DIR" && ctest --output-on-failure --timeout 300 -R "^${name}\$") >"$log" 2>&1
		record "$name" "$round" "$log" $?
	done
}

main() {
	local round
	parse_args "$@"
	if ((INTEG)) && ((EUID != 0)); then
		echo "run.sh: the integration tests need root (network namespaces)" >&2
		exit 2
	fi
	LOG_DIR=$BUILD_DIR/run-logs
	mkdir -p "$LOG_DIR"
	sanitizer_env
	trap hog_stop EXIT
	((HOG)) && hog_start
	for ((round = 1; round <= REPEAT; round++)); do
		((UNIT)) && run_unit "$round"
		((INTEG)) && run_integration "$round"
		echo "run.sh: round $round of $REPEAT done ($PASSED passed, $FAILED failed so far)"
	done
	hog_stop
	printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
	((FAILED == 0))
}

main "$@"
