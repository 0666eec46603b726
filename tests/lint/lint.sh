#!/usr/bin/env bash
# lint.sh - static analysis (docs/static-analysis.md): cppcheck and
# clang-tidy over core/ ha/ netlink/ and tests/tools/, and clang-format
# (.clang-format) over every C file in the tree.
#
#   bash tests/lint/lint.sh [BUILD_DIR]
#
# BUILD_DIR (default build/) provides compile_commands.json, which CMake
# exports; the directory is configured (not built) when it has none.  The
# checks live in .clang-tidy (root; tests/tools/.clang-tidy relaxes one),
# tests/lint/cppcheck/suppressions.txt and tests/lint/cppcheck/andromeda.cfg.
# Exits 0 when both tools report nothing, 1 on any finding, 2 when a tool
# is missing or cannot run.  Full outputs stay in BUILD_DIR/lint/.
#
# Environment: JOBS (parallel jobs, default nproc), LINT_TOOLS (default
# "clang-format cppcheck clang-tidy": run a subset), CLANG_TIDY (default
# clang-tidy-14), CLANG_FORMAT (default clang-format-14).
set -uo pipefail

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$SRC_DIR" || exit 2
BUILD_DIR=${1:-build}
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$SRC_DIR/$BUILD_DIR"
JOBS=${JOBS:-$(nproc)}
LINT_TOOLS=${LINT_TOOLS:-clang-format cppcheck clang-tidy}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy-14}
CLANG_FORMAT=${CLANG_FORMAT:-clang-format-14}
OUT="$BUILD_DIR/lint"
DIRS=(core/lib core/pool core/proxy core/daemon core/agent core/ctl ha netlink tests/tools)
FAILED=0

say() { printf '\n=== %s\n' "$*"; }

need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "lint.sh: $1 not found (apt-get install $2)" >&2
	exit 2
}

compile_db() {
	[[ -f "$BUILD_DIR/compile_commands.json" ]] && return 0
	echo "no $BUILD_DIR/compile_commands.json: configuring $BUILD_DIR"
	mkdir -p "$BUILD_DIR"
	cmake -S "$SRC_DIR" -B "$BUILD_DIR" >"$OUT/configure.log" 2>&1 ||
		{ tail -n 20 "$OUT/configure.log"; exit 2; }
}

