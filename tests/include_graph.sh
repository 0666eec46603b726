#!/usr/bin/env bash
# include_graph.sh - the include graph of a folder, and proof that it has
# no cycle (issue 12: the proxy's files called each other in a circle).
#
# First, each header declares only what its own file defines: every
# function (a prototype at column 0, not static) and every extern object
# of x.h is defined at column 0 in x.c, and a header without a .c (a types
# header) declares none.  Then an include is an arrow "uses what b.c
# offers" (or b's types), and an acyclic include graph is a call graph
# without a circle, but for calls through function pointers (callbacks).
#
# A node is a file name without its extension (x.c and x.h are one node: a
# file and the header that declares what it offers); an edge a -> b is an
# #include "b.h" in a.c or a.h, b.h being in the same folder.  -j a=b
# counts node a as part of node b (a file split out of another, whose
# header is private to the two).  tsort(1) orders the nodes, lowest first,
# or fails on a cycle.
#
# Usage: bash tests/include_graph.sh [-p] [-j a=b]... DIR
#   -p: also print the edges, "a -> b"
# Exit: 0 acyclic, 1 a cycle (tsort names it) or a stray declaration, 2 usage.
set -uo pipefail
shopt -s nullglob

PRINT=0
declare -A JOIN=()
while (($#)); do
	case $1 in
	-p) PRINT=1 ;;
	-j) [[ "${2:-}" == *=* ]] || { echo "$0: -j a=b" >&2; exit 2; }
		JOIN[${2%%=*}]=${2#*=}; shift ;;
	*) break ;;
	esac
	shift
done
DIR=${1:-}
[[ -d "$DIR" ]] || { echo "usage: $0 [-p] [-j a=b]... DIR" >&2; exit 2; }

node() { local n; n=$(basename "${1%.[ch]}"); echo "${JOIN[$n]:-$n}"; }

edges() {
	local f from inc to
	for f in "$DIR"/*.[ch]; do
		from=$(node "$f")
		echo "$from $from" # every node, even one without an edge
		while read -r inc; do
			[[ -n "$inc" && -f "$DIR/$inc.h" ]] || continue
			to=$(node "$inc.h")
			[[ "$to" != "$from" ]] && echo "$from $to"
		done < <(sed -n 's/^#include "\([^"]*\)\.h".*/\1/p' "$f")
	done | sort -u
}

# declared HEADER: the functions and extern objects it declares.
declared() {
	grep -v '^static\|^typedef' "$1" | sed -nE \
		-e 's/^[a-z][a-z0-9_ ]*[ *]+([a-z_][a-z0-9_]*)\(.*/\1/p' \
		-e 's/^extern [^;(]*[ *]([a-z_][a-z0-9_]*);.*/\1/p'
}

STRAY=0
for h in "$DIR"/*.h; do
	c=${h%.h}.c
	for name in $(declared "$h"); do
		if [[ ! -f "$c" ]] || ! grep -qE "^[a-z].*[ *]$name( =|\()" "$c"; then
			echo "include_graph: $h declares $name, which ${c##*/} does not define" >&2
			STRAY=1
		fi
	done
done
((STRAY)) && exit 1

E=$(edges)
((PRINT)) && awk '$1 != $2 { print $1 " -> " $2 }' <<<"$E"
# tsort wants "before after": reversed, the lowest layer comes first.
if ! ORDER=$(awk '{ print $2, $1 }' <<<"$E" | tsort 2>&1); then
	echo "include_graph: $DIR has a cycle:" >&2
	echo "$ORDER" >&2
	exit 1
fi
echo "include_graph: $DIR is acyclic; lowest first: $(paste -sd ' ' <<<"$ORDER")"
