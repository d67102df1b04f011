#!/usr/bin/env bash
# Installs what pcptrace needs to build, test and record on Debian (run as root).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libtracecmd-dev libtraceevent-dev libtracefs-dev trace-cmd
      libsqlite3-dev libjansson-dev libzstd-dev zlib1g-dev check sqlite3 python3 valgrind xz-utils
      clang    # clang: the libFuzzer build (tests/fuzz)
      chromium # the HTML report rendered headless (tests/integration/html_report.sh)
      dpkg-dev  # dpkg-shlibdeps: the .deb's Depends (cpack -G DEB, tests/integration/deb.sh)
      prometheus)  # promtool check metrics: pcpstat --prometheus (tests/integration/pcpstat.sh)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi
