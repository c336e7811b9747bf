#!/usr/bin/env bash
# install.sh: install (or upgrade, or uninstall) Hearth as a service.
#
# Linux: a systemd service running as the dedicated user "hearth", data in
# /var/lib/hearth. macOS: a launchd daemon running as "_hearth", data in
# /usr/local/var/hearth. Safe to run again: an upgrade replaces the binary and
# the service definition, restarts the service, and never touches the data.
#
# Written for bash 3.2 too (macOS's /bin/bash): no associative arrays, no
# bare expansion of possibly empty arrays under set -u.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: sudo ./install.sh [options]

Installs Hearth as a service: systemd on Linux, launchd on macOS. Run it again
to upgrade in place: the binary and service are replaced, the data is kept.

Options:
  --addr HOST:PORT   address to serve on (default 0.0.0.0:8080, the whole office
                     network). A port below 1024 is allowed through the single
                     capability CAP_NET_BIND_SERVICE.
  --domain NAME      HTTPS by itself: Hearth gets and renews the certificate for
                     NAME (like portal.maple-clinic.com) from Let's Encrypt,
                     serves HTTPS on port 443 (or --addr) and plain HTTP on
                     port 80 only to prove NAME and to redirect to HTTPS. The
                     router must forward ports 80 and 443 to this computer.
                     Both ports are allowed through CAP_NET_BIND_SERVICE.
  --binary FILE      install this prebuilt hearth binary instead of building it
                     (building needs Go and this script's source folder)
  --backup-dir DIR   let the service write scheduled backups to DIR (absolute
                     path; repeatable). Choose the same folder in Settings.
  --prefix DIR       install under DIR instead of / (packaging, tests): no user
                     is created, nothing is chowned, no service is started
  --dry-run          print every action, change nothing
  --uninstall        stop and remove the service and the binary; keep the data
  -h, --help         show this help

Must be run as root, except with --prefix or --dry-run.
EOF
}

die() {
	printf 'install.sh: error: %s\n' "$*" >&2
	exit 1
}

usage_error() {
	printf 'install.sh: %s\n\n' "$*" >&2
	usage >&2
	exit 2
}

say() { printf '%s\n' "$*"; }

# run prints a command and, unless --dry-run, runs it.
run() {
	local q
	q=$(printf '%q ' "$@")
	if ((DRY_RUN)); then
		say "[dry-run] ${q% }"
	else
		say "  + ${q% }"
		"$@"
	fi
}

# write_file DEST MODE: writes standard input to DEST atomically (temporary
# file in the same folder, then rename). With --dry-run, prints it instead.
write_file() {
	local dest=$1 mode=$2 content tmp
	content=$(cat)
	if ((DRY_RUN)); then
		say "[dry-run] write $dest (mode $mode):"
		printf '%s\n' "$content" | sed 's/^/    | /'
		return
	fi
	say "  + write $dest (mode $mode)"
	tmp="$(dirname "$dest")/.$(basename "$dest").new.$$"
	TMP_FILES="$TMP_FILES $tmp"
	printf '%s\n' "$content" >"$tmp"
	chmod "$mode" "$tmp"
	mv -f "$tmp" "$dest"
}

# install_binary SRC DEST: copies to a temporary name beside DEST, then
# renames over it, so a running service never sees a half-written file.
install_binary() {
	local src=$1 dest=$2 dir tmp
	dir=$(dirname "$dest")
	[[ -d $dir ]] || run install -d -m 0755 "$dir"
	tmp="$dir/.hearth.new.$$"
	TMP_FILES="$TMP_FILES $tmp"
	run install -m 0755 "$src" "$tmp"
	run mv -f "$tmp" "$dest"
}

# make_private_dir DIR OWNER: creates DIR (mode 0700, owned by OWNER unless
# staging) or, if it exists, fixes the mode and owner of the folder itself.
# Its contents are never touched.
make_private_dir() {
	local dir=$1 owner=$2
	if [[ -d $dir ]]; then
		run chmod 0700 "$dir"
		((STAGING)) || run chown "$owner:$owner" "$dir"
	elif ((STAGING)); then
		run install -d -m 0700 "$dir"
	else
		run install -d -m 0700 -o "$owner" -g "$owner" "$dir"
	fi
}

