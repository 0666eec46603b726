# lab_ip6.sh - IPv6 on the test lab (tests/lib/lab.sh).  Source it after
# lab.sh.  The lab's IPv6 addresses are inside 2001:db8:18::/48 only
# (SPEC "Test lab rules"), added with nodad so they are usable at once.
#
#   lab_host6 NAME 2001:db8:18::21/64   an IPv6 address on host NAME's eth0

# Is "2001:db8:18:...[/len]" inside 2001:db8:18::/48?  Written out in full
# up to the third group (no "::" before it), prefix 48..128.
lab_addr6_ok() {
	local re='^2001:(0)?db8:(00)?18(:[0-9a-f]{0,4}){1,5}(/([0-9]{2,3}))?$'
	[[ "${1,,}" =~ $re ]] || return 1
	[[ -z "${BASH_REMATCH[5]}" ]] || ((BASH_REMATCH[5] >= 48 && BASH_REMATCH[5] <= 128))
}

# lab_host6 NAME ADDR/PREFIX: an IPv6 address on NAME's eth0, without DAD
# (a lab's addresses are unique by construction); DAD off for the link
# too, so the link-local address is not left tentative.
lab_host6() {
	local ns
	lab_addr6_ok "$2" || { lab_log "refusing IPv6 address '$2': only 2001:db8:18::/48"; return 1; }
	ns=$(lab_ns "$1")
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 \
		net.ipv6.conf.eth0.dad_transmits=0 net.ipv6.conf.all.disable_ipv6=0 \
		net.ipv6.conf.eth0.disable_ipv6=0 || return 1
	ip -n "$ns" -6 addr add "$2" dev eth0 nodad || return 1
}

# lab_ll6 NAME: host NAME's link-local address on eth0 once it is usable.
lab_ll6() {
	ip -n "$(lab_ns "$1")" -6 -o addr show dev eth0 scope link -tentative |
		awk '{sub(/\/.*/, "", $4); print $4; exit}'
}
