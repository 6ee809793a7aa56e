# The scenarios of tools/crashtest (sourced by it: cm, kill_after, kill_point, duration,
# check_common, tree_hash, fail, cell_table, current_generation, free_port and $root, $lib,
# $etc, $run, $cgroup come from there). Each prints one summary line: kills, and how many
# rounds ended at the old and at the new state.

# --- cells serving a versioned site ---------------------------------------------------------

declare -A port ver gen

site() {  # site NAME [cell create flags...]: a medium busybox httpd cell serving /var/www/NAME
  local c=$1
  shift
  port[$c]=$(free_port)
  cm cell create "$c" --autostart YES --profile medium --reserved-ports "${port[$c]}" \
    --cmd "busybox httpd -f -p ${port[$c]} -h /var/www/$c" --healthcheck "test -f /var/www/$c/ok" \
    --scope desired "$@" >/dev/null || fail "cell create $c"
}

# The plan of cell NAME at version V: three files that must always carry the same V (one of
# them written by EXEC inside the cell), so a half-applied plan shows as mixed versions.
write_plan() {
  local c=$1 v=$2
  printf 'FILE_BEGIN /var/www/%s/index.html\n%s %s\nFILE_END\nEXEC echo %s > /var/www/%s/exec\nFILE_BEGIN /var/www/%s/ok\n%s\nFILE_END\n' \
    "$c" "$c" "$v" "$v" "$c" "$c" "$v" >"$etc/$c.apply"
}

# The same three files written by FILE alone: on a cell with a reload signal, apply changes
# them under the running service (live apply, undone from its pre-image after a kill).
write_live_plan() {
  local c=$1 v=$2
  printf 'FILE_BEGIN /var/www/%s/index.html\n%s %s\nFILE_END\nFILE_BEGIN /var/www/%s/exec\n%s\nFILE_END\nFILE_BEGIN /var/www/%s/ok\n%s\nFILE_END\n' \
    "$c" "$c" "$v" "$c" "$v" "$c" "$v" >"$etc/$c.apply"
}

# The version cell NAME's layer holds (through its running root), or "mixed".
cell_version() {
  local c=$1 d=$lib/cells/$1/root/var/www/$1
  local a b e
  a=$(cut -d' ' -f2 "$d/index.html" 2>/dev/null || echo none)
  b=$(cat "$d/exec" 2>/dev/null || echo none)
  e=$(cat "$d/ok" 2>/dev/null || echo none)
  if [ "$a" = "$b" ] && [ "$b" = "$e" ]; then echo "$a"; else echo "mixed($a,$b,$e)"; fi
}

served() {
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    curl -fsS "http://127.0.0.1:${port[$1]}/" 2>/dev/null && return
    sleep 0.2
  done
  echo unreachable
}

# Each of CELLS must be wholly at its old (ver/gen) or at the new state (version NEWV at the
# current generation): layer files, served page, runtime record and journal agree.
declare -A at_old at_new
check_cells() {
  local what=$1 newv=$2
  shift 2
  local g_now c r g v j phase after
  g_now=$(current_generation)
  declare -A rec_running rec_gen
  while read -r c r g; do rec_running[$c]=$r; rec_gen[$c]=$g; done < <(cell_table)
  for c in "$@"; do
    [ "${rec_running[$c]:-}" = 1 ] || fail "$what: cell $c is not running after recovery"
    g=${rec_gen[$c]}
    v=$(cell_version "$c")
    if [ "$v" = "${ver[$c]}" ] && [ "$g" = "${gen[$c]}" ]; then
      at_old[$c]=$((${at_old[$c]:-0} + 1))
    elif [ "$v" = "$newv" ] && [ "$g" = "$g_now" ]; then
      at_new[$c]=$((${at_new[$c]:-0} + 1))
    else
      fail "$what: cell $c has version $v at generation $g; expected ${ver[$c]}@${gen[$c]} or $newv@$g_now"
    fi
    [ "$(served "$c")" = "$c $v" ] || fail "$what: cell $c serves '$(served "$c")', its layer holds $v"
    j=$(cm journal list --cell "$c" --op apply.cell -n 1 --json)
    phase=$(jq -r '.[0].phase' <<<"$j")
    after=$(jq -r '.[0].after_base64 | @base64d' <<<"$j")
    [[ "$phase" == done || "$phase" == compensated ]] || fail "$what: cell $c: last apply.cell is $phase"
    if [ "$after" != "$g" ]; then
      # An apply with nothing to do for the cell only records the new generation (runtime.set,
      # no apply.cell): then that record is the cell's newest entry, the one in effect. It may
      # name an older generation than the current one: a later apply (or rollback) was killed
      # before it reached this cell, which stays wholly at the generation recorded.
      local newest
      newest=$(cm journal list --cell "$c" -n 1 --json | jq -r '.[0].kind')
      [ "$newest" = runtime.set ] ||
        fail "$what: cell $c: journal says generation $after, runtime record $g"
    fi
    ver[$c]=$v
    gen[$c]=$g
  done
}

