#!/usr/bin/env bash
# install.sh - install andromeda on a balancer node: Debian 12 or Raspberry
# Pi OS (bookworm), on arm64, armhf or amd64.  As root, from a checkout:
#
#   sudo deploy/install.sh --interface eth0 --vip 192.168.1.10/24 --priority 150 \
#       --node-name lb1 --backend web1=192.168.1.21:80 --backend web2=192.168.1.22:80
#
# and on the second node the same with --priority 100 --node-name lb2
# --key FILE (the first node's /etc/andromeda/cluster.key, copied over).
#
#   1. checks the system (refuses anything but Debian / Raspberry Pi OS 12 or
#      later on arm64, armhf or amd64);
#   2. installs the package: builds andromeda_VERSION-REVISION_ARCH.deb from this
#      source tree (installing the build dependencies) or takes --deb FILE,
#      and installs it with apt (which pulls the run-time libraries).  The
#      same version already installed is kept unless --rebuild;
#   3. writes /etc/andromeda/andromeda.conf from the flags (or, on a
#      terminal, from a few questions), checked with "andromeda -t" before
#      it replaces anything.  A configuration already edited is never
#      overwritten without --force (the old one is kept as .bak.DATE);
#      the package's unedited example is replaced;
#   4. installs the cluster key: --key FILE copies it; otherwise the key the
#      package generated stays (copy it to the other nodes);
#   5. enables and (re)starts andromeda.service when systemd runs the system;
#      a restart only when the configuration or the key changed.
#
# Running it again with the same flags changes nothing.  docs/install.md
# explains every step by hand.
set -euo pipefail

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
CONF=/etc/andromeda/andromeda.conf
KEY=/etc/andromeda/cluster.key
OS_RELEASE=${OS_RELEASE:-/etc/os-release}   # tests point these elsewhere
SYSTEMD_DIR=${SYSTEMD_DIR:-/run/systemd/system}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build-deb}

usage() {
	cat <<'EOF'
usage: install.sh [OPTIONS]

Package:
  --deb FILE              install this andromeda_*.deb instead of building one
  --rebuild               build and reinstall even if this version is installed
Configuration (written to /etc/andromeda/andromeda.conf):
  --node-name NAME        this node's name (default: the host name)
  --interface IF          interface for VRRP and the VIP (default: the one of
                          the default route)
  --vip A.B.C.D/LEN       the virtual address; without it: a standalone
                          balancer on --listen, no [ha]
  --priority N            1..254, highest live node is MASTER (default 100)
  --vrid N                virtual router id, the same on every node (default 51)
  --peers A,B             unicast to these nodes instead of multicast
  --listen A.B.C.D:PORT   where clients connect (default VIP:80)
  --backend NAME=A.B.C.D:PORT
                          a web server (repeat for each); at least one
                          unless --registration
  --health-check PATH     HTTP health check path (default: TCP connect check)
  --registration          accept servers announced by andromeda-agent
  --force                 replace an existing, edited configuration
Key:
  --key FILE              the cluster key to use (the first node's); default:
                          keep the one the package generated
Other:
  --no-start              install and configure, do not enable or start
  -h, --help              this text
EOF
}

say() { printf '==> %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() {
	printf 'install.sh: %s\n' "$*" >&2
	exit 1
}

# ---- options ----
DEB= REBUILD=0 FORCE=0 NO_START=0 KEY_FROM= REGISTRATION=0
NODE_NAME= IFACE= VIP= PRIORITY= VRID= PEERS= LISTEN= HEALTH=
BACKENDS=()

parse_args() {
	while (($#)); do
		case "$1" in
		--deb | --node-name | --interface | --vip | --priority | --vrid | --peers | --listen | \
			--backend | --health-check | --key)
			(($# >= 2)) || die "$1 needs a value (--help)"
			case "$1" in
			--deb) DEB=$2 ;;
			--node-name) NODE_NAME=$2 ;;
			--interface) IFACE=$2 ;;
			--vip) VIP=$2 ;;
			--priority) PRIORITY=$2 ;;
			--vrid) VRID=$2 ;;
			--peers) PEERS=$2 ;;
			--listen) LISTEN=$2 ;;
			--backend) BACKENDS+=("$2") ;;
			--health-check) HEALTH=$2 ;;
			--key) KEY_FROM=$2 ;;
			esac
			shift 2
			;;
		--rebuild) REBUILD=1; shift ;;
		--force) FORCE=1; shift ;;
		--no-start) NO_START=1; shift ;;
		--registration) REGISTRATION=1; shift ;;
		-h | --help) usage; exit 0 ;;
		*) die "unknown option '$1' (--help)" ;;
		esac
	done
}

