#!/usr/bin/env bash
# test.sh - THE test command (README): on a fresh Debian 12, as root,
#
#   sudo bash tests/test.sh
#
# installs the packages the build and the tests need (skipped when all are
# already installed), builds a normal build (build/) and an ASan+UBSan build
# (build-asan/), a Release build with gcc (build-release/) and the whole tree
# with clang (build-clang/), all with warnings as errors, runs cppcheck +
# clang-tidy, the normal build's unit tests
# under valgrind memcheck, every ctest test (unit + integration) in the
# sanitizer build, a short fault soak (tests/soak/soak.sh) on the
# sanitizer build, a short libFuzzer smoke run of each harness in
# tests/fuzz/, the Debian package test and the arm64 cross-build with its
# unit tests under qemu.  Exits non-zero if anything failed.
#
# Environment: JOBS (parallel build jobs, default nproc), FUZZ_SECONDS (per
# harness, default 10; 0 skips the fuzz phase), SOAK_SECONDS (the fault
# soak's fault phase on the ASan build, default 30; 0 skips it), SKIP_ASAN=1 (normal build
# only, every test there, for a quick local run; never set in CI),
# SKIP_CROSS=1 (no arm64 phase).
set -uo pipefail

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC_DIR" || exit 1
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
SOAK_SECONDS=${SOAK_SECONDS:-30}
T_START=$SECONDS

# The packages: deploy/packages.sh names them by purpose.
source "$SRC_DIR/deploy/packages.sh"
PACKAGES=("${PKG_BUILD[@]}" "${PKG_UNIT[@]}" "${PKG_LAB[@]}" "${PKG_CHECKS[@]}")

PHASES=()       # "name|result|detail" for the summary
TOTAL_PASSED=0
TOTAL_FAILED=0

say() { printf '\n=== %s\n' "$*"; }

# phase NAME RESULT DETAIL: one summary line, with the seconds since the
# previous phase ended (what each phase costs CI's time budget).
PHASE_T=$SECONDS
phase() {
	PHASES+=("$1|$2|$3|$((SECONDS - PHASE_T))")
	PHASE_T=$SECONDS
}

# count_phase NAME RC PASS_DETAIL FAIL_DETAIL: record a phase by its exit status.
count_phase() {
	if (($2 == 0)); then
		phase "$1" PASS "$3"
		TOTAL_PASSED=$((TOTAL_PASSED + 1))
	else
		phase "$1" FAIL "$4"
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
	fi
}

