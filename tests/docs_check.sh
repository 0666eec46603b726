#!/usr/bin/env bash
# docs_check.sh - the documentation names what the programs accept (issue 11
# item 14).  Fails (exit 1, one line per miss) when
#
#   * a key of deploy/examples/*.conf (also one commented out, "; key = v")
#     has no row "| `key` |" in its section of the reference page
#     (docs/configuration.md "## [section", or docs/agent.md for [agent])
#     or no entry ".B key" in its section of the man page
#     (andromeda.conf(5) ".SH [section", or andromeda-agent(8));
#   * an andromedactl command - from the usage text of
#     core/ctl/main_andromedactl.c ("Commands:") or from the daemon's command
#     table (control_register(..., "cmd", ...) in core/, ha/, netlink/) -
#     has no "### cmd" heading in docs/andromedactl.md or no ".B cmd"
#     entry under COMMANDS in andromedactl(1).
#
# Usage: bash tests/docs_check.sh [SRC_DIR]   (ctest: docs/docs_check)
set -uo pipefail

SRC_DIR=${1:-${SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}}
cd "$SRC_DIR" || exit 2
CONF_MD=docs/configuration.md
AGENT_MD=docs/agent.md
CTL_MD=docs/andromedactl.md
CONF_MAN=docs/man/andromeda.conf.5
AGENT_MAN=docs/man/andromeda-agent.8
CTL_MAN=docs/man/andromedactl.1
CTL_SRC=core/ctl/main_andromedactl.c
MISSING=0
CHECKED=0

miss() {
	printf 'docs_check: %s\n' "$*"
	MISSING=$((MISSING + 1))
}

for f in "$CONF_MD" "$AGENT_MD" "$CTL_MD" "$CONF_MAN" "$AGENT_MAN" "$CTL_MAN" "$CTL_SRC"; do
	[[ -f "$f" ]] || { echo "docs_check: $f is missing"; exit 1; }
done

# block FILE START_RE END_RE: the lines from the first match of START_RE up
# to (not including) the next line matching END_RE.
block() {
	awk -v s="$2" -v e="$3" 'on && $0 ~ e { exit } $0 ~ s { on = 1 } on' "$1"
}

# Quote a literal for an ERE (section names hold no other metacharacter).
re_quote() { sed 's/[].[]/\\&/g' <<<"$1"; }

# example_keys FILE: "SECTION KEY LINE" for every key, set or commented out
# (a section too: a line that is only "; [name]" or "; [name NAME]").
example_keys() {
	awk '
		/^[ \t]*\[/ || /^[ \t]*[;#][ \t]*\[[a-z]+( [A-Za-z0-9._-]+)?\][ \t]*$/ {
			s = $0; sub(/^[ \t]*[;#]?[ \t]*\[/, "", s); sub(/[] \t].*$/, "", s); next
		}
		match($0, /^[ \t]*[;#]?[ \t]*[a-z][a-z0-9_]*[ \t]*=/) {
			k = substr($0, RSTART, RLENGTH); gsub(/[;#= \t]/, "", k)
			if (s != "") print s, k, FNR
		}' "$1"
}

# Each section's part of its reference page and man page, read once.
declare -A MD_BLOCK=() MAN_BLOCK=()
load_section() {
	local sect=$1 sre
	[[ -n "${MD_BLOCK[$sect]+set}" ]] && return
	if [[ "$sect" == agent ]]; then
		MD_BLOCK[$sect]=$(cat "$AGENT_MD")
		MAN_BLOCK[$sect]=$(block "$AGENT_MAN" '^\.SH CONFIGURATION' '^\.SH ')
	else
		sre=$(re_quote "[$sect")
		MD_BLOCK[$sect]=$(block "$CONF_MD" "^## $sre" '^## ')
		MAN_BLOCK[$sect]=$(block "$CONF_MAN" "^\\.SH $sre" '^\.SH ')
	fi
}

# check_key EXAMPLE SECTION KEY LINE
check_key() {
	local ex=$1 sect=$2 key=$3 line=$4 md=$CONF_MD man=$CONF_MAN
	[[ "$sect" == agent ]] && md=$AGENT_MD man=$AGENT_MAN
	load_section "$sect"
	CHECKED=$((CHECKED + 1))
	[[ "${MD_BLOCK[$sect]}" == *"| \`$key\` |"* ]] ||
		miss "key '$key' of [$sect] ($ex:$line) has no row in $md"
	[[ $'\n'"${MAN_BLOCK[$sect]}"$'\n' == *$'\n'".B $key"$'\n'* ]] ||
		miss "key '$key' of [$sect] ($ex:$line) has no entry in $man"
}

declare -A SEEN=()
for ex in deploy/examples/*.conf; do
	while read -r sect key line; do
		[[ -n "${SEEN[$sect.$key]:-}" ]] && continue
		SEEN[$sect.$key]=1
		check_key "$ex" "$sect" "$key" "$line"
	done < <(example_keys "$ex")
done

# Commands: andromedactl's usage text and the daemon's command table.
usage_cmds() {
	awk '/"Commands:\\n"/ { on = 1; next } /"Options:\\n"/ { on = 0 }
		on && match($0, /^[ \t]*"  [a-z][a-z-]*/) { c = substr($0, RSTART, RLENGTH); sub(/^[ \t]*"  /, "", c); print c }' "$CTL_SRC"
}
table_cmds() {
	grep -ho 'control_register([^,]*, *"[a-z][a-z-]*"' core/*/*.c ha/*.c netlink/*.c 2>/dev/null |
		sed 's/.*"\([a-z-]*\)"$/\1/'
}
cmds=$( { usage_cmds; table_cmds; } | sort -u)
[[ -n "$cmds" ]] || miss "found no andromedactl command in $CTL_SRC or the control_register() calls"
ctl_man_cmds=$(block "$CTL_MAN" '^\.SH COMMANDS' '^\.SH ')
for c in $cmds; do
	CHECKED=$((CHECKED + 1))
	grep -qE "^### (.*[ /])?$c( |$)" "$CTL_MD" ||
		miss "andromedactl command '$c' has no '### $c' section in $CTL_MD"
	grep -qE "^\.B[IR]? \"?$c( |\"|$)" <<<"$ctl_man_cmds" ||
		miss "andromedactl command '$c' has no entry under COMMANDS in $CTL_MAN"
done

if ((MISSING > 0)); then
	echo "docs_check: $MISSING misses in $CHECKED keys and commands checked"
	exit 1
fi
echo "docs_check: $CHECKED keys and commands, each in docs/ and in its man page"