# ---- 1. the system ----
check_system() {
	local id like version arch
	[[ $EUID -eq 0 ]] || die "run as root: sudo $0 ..."
	[[ -r "$OS_RELEASE" ]] || die "unsupported system: no $OS_RELEASE (Debian or Raspberry Pi OS needed)"
	# shellcheck disable=SC1090
	id=$(. "$OS_RELEASE" && echo "${ID:-}") like=$(. "$OS_RELEASE" && echo "${ID_LIKE:-}")
	version=$(. "$OS_RELEASE" && echo "${VERSION_ID:-}")
	case "$id" in
	debian | raspbian) ;;
	*) die "unsupported system: '$id'${like:+ (like $like)}; this script supports Debian and Raspberry Pi OS only (docs/install.md: building by hand)" ;;
	esac
	[[ "$version" =~ ^[0-9]+$ ]] || die "unsupported $id release '${version:-testing/unstable}': Debian 12 (bookworm) or later is needed"
	((version >= 12)) || die "unsupported $id $version: Debian 12 (bookworm) or later is needed (libraries too old)"
	((version == 12)) || warn "$id $version: tested on 12 (bookworm) only"
	command -v dpkg >/dev/null && command -v apt-get >/dev/null || die "unsupported system: no dpkg/apt-get"
	arch=$(dpkg --print-architecture)
	case "$arch" in
	arm64 | armhf | amd64) ;;
	*) die "unsupported architecture '$arch': arm64, armhf or amd64 only" ;;
	esac
	ARCH=$arch
	say "system: $id $version, $arch"
}

installed_version() {
	{ dpkg-query -W -f='${Status} ${Version}' andromeda 2>/dev/null || true; } | sed -n 's/^install ok installed //p'
}

source_version() {
	sed -n 's/^project(andromeda VERSION \([0-9.]*\).*/\1/p' "$SRC_DIR/CMakeLists.txt"
}

