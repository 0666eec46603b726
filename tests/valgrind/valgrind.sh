#!/usr/bin/env bash
# valgrind.sh - every Criterion unit test binary under valgrind memcheck
# (docs/static-analysis.md).
#
#   bash tests/valgrind/valgrind.sh [BUILD_DIR]
#
# BUILD_DIR (default build/) must be a built, non-sanitizer build: ASan and
# valgrind cannot share a process.  One binary per tests/unit/test_*.c is
# expected; a missing one fails the run.
#
# Criterion 2.4 runs every test in a worker that the runner forks and then
# re-executes (execve of the same binary as "boxfort-worker"), so memcheck
# must follow exec (--trace-children=yes) or the tests themselves would run
# unchecked; programs a test starts (test_control runs andromedactl) are
# checked too, while shells, system tools and the shell scripts test_hooks
# writes (/tmp/andromeda-hooks-*) are skipped.  Each process
# writes its own log; a binary fails when Criterion reports a failure, a
# log shows any error (invalid access, uninitialised use, bad free) or a
# definite or indirect leak (--errors-for-leak-kinds), or a process ended
# without valgrind's final summary (killed, or it hung and the timeout hit).
# The few tests valgrind's own emulation breaks are listed in LEFT_OUT below
# and named in every run's summary.
#
# Environment: JOBS (Criterion jobs per binary, default nproc; more did
# not finish sooner in CI, and at 4 Criterion's own runner leaked 48 bytes),
# VG_PARALLEL (binaries under valgrind at a time, default 2: one binary
# kept a 2-core machine only 60 % busy, its Criterion runner starting
# workers one by one, each paying valgrind's start-up), VG_TIMEOUT
# (seconds per binary, default 300), VG_ONLY (space-separated
# binary names: a local run of just those; CI leaves it unset).
# Logs: BUILD_DIR/valgrind/NAME/ (output.txt, vg.PID.log per process).
set -uo pipefail

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$SRC_DIR" || exit 2

# Criterion 2.4.1 calls git_libgit2_init() in every process it starts, and
# Debian's libgit2 (built with mbedtls) then parses the whole CA bundle:
# about a quarter of each test's CPU time under memcheck.  No unit test
# uses TLS, so as root the run goes on in a private mount namespace where
# the bundle is an empty file; the host's file is not touched, and the
# mount ends with the namespace.  Without root the run is just slower.
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
if [[ $EUID -eq 0 && -z "${VG_PRIVATE_NS:-}" && -f "$CA_BUNDLE" ]] && command -v unshare >/dev/null; then
	export VG_PRIVATE_NS=1
	exec unshare --mount --propagation private bash "$SRC_DIR/tests/valgrind/valgrind.sh" "$@"
fi
CA_NOTE="CA bundle parsed in every test process (not root: no private mount namespace)"
if [[ -n "${VG_PRIVATE_NS:-}" ]]; then
	empty_ca=$(mktemp)
	trap 'rm -f "$empty_ca"' EXIT
	if mount --bind "$empty_ca" "$CA_BUNDLE"; then
		CA_NOTE="CA bundle hidden from the tests (private mount namespace)"
	else
		CA_NOTE="CA bundle parsed in every test process (bind mount failed)"
	fi
fi
BUILD_DIR=${1:-build}
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$SRC_DIR/$BUILD_DIR"
JOBS=${JOBS:-$(nproc)}
VG_PARALLEL=${VG_PARALLEL:-2}
VG_TIMEOUT=${VG_TIMEOUT:-300}
OUT="$BUILD_DIR/valgrind"

# Binaries slower than VG_TIMEOUT under valgrind get more time here (name
# and seconds), never a skip.  Empty while every binary fits.
declare -A SLOW=()