cleanup() {
	local f
	for f in $TMP_FILES; do
		rm -f "$f"
	done
	if [[ -n $BUILD_DIR ]]; then
		rm -rf "$BUILD_DIR"
	fi
}

# ---------------------------------------------------------------- options

ADDR=0.0.0.0:8080
ADDR_SET=0
DOMAIN=""
BINARY=""
BACKUP_DIRS=()
PREFIX=""
STAGING=0
DRY_RUN=0
UNINSTALL=0
BUILD_DIR=""
TMP_FILES=""
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# HEARTH_INSTALL_OS overrides uname, so the macOS branch can be exercised
# with --dry-run or --prefix on Linux.
OS=${HEARTH_INSTALL_OS:-$(uname -s)}

need_value() {
	[[ $# -ge 2 && -n $2 ]] || usage_error "option $1 needs a value"
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--addr | --binary | --backup-dir | --prefix | --domain)
		need_value "$@"
		case $1 in
		--addr) ADDR=$2 ADDR_SET=1 ;;
		--domain) DOMAIN=$2 ;;
		--binary) BINARY=$2 ;;
		--backup-dir) BACKUP_DIRS+=("$2") ;;
		--prefix) PREFIX=$2 STAGING=1 ;;
		esac
		shift 2
		;;
	--addr=* | --binary=* | --backup-dir=* | --prefix=* | --domain=*)
		set -- "${1%%=*}" "${1#*=}" "${@:2}"
		;;
	--dry-run) DRY_RUN=1 && shift ;;
	--uninstall) UNINSTALL=1 && shift ;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown option: $1" ;;
	esac
done

if [[ -n $DOMAIN ]]; then
	# The same rule as hearth serve --domain: one internet name, no IP
	# address, port, wildcard or web address.
	DOMAIN=$(printf '%s' "${DOMAIN%.}" | tr 'A-Z' 'a-z')
	[[ $DOMAIN =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ ]] ||
		usage_error "--domain must be one internet name like portal.maple-clinic.com: no https://, port, IP address or * (got '$DOMAIN')"
	((ADDR_SET)) || ADDR=0.0.0.0:443
fi

[[ $ADDR =~ ^([][A-Za-z0-9.:_-]*):([0-9]+)$ ]] ||
	usage_error "--addr must be HOST:PORT, for example 0.0.0.0:8080 (got '$ADDR')"
