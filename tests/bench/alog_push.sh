#!/usr/bin/env bash
# alog_push.sh - what queueing an access-log record costs the proxy thread
# and the writer, counted by callgrind's cache model (instructions and
# cache misses per request: figures that the machine's load does not move),
# for this tree and, with REV, for core/proxy/alog.c of an earlier commit
# in the same run.  The caches modelled are a Raspberry Pi 4's (Cortex-A72:
# 32 KiB 2-way L1 data cache, 1 MiB 16-way L2 shared by the four cores) so
# that a buffer outgrowing them shows; tests/tools/alog_push.c is the load.
#
#   bash tests/bench/alog_push.sh
#   REV=6388f06 bash tests/bench/alog_push.sh     # before/after
#
# Environment: REV, REQUESTS (100000), WS (the thread's own working set,
# KiB: 512), BUILD_DIR (build/).
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$SRC/build}
REQUESTS=${REQUESTS:-100000}
WS=${WS:-512}
DIR=$(mktemp -d /tmp/andromeda-alog-push.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
die() { printf 'alog_push: %s\n' "$*" >&2; exit 1; }

[[ -x $BUILD_DIR/tests/alog_push ]] || die "build $BUILD_DIR first (target alog_push)"
command -v valgrind >/dev/null || die "needs valgrind"
command -v callgrind_annotate >/dev/null || die "needs callgrind_annotate (valgrind)"
declare -A BIN=([now]=$BUILD_DIR/tests/alog_push)
TARGETS=(now)
if [[ -n ${REV:-} ]]; then
	# The tool once more, with REV's alog.c and alog_journal.c instead of
	# the library's (they define every alog_ symbol the tool takes).
	for f in alog.c alog.h alog_journal.c alog_journal.h; do
		git -C "$SRC" show "$REV:core/proxy/$f" >"$DIR/$f" || die "no core/proxy/$f at $REV"
	done
	cc -O2 -D_GNU_SOURCE -I"$DIR" -I"$SRC/core/lib" -o "$DIR/alog_push.$REV" \
		"$SRC/tests/tools/alog_push.c" "$DIR/alog.c" "$DIR/alog_journal.c" \
		"$BUILD_DIR/core/lib/libandromeda_lib.a" -lsystemd -lpthread || die "cannot build $REV's"
	BIN[$REV]=$DIR/alog_push.$REV
	TARGETS+=("$REV")
fi

printf '\n### alog_push: %s requests, a working set of %s KiB, callgrind (L1d 32 KiB 2-way, L2 1 MiB 16-way), per request\n\n' "$REQUESTS" "$WS"
printf '| alog.c | part | instructions | L1 misses (read, write) | L2 misses (read, write) |\n|---|---|---:|---:|---:|\n'
for t in "${TARGETS[@]}"; do
	out=$DIR/cg.$t.out
	valgrind --tool=callgrind --cache-sim=yes --D1=32768,2,64 --LL=1048576,16,64 \
		--callgrind-out-file="$out" -q "${BIN[$t]}" "$REQUESTS" "$WS" 1 >/dev/null 2>&1 ||
		die "$t: callgrind failed"
	# Inclusive costs: the whole program, the push (proxy thread) and the
	# writer thread; events Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw.
	callgrind_annotate --inclusive=yes "$out" 2>/dev/null | awk -v t="$t" -v n="$REQUESTS" '
		function row(part,   l) {
			l = $0
			gsub(/\([^)]*\)/, "", l) # the percentages
			gsub(",", "", l)
			split(l, v, " ")
			printf "| %s | %s | %.0f | %.2f, %.2f | %.2f, %.2f |\n", t, part, v[1] / n, v[5] / n, v[6] / n, v[8] / n, v[9] / n
		}
		/PROGRAM TOTALS/ { row("all") }
		/:alog_push / { row("alog_push (proxy thread)") }
		/:writer_main / { row("writer thread") }'
done