# Tests that cannot hold under valgrind itself, not because of our code.
# No unit test asserts wall-clock speed any more (issue 18), so none is left
# out for time.  The acceptor's descriptor-exhaustion tests are: valgrind
# emulates RLIMIT_NOFILE by closing any descriptor a syscall returns above
# its limit and failing the call with EMFILE, so its accept() consumes the
# waiting connection that the kernel's EMFILE would have left in the
# backlog - the very thing the test checks.  They are left out here only -
# the normal and ASan runs of test.sh still run them - and every run prints
# them by name.  An entry that no longer matches a test fails the run, so
# the list cannot go stale.
declare -A LEFT_OUT=(
	[test_acceptor]='acceptor/out_of_fds_pauses_then_resumes_on_the_timer|acceptor/a_second_episode_soon_after_is_counted_not_logged'
)

VG_OPTS=(
	--tool=memcheck --error-exitcode=1 --leak-check=full
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
	--trace-children=yes --child-silent-after-fork=yes
	--trace-children-skip='/bin/*,/usr/bin/*,/sbin/*,/usr/sbin/*,/tmp/andromeda-hooks-*'
	--num-callers=30 --read-inline-info=no --vgdb=no
	--suppressions="$SRC_DIR/tests/valgrind/valgrind.supp"
)

PASSED=0
FAILED=0
REPORT=()
LEFT_OUT_NOTE=()

if ! command -v valgrind >/dev/null; then
	echo "valgrind.sh: valgrind not found (apt-get install valgrind)" >&2
	exit 2
fi
if grep -q '^CMAKE_BUILD_TYPE:STRING=Sanitize' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
	echo "valgrind.sh: $BUILD_DIR is a sanitizer build; use a normal one (build/)" >&2
	exit 2
fi

# sum_field LOGS... PATTERN: add up "PATTERN N" numbers across logs.
sum_field() {
	local pat=$1
	shift
	grep -h "$pat" "$@" 2>/dev/null | sed -E "s/.*$pat *([0-9,]+).*/\1/" | tr -d , |
		awk '{ s += $1 } END { print s + 0 }'
}

