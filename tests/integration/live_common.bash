# Shared by the tests that record the live kernel (pcprecord*.sh, pcpstat.sh, compare_e2e.sh,
# percpu_frag_live.sh); sourced, not run (ctest runs tests/integration/*.sh only). Sets TRACEFS,
# defines skip (exit 77) and fail (exit 1), and the checks that skip when the machine cannot
# record. Each check takes an optional message, so a script keeps its own skip line; the
# `# ctest: RESOURCE_LOCK tracefs` line stays in each script (CMakeLists.txt reads it there).
TRACEFS=/sys/kernel/tracing

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

# live_need_root [MESSAGE]
live_need_root() {
	[ "$(id -u)" = 0 ] || skip "${1:-not root (recording kernel events needs root)}"
}

# live_need_tracefs [NO_MOUNT_MESSAGE [NO_INSTANCES_MESSAGE]]: tracefs mounted at $TRACEFS
# (mounted here if it is not) with an instances directory.
live_need_tracefs() {
	if [ ! -d $TRACEFS/instances ]; then
		mount -t tracefs nodev $TRACEFS 2>/dev/null ||
			skip "${1:-no tracefs at $TRACEFS and cannot mount it}"
	fi
	[ -d $TRACEFS/instances ] || skip "${2:-tracefs has no instances directory}"
}

# live_need_event SYSTEM/EVENT [MESSAGE]: the kernel has that event (or SYSTEM: that system).
live_need_event() {
	[ -e "$TRACEFS/events/$1" ] || skip "${2:-kernel has no ${1/\//:} event}"
}

# live_need_any_event MESSAGE SYSTEM/EVENT...: the kernel has at least one of the events.
live_need_any_event() {
	local msg=$1 ev
	shift
	for ev in "$@"; do
		[ -e "$TRACEFS/events/$ev" ] && return 0
	done
	skip "$msg"
}

# live_need_tools TOOL...: each installed, else skip "TOOL is not installed" (in that order).
live_need_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || skip "$tool is not installed"
	done
}
