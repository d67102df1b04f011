#!/usr/bin/env bash
# pcprecord --user (issue 17): the workload runs as the user, pcprecord keeps root for tracefs.
# Needs root and tracefs; otherwise skips (77). Creates a test user with a supplementary group
# (useradd/groupadd) and removes both at the end; falls back to nobody without useradd.
# Expected identities come from id(1) and getent(1), not from our code.
# ctest: RESOURCE_LOCK tracefs   (records the live kernel: one such test at a time)
set -u
BUILD=$(cd "${1:?usage: pcprecord_user.sh BUILD_DIR}" && pwd)
PCPRECORD=$BUILD/pcprecord
PCPANALYZE=$BUILD/pcpanalyze
. "$(dirname "$0")/live_common.bash"

live_need_root "not root (recording kernel events and switching users need root)"
live_need_tracefs
[ -x "$PCPRECORD" ] && [ -x "$PCPANALYZE" ] || fail "pcprecord/pcpanalyze not built in $BUILD"

WORK=$(mktemp -d)
TUSER= TGROUP=
cleanup() {
	[ -n "$TUSER" ] && userdel "$TUSER" 2>/dev/null
	[ -n "$TGROUP" ] && groupdel "$TGROUP" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP # a killed test still removes its user
chmod 755 "$WORK"
cd "$WORK" || exit 1

U=nobody
if command -v useradd >/dev/null && command -v groupadd >/dev/null; then
	TGROUP=pcpt_grp_$$
	groupadd "$TGROUP" || fail "groupadd $TGROUP"
	TUSER=pcpt_usr_$$
	useradd -M -d "/home/$TUSER" -s /bin/sh -G "$TGROUP" "$TUSER" || fail "useradd $TUSER"
	U=$TUSER
fi
exp_uid=$(id -u "$U") exp_gid=$(id -g "$U")
exp_groups=$(id -G "$U" | tr ' ' '\n' | sort -n | tr '\n' ' ')
exp_home=$(getent passwd "$U" | cut -d: -f6)
exp_shell=$(getent passwd "$U" | cut -d: -f7)
[ -n "$exp_shell" ] || exp_shell=/bin/sh
[ -n "$TGROUP" ] && { case " $exp_groups" in *" $(getent group "$TGROUP" | cut -d: -f3) "*) ;;
	*) fail "id -G $U lacks the test group";; esac; }

mkdir -m 1777 shared
echo root-data > rootonly
chmod 600 rootonly
printf '#!/bin/sh\necho ran > %s/shared/ran\n' "$WORK" > mark.sh
chmod 755 mark.sh

# 1. The workload sees the user's identity and environment, and cannot write a root-only file.
cat > workload.sh <<EOF
#!/bin/sh
id -u > $WORK/shared/uid
id -g > $WORK/shared/gid
id -G | tr ' ' '\n' | sort -n | tr '\n' ' ' > $WORK/shared/groups
printf '%s|%s|%s|%s|%s\n' "\$HOME" "\$USER" "\$LOGNAME" "\$SHELL" "\$PCPT_KEPT" > $WORK/shared/env
if (echo pwned >> $WORK/rootonly) 2>/dev/null; then echo 0; else echo 1; fi > $WORK/shared/denied
if touch $WORK/in-root-dir 2>/dev/null; then echo 0; else echo 1; fi > $WORK/shared/denied_dir
exit 3
EOF
chmod 755 workload.sh
PCPT_KEPT=kept-value "$PCPRECORD" -q -o "$WORK/t.dat" --user "$U" -- "$WORK/workload.sh" 2> err1
rc=$?
[ $rc = 3 ] || fail "pcprecord --user exited $rc, expected the workload's 3: $(cat err1)"
[ "$(cat shared/uid)" = "$exp_uid" ] || fail "workload uid $(cat shared/uid), expected $exp_uid"
[ "$(cat shared/gid)" = "$exp_gid" ] || fail "workload gid $(cat shared/gid), expected $exp_gid"
[ "$(cat shared/groups)" = "$exp_groups" ] ||
	fail "workload groups '$(cat shared/groups)', expected '$exp_groups'"