install_packages() {
	pkg_missing "${PACKAGES[@]}"
	if ((${#PKG_MISSING[@]} == 0)); then
		echo "all ${#PACKAGES[@]} packages already installed"
		return 0
	fi
	echo "installing: ${PKG_MISSING[*]}"
	pkg_install "${PKG_MISSING[@]}"
}

# build DIR TYPE [cmake args]: every CI build treats warnings as errors
# (ANDROMEDA_WERROR, whatever the build type's default), so a new warning
# fails CI.
build() {
	local dir=$1 type=$2
	shift 2
	mkdir -p "$SRC_DIR/$dir"
	cmake -S "$SRC_DIR" -B "$SRC_DIR/$dir" -DCMAKE_BUILD_TYPE="$type" -DANDROMEDA_WERROR=ON "$@" \
		>"$SRC_DIR/$dir/configure.log" 2>&1 || { tail -n 30 "$SRC_DIR/$dir/configure.log"; return 1; }
	make -C "$SRC_DIR/$dir" -j"$JOBS" --no-print-directory >"$SRC_DIR/$dir/make.log" 2>&1 ||
		{ grep -E 'error|Error' "$SRC_DIR/$dir/make.log" | head -n 40; return 1; }
}

# build_phase NAME DIR TYPE [cmake args]: a build that is a phase of its own
# (no tests: the builds a user or a packager would try must compile cleanly).
build_phase() {
	local name=$1 dir=$2
	shift 2
	build "$dir" "$@"
	count_phase "$name" $? "$dir/, warnings as errors" "see $dir/make.log"
}

# run_ctest NAME DIR [ctest args]: run, show the output, count the results.
run_ctest() {
	local name=$1 dir=$2 log="$SRC_DIR/$2/ctest.log" rc line passed failed total
	shift 2
	(cd "$SRC_DIR/$dir" && ctest --output-on-failure --timeout 300 -j"$JOBS" "$@") 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)
	if [[ "$line" =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
		failed=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
		passed=$((total - failed))
	else
		failed=1 total=0 passed=0
		line="ctest printed no result line"
	fi
	((total == 0)) && { failed=$((failed > 0 ? failed : 1)); line="no tests ran: $line"; }
	((rc != 0 && failed == 0)) && failed=1
	TOTAL_PASSED=$((TOTAL_PASSED + passed))
	TOTAL_FAILED=$((TOTAL_FAILED + failed))
	if ((failed == 0)); then
		phase "$name" PASS "$passed/$total"
	else
		phase "$name" FAIL "$failed of $total failed: $(grep -E '^\s+[0-9]+ - ' "$log" | sed 's/^ *//' | paste -sd, -)"
	fi
}

# Build every harness once with CMake (-DANDROMEDA_FUZZ=ON, clang: one
# instrumented library of the modules, each tests/fuzz/fuzz_*.c linked with
# libFuzzer, ASan and UBSan), run each briefly on its seed corpus
# (tests/fuzz/corpus/NAME-without-fuzz_), fail on any crash.
fuzz_smoke() {
	local dir="$SRC_DIR/build-fuzz" h name seeds ok=0 bad=0 execs total_execs=0
	mkdir -p "$dir"
	if ! cmake -S "$SRC_DIR" -B "$dir" -DCMAKE_C_COMPILER=clang -DANDROMEDA_FUZZ=ON -DANDROMEDA_WERROR=ON \
		>"$dir/configure.log" 2>&1 ||
		! make -C "$dir" -j"$JOBS" --no-print-directory fuzzers >"$dir/make.log" 2>&1; then
		tail -n 30 "$dir/configure.log" "$dir/make.log"
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
		phase "fuzz smoke" FAIL "the harnesses did not build (build-fuzz/make.log)"
		return
	fi
	# JOBS harnesses at a time (each is one process on one core).
	local -A pids=()
	for h in "$SRC_DIR"/tests/fuzz/fuzz_*.c; do
		[[ -e "$h" ]] || continue
		name=$(basename "$h" .c)
		if [[ ! -x "$dir/tests/$name" ]]; then
			echo "--- $name was not built"
			bad=$((bad + 1))
			continue
		fi
		seeds="$SRC_DIR/tests/fuzz/corpus/${name#fuzz_}"
		rm -rf "$dir/corpus-$name"
		mkdir -p "$dir/corpus-$name"
		[[ -d "$seeds" ]] && cp -r "$seeds"/. "$dir/corpus-$name/"
		while (($(jobs -rp | wc -l) >= JOBS)); do
			wait -n
		done
		timeout $((FUZZ_SECONDS + 120)) "$dir/tests/$name" -max_total_time="$FUZZ_SECONDS" \
			-artifact_prefix="$dir/$name-" -print_final_stats=1 "$dir/corpus-$name" \
			>"$dir/$name.log" 2>&1 &
		pids[$name]=$!
	done
	for name in $(printf '%s\n' "${!pids[@]}" | sort); do
		if wait "${pids[$name]}"; then
			execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$name.log" | tail -n1)
			printf -- '--- %s: %s executions in %s s, no crash\n' "$name" "${execs:-?}" "$FUZZ_SECONDS"
			total_execs=$((total_execs + ${execs:-0}))
			ok=$((ok + 1))
		else
			echo "--- $name FAILED"
			tail -n 30 "$dir/$name.log"
			bad=$((bad + 1))
		fi
	done
	TOTAL_PASSED=$((TOTAL_PASSED + ok))
	TOTAL_FAILED=$((TOTAL_FAILED + bad))
	if ((ok + bad == 0)); then
		phase "fuzz smoke" SKIP "no harness in tests/fuzz"
	elif ((bad == 0)); then
		phase "fuzz smoke" PASS "$ok harness(es), ${FUZZ_SECONDS}s each, $total_execs executions"
	else
		phase "fuzz smoke" FAIL "$bad of $((ok + bad)) harness(es) failed to build or crashed"
	fi
}

# script_phase NAME DETAIL CMD...: a phase that is one script; one count.
script_phase() {
	local name=$1 detail=$2
	shift 2
	"$@"
	count_phase "$name" $? "$detail" "see its output above"
}

summary() {
	local p name res detail secs
	say "summary ($((SECONDS - T_START)) s)"
	for p in "${PHASES[@]}"; do
		IFS='|' read -r name res detail secs <<<"$p"
		printf '  %-28s %-5s %5s s  %s\n' "$name" "$res" "$secs" "$detail"
	done
	printf '\n%d passed, %d failed\n' "$TOTAL_PASSED" "$TOTAL_FAILED"
}

if [[ $EUID -ne 0 ]]; then
	echo "test.sh: run as root (packages, network namespaces): sudo bash tests/test.sh" >&2
	exit 1
fi

say "packages"
if install_packages; then
	phase packages PASS ""
else
	phase packages FAIL "apt-get failed"
	TOTAL_FAILED=$((TOTAL_FAILED + 1))
	summary
	exit 1
fi

say "normal build (build/)"
if build build RelWithDebInfo; then
	phase "build (RelWithDebInfo)" PASS ""
	# The unit tests of this build run under valgrind below (each binary
	# fails there on a Criterion failure too, and the few wall-clock tests
	# it leaves out run in the ASan build); the integration tests run
	# once, in the stricter ASan+UBSan build.  A quick local run
	# (SKIP_ASAN=1) runs everything here instead.
	if [[ "${SKIP_ASAN:-0}" == 1 ]]; then
		say "tests, normal build"
		run_ctest "tests (normal build)" build
	fi
else
	phase "build (RelWithDebInfo)" FAIL "see build/make.log"
	TOTAL_FAILED=$((TOTAL_FAILED + 1))
fi


# The builds a user or a packager would try (README "Build by hand"): an
# optimised Release with gcc and the whole tree (tests and tools too) with
# clang.  Build only, but with -Werror, so a warning that only -O3 or
# clang sees fails CI instead of a user's build.
say "Release build, gcc (build-release/)"
build_phase "build (Release, gcc)" build-release Release -DCMAKE_C_COMPILER=gcc
say "whole-tree build, clang (build-clang/)"
build_phase "build (clang)" build-clang RelWithDebInfo -DCMAKE_C_COMPILER=clang

# Static analysis and memcheck run on the normal build (docs/static-analysis.md).
for tool in lint valgrind; do
	say "$tool (tests/$tool/$tool.sh)"
	script_phase "$tool" "" env JOBS="$JOBS" bash "$SRC_DIR/tests/$tool/$tool.sh" "$SRC_DIR/build"
done

if [[ "${SKIP_ASAN:-0}" != 1 ]]; then
	say "ASan+UBSan build (build-asan/)"
	if build build-asan Sanitize; then
		phase "build (Sanitize)" PASS ""
		say "tests, ASan+UBSan build"
		# halt on the first report; leaks are reported at exit and fail the
		# process (the integration tests check the daemon's exit status).
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
			run_ctest "tests (ASan+UBSan build)" build-asan -L 'unit|integration'
	else
		phase "build (Sanitize)" FAIL "see build-asan/make.log"
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
	fi
	if ((SOAK_SECONDS > 0)); then
		# The bounded CI version of the fault soak (the default run is
		# 10 minutes; docs/robustness.md has the long runs).
		say "fault soak, ${SOAK_SECONDS}s of faults (tests/soak/soak.sh, ASan+UBSan build)"
		script_phase "fault soak (ASan+UBSan)" "${SOAK_SECONDS}s of faults" \
			env BUILD_DIR="$SRC_DIR/build-asan" bash "$SRC_DIR/tests/soak/soak.sh" -d "$SOAK_SECONDS"
	fi
fi

if ((FUZZ_SECONDS > 0)); then
	say "fuzz smoke (libFuzzer, ${FUZZ_SECONDS}s per harness)"
	fuzz_smoke
fi


say "Debian package (tests/package/package-test.sh)"
script_phase "package (.deb)" "built, installed, verified, purged" \
	env JOBS="$JOBS" bash "$SRC_DIR/tests/package/package-test.sh"
if [[ "${SKIP_CROSS:-0}" != 1 ]]; then
	say "arm64 cross-build, unit tests under qemu (tests/cross/cross-test.sh)"
	script_phase "arm64 under qemu" "cross-built, unit tests, arm64 .deb" \
		env JOBS="$JOBS" bash "$SRC_DIR/tests/cross/cross-test.sh"
fi

summary
((TOTAL_FAILED == 0 && TOTAL_PASSED > 0))