PORT=$((10#${BASH_REMATCH[2]}))
((PORT >= 1 && PORT <= 65535)) || usage_error "--addr: port $PORT is out of range"

for dir in ${BACKUP_DIRS[@]+"${BACKUP_DIRS[@]}"}; do
	[[ $dir == /* ]] || usage_error "--backup-dir must be an absolute path (got '$dir')"
	[[ $dir != *[[:space:]\"\'\\]* ]] || usage_error "--backup-dir: choose a folder without spaces or quotes (got '$dir')"
	case $dir/ in
	/home/* | /root/* | /run/user/* | /tmp/* | /var/tmp/*)
		usage_error "--backup-dir $dir: the service cannot write under /home, /root, /tmp or /var/tmp (it is sandboxed); use e.g. /var/backups/hearth or a mounted drive under /mnt or /media"
		;;
	esac
done

if [[ -n $PREFIX ]]; then
	[[ $PREFIX == /* ]] || PREFIX=$PWD/$PREFIX
	while [[ $PREFIX == */ ]]; do PREFIX=${PREFIX%/}; done
fi

if ((!STAGING && !DRY_RUN && EUID != 0)); then
	die "this must be run as root (for example: sudo $0 ...), or with --dry-run to only see what it would do, or with --prefix DIR to stage files"
fi

trap cleanup EXIT

# ------------------------------------------------------------ the binary

# get_binary sets BINARY: the one given, or a fresh build of this folder.
get_binary() {
	if [[ -z $BINARY ]]; then
		[[ -f $SCRIPT_DIR/go.mod && -f $SCRIPT_DIR/main.go ]] ||
			die "no --binary FILE given and $SCRIPT_DIR is not Hearth's source folder to build from"
		if ! command -v go >/dev/null 2>&1; then
			die "Go is not installed (or not on this user's PATH; sudo often hides it).
  Either install Go from https://go.dev/dl/ and run me again,
  or build first as yourself:   go build -trimpath -o hearth .
  and then install that:        sudo ./install.sh --binary ./hearth"
		fi
		if ((DRY_RUN)); then
			say "[dry-run] build: go -C $(printf '%q' "$SCRIPT_DIR") build -trimpath -o TMPDIR/hearth ."
			BINARY=TMPDIR/hearth
			return
		fi
		BUILD_DIR=$(mktemp -d)
		BINARY=$BUILD_DIR/hearth
		say "Building Hearth from $SCRIPT_DIR ..."
		run go -C "$SCRIPT_DIR" build -trimpath -o "$BINARY" . || die "go build failed (see above)"
	fi
	[[ -f $BINARY ]] || die "--binary $BINARY: no such file"
	[[ $BINARY == /* ]] || BINARY=$PWD/$BINARY
	local v
	v=$("$BINARY" version 2>/dev/null) || v=""
	[[ $v == "hearth "* ]] ||
		die "$BINARY does not run as Hearth here ('$BINARY version' failed: wrong file, or built for another system?)"
	say "Installing $v"
}

# --------------------------------------------------------------- systemd

SYSTEMD_UNIT=/etc/systemd/system/hearth.service
LINUX_BIN=/usr/local/bin/hearth
LINUX_DATA=/var/lib/hearth

systemd_unit() {
	local rw="$LINUX_DATA" caps="CapabilityBoundingSet=" dir
	for dir in ${BACKUP_DIRS[@]+"${BACKUP_DIRS[@]}"}; do
		# "-": a backup drive that is not plugged in must not stop Hearth.
		rw="$rw -$dir"
	done
	# With a domain, plain HTTP listens on port 80 as well.
	if ((PORT < 1024)) || [[ -n $DOMAIN ]]; then
		caps="AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE"
	fi
	cat <<EOF
# Written by Hearth's install.sh; running it again rewrites this file.
[Unit]
Description=Hearth patient messaging
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=hearth
Group=hearth
Environment=HEARTH_DATA=$LINUX_DATA
Environment=HEARTH_ADDR=$ADDR${DOMAIN:+
Environment=HEARTH_DOMAIN=$DOMAIN}
# A clinic group's database (HEARTH_STORE=postgres://...) goes in this
# optional file, readable by root only: it holds the database password.
EnvironmentFile=-/etc/hearth/hearth.env
ExecStart=$LINUX_BIN serve
Restart=on-failure
RestartSec=5
TimeoutStopSec=30
UMask=0077
LimitCORE=0

# Sandbox: Hearth only needs its data folder, the network and its own files.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=$rw
PrivateTmp=yes
ProtectHome=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RestrictNamespaces=yes
SystemCallArchitectures=native
# AF_NETLINK: listing the computer's own addresses, to accept them in the
# browser's address bar (everything else is refused against DNS rebinding).
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
$caps

[Install]
WantedBy=multi-user.target
EOF
}

ensure_linux_user() {
	if id -u hearth >/dev/null 2>&1; then
		return
	fi
	local shell=/usr/sbin/nologin group=(--user-group)
	[[ -x $shell ]] || shell=/sbin/nologin
	[[ -x $shell ]] || shell=/bin/false
	if getent group hearth >/dev/null 2>&1; then
		group=(--gid hearth)
	fi
	run useradd --system --home "$LINUX_DATA" --no-create-home --shell "$shell" "${group[@]}" hearth
}

# journal_says_serving SINCE: has the service logged that it is serving
# since the epoch second SINCE?
journal_says_serving() {
	command -v journalctl >/dev/null 2>&1 &&
		journalctl -u hearth --since "@$1" -o cat --no-pager 2>/dev/null | grep -q 'hearth is serving'
}

linux_install() {
	local bin=$PREFIX$LINUX_BIN unit=$PREFIX$SYSTEMD_UNIT data=$PREFIX$LINUX_DATA
	local upgrade=0 dir
	[[ -e $bin || -e $unit ]] && upgrade=1

	if ((!STAGING && !DRY_RUN)); then
		if ! command -v systemctl >/dev/null 2>&1 || [[ ! -d /run/systemd/system ]]; then
			die "systemd is not running here: this installer sets Hearth up as a systemd service.
  Without systemd, run '$LINUX_BIN serve --data DIR' under your own supervisor."
		fi
	fi
	get_binary
	if ((upgrade)); then
		say "Hearth is already installed: upgrading in place (the data folder is kept as it is)."
	fi
	if ((STAGING)); then
		say "--prefix $PREFIX: installing under it only; skipping user creation, chown and systemctl."
	else
		ensure_linux_user
	fi

	install_binary "$BINARY" "$bin"
	make_private_dir "$data" hearth
	for dir in ${BACKUP_DIRS[@]+"${BACKUP_DIRS[@]}"}; do
		if [[ ! -d $PREFIX$dir ]]; then
			make_private_dir "$PREFIX$dir" hearth
		elif ((!STAGING && !DRY_RUN)) && command -v runuser >/dev/null 2>&1 &&
			! runuser -u hearth -- test -w "$dir"; then
			say "WARNING: the hearth user cannot write to $dir: backups there will fail until you fix that (for example: chown hearth:hearth $dir)."
		fi
	done
	[[ -d $(dirname "$unit") ]] || run install -d -m 0755 "$(dirname "$unit")"
	systemd_unit | write_file "$unit" 0644

	if ((STAGING)); then
		say "Staged under $PREFIX: not starting anything."
		summary_linux
		return
	fi

	local marker since restarts now
	if ((DRY_RUN)); then
		marker=/dev/null
	else
		marker=$(mktemp)
		TMP_FILES="$TMP_FILES $marker"
	fi
	since=$(date +%s)
	# Automatic restarts so far: more of them later means it crashed.
	restarts=$(systemctl show -p NRestarts --value hearth 2>/dev/null || true)
	run systemctl daemon-reload
	if ((upgrade)); then
		run systemctl enable hearth
		run systemctl restart hearth
	else
		run systemctl enable --now hearth
	fi
	if ((DRY_RUN)); then
		say "[dry-run] wait up to 30 s for $LINUX_DATA/setup-link.txt and print the setup link"
		summary_linux
		return
	fi

	say "Waiting for Hearth to start ..."
	local link=$LINUX_DATA/setup-link.txt i state=unknown
	for ((i = 0; i < 60; i++)); do
		if [[ -s $link && $link -nt $marker ]]; then
			state=ready
			break
		fi
		now=$(systemctl show -p NRestarts --value hearth 2>/dev/null || true)
		if [[ $now =~ ^[0-9]+$ && ${restarts:-0} =~ ^[0-9]+$ ]] && ((now > ${restarts:-0})); then
			state=failed
			break
		fi
		if systemctl is-failed --quiet hearth; then
			state=failed
			break
		fi
		if ((i >= 2)) && journal_says_serving "$since"; then
			sleep 1 # the link is written just after that log line
			state=serving
			[[ -s $link && $link -nt $marker ]] && state=ready
			break
		fi
		sleep 0.5
	done
	case $state in
	ready) print_setup_link "$link" ;;
	failed)
		systemctl --no-pager status hearth || true
		die "Hearth did not start. See why with: journalctl -u hearth -n 50"
		;;
	*)
		if systemctl is-active --quiet hearth; then
			say ""
			say "Hearth is running and this clinic is already set up: Hearth was upgraded in place and its data kept."
		else
			die "Hearth has not started after 30 s. Check: systemctl status hearth; journalctl -u hearth"
		fi
		;;
	esac
	summary_linux
}

summary_linux() {
	cat <<EOF

Data:     $LINUX_DATA (owner hearth, mode 0700: database, keys, setup link)
Back up:  sudo -u hearth hearth backup --data $LINUX_DATA FILE
          (sealed to the clinic's recovery key; the hearth user must be able
          to write FILE. For nightly backups, pick a folder in Settings and
          give the same folder to this installer with --backup-dir.)
Logs:     journalctl -u hearth
Status:   systemctl status hearth
Upgrade:  run this installer again (data kept). Remove: install.sh --uninstall
EOF
}

linux_uninstall() {
	local bin=$PREFIX$LINUX_BIN unit=$PREFIX$SYSTEMD_UNIT
	if ((STAGING)); then
		say "--prefix $PREFIX: removing files under it only; skipping systemctl."
	elif command -v systemctl >/dev/null 2>&1; then
		run systemctl disable --now hearth || true
	fi
	if [[ -e $unit ]]; then run rm -f "$unit"; fi
	if ((!STAGING)) && command -v systemctl >/dev/null 2>&1; then
		run systemctl daemon-reload || true
		run systemctl reset-failed hearth 2>/dev/null || true
	fi
	if [[ -e $bin ]]; then run rm -f "$bin"; fi
	cat <<EOF

Hearth is uninstalled. Its data is kept in $PREFIX$LINUX_DATA (records, keys).
Reinstall with install.sh to carry on where it stopped. To erase everything,
make a backup first, then: rm -rf $PREFIX$LINUX_DATA && userdel hearth
EOF
}

# ---------------------------------------------------------------- launchd

LAUNCHD_LABEL=org.hearth
LAUNCHD_PLIST=/Library/LaunchDaemons/org.hearth.plist
MAC_BIN=/usr/local/bin/hearth
MAC_DATA=/usr/local/var/hearth
MAC_LOG=/usr/local/var/log/hearth.log

launchd_plist() {
	cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by Hearth's install.sh; running it again rewrites this file. -->
<plist version="1.0">
<dict>
	<key>Label</key><string>$LAUNCHD_LABEL</string>
	<key>ProgramArguments</key>
	<array><string>$MAC_BIN</string><string>serve</string></array>
	<key>EnvironmentVariables</key>
	<dict>
		<key>HEARTH_DATA</key><string>$MAC_DATA</string>
		<key>HEARTH_ADDR</key><string>$ADDR</string>${DOMAIN:+
		<key>HEARTH_DOMAIN</key><string>$DOMAIN</string>}
	</dict>
	<key>UserName</key><string>_hearth</string>
	<key>GroupName</key><string>_hearth</string>
	<key>Umask</key><integer>63</integer>
	<key>RunAtLoad</key><true/>
	<key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
	<key>ExitTimeOut</key><integer>30</integer>
	<key>StandardOutPath</key><string>$MAC_LOG</string>
	<key>StandardErrorPath</key><string>$MAC_LOG</string>
</dict>
</plist>
EOF
}

# ensure_mac_user creates the hidden role account _hearth (and its group)
# with the first free id from 300 up, if it does not exist yet.
ensure_mac_user() {
	if dscl . -read /Users/_hearth >/dev/null 2>&1; then
		return
	fi
	local id=300
	if ((!DRY_RUN)); then
		while dscl . -list /Users UniqueID | awk '{print $2}' | grep -qx "$id" ||
			dscl . -list /Groups PrimaryGroupID | awk '{print $2}' | grep -qx "$id"; do
			id=$((id + 1))
		done
		((id < 500)) || die "no free system user id below 500 for _hearth"
	fi
	run dscl . -create /Groups/_hearth PrimaryGroupID "$id"
	run dscl . -create /Groups/_hearth Password '*'
	run dscl . -create /Users/_hearth UniqueID "$id"
	run dscl . -create /Users/_hearth PrimaryGroupID "$id"
	run dscl . -create /Users/_hearth UserShell /usr/bin/false
	run dscl . -create /Users/_hearth NFSHomeDirectory "$MAC_DATA"
	run dscl . -create /Users/_hearth RealName "Hearth service"
	run dscl . -create /Users/_hearth Password '*'
	run dscl . -create /Users/_hearth IsHidden 1
}

darwin_install() {
	local bin=$PREFIX$MAC_BIN plist=$PREFIX$LAUNCHD_PLIST data=$PREFIX$MAC_DATA
	local log=$PREFIX$MAC_LOG upgrade=0 dir
	[[ -e $plist ]] && upgrade=1
	get_binary
	if ((upgrade)); then
		say "Hearth is already installed: upgrading in place (the data folder is kept as it is)."
	fi
	if ((STAGING)); then
		say "--prefix $PREFIX: installing under it only; skipping user creation, chown and launchctl."
	else
		ensure_mac_user
	fi
	install_binary "$BINARY" "$bin"
	make_private_dir "$data" _hearth
	for dir in ${BACKUP_DIRS[@]+"${BACKUP_DIRS[@]}"}; do
		[[ -d $PREFIX$dir ]] || make_private_dir "$PREFIX$dir" _hearth
	done
	[[ -d $(dirname "$log") ]] || run install -d -m 0755 "$(dirname "$log")"
	if [[ ! -e $log ]]; then
		if ((STAGING)); then
			run install -m 0600 /dev/null "$log"
		else
			run install -m 0600 -o _hearth -g _hearth /dev/null "$log"
		fi
	fi
	[[ -d $(dirname "$plist") ]] || run install -d -m 0755 "$(dirname "$plist")"
	launchd_plist | write_file "$plist" 0644
	if ((STAGING)); then
		say "Staged under $PREFIX: not starting anything."
		summary_darwin
		return
	fi
	run chown root:wheel "$plist"

	local before=0 i
	[[ -f $MAC_LOG ]] && before=$(wc -c <"$MAC_LOG" | tr -d ' ')
	if ((upgrade)); then
		run launchctl bootout "system/$LAUNCHD_LABEL" || true
		for ((i = 0; i < 30 && !DRY_RUN; i++)); do
			launchctl print "system/$LAUNCHD_LABEL" >/dev/null 2>&1 || break
			sleep 1
		done
	fi
	local marker=/dev/null
	if ((!DRY_RUN)); then
		marker=$(mktemp)
		TMP_FILES="$TMP_FILES $marker"
	fi
	run launchctl enable "system/$LAUNCHD_LABEL"
	run launchctl bootstrap system "$LAUNCHD_PLIST"
	if ((DRY_RUN)); then
		say "[dry-run] wait up to 30 s for $MAC_DATA/setup-link.txt and print the setup link"
		summary_darwin
		return
	fi
	say "Waiting for Hearth to start ..."
	local link=$MAC_DATA/setup-link.txt state=unknown
	for ((i = 0; i < 60; i++)); do
		if [[ -s $link && $link -nt $marker ]]; then
			state=ready
			break
		fi
		if ((i >= 2)) && tail -c "+$((before + 1))" "$MAC_LOG" 2>/dev/null | grep -q 'hearth is serving'; then
			sleep 1
			state=serving
			[[ -s $link && $link -nt $marker ]] && state=ready
			break
		fi
		sleep 0.5
	done
	case $state in
	ready) print_setup_link "$link" ;;
	serving)
		say ""
		say "Hearth is running and this clinic is already set up: Hearth was upgraded in place and its data kept."
		;;
	*) die "Hearth has not started after 30 s. See why in $MAC_LOG (and: sudo launchctl print system/$LAUNCHD_LABEL)" ;;
	esac
	summary_darwin
}

summary_darwin() {
	cat <<EOF

Data:     $MAC_DATA (owner _hearth, mode 0700: database, keys, setup link)
Back up:  sudo -u _hearth $MAC_BIN backup --data $MAC_DATA FILE
Logs:     tail -f $MAC_LOG
Upgrade:  run this installer again (data kept). Remove: install.sh --uninstall
EOF
}

darwin_uninstall() {
	local bin=$PREFIX$MAC_BIN plist=$PREFIX$LAUNCHD_PLIST
	if ((STAGING)); then
		say "--prefix $PREFIX: removing files under it only; skipping launchctl."
	else
		run launchctl bootout "system/$LAUNCHD_LABEL" || true
	fi
	if [[ -e $plist ]]; then run rm -f "$plist"; fi
	if [[ -e $bin ]]; then run rm -f "$bin"; fi
	cat <<EOF

Hearth is uninstalled. Its data is kept in $PREFIX$MAC_DATA (records, keys).
Reinstall with install.sh to carry on where it stopped. To erase everything,
make a backup first, then: rm -rf $PREFIX$MAC_DATA && dscl . -delete /Users/_hearth && dscl . -delete /Groups/_hearth
EOF
}

# ----------------------------------------------------------------- common

print_setup_link() {
	local url
	url=$(head -n 1 "$1")
	cat <<EOF

Hearth is running. One last step: open this one-time setup link in a browser,
on this computer or another one on the office network:

    $url

It lets you name the clinic, create the owner account and print the recovery
kit (keep that paper safe: with a backup, it is how you get everything back
if this computer dies). Until setup is done, whoever opens the link can claim
this Hearth, so do not share it. It is also saved in $1
until setup is finished.
EOF
}

((DRY_RUN)) && say "Dry run: printing what would be done; nothing is changed."

case $OS in
Linux)
	if ((UNINSTALL)); then linux_uninstall; else linux_install; fi
	;;
Darwin)
	if ((UNINSTALL)); then darwin_uninstall; else darwin_install; fi
	;;
*) die "unsupported system '$OS': this installer knows Linux (systemd) and macOS (launchd)" ;;
esac
