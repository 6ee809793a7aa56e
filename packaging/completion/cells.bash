# bash completion for cellctl(8) and cellmgr(8).
#
# Subcommands and options are read from the programs' own --help at completion time, so the
# completion never drifts from the code; only option VALUES are listed here. Cell and volume
# names come from the store and runtime of the --root given on the line (or CELLS_ROOT).
# Installed once and linked under both command names.

# _cells_help PROG ROOTARGS... -- PATH...: the --help text of one command.
_cells_help() {
  local prog=$1
  shift
  local -a root=()
  while [[ $1 != -- ]]; do root+=("$1"); shift; done
  shift
  "$prog" "${root[@]}" "$@" --help 2>/dev/null
}

# _cells_section SECTION < help: the first word of each entry in an "Options:",
# "Subcommands:" or "Positionals:" section of CLI11 help.
_cells_section() {
  awk -v want="$1:" '
    /^[^ ]/ { in_section = ($0 == want); next }
    in_section && /^  [^ ]/ { print $1 }'
}

# _cells_option_words < help: every option spelling ("-l", "--level") in "Options:", but
# not help's (for `cellctl stats`, -h is the HTTP header and help is only --help).
_cells_option_words() {
  _cells_section Options | grep -v -e '^--help$' -e ',--help$' | tr ',' '\n' | grep '^-'
}

# _cells_takes_value OPTION < help: success when OPTION is followed by a value type
# (TEXT, UINT, FLOAT, ...) in the help. The type follows the names after one blank; the
# description is padded by two or more (so "--json   JSON output" takes no value).
_cells_takes_value() {
  awk -v opt="$1" '
    /^[^ ]/ { in_opts = ($0 == "Options:"); next }
    in_opts && /^  -/ {
      n = split($1, names, ",")
      for (i = 1; i <= n; i++)
        if (names[i] == opt) { found = (substr($0, 3 + length($1)) ~ /^ [A-Z]+( |$)/); exit }
    }
    END { exit !found }'
}

# _cells_cell_names PROG ROOTARGS...: cellctl lists CIDs and names, cellmgr the cells it knows.
_cells_cell_names() {
  if [[ ${1##*/} == cellctl ]]; then
    "$1" "${@:2}" list -T -H 2>/dev/null | awk -F'\t' '{ print $1; print $2 }'
  else
    "$1" "${@:2}" cell list -T -H -o name 2>/dev/null
  fi
}

_cells_volume_names() {
  "$1" "${@:2}" volume list -T -H -o name 2>/dev/null
}

# _cells_complete NAME: NAME picks the value lists; the program run is the word typed (so a
# path such as ./cellctl works too).
_cells_complete() {
  local name=$1 prog=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=
  ((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()

  # Walk the words before the cursor: the global --root, then the subcommand path, then
  # the positionals already given.
  local -a root=() path=()
  local i=1 word help subs npos=0
  help=$(_cells_help "$prog" --)
  while ((i < COMP_CWORD)); do
    word=${COMP_WORDS[i]}
    if [[ $word == --root ]] && ((${#path[@]} == 0)); then
      root=(--root "${COMP_WORDS[i + 1]}")
      ((i += 2))
      continue
    fi
    if [[ $word == -* ]]; then
      _cells_takes_value "$word" <<<"$help" && ((i++))
    elif _cells_section Subcommands <<<"$help" | grep -qxF -- "$word"; then
      path+=("$word")
      help=$(_cells_help "$prog" "${root[@]}" -- "${path[@]}")
    else
      ((npos++))
    fi
    ((i++))
  done
  local cmd="${path[*]}"

  # The value of an option.
  if [[ $prev == -* ]] && _cells_takes_value "$prev" <<<"$help"; then
    local values=
    case "$name $cmd $prev" in
      *" --root") compopt -o dirnames 2>/dev/null; return ;;
      *" --profile" | *" -l" | *" --level") values="low medium high" ;;
      *" --autostart") values="YES NO" ;;
      *" --view") values="compact desired runtime merged" ;;
      "cellmgr cell remove --scope" | "cellmgr volume remove --scope") values="desired runtime both" ;;
      "cellmgr cell st"*" --scope" | "cellmgr cell restart --scope") values="runtime both" ;;
      *" --scope") values="desired both" ;;
      *" --base") values="host debian" ;;
      *" --log-facility" | "cellctl supervise -f" | *" --facility")
        values="auth authpriv cron daemon ftp kern lpr mail news syslog user uucp"
        values+=" local0 local1 local2 local3 local4 local5 local6 local7" ;;
      *" --stdout-level" | *" --stderr-level" | "cellctl supervise -o" | "cellctl supervise -e")
        values="emerg alert crit err warning notice info debug" ;;
      *" --depends-on" | *" --cell") values=$(_cells_cell_names "$prog" "${root[@]}") ;;
      "cellmgr cell "*" -o" | "cellmgr volume "*" -o")
        values=$("$prog" "${root[@]}" "${path[0]}" fields -T -H 2>/dev/null) ;;
      *" --mount")
        mapfile -t COMPREPLY < <(compgen -P '' -S : -W "$(_cells_volume_names "$prog" "${root[@]}")" -- "$cur")
        compopt -o nospace 2>/dev/null
        return ;;
    esac
    mapfile -t COMPREPLY < <(compgen -W "$values" -- "$cur")
    return
  fi

  if [[ $cur == -* ]]; then
    local opts
    opts=$(_cells_option_words <<<"$help")
    ((${#path[@]} == 0)) || opts=${opts//--root/}
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    return
  fi

  subs=$(_cells_section Subcommands <<<"$help")
  if [[ -n $subs ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
    return
  fi

  # Positionals of a leaf command: names for the first, then nothing we can know (a command
  # in the cell, for exec and shell).
  ((npos == 0)) || return
  case "$name $cmd" in
    "cellctl create") compopt -o dirnames 2>/dev/null ;;
    "cellctl exec" | "cellctl destroy" | "cellctl supervise" | "cellmgr cell "*)
      [[ $cmd == "cell create" ]] && return
      mapfile -t COMPREPLY < <(compgen -W "$(_cells_cell_names "$prog" "${root[@]}")" -- "$cur") ;;
    "cellmgr volume "*)
      [[ $cmd == "volume create" ]] && return
      mapfile -t COMPREPLY < <(compgen -W "$(_cells_volume_names "$prog" "${root[@]}")" -- "$cur") ;;
  esac
}

_cellctl() { _cells_complete cellctl; }
_cellmgr() { _cells_complete cellmgr; }
complete -F _cellctl cellctl
complete -F _cellmgr cellmgr