[ "$(cat shared/env)" = "$exp_home|$U|$U|$exp_shell|kept-value" ] ||
	fail "workload environment '$(cat shared/env)', expected '$exp_home|$U|$U|$exp_shell|kept-value'"
[ "$(cat shared/denied)" = 1 ] && [ "$(cat rootonly)" = root-data ] ||
	fail "the workload could write the root-only file"
[ "$(cat shared/denied_dir)" = 1 ] && [ ! -e in-root-dir ] ||
	fail "the workload could create a file in root's directory"
# The trace and meta are pcprecord's (root's), as pcprecord(1) documents, and readable.
for f in t.dat t.dat.meta.json; do
	[ -f $f ] || fail "$f not written"
	[ "$(stat -c %u:%g $f)" = 0:0 ] || fail "$f owned by $(stat -c %u:%g $f), expected 0:0"
done
python3 - "$exp_uid" "$exp_gid" "$U" <<'EOF' || fail "meta workload_user wrong"
import json, sys
u = json.load(open("t.dat.meta.json"))["workload_user"]
sys.exit(0 if u == {"name": sys.argv[3], "uid": int(sys.argv[1]), "gid": int(sys.argv[2])} else 1)
EOF
"$PCPANALYZE" -q -o t.db t.dat > /dev/null 2> err_an || fail "pcpanalyze on the --user trace: $(cat err_an)"
[ -e "$TRACEFS/instances/pcprecord-$$" ] && fail "instance left behind"

# 2. A user that does not exist is a usage error, found before anything is armed: even a
# non-root pcprecord says exit 2 (not 121 "not root").
"$PCPRECORD" -o "$WORK/n.dat" --user pcpt_no_such_user_$$ -- ./mark.sh 2> err2
rc=$?
[ $rc = 2 ] || fail "unknown user: exit $rc, expected 2"
[ "$(wc -l < err2)" = 1 ] && grep -q "no such user" err2 || fail "unknown user: stderr '$(cat err2)'"
[ ! -e n.dat ] && [ ! -e shared/ran ] || fail "unknown user: something ran or was written"
if command -v setpriv >/dev/null; then
	(cd shared && setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$PCPRECORD" -o "$WORK/shared/n.dat" --user pcpt_no_such_user_$$ -- true) 2> err2b
	rc=$?
	[ $rc = 2 ] || fail "unknown user as non-root: exit $rc, expected 2 before the root check"
fi
"$PCPRECORD" -o "$WORK/n.dat" --user "$U" 2> err2c
[ $? = 2 ] && [ "$(wc -l < err2c)" = 1 ] || fail "--user without a command: not a one-line usage error"

# 3. When the identity cannot be switched (no CAP_SETUID/CAP_SETGID), the workload is not
# started at all: exit 126, one line, no trace.
if command -v setpriv >/dev/null; then
	setpriv --bounding-set=-setuid,-setgid \
		"$PCPRECORD" -q -o "$WORK/c.dat" --user "$U" -- "$WORK/mark.sh" 2> err3
	rc=$?
	[ $rc = 126 ] || fail "switch failure: exit $rc, expected 126: $(cat err3)"
	[ "$(wc -l < err3)" = 1 ] && grep -q "as user $U: setgroups" err3 ||
		fail "switch failure: stderr '$(cat err3)'"
	[ ! -e shared/ran ] || fail "the workload ran although the switch failed"
	[ ! -e c.dat ] || fail "a trace was written although the workload did not run"
fi

# 4. A program only root may run is not run as the user (exit 126, one line).
install -m 700 mark.sh rootprog.sh
"$PCPRECORD" -q -o "$WORK/p.dat" --user "$U" -- "$WORK/rootprog.sh" 2> err4
rc=$?
[ $rc = 126 ] && [ "$(wc -l < err4)" = 1 ] && grep -q "Permission denied" err4 ||
	fail "root-only program: exit $rc, stderr '$(cat err4)'"
[ ! -e shared/ran ] || fail "a root-only program ran as the user"
echo "OK: workload ran as $U (uid $exp_uid, groups $exp_groups), root-only file untouched"