# After a kill the next command recovers implicitly: alternately `cellmgr recover` and a
# mutating no-op (`cell start` of a running cell) whose implicit recovery must do the same.
next_command() {
  local i=$1
  shift
  if ((i % 2 == 0)); then
    cm recover >"$root/next.out" 2>&1 || fail "recover: $(cat "$root/next.out")"
  else
    cm cell start "$1" >"$root/next.out" 2>&1 || fail "cell start: $(cat "$root/next.out")"
  fi
}

# A run whose kills all came after the command ended tested no recovery: at least a quarter
# of them (rounded down) must land; nine in ten kill slots lie before the measured duration.
kills_landed() {
  local what=$1 kills=$2 n=$3
  ((kills >= n / 4)) || fail "$what: only $kills of $n kills landed before the command ended"
}

summary() {
  local what=$1 kills=$2 done_=$3
  shift 3
  kills_landed "$what" "$kills" "$((kills + done_))"
  local c line="$what: kills=$kills completed-before-kill=$done_"
  for c in "$@"; do line+=" $c:old=${at_old[$c]:-0},new=${at_new[$c]:-0}"; done
  echo "$line"
}

# Cells a and b take the stop + snapshot path; c has a reload signal and a plan of files only,
# so it takes the live path (busybox httpd re-reads its configuration on SIGHUP).
plan_for() {
  if [ "$1" = c ]; then write_live_plan "$1" "$2"; else write_plan "$1" "$2"; fi
}

scenario_apply() {
  local n=$1 cells=(a b c) c i v res kills=0 completed=0 dur
  cm system bootstrap >/dev/null || fail "bootstrap"
  site a
  site b
  site c --reload-signal HUP
  for c in "${cells[@]}"; do plan_for "$c" 0; done
  cm apply >/dev/null || fail "first apply"
  for c in "${cells[@]}"; do plan_for "$c" 1; done
  dur=$(duration cm apply)
  for c in "${cells[@]}"; do ver[$c]=1; gen[$c]=$(current_generation); done
  check_common "baseline"
  for ((i = 0; i < n; i++)); do
    v=$((i + 2))
    for c in "${cells[@]}"; do plan_for "$c" "$v"; done
    res=$(kill_after "$(kill_point "$i" "$n" "$dur")" apply)
    [ "$res" = killed ] && kills=$((kills + 1)) || completed=$((completed + 1))
    next_command "$i" "${cells[@]}"
    check_common "apply kill $i ($res)"
    check_cells "apply kill $i ($res)" "$v" "${cells[@]}"
  done
  summary "apply (3 cells, apply ${dur}us)" "$kills" "$completed" "${cells[@]}"
  # How many kills caught the live cell mid-apply: each left an intent that recovery undid
  # from the pre-image (nothing else makes one of its applies end compensated here).
  local undone
  undone=$(cm journal list --cell c --op apply.cell --json |
    jq '[.[] | select(.phase == "compensated")] | length')
  echo "live cell c: $undone of its applies undone from the pre-image by recovery"
}

# The live path alone: one cell with a reload signal and a plan of files, so every kill that
# lands catches a live apply (pre-image, writes, reload, healthcheck).
scenario_apply_live() {
  local n=$1 i v res kills=0 completed=0 dur
  cm system bootstrap >/dev/null || fail "bootstrap"
  site c --reload-signal HUP
  write_live_plan c 0
  cm apply >/dev/null || fail "first apply"
  write_live_plan c 1
  dur=$(duration cm apply)
  ver[c]=1
  gen[c]=$(current_generation)
  check_common "baseline"
  for ((i = 0; i < n; i++)); do
    v=$((i + 2))
    write_live_plan c "$v"
    res=$(kill_after "$(kill_point "$i" "$n" "$dur")" apply)
    [ "$res" = killed ] && kills=$((kills + 1)) || completed=$((completed + 1))
    next_command "$i" c
    check_common "apply-live kill $i ($res)"
    check_cells "apply-live kill $i ($res)" "$v" c
  done
  summary "apply-live (1 cell, apply ${dur}us)" "$kills" "$completed" c
}

