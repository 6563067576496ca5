# shellcheck shell=sh
# A private apt configuration for fetching Debian kernels and busybox for the
# guest images, without touching the system's apt configuration or state.
#
# Sourced by kernels/test-kernels.sh and scripts/vmlinux-arm64.sh. Set
# SIGTRACE_KCACHE to move the cache (default /var/cache/sigtrace-kernels).
#
# The Debian mirror is taken from the system's own apt sources (the URI that
# serves the "debian" archive), so nothing here names a host.

KCACHE=${SIGTRACE_KCACHE:-/var/cache/sigtrace-kernels}
KAPT_DIR=$KCACHE/apt
KAPT_SUITES=${SIGTRACE_SUITES:-"bullseye bookworm trixie"}

# Prints the first enabled Debian archive URI (…/debian, not -security) from
# /etc/apt/sources.list and /etc/apt/sources.list.d/*.{list,sources}.
kapt_mirror() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		case $f in
		*.sources) sed -n 's/^[Uu][Rr][Ii][Ss]:[[:space:]]*//p' "$f" | tr ' ' '\n' ;;
		*) sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p' "$f" ;;
		esac
	done | sed 's:/*$::' | grep -E '^https?://[^/]+(/.*)?/debian$' | head -n 1
}

# Writes the private configuration (idempotent).
kapt_setup() {
	mirror=$(kapt_mirror)
	if [ -z "$mirror" ]; then
		echo "error: no Debian archive (…/debian) found in /etc/apt/sources.list(.d); cannot fetch kernels" >&2
		return 1
	fi
	mkdir -p "$KAPT_DIR/lists/partial" "$KAPT_DIR/cache/archives/partial" \
		"$KAPT_DIR/sources.list.d" "$KAPT_DIR/preferences.d" "$KAPT_DIR/debs"
	: >"$KAPT_DIR/status.tmp"
	[ -f "$KAPT_DIR/status" ] || mv "$KAPT_DIR/status.tmp" "$KAPT_DIR/status"
	rm -f "$KAPT_DIR/status.tmp"
	{
		for s in $KAPT_SUITES; do
			echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $s main"
		done
	} >"$KAPT_DIR/sources.list.new"
	cat >"$KAPT_DIR/apt.conf.new" <<CONF
Dir::Etc::sourcelist "$KAPT_DIR/sources.list";
Dir::Etc::sourceparts "$KAPT_DIR/sources.list.d";
Dir::Etc::preferences "$KAPT_DIR/preferences";
Dir::Etc::preferencesparts "$KAPT_DIR/preferences.d";
Dir::State "$KAPT_DIR";
Dir::State::lists "$KAPT_DIR/lists";
Dir::State::status "$KAPT_DIR/status";
Dir::Cache "$KAPT_DIR/cache";
Dir::Cache::archives "$KAPT_DIR/cache/archives";
Dir::Cache::pkgcache "pkgcache.bin";
Dir::Cache::srcpkgcache "srcpkgcache.bin";
APT::Architecture "amd64";
APT::Architectures { "amd64"; "arm64"; };
Acquire::Languages "none";
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled "false";
APT::Sandbox::User "root";
CONF
	for f in sources.list apt.conf; do
		if ! cmp -s "$KAPT_DIR/$f.new" "$KAPT_DIR/$f"; then
			mv "$KAPT_DIR/$f.new" "$KAPT_DIR/$f"
			rm -f "$KAPT_DIR/updated" # configuration changed: refresh the lists
		else
			rm -f "$KAPT_DIR/$f.new"
		fi
	done
}

# apt-get with the private configuration.
kapt() {
	apt-get -q -c "$KAPT_DIR/apt.conf" "$@"
}

# apt-cache with the private configuration.
kapt_cache() {
	apt-cache -c "$KAPT_DIR/apt.conf" "$@"
}

# Refreshes the private package lists when older than a day (or forced with
# SIGTRACE_APT_UPDATE=1).
kapt_update() {
	kapt_setup
	if [ "${SIGTRACE_APT_UPDATE:-0}" = 1 ] || [ ! -f "$KAPT_DIR/updated" ] ||
		[ -n "$(find "$KAPT_DIR/updated" -mmin +1440 2>/dev/null)" ]; then
		echo "kernels: apt-get update (private lists in $KAPT_DIR)" >&2
		kapt update >&2
		touch "$KAPT_DIR/updated"
	fi
}

# Prints the version of NAME for ARCH in SUITE (main), e.g.
# kapt_version busybox-static arm64 bookworm.
kapt_version() {
	kapt_cache madison "$1:$2" 2>/dev/null |
		awk -F'|' -v s="$3" '$3 ~ (" " s "/main ") { gsub(/ /, "", $2); print $2; exit }'
}

# Prints "PACKAGE VERSION" of the cloud kernel image that SUITE ships for
# ARCH, read from the dependency of the linux-image-cloud-ARCH metapackage
# (e.g. "linux-image-6.1.0-50-cloud-arm64 6.1.176-1").
kapt_kernel() {
	meta=linux-image-cloud-$1
	v=$(kapt_version "$meta" "$1" "$2")
	[ -n "$v" ] || { echo "error: no $meta for $1 in $2" >&2; return 1; }
	kapt_cache show "$meta:$1=$v" | sed -n 's/^Depends: //p' | head -n 1 | tr ',' '\n' |
		sed -n 's/^ *\(linux-image-[^ ]*\) (= \([^)]*\)).*/\1 \2/p' | head -n 1
}

# Downloads NAME:ARCH=VERSION into the cache (once); prints the .deb path.
kapt_fetch() {
	name=$1 arch=$2 version=$3
	dir=$KAPT_DIR/debs
	# apt-get download names files NAME_VERSION_ARCH.deb with ":" as "%3a".
	file=$dir/${name}_$(echo "$version" | sed "s/:/%3a/")_$arch.deb
	deb=$(ls "$file" 2>/dev/null || true)
	if [ -z "$deb" ]; then
		echo "kernels: downloading $name:$arch $version" >&2
		(cd "$dir" && kapt download "$name:$arch=$version" >&2)
		deb=$(ls "$file")
	fi
	echo "$deb"
}
