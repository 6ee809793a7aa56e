# Load and soak scenarios of tools/crashtest (sourced by tests/crash/scenarios.sh).

# Runs `cellmgr cell VERB X` for every X at once (each bounded by a timeout: a deadlock is a
# failure), repeating the refused ones until every one succeeded. Every refusal must name the
# operation that blocked it (the writer lock's owner record).
declare -A load_stats
parallel_verb() {
  local verb=$1
  shift
  local pending=("$@") rounds=0 x rc err
  load_stats[$verb.ok]=0
  load_stats[$verb.busy]=0
  local t0 t1
  t0=$(date +%s%N)
  while ((${#pending[@]} > 0)); do
    rounds=$((rounds + 1))
    ((rounds <= 200)) || fail "$verb: still ${#pending[@]} pending after 200 rounds"
    declare -A pid=()
    for x in "${pending[@]}"; do
      timeout 120 "$cellmgr_bin" --root "$root" cell "$verb" "$x" </dev/null \
        >"$root/load.$x.out" 2>"$root/load.$x.err" &
      pid[$x]=$!
    done
    local again=() problem=""
    for x in "${pending[@]}"; do
      rc=0
      wait "${pid[$x]}" || rc=$?
      err=$(cat "$root/load.$x.err")
      if [ "$rc" = 0 ]; then
        load_stats[$verb.ok]=$((load_stats[$verb.ok] + 1))
      elif [ "$rc" = 124 ]; then
        problem+="$verb $x did not finish within 120 s (deadlock?); "
      elif [[ "$err" =~ another\ operation\ is\ running:\ op-[0-9]+\ \([a-z.]+\ [^\)]+\)\ by\ pid\ [0-9]+ ]]; then
        load_stats[$verb.busy]=$((load_stats[$verb.busy] + 1))
        again+=("$x")
      else
        problem+="$verb $x exited $rc without naming a blocking operation: $err; "
      fi
    done
    # Failing only after every command of the round ended, so teardown finds none running.
    [ -z "$problem" ] || fail "$problem"
    pending=("${again[@]}")
  done
  t1=$(date +%s%N)
  load_stats[$verb.rounds]=$rounds
  load_stats[$verb.ms]=$(((t1 - t0) / 1000000))
}

scenario_load() {
  local n=$1 k names=()
  cm system bootstrap >/dev/null || fail "bootstrap"
  for ((k = 1; k <= n; k++)); do
    names+=("l$k")
    cm cell create "l$k" --profile low --cmd "sleep 100000" --scope desired >/dev/null ||
      fail "cell create l$k"
  done
  parallel_verb start "${names[@]}"
  check_common "after $n parallel starts"
  local running
  running=$(cell_table | awk '$2 == 1' | wc -l)
  [ "$running" = "$n" ] || fail "$running of $n cells running"
  parallel_verb stop "${names[@]}"
  check_common "after $n parallel stops"
  running=$(cell_table | awk '$2 == 1' | wc -l)
  [ "$running" = 0 ] || fail "$running cells still running after the stops"
  echo "load ($n cells): start ok=${load_stats[start.ok]} refused-naming-holder=${load_stats[start.busy]} rounds=${load_stats[start.rounds]} ${load_stats[start.ms]}ms;" \
    "stop ok=${load_stats[stop.ok]} refused-naming-holder=${load_stats[stop.busy]} rounds=${load_stats[stop.rounds]} ${load_stats[stop.ms]}ms"
}

# --- soak ---------------------------------------------------------------------------------------

# "rss uss" in KiB of PID (smaps_rollup: USS = private clean + private dirty).
mem_of() {
  awk '/^Rss:/ {r = $2} /^Private_(Clean|Dirty):/ {u += $2} END {print r + 0, u + 0}' \
    "/proc/$1/smaps_rollup" 2>/dev/null || echo "0 0"
}

# The cell's init (its cgroup's lowest pid; init is the first process of a cell).
init_of() { sort -n "$cgroup/$1/cgroup.procs" 2>/dev/null | sed -n 1p; }
supervisor_of() { cut -d' ' -f1 "$run/supervise/$1.pid"; }

# Two cells for MINUTES: "crasher", whose service dies by SIGSEGV one second after every start
# (the supervisor restarts it at its backoff pace: 1, 2, 4, 8, then every 10 s), and "churn",
# where a process crashes by SIGSEGV every second and is reaped by the cell's init (which also
# samples telemetry). Memory of both supervisors and both inits, and the store's file size, are
# sampled every 10 s; after a one-minute warm-up none may grow by more than the bound.
scenario_soak() {
  local minutes=$1 bound_kib=${SOAK_BOUND_KIB:-256}
  cm system bootstrap >/dev/null || fail "bootstrap"
  echo 'restart_budget = "1000/60s"' >"$etc/cellmgr.conf"
  cm cell create crasher --profile medium --cmd 'sleep 1; kill -SEGV $$' --scope desired >/dev/null ||
    fail "cell create crasher"
  cm cell create churn --profile medium --scope desired \
    --cmd 'while :; do (sh -c "kill -SEGV \$\$" &); sleep 1; done' >/dev/null || fail "cell create churn"
  cm cell start crasher >/dev/null || fail "start crasher"
  cm cell start churn >/dev/null || fail "start churn"
  local procs=(sup-crasher sup-churn init-crasher init-churn) pids=()
  pids=("$(supervisor_of crasher)" "$(supervisor_of churn)" "$(init_of crasher)" "$(init_of churn)")
  local end=$(($(date +%s) + minutes * 60)) warm=$(($(date +%s) + 60)) t k m
  declare -A first_uss last_uss first_rss last_rss
  local store_first="" store_last samples=0
  printf '%-6s' "t(s)" >"$root/soak.tsv"
  for k in "${procs[@]}"; do printf ' %-22s' "$k rss/uss KiB" >>"$root/soak.tsv"; done
  printf ' store KiB\n' >>"$root/soak.tsv"
  local t0
  t0=$(date +%s)
  while (($(date +%s) < end)); do
    sleep 10
    t=$(($(date +%s) - t0))
    printf '%-6s' "$t" >>"$root/soak.tsv"
    for k in 0 1 2 3; do
      [ -d "/proc/${pids[$k]}" ] || fail "soak: ${procs[$k]} (pid ${pids[$k]}) is gone"
      read -r rss uss < <(mem_of "${pids[$k]}")
      printf ' %-22s' "$rss/$uss" >>"$root/soak.tsv"
      if (($(date +%s) >= warm)) && [ -z "${first_uss[$k]:-}" ]; then first_uss[$k]=$uss first_rss[$k]=$rss; fi
      last_uss[$k]=$uss
      last_rss[$k]=$rss
    done
    store_last=$(($(stat -c %s "$lib/state/data.mdb" 2>/dev/null || echo 0) / 1024))
    (($(date +%s) >= warm)) && [ -z "$store_first" ] && store_first=$store_last
    printf ' %s\n' "$store_last" >>"$root/soak.tsv"
    samples=$((samples + 1))
  done
  cat "$root/soak.tsv"
  local restarts
  restarts=$(cm cell show crasher 2>/dev/null | awk '/^RESTARTS/ {print $2}')
  echo "soak ($minutes min, $samples samples): crasher restarts=${restarts:-?}; growth after warm-up:"
  for k in 0 1 2 3; do
    [ -n "${first_uss[$k]:-}" ] || fail "soak: shorter than the warm-up; run at least 2 minutes"
    local grow=$((last_uss[$k] - first_uss[$k]))
    echo "  ${procs[$k]}: USS ${first_uss[$k]} -> ${last_uss[$k]} KiB ($grow), RSS ${first_rss[$k]} -> ${last_rss[$k]} KiB"
    ((grow <= bound_kib)) || fail "soak: ${procs[$k]} grew by $grow KiB (bound $bound_kib)"
  done
  echo "  store data.mdb: $store_first -> $store_last KiB"
  cm cell stop crasher >/dev/null
  cm cell stop churn >/dev/null
}