scenario_rollback() {
  local n=$1 cells=(a b) c i res kills=0 completed=0 dur ga gb target tv
  cm system bootstrap >/dev/null || fail "bootstrap"
  for c in "${cells[@]}"; do site "$c"; write_plan "$c" A; done
  cm apply >/dev/null || fail "apply A"
  ga=$(current_generation)
  for c in "${cells[@]}"; do write_plan "$c" B; done
  cm apply >/dev/null || fail "apply B"
  gb=$(current_generation)
  dur=$(duration cm rollback --to "$ga")
  for c in "${cells[@]}"; do ver[$c]=A; gen[$c]=$(current_generation); done
  check_common "baseline"
  for ((i = 0; i < n; i++)); do
    if ((i % 2 == 0)); then target=$gb tv=B; else target=$ga tv=A; fi
    res=$(kill_after "$(kill_point "$i" "$n" "$dur")" rollback --to "$target")
    [ "$res" = killed ] && kills=$((kills + 1)) || completed=$((completed + 1))
    next_command "$i" "${cells[@]}"
    check_common "rollback kill $i ($res)"
    check_cells "rollback kill $i ($res)" "$tv" "${cells[@]}"
  done
  summary "rollback (2 cells, rollback ${dur}us)" "$kills" "$completed" "${cells[@]}"
}

# --- volumes and archives ---------------------------------------------------------------------

# A tree that takes a few hundred ms to archive: 320 small compressible files and 6 MiB of noise.
fill_tree() {
  local dir=$1 seed=$2 d f
  mkdir -p "$dir"
  for d in 0 1 2 3 4 5 6 7; do
    mkdir -p "$dir/d$d"
    for f in $(seq 0 39); do
      head -c $((16384 + (d * 40 + f) * 7)) < <(yes "$seed $d $f line") >"$dir/d$d/f$f"
    done
  done
  head -c $((6 << 20)) </dev/urandom >"$dir/noise"
  chmod 0640 "$dir/d3/f7"
  ln -sfn d0/f1 "$dir/link"
}

# A running cell mounting volume "data" (so backups freeze it and restores must stop it).
data_cell() {
  cm volume create data --scope both >/dev/null || fail "volume create data"
  fill_tree "$lib/volumes/data" A
  site a --mount data:/data
  write_plan a 1
  cm apply >/dev/null || fail "apply"
}

archives() { cm volume backup list data -T -H | awk -F'\t' '{print $4}'; }

scenario_backup() {
  local n=$1 i res kills=0 completed=0 dur h f count
  cm system bootstrap >/dev/null || fail "bootstrap"
  data_cell
  h=$(tree_hash "$lib/volumes/data")
  dur=$(duration cm volume backup create data)
  check_common "baseline"
  for ((i = 0; i < n; i++)); do
    res=$(kill_after "$(kill_point "$i" "$n" "$dur")" volume backup create data)
    [ "$res" = killed ] && kills=$((kills + 1)) || completed=$((completed + 1))
    # The next backup command recovers (partial archives, records of finished ones).
    cm volume backup prune data --keep 1000 --yes >"$root/next.out" 2>&1 ||
      fail "prune: $(cat "$root/next.out")"
    check_common "backup kill $i ($res)"
    [ "$(tree_hash "$lib/volumes/data")" = "$h" ] || fail "backup kill $i: the volume changed"
    for f in $(archives); do
      cm volume backup verify data --from "$f" >/dev/null 2>&1 || fail "backup kill $i: archive $f does not verify"
    done
  done
  kills_landed "backup" "$kills" "$n"
  count=$(archives | wc -l)
  # The newest archive restores to exactly the volume.
  cm volume create check --scope desired >/dev/null || fail "volume create check"
  cm volume backup restore check --from "$(archives | sed -n 1p)" --yes >/dev/null 2>&1 ||
    fail "restore of the newest archive"
  [ "$(tree_hash "$lib/volumes/check")" = "$h" ] || fail "the newest archive does not restore the volume"
  echo "backup (6 MiB + 320 files, backup ${dur}us): kills=$kills completed-before-kill=$completed archives=$count all verify, volume unchanged, cell never left frozen"
}

