#!/usr/bin/env bash
# The isolation tour: runs assets/probe.py as root inside tour-low, tour-medium and tour-high
# (declared and started by the README's steps) and prints what each profile allowed and denied,
# next to the DESIGN section 3 rule each check shows. Acts on $CELLS_ROOT (or /), like cellctl.
set -euo pipefail
cellctl=${CELLCTL:-cellctl}
profiles=(low medium high)
declare -A port=([low]=7101 [medium]=7102 [high]=7103)
declare -A other=([low]=7102 [medium]=7103 [high]=7101)
free_port=7190  # reserved by nobody

# The DESIGN section 3 rule each check demonstrates.
declare -A rule=(
  [see_host_process]="1 no seeing host processes"
  [signal_host_process]="1 no signalling them"
  [ptrace_host_process]="1 no ptrace of them"
  [bind_own_port]="(its own reserved port)"
  [bind_other_cells_port]="2 another cell's port"
  [bind_unreserved_port]="7 only its own ports"
  [load_bpf_program]="3 no bpf()"
  [read_kernel_log]="3 no kernel log"
  [unshare_namespace]="3 no new namespaces"
  [mount_tmpfs]="4 no mount"
  [open_raw_socket]="5 no raw sockets"
  [root_is_host_root]="6 root is unprivileged"
  [write_outside_writable]="7 writes only writable paths"
)

declare -A result
checks=()
for p in "${profiles[@]}"; do
  # $$ is this script: a host process no cell may see, signal or trace.
  out=$("$cellctl" exec "tour-$p" /usr/bin/python3 /opt/tour/probe.py \
          host_pid=$$ own_port="${port[$p]}" other_port="${other[$p]}" free_port=$free_port)
  while read -r check value; do
    [[ $p == low ]] && checks+=("$check")
    result[$p.$check]=$value
  done <<<"$out"
done

printf '%-24s %-14s %-14s %-14s %s\n' check low medium high "DESIGN section 3 row"
for c in "${checks[@]}"; do
  printf '%-24s %-14s %-14s %-14s %s\n' "$c" "${result[low.$c]:-missing}" \
    "${result[medium.$c]:-missing}" "${result[high.$c]:-missing}" "${rule[$c]:-}"
done