# ---- 2. the package ----
build_deb() {
	[[ -f "$SRC_DIR/CMakeLists.txt" ]] || die "no source tree at $SRC_DIR: use --deb FILE"
	# The build dependencies (PKG_BUILD, PKG_DEB), named beside this script.
	source "$SRC_DIR/deploy/packages.sh"
	pkg_missing "${PKG_BUILD[@]}" "${PKG_DEB[@]}"
	if ((${#PKG_MISSING[@]})); then
		say "installing build dependencies: ${PKG_MISSING[*]}"
		pkg_install "${PKG_MISSING[@]}"
	fi
	say "building the package in $BUILD_DIR (a few minutes on a Raspberry Pi)"
	rm -f "$BUILD_DIR"/andromeda_*.deb
	# A user's build: a newer compiler's new warning must not stop it.
	cmake -S "$SRC_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
		-DANDROMEDA_WERROR=OFF >"$BUILD_DIR.log" 2>&1 ||
		{ tail -n 20 "$BUILD_DIR.log"; die "cmake failed (log: $BUILD_DIR.log)"; }
	make -C "$BUILD_DIR" -j"$(nproc)" >>"$BUILD_DIR.log" 2>&1 ||
		{ grep -E 'error' "$BUILD_DIR.log" | head -n 20; die "build failed (log: $BUILD_DIR.log)"; }
	(cd "$BUILD_DIR" && cpack -G DEB >>"$BUILD_DIR.log" 2>&1) ||
		{ tail -n 20 "$BUILD_DIR.log"; die "cpack failed (log: $BUILD_DIR.log)"; }
	DEB=$(ls "$BUILD_DIR"/andromeda_*_"$ARCH".deb 2>/dev/null | head -n1)
	[[ -f "$DEB" ]] || die "cpack made no andromeda_*_$ARCH.deb in $BUILD_DIR"
}

install_package() {
	local have want deb_arch
	have=$(installed_version)
	if [[ -n "$DEB" ]]; then
		[[ -f "$DEB" ]] || die "--deb $DEB: no such file"
		[[ "$(dpkg-deb -f "$DEB" Package 2>/dev/null)" == andromeda ]] || die "--deb $DEB: not an andromeda package"
		deb_arch=$(dpkg-deb -f "$DEB" Architecture)
		[[ "$deb_arch" == "$ARCH" ]] || die "--deb $DEB is for $deb_arch, this system is $ARCH"
		want=$(dpkg-deb -f "$DEB" Version)
	else
		want=$(source_version)
	fi
	if [[ -n "$have" && "${have%-*}" == "${want%-*}" && $REBUILD -eq 0 ]]; then # upstream versions
		say "andromeda $have already installed (--rebuild to reinstall)"
		return 0
	fi
	[[ -z "$DEB" ]] && build_deb
	say "installing $(basename "$DEB")"
	# apt resolves the run-time libraries from the package's Depends.
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall -o Dpkg::Options::=--force-confold \
		"$(realpath "$DEB")" >/dev/null || die "apt-get install $DEB failed"
	say "installed andromeda $(installed_version)"
}

# ---- 3. the configuration ----
ask() {   # ask VAR "question" DEFAULT: only on a terminal
	local var=$1 q=$2 def=${3:-} ans
	[[ -t 0 ]] || return 0
	read -r -p "$q${def:+ [$def]}: " ans || true
	printf -v "$var" '%s' "${ans:-$def}"
}

default_iface() { ip -4 route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}'; }

have_config_flags() {
	[[ -n "$VIP$IFACE$PRIORITY$VRID$PEERS$LISTEN$NODE_NAME$HEALTH" ]] || ((${#BACKENDS[@]} || REGISTRATION))
}

gather() {
	local b
	if ! have_config_flags; then
		[[ -t 0 ]] || return 1
		say "a few questions for $CONF (Enter keeps the default)"
		ask NODE_NAME "node name" "$(hostname -s)"
		ask VIP "virtual IP with prefix length (empty: standalone, no HA)" ""
		if [[ -n "$VIP" ]]; then
			ask IFACE "interface" "$(default_iface)"
			ask PRIORITY "priority (150 on the preferred node, 100 on the other)" 100
			ask PEERS "unicast peers, comma-separated (empty: multicast)" ""
		else
			ask LISTEN "listen address:port" "0.0.0.0:80"
		fi
		ask b "backends as name=addr:port, separated by blanks" ""
		read -r -a BACKENDS <<<"$b"
	fi
	NODE_NAME=${NODE_NAME:-$(hostname -s)}
	if [[ -n "$VIP" ]]; then
		IFACE=${IFACE:-$(default_iface)}
		[[ -n "$IFACE" ]] || die "--interface: no default route to guess it from"
		PRIORITY=${PRIORITY:-100}
		VRID=${VRID:-51}
		LISTEN=${LISTEN:-${VIP%/*}:80}
	else
		[[ -z "$IFACE$PRIORITY$VRID$PEERS" ]] || die "--interface, --priority, --vrid and --peers need --vip"
		LISTEN=${LISTEN:-0.0.0.0:80}
	fi
	((${#BACKENDS[@]} || REGISTRATION)) || die "no --backend NAME=ADDR:PORT (and no --registration): nothing to balance to"
	for b in "${BACKENDS[@]}"; do
		[[ "$b" =~ ^[A-Za-z0-9._-]+=[0-9.]+:[0-9]+$ ]] || die "--backend '$b': expected NAME=A.B.C.D:PORT"
	done
}

render_config() {
	local b
	printf '; %s - written by deploy/install.sh on %s.\n' "$CONF" "$(date -u +%Y-%m-%d)"
	printf '; Reference: man andromeda.conf, /usr/share/doc/andromeda/configuration.md.\n'
	printf '; Check after editing: andromeda -t -c %s; apply: systemctl reload andromeda\n\n' "$CONF"
	printf '[node]\nname = %s\n\n' "$NODE_NAME"
	printf '[frontend]\nlisten = %s\nmode = http\n\n' "$LISTEN"
	printf '[backend]\n'
	[[ -n "$HEALTH" ]] && printf 'health_check = %s\n' "$HEALTH"
	printf 'health_interval = 1s\n\n'
	for b in "${BACKENDS[@]}"; do
		printf '[server %s]\naddress = %s\n\n' "${b%%=*}" "${b#*=}"
	done
	if [[ -n "$VIP" ]]; then
		printf '[ha]\ninterface = %s\nvrid = %s\npriority = %s\nadvert_interval = 100ms\n' \
			"$IFACE" "$VRID" "$PRIORITY"
		printf 'vip = %s\nkey_file = %s\n' "$VIP" "$KEY"
		[[ -n "$PEERS" ]] && printf 'peers = %s\n' "$PEERS"
		printf '\n'
	fi
	if ((REGISTRATION)); then
		printf '[registration]\nenabled = yes\n'
		[[ -z "$VIP" ]] && printf 'key_file = %s\n' "$KEY"
		printf '\n'
	fi
}

# The package's example, unedited (dpkg's md5 of the conffile): a
# placeholder that may be replaced.
is_packaged_example() {
	local sum
	sum=$({ dpkg-query -W -f='${Conffiles}\n' andromeda 2>/dev/null || true; } | awk -v f="$CONF" '$1 == f {print $2}')
	[[ -n "$sum" && "$(md5sum <"$CONF" | cut -d' ' -f1)" == "$sum" ]]
}

CONF_CHANGED=0
HAVE_CONFIG=0
write_config() {
	local tmp out
	if ((!HAVE_CONFIG)); then
		if [[ -f "$CONF" ]] && ! is_packaged_example; then
			say "$CONF exists; no configuration flags given: kept"
			return 0
		fi
		warn "$CONF is the package's example (placeholder addresses): give --vip/--interface/--backend ... or edit it"
		NO_START=1
		return 0
	fi
	tmp=$(mktemp /etc/andromeda/.andromeda.conf.XXXXXX)
	render_config >"$tmp"
	chmod 0644 "$tmp"
	if ! out=$(andromeda -t -c "$tmp" 2>&1); then
		rm -f "$tmp"
		die "the configuration from these flags is invalid: ${out//$tmp/andromeda.conf}"
	fi
	if [[ -f "$CONF" ]] && cmp -s <(grep -v '^; .* - written by deploy/install.sh on ' "$tmp") \
		<(grep -v '^; .* - written by deploy/install.sh on ' "$CONF"); then
		rm -f "$tmp"
		say "$CONF already says this: unchanged"
		return 0
	fi
	if [[ -f "$CONF" ]] && ! is_packaged_example; then
		if ((!FORCE)); then
			rm -f "$tmp"
			say "$CONF exists and was edited: kept (--force replaces it; the new one would be:)"
			render_config | sed 's/^/    /'
			return 0
		fi
		cp -p "$CONF" "$CONF.bak.$(date +%Y%m%d-%H%M%S)"
		say "old configuration saved as $CONF.bak.*"
	fi
	mv "$tmp" "$CONF"
	CONF_CHANGED=1
	say "wrote $CONF"
}

# ---- 4. the key ----
KEY_CHANGED=0
valid_key() { [[ "$(tr -d '[:space:]' <"$1")" =~ ^([0-9a-fA-F]{2}){32,64}$ ]]; }

# Before anything is changed.
check_key_arg() {
	[[ -z "$KEY_FROM" ]] && return 0
	[[ -f "$KEY_FROM" ]] || die "--key $KEY_FROM: no such file"
	valid_key "$KEY_FROM" || die "--key $KEY_FROM: not a cluster key (64..128 hex digits; andromeda --gen-key FILE makes one)"
}

install_key() {
	if [[ -n "$KEY_FROM" ]]; then
		if [[ -f "$KEY" ]] && cmp -s "$KEY_FROM" "$KEY"; then
			say "cluster key already installed"
		else
			install -o andromeda -g andromeda -m 0600 "$KEY_FROM" "$KEY"
			KEY_CHANGED=1
			say "installed the cluster key from $KEY_FROM"
		fi
	elif [[ ! -f "$KEY" ]]; then
		andromeda --gen-key "$KEY" >/dev/null
		KEY_CHANGED=1
		say "generated a new cluster key $KEY"
	else
		say "cluster key: keeping $KEY"
	fi
	# The daemons run as andromeda and refuse a key others can read.
	chown andromeda:andromeda "$KEY"
	chmod 0600 "$KEY"
	if [[ -z "$KEY_FROM" && -n "$VIP" ]]; then
		say "every node and agent needs this same key: copy $KEY to the other nodes and run install.sh there with --key FILE"
	fi
}

# ---- 5. the service ----
start_service() {
	if ((NO_START)); then
		say "not enabling or starting andromeda (--no-start or no configuration)"
		return 0
	fi
	if [[ ! -d "$SYSTEMD_DIR" ]]; then
		say "systemd is not running as PID 1 here (container or chroot?): not starting andromeda."
		say "start it by hand: andromeda -c $CONF   (or on the real system: systemctl enable --now andromeda)"
		return 0
	fi
	systemctl enable --quiet andromeda.service
	if systemctl is-active --quiet andromeda.service; then
		if ((CONF_CHANGED || KEY_CHANGED)); then
			say "restarting andromeda (configuration or key changed)"
			systemctl restart andromeda.service || true
		else
			say "andromeda is running; nothing changed"
		fi
	else
		say "starting andromeda"
		systemctl reset-failed andromeda.service 2>/dev/null || true
		systemctl start andromeda.service || true
	fi
	if systemctl is-active --quiet andromeda.service; then
		say "andromeda is $(systemctl show -p StatusText --value andromeda.service)"
		say "check: andromedactl status; ip -4 addr show${IFACE:+ dev $IFACE}; journalctl -u andromeda"
	else
		journalctl -u andromeda.service -n 20 --no-pager 2>/dev/null || true
		die "andromeda did not start (journalctl -u andromeda)"
	fi
}

main() {
	parse_args "$@"
	check_system
	check_key_arg
	# Questions and flag errors before anything is installed.
	if gather; then HAVE_CONFIG=1; fi
	install_package
	write_config
	install_key
	start_service
	say "done"
}

main "$@"
