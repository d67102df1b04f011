#!/bin/bash
# Build (or reuse) the lab kernel: Debian linux-source 6.1 + pcp-trace-events-6.1.patch,
# `make tinyconfig` + config.fragment. Cached by sha256(patch + fragment): bump KEY_SALT
# when a change here alters the kernel that comes out.
# Usage: build.sh CACHE_DIR     prints the bzImage path on stdout (last line).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: build.sh CACHE_DIR}
src_tar=/usr/src/linux-source-6.1.tar.xz
jobs=${PCP_LAB_JOBS:-2}

log() { echo "lab/kernel: $*" >&2; }

[ -r "$src_tar" ] || { log "$src_tar missing (apt-get install linux-source)"; exit 1; }
KEY_SALT=1
key=$( { cat "$here/pcp-trace-events-6.1.patch" "$here/config.fragment"; echo "salt $KEY_SALT"; } \
      | sha256sum | cut -c1-16)
image=$cache/bzImage-$key
mkdir -p "$cache"
exec 9>"$cache/build.lock"
flock 9
if [ -s "$image" ]; then
	log "cached kernel $image (key $key)"
	echo "$image"
	exit 0
fi

work=$cache/build-$key
rm -rf "$work"
mkdir -p "$work"
log "building kernel key $key in $work (log: $work/build.log)"
t0=$(date +%s)
tar -C "$work" -xJf "$src_tar"
tree=$work/linux-source-6.1
cd "$tree"
patch -p1 --forward --batch < "$here/pcp-trace-events-6.1.patch" >&2
{
	make tinyconfig
	KCONFIG_CONFIG=.config scripts/kconfig/merge_config.sh -m .config "$here/config.fragment"
	make olddefconfig
} > "$work/config.log" 2>&1

# Every line of the fragment must have survived Kconfig's dependency resolution.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" .config || { log "config: wanted '$line', got '$(grep -E "^(# )?${line%%=*}[= ]" .config || echo absent)'"; bad=1; } ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		! grep -q "^$opt=" .config || { log "config: wanted '$line', got '$(grep "^$opt=" .config)'"; bad=1; } ;;
	esac
done < "$here/config.fragment"
[ "$bad" = 0 ] || { log "config fragment not honoured, see $tree/.config"; exit 1; }

make -j"$jobs" LOCALVERSION=-pcplab bzImage > "$work/build.log" 2>&1 \
	|| { tail -30 "$work/build.log" >&2; log "kernel build failed, log $work/build.log"; exit 1; }
cp .config "$cache/config-$key"
cp arch/x86/boot/bzImage "$image.tmp"
mv "$image.tmp" "$image"
log "kernel built in $(( $(date +%s) - t0 )) s: $image"
# the tree is only good for this key; keep the cache small
cd /; rm -rf "$work"
echo "$image"
