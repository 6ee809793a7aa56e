#!/usr/bin/env bash
# tools/crashtest refuses bad arguments with one line naming the problem, exit 2, and creates
# no scratch root.
set -u
tool=$(cd "$(dirname "$0")/../.." && pwd)/tools/crashtest
before=$(ls -d /var/tmp/cells-crash-* 2>/dev/null | wc -l)
status=0
expect() {  # expect 'MESSAGE' ARGS...: exit 2 and exactly that one line on stderr
  local want=$1
  shift
  local err rc=0
  err=$("$tool" "$@" 2>&1 >/dev/null) || rc=$?
  if [ "$rc" != 2 ] || [ "$err" != "$want" ]; then
    echo "crashtest $*: exit $rc, stderr '$err'; want exit 2 and '$want'" >&2
    status=1
  fi
}
expect "crashtest: unknown scenario '' (apply, apply-live, backup, restore, rollback, volume-remove, load, soak)"
expect "crashtest: unknown scenario 'aply' (apply, apply-live, backup, restore, rollback, volume-remove, load, soak)" aply 3
expect "crashtest: N must be a positive whole number, not '0'" apply 0
expect "crashtest: N must be a positive whole number, not '-4'" backup -4
expect "crashtest: N must be a positive whole number, not '3x'" load 3x
CELLS_BUILD_DIR=/nonexistent expect "crashtest: no cellmgr in /nonexistent (build it, or set CELLS_BUILD_DIR)" apply 1
after=$(ls -d /var/tmp/cells-crash-* 2>/dev/null | wc -l)
[ "$before" = "$after" ] || { echo "a refused run left a scratch root" >&2; status=1; }
exit $status
