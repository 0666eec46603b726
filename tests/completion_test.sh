#!/usr/bin/env bash
# completion_test.sh - the bash completion of andromedactl
# (deploy/bash-completion/andromedactl): commands, options, and the server
# names of drain/enable from a daemon (a fake andromedactl on PATH prints
# what `andromedactl servers` prints).
# Usage: bash tests/completion_test.sh [SRC_DIR]   (ctest: completion/andromedactl)
set -u
SRC_DIR=${1:-$(cd "$(dirname "$0")/.." && pwd)}
FAILED=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cat >"$TMP/andromedactl" <<'FAKE'
#!/bin/sh
echo "$*" >>"$(dirname "$0")/calls"
printf 'NAME  ADDRESS          SOURCE  STATE\nweb1  198.18.0.21:80   static  up\nweb2  198.18.0.22:80   static  up\napi   198.18.0.23:80   static  up\n'
FAKE
chmod +x "$TMP/andromedactl"
PATH=$TMP:$PATH
# shellcheck source=/dev/null
source "$SRC_DIR/deploy/bash-completion/andromedactl"

# expect "WORDS" "EXPECTED REPLIES": complete the last word of WORDS.
expect() {
	read -ra COMP_WORDS <<<"$1"
	[[ $1 == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	_andromedactl
	if [[ "${COMPREPLY[*]}" == "$2" ]]; then
		echo "ok   - '$1' -> '$2'"
	else
		echo "FAIL - '$1': expected '$2', got '${COMPREPLY[*]}'"
		FAILED=$((FAILED + 1))
	fi
}

expect "andromedactl st" "status"
expect "andromedactl d" "drain"
expect "andromedactl --j" "--json"
expect "andromedactl -s /tmp/x.sock se" "servers"
expect "andromedactl drain w" "web1 web2"
expect "andromedactl -s /tmp/x.sock enable " "web1 web2 api"
expect "andromedactl status -" "--json -v --verbose"
expect "andromedactl drain web1 " ""
expect "andromedactl w" "weight"
expect "andromedactl re" "remove"
expect "andromedactl a" "add"
expect "andromedactl weight a" "api"
expect "andromedactl remove web" "web1 web2"
expect "andromedactl weight web1 " ""
expect "andromedactl add " ""
if ! grep -q -- "-s /tmp/x.sock servers" "$TMP/calls"; then
	echo "FAIL - the socket given with -s is the one asked for the servers"
	FAILED=$((FAILED + 1))
fi
((FAILED == 0)) || exit 1
