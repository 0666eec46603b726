#!/usr/bin/env bash
# fuzz.sh - build every libFuzzer harness (tests/fuzz/fuzz_*.c) and run each
# one for a while; the long local run that tests/test.sh's 10-second smoke
# phase stands in for in CI.
#
#   bash tests/fuzz/fuzz.sh [-t SECONDS] [-j JOBS] [-b BUILD_DIR] [-o RUN_DIR] [NAME...]
#
#   -t SECONDS   run time per harness (default 600, i.e. 10 minutes)
#   -j JOBS      harnesses run at once (default nproc)
#   -b DIR       CMake build directory (default build-fuzzers/ in the tree,
#                configured with clang and -DANDROMEDA_FUZZ=ON)
#   -o DIR       run directory: corpora, logs, crash reproducers (default
#                BUILD_DIR/fuzz-run).  Kept between runs: each run starts
#                from the corpus the previous runs grew, plus the committed
#                seeds in tests/fuzz/corpus/NAME (read-only, never written).
#   NAME...      only these harnesses (fuzz_vrrp or vrrp); default all
#
# Prints, per harness, the executions, the time and the rate, then one line
# per crash (or leak, timeout, out-of-memory) with its reproducer; replay one
# with   BUILD_DIR/tests/fuzz_NAME REPRODUCER.
# Exits 0 when every harness built and ran without a finding, 1 otherwise.
# Needs clang and libclang-rt-14-dev (tests/test.sh installs both).
set -uo pipefail

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
SECS=600
JOBS=$(nproc)
BUILD_DIR="$SRC_DIR/build-fuzzers"
RUN_DIR=""

usage() {
	sed -n '2,/^# Needs/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while getopts "t:j:b:o:h" opt; do
	case $opt in
	t) SECS=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	b) BUILD_DIR=$(realpath -m "$OPTARG") ;;
	o) RUN_DIR=$(realpath -m "$OPTARG") ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ "$SECS" =~ ^[1-9][0-9]*$ && "$JOBS" =~ ^[1-9][0-9]*$ ]] || usage
RUN_DIR=${RUN_DIR:-$BUILD_DIR/fuzz-run}

build() {
	local log="$BUILD_DIR/fuzz-build.log"

	mkdir -p "$BUILD_DIR" || return 1
	echo "building the harnesses in $BUILD_DIR (log: $log)"
	# -O1 -g without NDEBUG: fast enough, asserts kept, readable stacks.
	if ! cmake -S "$SRC_DIR" -B "$BUILD_DIR" -DCMAKE_C_COMPILER=clang -DANDROMEDA_FUZZ=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" >"$log" 2>&1 ||
		! make -C "$BUILD_DIR" -j"$(nproc)" --no-print-directory fuzzers >>"$log" 2>&1; then
		grep -E 'error|Error' "$log" | head -n 40
		return 1
	fi
}

# The harnesses to run: all of tests/fuzz/fuzz_*.c, or those named.
select_harnesses() {
	local n h

	if (($# == 0)); then
		for h in "$SRC_DIR"/tests/fuzz/fuzz_*.c; do
			basename "$h" .c
		done
		return
	fi
	for n in "$@"; do
		n=fuzz_${n#fuzz_}
		[[ -f "$SRC_DIR/tests/fuzz/$n.c" ]] || { echo "fuzz.sh: no harness tests/fuzz/$n.c" >&2; return 1; }
		echo "$n"
	done
}

# run_one NAME: fuzz for SECS, leave "execs secs rc" in logs/NAME.result.
run_one() {
	local name=$1 bin="$BUILD_DIR/tests/$1" log="$RUN_DIR/logs/$1.log" start rc execs
	local seeds="$SRC_DIR/tests/fuzz/corpus/${1#fuzz_}" corpus="$RUN_DIR/corpus/$1"
	local dirs=("$corpus")

	mkdir -p "$corpus" "$RUN_DIR/artifacts"
	[[ -d "$seeds" ]] && dirs+=("$seeds")
	start=$SECONDS
	# timeout(1) is the backstop if libFuzzer itself wedges; -timeout turns
	# one slow input into a finding instead.
	timeout --kill-after=30 $((SECS + 300)) "$bin" -max_total_time="$SECS" -timeout=25 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$RUN_DIR/artifacts/$name-" \
		"${dirs[@]}" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	[[ -n "$execs" ]] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -n1 | tr -d '#')
	echo "${execs:-0} $((SECONDS - start)) $rc" >"$RUN_DIR/logs/$name.result"
}

summary() {
	local name execs secs rc total_e=0 total_s=0 bad=0 art kind

	printf '\n%-22s %14s %8s %10s  %s\n' harness executions seconds exec/s result
	for name in "$@"; do
		read -r execs secs rc <"$RUN_DIR/logs/$name.result" 2>/dev/null || { execs=0 secs=0 rc=255; }
		total_e=$((total_e + execs))
		total_s=$((total_s + secs))
		((rc == 0)) || bad=$((bad + 1))
		printf '%-22s %14s %8s %10s  %s\n' "$name" "$execs" "$secs" "$((secs ? execs / secs : 0))" \
			"$( ((rc == 0)) && echo ok || echo "FAILED (exit $rc, log $RUN_DIR/logs/$name.log)")"
	done
	printf '%-22s %14s %8s\n' total "$total_e" "$total_s"
	for name in "$@"; do
		grep -h 'Test unit written to' "$RUN_DIR/logs/$name.log" 2>/dev/null | sed 's/.*written to //' |
		while read -r art; do
			kind=$(grep -m1 -oE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer): [^ ]+( [a-z-]+)?' \
				"$RUN_DIR/logs/$name.log" | sed 's/^ERROR: //')
			grep -m1 -q 'runtime error:' "$RUN_DIR/logs/$name.log" && kind="UBSan: $(grep -m1 -oE 'runtime error: .*' "$RUN_DIR/logs/$name.log")"
			echo "CRASH $name: ${kind:-see log}: $art"
			echo "      replay: $BUILD_DIR/tests/$name $art"
		done
	done
	((bad == 0))
}

main() {
	local names list name running=0

	list=$(select_harnesses "$@") || exit 2
	mapfile -t names <<<"$list"
	((${#names[@]})) || { echo "fuzz.sh: no harness in tests/fuzz" >&2; exit 1; }
	build || { echo "fuzz.sh: build failed" >&2; exit 1; }
	mkdir -p "$RUN_DIR/logs"
	echo "running ${#names[@]} harness(es), ${SECS}s each, $JOBS at a time; run directory $RUN_DIR"
	for name in "${names[@]}"; do
		rm -f "$RUN_DIR/logs/$name.result"
		if ((running >= JOBS)); then
			wait -n
			running=$((running - 1))
		fi
		echo "--- $name"
		run_one "$name" &
		running=$((running + 1))
	done
	wait
	summary "${names[@]}"
}

main "$@"