# check_binary NAME: run one binary under memcheck and judge its logs
# (not the pass/fail helper of tests/lib/check.sh).  It runs in the
# background beside another one, so it writes its verdict to files that
# the main loop reads back in order: DIR/verdict ("NAME|PASS|detail" or
# "NAME|FAIL|why") and DIR/left_out (the tests left out, for the summary).
check_binary() {
	local name=$1 bin="$BUILD_DIR/tests/$1" dir="$OUT/$1" t0=$SECONDS limit rc
	local logs nproc errs lost nosum synth why=""
	limit=${SLOW[$name]:-$VG_TIMEOUT}
	rm -rf "$dir"
	mkdir -p "$dir"
	if [[ ! -x "$bin" ]]; then
		echo "$name|FAIL|no binary $bin (build first)" >"$dir/verdict"
		return
	fi
	local filter=() left=${LEFT_OUT[$name]:-} nleft=0 stale="" t
	if [[ -n "$left" ]]; then
		filter=(--filter "!($left)")
		for t in ${left//|/ }; do
			nleft=$((nleft + 1))
			# --list prints "suite: N tests" then one line per test.
			"$bin" --list 2>/dev/null | awk -v s="${t%%/*}" -v n="${t#*/}" '
				/^[^ ].*: [0-9]+ tests?$/ { cur = $1; sub(/:$/, "", cur) }
				cur == s && $NF == n { found = 1 } END { exit !found }' || stale+="$t "
		done
		echo "$name: ${left//|/, }" >"$dir/left_out"
	fi
	echo "--- $name ($nleft test(s) left out, timeout ${limit}s)"
	timeout -k 10 "$limit" valgrind "${VG_OPTS[@]}" --log-file="$dir/vg.%p.log" \
		"$bin" --jobs "$JOBS" --short-filename "${filter[@]}" >"$dir/output.txt" 2>&1
	rc=$?
	logs=("$dir"/vg.*.log)
	[[ -e "${logs[0]}" ]] || logs=()
	nproc=${#logs[@]}
	errs=$(sum_field 'ERROR SUMMARY:' "${logs[@]}" /dev/null)
	lost=$(( $(sum_field 'definitely lost:' "${logs[@]}" /dev/null) +
		 $(sum_field 'indirectly lost:' "${logs[@]}" /dev/null) ))
	nosum=$(grep -L 'ERROR SUMMARY:' "${logs[@]}" /dev/null 2>/dev/null | grep -vc '^/dev/null$')
	synth=$(grep -o 'Tested: [0-9]* | Passing: [0-9]* | Failing: [0-9]* | Crashing: [0-9]*' \
		"$dir/output.txt" | tail -n1)
	((rc == 124 || rc == 137)) && why+="timed out after ${limit}s; "
	((rc != 0 && rc != 124 && rc != 137)) && why+="exit $rc; "
	[[ -z "$synth" ]] && why+="no Criterion summary; "
	((errs > 0)) && why+="$errs valgrind error(s); "
	((lost > 0)) && why+="$lost bytes definitely/indirectly lost; "
	((nosum > 0)) && why+="$nosum process(es) without a valgrind summary; "
	((nproc < 2)) && why+="workers not traced; "
	[[ -n "$stale" ]] && why+="LEFT_OUT names no such test: $stale; "
	if [[ -z "$why" ]]; then
		echo "$name|PASS|${synth%% |*}, $nproc processes, $((SECONDS - t0)) s" >"$dir/verdict"
	else
		echo "$name|FAIL|${why%; } ($synth; $((SECONDS - t0)) s; logs in $dir)" >"$dir/verdict"
		grep -E '^\[----\]|^\[FAIL\]' "$dir/output.txt" | head -n 20
		# The first report of each failing process, for the CI log.
		grep -l -E 'ERROR SUMMARY: [1-9]' "${logs[@]}" /dev/null 2>/dev/null | head -n 3 |
			xargs -r -n1 sed -n '/^==[0-9]*== \(Invalid\|Conditional\|Use of\|Syscall\|Mismatched\|Source and\|[0-9,]* bytes in\)/,/^==[0-9]*== $/p' |
			head -n 60
	fi
}

T_START=$SECONDS
echo "valgrind $(valgrind --version | sed 's/valgrind-//'), build $BUILD_DIR, $VG_PARALLEL binaries at a time, $JOBS job(s) each; $CA_NOTE"
NAMES=()
mkdir -p "$OUT"
for src in "$SRC_DIR"/tests/unit/test_*.c; do
	name=$(basename "$src" .c)
	[[ -n "${VG_ONLY:-}" && " $VG_ONLY " != *" $name "* ]] && continue
	NAMES+=("$name")
	while (($(jobs -rp | wc -l) >= VG_PARALLEL)); do
		wait -n
	done
	check_binary "$name" >"$OUT/$name.console" 2>&1 &
done
wait
# Each binary's output and verdict, in order.
for name in "${NAMES[@]}"; do
	cat "$OUT/$name.console"
	line=$(cat "$OUT/$name/verdict" 2>/dev/null) || line="$name|FAIL|no verdict (check_binary died)"
	REPORT+=("$line")
	if [[ $line == "$name|PASS|"* ]]; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); fi
	[[ -s "$OUT/$name/left_out" ]] && LEFT_OUT_NOTE+=("$(cat "$OUT/$name/left_out")")
done

printf '\n=== valgrind summary (%d s)\n' $((SECONDS - T_START))
for line in "${REPORT[@]}"; do
	IFS='|' read -r name res detail <<<"$line"
	printf '  %-24s %-5s %s\n' "$name" "$res" "$detail"
done
if ((${#LEFT_OUT_NOTE[@]})); then
	echo
	echo "  not run under valgrind (its descriptor emulation breaks them; they run in the normal and ASan builds):"
	printf '    %s\n' "${LEFT_OUT_NOTE[@]}"
fi
printf '\n%d binaries clean, %d failed\n' "$PASSED" "$FAILED"
((FAILED == 0 && PASSED > 0))