scenario_restore() {
  local n=$1 i res kills=0 completed=0 dur ha hb fa fb h target old_n=0 new_n=0 cur
  cm system bootstrap >/dev/null || fail "bootstrap"
  data_cell
  ha=$(tree_hash "$lib/volumes/data")
  cm volume backup create data >/dev/null 2>&1 || fail "backup A"
  fa=$(archives | sed -n 1p)
  # State B: files changed, removed and added (the restore must remove what A lacks).
  rm -rf "$lib/volumes/data/d5" "$lib/volumes/data/link"
  echo changed >"$lib/volumes/data/d0/f0"
  fill_tree "$lib/volumes/data/new" B
  hb=$(tree_hash "$lib/volumes/data")
  sleep 1  # a new archive name (names carry the second)
  cm volume backup create data >/dev/null 2>&1 || fail "backup B"
  fb=$(archives | sed -n 1p)
  [ "$fa" != "$fb" ] || fail "two backups got one name"
  # The timed run restores A: the rounds start from it.
  dur=$(duration cm volume backup restore data --from "$fa" --stop --yes)
  cur=$ha
  check_common "baseline"
  for ((i = 0; i < n; i++)); do
    if ((i % 2 == 0)); then target=$fb; else target=$fa; fi
    res=$(kill_after "$(kill_point "$i" "$n" "$dur")" volume backup restore data --from "$target" --stop --yes)
    [ "$res" = killed ] && kills=$((kills + 1)) || completed=$((completed + 1))
    cm volume backup prune data --keep 1000 --yes >"$root/next.out" 2>&1 ||
      fail "prune: $(cat "$root/next.out")"
    check_common "restore kill $i ($res)"
    h=$(tree_hash "$lib/volumes/data")
    if [ "$h" = "$cur" ]; then old_n=$((old_n + 1)); elif [[ "$h" == "$ha" || "$h" == "$hb" ]]; then new_n=$((new_n + 1)); else
      fail "restore kill $i: the volume is neither the old nor the new tree"
    fi
    cur=$h
    [ "$(cell_table | awk '$1 == "a" {print $2}')" = 1 ] || fail "restore kill $i: cell a is not running"
  done
  kills_landed "restore" "$kills" "$n"
  echo "restore (--stop, restore ${dur}us): kills=$kills completed-before-kill=$completed old=$old_n new=$new_n"
}

scenario_volume_remove() {
  local n=$1 i res kills=0 completed=0 dur h v old_n=0 new_n=0
  cm system bootstrap >/dev/null || fail "bootstrap"
  local tmpl=$root/template
  mkdir -p "$tmpl"
  for i in $(seq 0 39); do
    mkdir -p "$tmpl/d$i"
    for v in $(seq 0 49); do echo "$i $v" >"$tmpl/d$i/f$v"; done
  done
  h=$(tree_hash "$tmpl")
  make_volume() {
    cm volume create "$1" --scope both >/dev/null || fail "volume create $1"
    cp -a "$tmpl/." "$lib/volumes/$1/"
  }
  make_volume timed
  dur=$(duration cm volume remove timed --scope both --yes)
  for ((i = 0; i < n; i++)); do
    v=vol$i
    make_volume "$v"
    res=$(kill_after "$(kill_point "$i" "$n" "$dur")" volume remove "$v" --scope both --yes)
    [ "$res" = killed ] && kills=$((kills + 1)) || completed=$((completed + 1))
    cm recover >"$root/next.out" 2>&1 || fail "recover: $(cat "$root/next.out")"
    check_common "volume remove kill $i ($res)"
    case "$(tree_hash "$lib/volumes/$v")" in
      "$h") old_n=$((old_n + 1)) ;;
      absent) new_n=$((new_n + 1)) ;;
      *) fail "volume remove kill $i: $v is neither whole nor gone" ;;
    esac
    # Finish the removal (the operator's re-run) before the next round.
    cm volume remove "$v" --scope runtime --yes >/dev/null 2>&1 || fail "re-run of volume remove $v"
    [ -e "$etc/$v.volume" ] && { cm volume remove "$v" >/dev/null || fail "remove manifest $v"; }
  done
  kills_landed "volume remove" "$kills" "$n"
  echo "volume remove (2000 files, remove ${dur}us): kills=$kills completed-before-kill=$completed whole=$old_n gone=$new_n"
}

source "$(dirname "${BASH_SOURCE[0]}")/../load/load.sh"