# Every source of ours, relative to SRC_DIR; each must be in the database
# (a file added since the last cmake run is reported, not skipped).
sources() {
	local d f
	for d in "${DIRS[@]}"; do
		for f in "$d"/*.c; do
			[[ -e "$f" ]] && echo "$f"
		done
	done
}

# Every C file of the tree is formatted as .clang-format says; the fix is
# `clang-format-14 -i FILE` (docs/static-analysis.md).
run_clang_format() {
	local files n log="$OUT/clang-format.log"
	say "clang-format ($("$CLANG_FORMAT" --version | grep -o 'version [0-9.]*'))"
	mapfile -t files < <(git -C "$SRC_DIR" ls-files '*.c' '*.h' 2>/dev/null ||
		find core ha netlink tests -name '*.[ch]')
	"$CLANG_FORMAT" --dry-run --Werror "${files[@]}" >"$log" 2>&1
	n=$(grep -c ': error: code should be clang-formatted' "$log")
	grep ': error: code should be clang-formatted' "$log" | cut -d: -f1 | sort | uniq -c |
		awk '{ printf "%s: %d place(s) not formatted\n", $2, $1 }'
	if ((n > 0)); then
		echo "clang-format: $n place(s) not formatted (clang-format-14 -i FILE fixes them; full output in $log)"
		FAILED=1
	else
		echo "clang-format: ${#files[@]} files formatted"
	fi
}

run_cppcheck() {
	local log="$OUT/cppcheck.log" n filters=() d t0=$SECONDS
	for d in "${DIRS[@]}"; do
		filters+=("--file-filter=$SRC_DIR/$d/*")
	done
	say "cppcheck ($(cppcheck --version))"
	mkdir -p "$OUT/cppcheck-build"
	# gnu.cfg is not loaded: it marks accept4's addrlen not-null, which a
	# later library file cannot lift (see andromeda.cfg).
	cppcheck --project="$BUILD_DIR/compile_commands.json" "${filters[@]}" \
		--enable=warning,style,performance,portability --std=c11 \
		--library=posix,libcurl,openssl --library="$SRC_DIR/tests/lint/cppcheck/andromeda.cfg" \
		--suppressions-list="$SRC_DIR/tests/lint/cppcheck/suppressions.txt" --inline-suppr \
		--cppcheck-build-dir="$OUT/cppcheck-build" -j"$JOBS" -q \
		--template='{file}:{line}:{column}: {severity}: {message} [{id}]' 2>"$log"
	local rc=$?
	n=$(grep -c ': \(error\|warning\|style\|performance\|portability\|information\): ' "$log")
	cat "$log"
	if ((rc != 0 || n > 0)); then
		echo "cppcheck: $n finding(s) (exit $rc) in $((SECONDS - t0)) s"
		FAILED=1
	else
		echo "cppcheck: clean in $((SECONDS - t0)) s"
	fi
}

run_clang_tidy() {
	local files f missing=0 bad n t0=$SECONDS
	say "clang-tidy ($("$CLANG_TIDY" --version | grep -o 'version [0-9.]*'))"
	mapfile -t files < <(sources)
	for f in "${files[@]}"; do
		grep -q "\"file\": \"$SRC_DIR/$f\"" "$BUILD_DIR/compile_commands.json" && continue
		echo "$f: not in $BUILD_DIR/compile_commands.json (re-run cmake)"
		missing=1
	done
	rm -rf "$OUT/tidy"
	mkdir -p "$OUT/tidy"
	# One process per file, JOBS at a time; each writes its own log and
	# exit status.  WarningsAsErrors in .clang-tidy makes any finding an
	# error exit; -Wno-unknown-warning-option keeps gcc-only flags in the
	# database from stopping clang.
	printf '%s\n' "${files[@]}" | xargs -P "$JOBS" -I{} sh -c '
		log="$2/$(echo "$1" | tr / _).log"
		"$3" -p "$4" --quiet --extra-arg=-Wno-unknown-warning-option "$1" >"$log" 2>&1
		echo $? >"$log.rc"' _ {} "$OUT/tidy" "$CLANG_TIDY" "$BUILD_DIR"
	bad=$(grep -L '^0$' "$OUT"/tidy/*.rc 2>/dev/null | wc -l)
	# A header's finding shows up once per file that includes it: unique.
	cat "$OUT"/tidy/*.log | grep -E '^[^ ].*:[0-9]+:[0-9]+: (warning|error): ' | sort -u >"$OUT/clang-tidy.txt"
	n=$(wc -l <"$OUT/clang-tidy.txt")
	cat "$OUT/clang-tidy.txt"
	if ((bad > 0 || n > 0 || missing)); then
		echo "clang-tidy: $n finding(s), $bad of ${#files[@]} file(s) failed in $((SECONDS - t0)) s;" \
			"analyzer paths in $OUT/tidy/"
		FAILED=1
	else
		echo "clang-tidy: ${#files[@]} files clean in $((SECONDS - t0)) s"
	fi
}

mkdir -p "$OUT"
compile_db
for tool in $LINT_TOOLS; do
	case $tool in
	clang-format) need "$CLANG_FORMAT" clang-format-14; run_clang_format ;;
	cppcheck) need cppcheck cppcheck; run_cppcheck ;;
	clang-tidy) need "$CLANG_TIDY" clang-tidy; run_clang_tidy ;;
	*) echo "lint.sh: unknown tool $tool" >&2; exit 2 ;;
	esac
done
((FAILED == 0)) && echo "lint: clean" || echo "lint: FAILED"
exit "$FAILED"
