# uvmod-generated: written by uvmod 0.1.0 build-modulefiles; do not edit.
# shellcheck shell=sh
# The rarely run parts of the uv wrapper's phases: functions only, read by bin/uv
# (sh/uv-phases.sh, _uvmod_rare) when a call needs one of them: the first call for a project or
# a key, an environment to mark or move aside, a stale key, `uv tool install`/`upgrade`, a dry
# run. uvmod installs this text as <install dir>/libexec/uv-rare.sh, followed by generated
# assignments (uvmod/render/wrapper.py, library_assignments) of what only this part reads:
#   _uvmod_rare_build      the build id of the bin/uv it belongs to (checked by _uvmod_rare)
#   UVMOD_ETC              <prefix>/<name>/<version>/etc (per-arch site policy in <arch>/uv/uv.toml)
#   UVMOD_DEPOT_TRASH, UVMOD_DEPOT_TEMPORARY, UVMOD_READABLE_MAX, UVMOD_READABLE_EMPTY,
#   UVMOD_MARKER_HEADER, UVMOD_WORKSPACE_ERE (the workspace header's line)
#                          names and limits of uvmod/depot.py (docs/design.md#one-home-for-each-rule)
#   UVMOD_JOB_DIR_VARIABLE the variable naming the job's node-local directory ([jobs])
#   UVMOD_JOB_ENVS, UVMOD_JOB_LINK_MODE_FILE, UVMOD_JOB_STATE  names of uvmod/jobs.py
# Everything else it reads is bin/uv's: its assignments and the phases' variables.
#
# Every file the wrapper writes goes through _uvmod_write_atomic: the one place to check a depot
# path before it is written.

# shellcheck disable=SC2154 # the phases' variables and bin/uv's assignments are set in bin/uv

# --- Dry run -------------------------------------------------------------------------------
# The answer on stdout: NAME=VALUE records, each ended by a NUL byte (a path may hold a
# newline), first what the wrapper decided, then the variables uv would get (only those set).
# `state` is what _uvmod_check_environment found: absent, unmarked, marked or damaged (a dry run
# writes and moves nothing, so "unmarked" would be marked and "damaged" moved aside).
# uvmod/dryrun.py reads it.
_uvmod_report() {
  printf '%s=%s\0' dry-run 1 command "$_uvmod_cmd" key "$_uvmod_key" stale "$_uvmod_stale" \
    config "$_uvmod_config" project "$_uvmod_root" environment "$_uvmod_env" \
    state "$_uvmod_state" arch "$_uvmod_arch" machine "${_uvmod_machine-}"
  for _uvmod_var in UV_PROJECT_ENVIRONMENT VIRTUAL_ENV XDG_CONFIG_DIRS UV_LINK_MODE \
    "$UVMOD_KEY_VARIABLE"; do
    eval "[ -z \"\${$_uvmod_var+x}\" ] || printf '%s=%s\\0' $_uvmod_var \"\$$_uvmod_var\""
  done
}

# --- Stale key (docs/design.md#environment-modules) ----------------------------------------
# When stale, this call uses the key of the modules loaded *now* (one `sort` process), so
# builds and environments are never mixed across MPI stacks; the shell's variable stays stale
# until uv-hpc is reloaded, and the message says so. Returns 1 when the loaded modules give a
# key the wrapper refuses.
_uvmod_use_loaded_modules_key() {
  uvmod_key_compute "${LOADEDMODULES-}" "$UVMOD_KEY_MODULES" "$UVMOD_KEY_FAMILY_VARS"
  if ! _uvmod_key_is_safe "$uvmod_key_result"; then
    _uvmod_say "the loaded modules give the cache key '$uvmod_key_result', which holds" \
      "characters other than letters, digits and '$UVMOD_KEY_PUNCTUATION'; refusing to run uv" \
      "with it."
    return 1
  fi
  _uvmod_say "\$$UVMOD_KEY_VARIABLE='$_uvmod_key' does not match the MPI/CUDA modules loaded" \
    "now; this command uses '$uvmod_key_result'. To update the variable too:" \
    "module reload $UVMOD_MODULE (Environment Modules: module switch $UVMOD_MODULE)" \
    "(see: uvmod key)."
  _uvmod_key=$uvmod_key_result
  _uvmod_stale=1
  if [ -n "$_uvmod_key" ]; then
    eval "$UVMOD_KEY_VARIABLE=\$_uvmod_key; export $UVMOD_KEY_VARIABLE"
  else
    unset "$UVMOD_KEY_VARIABLE"
  fi
}

# --- Writing into the depot ----------------------------------------------------------------
# FILE gets the output of the command after it, atomically: written to a temporary file that
# mktemp creates exclusively (O_EXCL, mode 0600, an unpredictable name: a link planted at a
# guessable name is never followed), renamed over FILE once complete (rename replaces a link at
# FILE rather than following it; -T: a directory there is not written into), so concurrent
# calls (which write the same bytes) and readers only ever see a whole file. Missing directories
# are made 0700 whatever the umask (docs/design.md#trust). Status 1, and no temporary file
# left, when anything fails.
_uvmod_write_atomic() {
  _uvmod_w_file=$1
  shift
  _uvmod_w_tmp=
  _uvmod_w_dir=${_uvmod_w_file%/*}
  if { [ -d "$_uvmod_w_dir" ] || (umask 077 && mkdir -p -- "$_uvmod_w_dir"); } 2>/dev/null &&
    _uvmod_w_tmp=$(mktemp "$_uvmod_w_dir/$UVMOD_DEPOT_TEMPORARY.XXXXXXXXXX" 2>/dev/null) &&
    { "$@" >"$_uvmod_w_tmp"; } 2>/dev/null &&
    mv -fT -- "$_uvmod_w_tmp" "$_uvmod_w_file" 2>/dev/null
  then
    return 0
  fi
  [ -z "$_uvmod_w_tmp" ] || rm -f -- "$_uvmod_w_tmp" 2>/dev/null
  return 1
}

# --- Trust (docs/design.md#trust) ----------------------------------------------------------
# The once-per-depot check behind _uvmod_trust_depot (sh/uv-phases.sh). The depot is made when
# missing (0700, and its missing parents too); then one stat process reads the owner and mode of
# the depot and of every directory above it, along the path as given and along its real path:
#   the depot          this user's, not writable by group or others;
#   each one above     this user's or root's, and not writable by group or others unless sticky
#                      (in a sticky directory only an entry's owner may rename or remove it).
# Then one find looks inside: every entry of the depot, and everything in uvmod's own
# directories (.uvmod-index, .uvmod-config, .uvmod-setuptools), must be this user's and (but for
# symlinks, whose mode means nothing) not writable by group or others; environments and the
# trash are looked at, not into (their files are uv's, behind the depot's 0700). Passing all
# that, the depot is made 0700 and gets the stamp; failing, the call is refused with one line
# naming the path and the fix. A dry run checks the same and writes nothing.
_uvmod_check_depot() {
  _uvmod_uid=$(id -u) || return 1
  if [ -z "$_uvmod_dry" ] && [ ! -e "$_uvmod_depot" ] && [ ! -h "$_uvmod_depot" ]; then
    (umask 077 && mkdir -p -- "$_uvmod_depot") 2>/dev/null
  fi
  _uvmod_real=$(cd -P -- "$_uvmod_depot" 2>/dev/null && pwd) || _uvmod_real=
  # The paths, the depot's own first on each route ("=" marks them); only those that exist.
  _uvmod_list=
  for _uvmod_route in "$_uvmod_depot" "$_uvmod_real"; do
    [ -n "$_uvmod_route" ] || continue
    _uvmod_mark='='
    _uvmod_p=$_uvmod_route
    while :; do
      if [ -e "${_uvmod_p:-/}" ]; then
        set -- "$@" "${_uvmod_p:-/}"
        _uvmod_list=$_uvmod_list$_uvmod_mark
      fi
      _uvmod_mark='^'
      [ -n "$_uvmod_p" ] || break
      _uvmod_p=${_uvmod_p%/*}
    done
  done
  [ $# -gt 0 ] || return 0
  _uvmod_stats=$(stat -L -c '%u %a' -- "$@" 2>/dev/null) || {
    _uvmod_say "cannot read the owner and mode of the environment depot $_uvmod_depot or a" \
      "directory above it; refusing to use it."
    return 1
  }
  for _uvmod_p do
    _uvmod_line=${_uvmod_stats%%"
"*}
    _uvmod_stats=${_uvmod_stats#*"
"}
    _uvmod_owner=${_uvmod_line% *}
    _uvmod_mode=${_uvmod_line#* }
    _uvmod_mark=${_uvmod_list%"${_uvmod_list#?}"}
    _uvmod_list=${_uvmod_list#?}
    _uvmod_unsafe_path "$_uvmod_p" "$_uvmod_owner" "$_uvmod_mode" "$_uvmod_mark" || continue
    _uvmod_say "refusing to use the environment depot $_uvmod_depot: $_uvmod_why;" \
      "another user could replace what uv runs in your environments. Fix: $_uvmod_fix" \
      "(docs/troubleshooting.md)."
    return 1
  done
  [ -n "$_uvmod_real" ] || return 0  # a dry run before the first call: nothing inside yet
  # From "<real>/.", an entry of the depot itself is the one path with no '/' after "/./"
  # (-maxdepth would apply to the whole walk).
  _uvmod_found=$(find "$_uvmod_real/." -mindepth 1 \( \( ! -user "$_uvmod_uid" -o \
    \( ! -type l \( -perm -020 -o -perm -002 \) \) \) -print -quit \) -o \( ! -path '*/./*/*' \
    \( ! -name '.uvmod-*' -o -name "$UVMOD_DEPOT_TRASH" \) -prune \) 2>/dev/null) ||
    _uvmod_found=''
  if [ -n "$_uvmod_found" ]; then
    _uvmod_found=$_uvmod_depot/${_uvmod_found#"$_uvmod_real/./"}
    _uvmod_say "refusing to use the environment depot $_uvmod_depot: $_uvmod_found is another" \
      "user's or writable by others. Fix: remove it if you did not make it, else" \
      "chmod -R go-w $_uvmod_depot (docs/troubleshooting.md)."
    return 1
  fi
  [ -z "$_uvmod_dry" ] || return 0
  if chmod 700 -- "$_uvmod_real" 2>/dev/null && [ ! -d "$_uvmod_real/$UVMOD_DEPOT_CHECKED" ]; then
    mkdir -m 700 -- "$_uvmod_real/$UVMOD_DEPOT_CHECKED" 2>/dev/null
  fi
  return 0
}

# Whether PATH (owner OWNER, octal mode MODE) makes the depot unsafe; MARK is '=' for the depot
# itself, '^' for a directory above it. Sets _uvmod_why and _uvmod_fix when it does.
_uvmod_unsafe_path() {
  _uvmod_why='' _uvmod_fix=''
  _uvmod_own="export $UVMOD_DEPOT_VARIABLE=<a directory only you can write> after loading"
  case $2:$3 in
    *[!0-9:]* | :* | *:) _uvmod_why="$1 has an unreadable owner or mode" _uvmod_fix="check $1" ;;
  esac
  [ -z "$_uvmod_why" ] || return 0
  _uvmod_open=$((0$3 & 022))
  _uvmod_sticky=$((0$3 & 01000))
  if [ "$4" = '=' ]; then
    if [ "$2" != "$_uvmod_uid" ]; then
      _uvmod_why="it belongs to another user (uid $2)"
      _uvmod_fix="$_uvmod_own $UVMOD_MODULE, or ask your administrator to put"
      _uvmod_fix="$_uvmod_fix paths.venv_depot under a directory of each user's"
    elif [ "$_uvmod_open" -ne 0 ]; then
      _uvmod_why="it is writable by other users (mode $3)"
      _uvmod_fix="chmod go-w $1"
    fi
  elif [ "$2" != "$_uvmod_uid" ] && [ "$2" != 0 ]; then
    _uvmod_why="the directory $1 above it belongs to another user (uid $2)"
    _uvmod_fix="$_uvmod_own $UVMOD_MODULE, or ask your administrator to change paths.venv_depot"
  elif [ "$_uvmod_open" -ne 0 ] && [ "$_uvmod_sticky" -eq 0 ]; then
    _uvmod_why="the directory $1 above it is writable by other users (mode $3) and not sticky"
    if [ "$2" = "$_uvmod_uid" ]; then _uvmod_fix="chmod go-w $1"; else
      _uvmod_fix="$_uvmod_own $UVMOD_MODULE, or ask your administrator to chmod +t $1"
    fi
  fi
  [ -n "$_uvmod_why" ]
}

# An environment directory that is a symlink or another user's (sh/uv-phases.sh,
# _uvmod_own_environment): refused, never used or moved.
_uvmod_refuse_environment() {
  _uvmod_say "refusing to use the environment $_uvmod_env: it is a symlink or another user's," \
    "and may hold programs you did not install. Fix: remove it if you did not make it" \
    "(rm -rf $_uvmod_env) (docs/troubleshooting.md)."
}

# Whether the pyproject.toml of the directory $1 above the project makes $1 the project's root
# (sh/uv-phases.sh, _uvmod_project_root), as uv decides it (uv 0.13.8, checked by
# tests/test_two_users.py): it declares a uv workspace and lists the project among its members
# (and not among its excludes), and the project's own pyproject.toml declares no workspace
# (which makes it a workspace root of its own). Status 0: it counts; 1: it does not; 2: it
# would count but belongs to another user than this one and root, so uv would join this
# user's project to another user's workspace: the call is refused (one line, with the fix).
# uv's member globs are matched against the project's path below $1 as sh patterns, with as
# many '/' as the glob (or any number for a glob with '**'). One awk reads the header and the
# double- or single-quoted strings of `members = [...]` and `exclude = [...]`;
# uvmod/depot.py (workspace_counts) is the Python twin, which reads the file as TOML.
_uvmod_workspace_counts() {
  _uvmod_ws=$1/pyproject.toml
  _uvmod_globs=$(UVMOD_AWK_ERE=$UVMOD_WORKSPACE_ERE awk -v q="'" '
    function grab(s) {
      while (match(s, str)) {
        print kind substr(s, RSTART + 1, RLENGTH - 2)
        s = substr(s, RSTART + RLENGTH)
      }
    }
    BEGIN { hdr = ENVIRON["UVMOD_AWK_ERE"]; str = "\"[^\"]*\"|" q "[^" q "]*" q }
    $0 ~ hdr { ws = 1; table = 1; kind = ""; next }
    !table { next }
    /^[ \t]*\[/ { table = 0; next }
    {
      line = $0
      if (kind == "") {
        if (line ~ /^[ \t]*members[ \t]*=/) kind = "+"
        else if (line ~ /^[ \t]*exclude[ \t]*=/) kind = "-"
        else next
        sub(/^[^=]*=/, "", line)
      }
      end = index(line, "]")
      if (end) { grab(substr(line, 1, end)); kind = "" } else grab(line)
    }
    END { if (ws) print "w" }' "$_uvmod_ws" 2>/dev/null) || return 1
  case $_uvmod_globs in
    *w) ;;
    *) return 1 ;;
  esac
  _uvmod_rel=${_uvmod_root#"$1"/}
  _uvmod_member=
  while [ -n "$_uvmod_globs" ]; do
    _uvmod_glob=${_uvmod_globs%%"
"*}
    case $_uvmod_globs in
      *"
"*) _uvmod_globs=${_uvmod_globs#*"
"} ;;
      *) _uvmod_globs= ;;
    esac
    _uvmod_sign=${_uvmod_glob%"${_uvmod_glob#?}"}
    _uvmod_glob=${_uvmod_glob#?}
    _uvmod_glob=${_uvmod_glob#./}
    _uvmod_glob=${_uvmod_glob%/}
    [ "$_uvmod_sign" != w ] || continue
    _uvmod_glob_matches "$_uvmod_rel" "$_uvmod_glob" || continue
    [ "$_uvmod_sign" = + ] || return 1
    _uvmod_member=1
  done
  [ -n "$_uvmod_member" ] || return 1
  ! grep -Eq "$UVMOD_WORKSPACE_ERE" "$_uvmod_root/pyproject.toml" 2>/dev/null || return 1
  [ ! -O "$_uvmod_ws" ] || return 0
  _uvmod_owner=$(stat -L -c %u -- "$_uvmod_ws" 2>/dev/null) || _uvmod_owner=unknown
  [ "$_uvmod_owner" != 0 ] || return 0
  _uvmod_say "refusing to run uv in $_uvmod_root: $_uvmod_ws belongs to another user (uid" \
    "$_uvmod_owner) and declares a uv workspace with your project as a member, which uv" \
    "would join. Fix: add an empty [tool.uv.workspace] table to $_uvmod_root/pyproject.toml" \
    "(your project is then a workspace of its own), or ask its owner to remove it" \
    "(docs/troubleshooting.md)."
  return 2
}

# Whether the relative path $1 matches uv's member glob $2 (see _uvmod_workspace_counts).
_uvmod_glob_matches() {
  # shellcheck disable=SC2254 # the glob is meant as a pattern
  case $1 in
    $2) ;;
    *) return 1 ;;
  esac
  case $2 in
    *'**'*) return 0 ;;
  esac
  _uvmod_a=$1 _uvmod_b=$2
  while :; do
    case $_uvmod_a:$_uvmod_b in
      */*:*/*) _uvmod_a=${_uvmod_a#*/} _uvmod_b=${_uvmod_b#*/} ;;
      */*:* | *:*/*) return 1 ;;
      *) return 0 ;;
    esac
  done
}

# --- Per-key builds (docs/design.md#per-key-builds) ---------------------------------------
# The variables of [extra-build-variables] do two things for each keyed package:
#   the key variable   gives its built wheels their own shard of the uv cache per key;
#   DIST_EXTRA_CONFIG  names a per-key setup.cfg moving setuptools' build directory to
#                      build/uvmod-k-<key> inside the sdist's source tree. uv unpacks an sdist
#                      once for all shards, and a build/ left by another key's build makes
#                      setuptools pack that key's objects (https://github.com/astral-sh/uv/issues/16850).
# uv's shard hash covers every variable's value, so the setup.cfg path depends on the key and
# the depot only, never on the module build or the arch: rebuilding the module tree or moving
# to another node type rebuilds nothing. Both files live in the depot, not in UV_CACHE_DIR
# (`uv cache clean`/`prune` would delete them) nor in $HOME (jobs should not write there), and
# are written again when purged. Concurrent first calls write the same bytes.
# Writes what is missing of _uvmod_setup and $_uvmod_c/uv/uv.toml (sh/uv-phases.sh,
# _uvmod_per_key_config); returns 1 when the uv.toml cannot be used. A dry run writes nothing
# and answers as if it had.
_uvmod_write_per_key_files() {
  if ! _uvmod_own_file "$_uvmod_setup" && [ -z "$_uvmod_dry" ] &&
    ! _uvmod_write_atomic "$_uvmod_setup" _uvmod_print_setup_cfg; then
    _uvmod_say "cannot write $_uvmod_setup; setuptools builds now may pack another key's objects"
  fi
  ! _uvmod_own_file "$_uvmod_c/uv/uv.toml" || return 0
  # The setup.cfg path goes into a TOML basic string: a depot path with control characters is
  # refused (it would not survive the module tool's eval anyway).
  case $_uvmod_setup in
    *[[:cntrl:]]*)
      _uvmod_say "the depot path $_uvmod_depot holds control characters;" \
        "wheels built now are not isolated per key"
      return 1 ;;
  esac
  [ -z "$_uvmod_dry" ] || return 0
  _uvmod_write_atomic "$_uvmod_c/uv/uv.toml" _uvmod_print_uv_toml && return 0
  _uvmod_say "cannot write $_uvmod_c/uv/uv.toml; wheels built now are not isolated per key"
  return 1
}

# The build directory is relative: setuptools runs in the source tree, so every sdist (and
# every version of it) gets its own per-key directory there, removed with the tree.
_uvmod_print_setup_cfg() {
  printf '# Written by the %s wrapper for %s=%s (docs/design.md#per-key-builds).\n' \
    "$UVMOD_MODULE" "$UVMOD_KEY_VARIABLE" "$_uvmod_key" &&
    printf '[build]\nbuild_base = build/uvmod-%s\n' "$_uvmod_key_dir"
}

_uvmod_print_uv_toml() {
  _uvmod_toml_escape "$_uvmod_setup"
  cat "$UVMOD_ETC/$_uvmod_arch/uv/uv.toml" &&
    printf '\n# Added by the %s wrapper for %s=%s: built wheels of these packages get\n' \
      "$UVMOD_MODULE" "$UVMOD_KEY_VARIABLE" "$_uvmod_key" &&
    printf '# their own shard of the uv cache per key, and setuptools its own build\n' &&
    printf '# directory (docs/design.md#per-key-builds).\n[extra-build-variables]\n' &&
    for _uvmod_pkg in $UVMOD_KEY_PACKAGES; do  # validated names: split on spaces, no globs
      printf '"%s" = { %s = "%s", DIST_EXTRA_CONFIG = "%s" }\n' "$_uvmod_pkg" \
        "$UVMOD_KEY_VARIABLE" "$_uvmod_key" "$_uvmod_escaped"
    done
}

# $1 with '\' and '"' escaped for a TOML basic string, into _uvmod_escaped.
_uvmod_toml_escape() {
  _uvmod_rest=$1
  _uvmod_escaped=
  while :; do
    case $_uvmod_rest in
      *[\\\"]*)
        _uvmod_t=${_uvmod_rest%%[\\\"]*}
        _uvmod_rest=${_uvmod_rest#"$_uvmod_t"}
        _uvmod_escaped=$_uvmod_escaped$_uvmod_t\\${_uvmod_rest%"${_uvmod_rest#?}"}
        _uvmod_rest=${_uvmod_rest#?} ;;
      *)
        _uvmod_escaped=$_uvmod_escaped$_uvmod_rest
        break ;;
    esac
  done
}

# --- uv tool (docs/design.md#tools) --------------------------------------------------------
# `uv tool ...` (and bin/uvx, which runs `uv tool uvx`) installs into uv's own tool
# environments, never into the project's: it gets the key and the per-key uv.toml, and nothing
# of the depot (docs/design.md#uvmod-and-uvx-on-path).
# `uv tool install`/`upgrade` link from the cache into $UV_TOOL_DIR, which by default is not on
# the cache's filesystem: uv then copies anyway, after a warning that suggests exporting
# UV_LINK_MODE=copy, which would also make every project environment a copy. So for these two
# only (sh/uv-wrapper.sh), and only across filesystems, this call gets UV_LINK_MODE=copy.
_uvmod_tool_link_mode() {
  [ -z "${UV_LINK_MODE-}" ] && [ -n "${UV_CACHE_DIR-}" ] && [ -n "${UV_TOOL_DIR-}" ] || return 0
  if _uvmod_across_filesystems "$UV_CACHE_DIR" "$UV_TOOL_DIR"; then
    UV_LINK_MODE=copy
    export UV_LINK_MODE
  fi
}

# Status 0 when directories $1 and $2 are on two filesystems: two device numbers that differ.
# Anything else (the same device, stat failed) is 1, which leaves uv's default.
_uvmod_across_filesystems() {
  # The nearest existing directory of each: neither needs to exist yet.
  _uvmod_a=$1
  while [ -n "$_uvmod_a" ] && [ ! -d "$_uvmod_a" ]; do _uvmod_a=${_uvmod_a%/*}; done
  _uvmod_b=$2
  while [ -n "$_uvmod_b" ] && [ ! -d "$_uvmod_b" ]; do _uvmod_b=${_uvmod_b%/*}; done
  _uvmod_da=
  _uvmod_db=
  { read -r _uvmod_da && read -r _uvmod_db; } 2>/dev/null <<_uvmod_EOF
$(stat -c %d -- "${_uvmod_a:-/}" "${_uvmod_b:-/}" 2>/dev/null)
_uvmod_EOF
  case $_uvmod_da:$_uvmod_db in
    *[!0-9:]* | :* | *:) return 1 ;;
  esac
  [ "$_uvmod_da" != "$_uvmod_db" ]
}

# --- Job-local environments (docs/design.md#job-local-environments) ------------------------
# The job chose a job-local environment (sh/uv-phases.sh, _uvmod_job_local): it goes to
# <job dir>/<UVMOD_JOB_ENVS>/<depot name>, so the same key and project give the same name as in
# the depot, and the depot's environment is neither used nor touched (no marker, no last use).
# The scheduler removes the job's directory, environment included, when the job ends. A job
# without its directory uses the depot's, and says so. Sets _uvmod_env and _uvmod_state
# (UVMOD_JOB_STATE); returns 1 when the depot's environment is used.
_uvmod_job_environment() {
  _uvmod_job_dir=''
  eval "_uvmod_job_dir=\${$UVMOD_JOB_DIR_VARIABLE-}"
  case $_uvmod_job_dir in
    /*) [ -d "$_uvmod_job_dir" ] || { _uvmod_job_dir_missing; return 1; } ;;
    *) _uvmod_job_dir_missing; return 1 ;;
  esac
  _uvmod_job_envs=$_uvmod_job_dir/$UVMOD_JOB_ENVS
  _uvmod_env=$_uvmod_job_envs/$_uvmod_name
  _uvmod_state=$UVMOD_JOB_STATE
  _uvmod_job_link_mode
}

# uv links from the cache into the environment, and node-local disk is seldom the cache's
# filesystem: across filesystems it copies anyway, after a warning on every sync that suggests
# UV_LINK_MODE=copy. So the job's environments get UV_LINK_MODE=copy when the two differ
# (unless the user set a mode). The first call of the job finds out (one stat process) and
# remembers it in the job's directory; the others read it with a builtin. A dry run writes
# nothing.
_uvmod_job_link_mode() {
  [ -z "${UV_LINK_MODE-}" ] || return 0
  _uvmod_lm=
  { read -r _uvmod_lm <"$_uvmod_job_envs/$UVMOD_JOB_LINK_MODE_FILE"; } 2>/dev/null
  case $_uvmod_lm in
    copy | default) ;;
    *)
      _uvmod_lm=default
      # The cache: uv's default one when UV_CACHE_DIR is unset.
      if _uvmod_across_filesystems "${UV_CACHE_DIR:-${HOME-}/.cache/uv}" "$_uvmod_job_dir"
      then
        _uvmod_lm=copy
      fi
      [ -n "$_uvmod_dry" ] ||
        _uvmod_write_atomic "$_uvmod_job_envs/$UVMOD_JOB_LINK_MODE_FILE" \
          printf '%s\n' "$_uvmod_lm" || : ;;
  esac
  if [ "$_uvmod_lm" = copy ]; then
    UV_LINK_MODE=copy
    export UV_LINK_MODE
  fi
}

# Job-local environments were chosen, but the job has no node-local directory to put one in.
_uvmod_job_dir_missing() {
  _uvmod_say "job-local environments are on, but \$$UVMOD_JOB_DIR_VARIABLE='$_uvmod_job_dir'" \
    "is not a directory in this job; using the depot environment (ask your administrator," \
    "or export $UVMOD_JOB_LOCAL_VARIABLE=0)."
}

# --- A new depot name (docs/design.md#environment-depot) -----------------------------------
# <readable>-<16 hex of sha256(_uvmod_identity)>, remembered in the index (a dry run writes
# nothing). Sets _uvmod_name; returns 1 when sha256sum fails.
_uvmod_new_name() {
  _uvmod_hash_identity || return 1
  _uvmod_readable_part "${_uvmod_root##*/}"
  _uvmod_name=$_uvmod_readable-$_uvmod_hash
  [ -n "$_uvmod_dry" ] ||
    _uvmod_write_atomic "$_uvmod_index_entry" printf '%s\n' "$_uvmod_name" || :
}

# sha256sum: cksum is POSIX but a 32-bit CRC (collisions at ~65,000 projects); sha256sum is in
# GNU coreutils >= 6.0 (2006), on every Linux cluster node; the first UVMOD_HASH_GLOB hex
# digits (64 bits) are plenty. Heredoc, not a pipe: one process fewer. Sets _uvmod_hash.
_uvmod_hash_identity() {
  _uvmod_sum=$(sha256sum <<_uvmod_EOF
$_uvmod_identity
_uvmod_EOF
  ) 2>/dev/null
  _uvmod_sum=${_uvmod_sum%% *}
  if [ ${#_uvmod_sum} -ne 64 ]; then
    _uvmod_say "sha256sum failed; using uv's default environment location"
    return 1
  fi
  # shellcheck disable=SC2295 # the glob is meant as a pattern: one '?' per hex digit
  _uvmod_t=${_uvmod_sum#$UVMOD_HASH_GLOB}
  _uvmod_hash=${_uvmod_sum%"$_uvmod_t"}
}

# The readable part of a name, from the root's last component $1, into _uvmod_readable: every
# run of bytes outside letters, digits and UVMOD_NAME_PUNCTUATION made one '_', at most
# UVMOD_READABLE_MAX characters, a leading '.' made '_' (depot entries starting with '.' are
# uvmod's own) and so is a leading '-' (a name that looks like an option is never remembered by
# _uvmod_depot_name, which would then hash it again on every call), UVMOD_READABLE_EMPTY when
# nothing is left.
_uvmod_readable_part() {
  _uvmod_rest=$1
  _uvmod_readable=
  _uvmod_bad=
  while [ -n "$_uvmod_rest" ] && [ ${#_uvmod_readable} -lt "$UVMOD_READABLE_MAX" ]; do
    _uvmod_t=${_uvmod_rest#?}
    _uvmod_ch=${_uvmod_rest%"$_uvmod_t"}
    _uvmod_rest=$_uvmod_t
    case $_uvmod_ch in
      [A-Za-z0-9$UVMOD_NAME_PUNCTUATION]) _uvmod_readable=$_uvmod_readable$_uvmod_ch _uvmod_bad= ;;
      *)
        [ -n "$_uvmod_bad" ] || _uvmod_readable=${_uvmod_readable}_
        _uvmod_bad=1 ;;
    esac
  done
  case $_uvmod_readable in
    '') _uvmod_readable=$UVMOD_READABLE_EMPTY ;;
    [.-]*) _uvmod_readable=_${_uvmod_readable#?} ;;
  esac
}

# --- Environments (docs/design.md#environment-depot) ---------------------------------------
# A new environment uv made: the back-pointer (what uvmod/depot.py read_marker reads), then its
# first use, both made 0600 by _uvmod_write_atomic whatever the umask (later calls only empty
# the last-use file, which keeps its mode). Everything uvmod keeps in an environment it writes
# here.
_uvmod_mark_environment() {
  _uvmod_write_atomic "$_uvmod_marker" printf '%s\n%s\n%s\n%s\n%s\n' "$UVMOD_MARKER_HEADER" \
    "$_uvmod_key" "$_uvmod_arch" "$_uvmod_machine" "$_uvmod_root" &&
    _uvmod_write_atomic "$_uvmod_used" true
}

# Purge damage (sh/uv-phases.sh, _uvmod_check_environment): out of uv's way, into the trash
# that `uvmod venv gc` empties.
# The trash entry is an empty directory mktemp made (an unpredictable name), which rename
# replaces.
_uvmod_move_aside() {
  if { [ -d "$_uvmod_depot/$UVMOD_DEPOT_TRASH" ] ||
    (umask 077 && mkdir -p -- "$_uvmod_depot/$UVMOD_DEPOT_TRASH"); } 2>/dev/null &&
    _uvmod_trash=$(mktemp -d "$_uvmod_depot/$UVMOD_DEPOT_TRASH/$_uvmod_name.XXXXXXXXXX") &&
    mv -fT -- "$_uvmod_env" "$_uvmod_trash" 2>/dev/null
  then
    _uvmod_say "$_uvmod_env was partly deleted (most likely by the scratch purge);" \
      "moved it to $_uvmod_trash and uv will create a fresh one." \
      "'uvmod venv gc --yes' deletes the old copy."
  fi
}

# --- A uv.lock made on another node type (docs/design.md#one-lock-several-node-types) -------
# uv.lock names the wheelhouse directory of every package (`source = { registry = "<dir>" }`),
# and on another node type those directories are not among uv's indexes: uv re-locks against
# this node's chain (`uv sync --locked` fails instead). Run only when this project has no
# environment for this node type yet, so it costs nothing on the common path: one line naming
# the node types whose directories the lock holds, found in their uv.toml files.
_uvmod_lock_notice() {
  _uvmod_lock=${_uvmod_root%/}/uv.lock
  _uvmod_mine=$UVMOD_ETC/$_uvmod_arch/uv/uv.toml
  [ -n "$_uvmod_arch" ] && [ -f "$_uvmod_lock" ] && [ -f "$_uvmod_mine" ] || return 0
  _uvmod_other=$(
    sed -n 's/^source = { registry = "\([^"]*\)".*/\1/p' "$_uvmod_lock" | sort -u |
      while IFS= read -r _uvmod_reg; do
        ! grep -qF "url = \"$_uvmod_reg\"" "$_uvmod_mine" || continue
        for _uvmod_t in "$UVMOD_ETC"/*/uv/uv.toml; do
          if grep -qF "url = \"$_uvmod_reg\"" "$_uvmod_t"; then
            _uvmod_t=${_uvmod_t%/uv/uv.toml}
            printf '%s\n' "${_uvmod_t##*/}"
          fi
        done
      done | sort -u | tr '\n' ' '
  ) 2>/dev/null
  [ -n "$_uvmod_other" ] || return 0
  _uvmod_say "uv.lock was locked with the wheels of ${_uvmod_other% } nodes; on this" \
    "$_uvmod_arch node uv locks again with its own (uv sync --locked refuses), in an" \
    "environment of its own (see docs/user-guide.md, moving between node types)."
}

# --- No manylinux wheels (docs/design.md#manylinux-switch) ---------------------------------
# uv asks an environment's interpreter, with `python -I`, whether manylinux wheels fit, and
# caches the answer per interpreter path for as long as the base interpreter file is unchanged:
# a _manylinux.py counts only in the environment's own site-packages, and only if it is there
# before uv first asks (uv 0.13.8; tests/test_manylinux_switch.py). So the wrapper
#   - creates a project environment itself (`uv venv`, same Python request) before the first
#     `uv run`/`sync`/`add`/`remove` that would, writes the file, marks the environment;
#   - writes the file into an environment it meets without the flag (made before the switch,
#     recreated by uv for another Python, the target of `uv pip`), and drops uv's
#     cached interpreter answers (files only: a uv running now may be writing there), which uv
#     then asks again once per interpreter (tens of milliseconds);
#   - leaves UVMOD_MANYLINUX_FLAG at the environment's top, the one file later calls stat().

# The file in every site-packages of environment $1, uv's answers dropped, then the flag.
# Status 1 when the environment has no site-packages or a file cannot be written.
_uvmod_refuse_manylinux() {
  _uvmod_m_ok=
  for _uvmod_m_dir in "$1"/lib/python*/site-packages; do
    [ -d "$_uvmod_m_dir" ] || continue
    if ! _uvmod_write_atomic "$_uvmod_m_dir/$UVMOD_MANYLINUX_FILE" \
      printf '%s' "$UVMOD_MANYLINUX_TEXT"; then
      _uvmod_say "cannot write $_uvmod_m_dir/$UVMOD_MANYLINUX_FILE; uv may install" \
        "manylinux wheels there, which this site does not allow"
      return 1
    fi
    _uvmod_m_ok=1
  done
  [ -n "$_uvmod_m_ok" ] || return 1
  _uvmod_m_cache=${UV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/uv}
  rm -f "$_uvmod_m_cache"/interpreter-v*/*/*.msgpack 2>/dev/null
  _uvmod_touch "$1/$UVMOD_MANYLINUX_FLAG"
}

# A new (or moved aside) project environment, made here before uv first resolves into it, with
# the Python uv would pick (the call's --python, else UV_PYTHON, .python-version and
# requires-python, which `uv venv` reads from the same directory); then marked as uv's own would
# be. When `uv venv` fails, the call goes on and uv reports the same problem itself.
_uvmod_create_refusing() {
  "$UVMOD_REAL_UV" venv --quiet --allow-existing --directory "${_uvmod_start:-/}" \
    ${_uvmod_python:+--python "$_uvmod_python"} "$_uvmod_env" || return 0
  _uvmod_refuse_manylinux "$_uvmod_env" && _uvmod_mark_environment
}

# `uv venv [PATH]`: uv makes it, then the file goes in, before anything is installed. PATH is
# the first argument after `venv` that is neither an option nor an option's value; without one
# uv makes UV_PROJECT_ENVIRONMENT at a project's root (the wrapper's, or the user's own) and
# .venv in the current directory elsewhere, a project's subdirectories included (uv 0.13.8).
# Ends the call with uv's status.
_uvmod_venv_refusing() {
  "$UVMOD_REAL_UV" "$@"
  _uvmod_v_status=$?
  [ "$_uvmod_v_status" -eq 0 ] || exit "$_uvmod_v_status"
  _uvmod_v_path=
  _uvmod_v_seen=
  _uvmod_v_take=
  for _uvmod_arg do
    if [ -n "$_uvmod_v_take" ]; then _uvmod_v_take= && continue; fi
    case $_uvmod_arg in
      --) break ;;
      --python | -p | --prompt | --index-strategy | --keyring-provider | --exclude-newer | \
        --exclude-newer-package | --link-mode | -i | --index | --default-index | --index-url | \
        --extra-index-url | -f | --find-links | --cache-dir | --color | --config-file | \
        --directory | --project | --allow-insecure-host | --seed-package)
        _uvmod_v_take=1 ;;
      -*) ;;
      *)
        if [ -z "$_uvmod_v_seen" ]; then
          _uvmod_v_seen=1
        else
          _uvmod_v_path=$_uvmod_arg
          break
        fi ;;
    esac
  done
  if [ -z "$_uvmod_v_path" ]; then
    _uvmod_v_path=.venv
    if [ -n "${UV_PROJECT_ENVIRONMENT-}" ] && [ -n "$_uvmod_root" ] &&
      [ "${_uvmod_start:-/}" = "$_uvmod_root" ]; then
      _uvmod_v_path=$UV_PROJECT_ENVIRONMENT
    elif [ -n "${UV_PROJECT_ENVIRONMENT-}" ] && [ ! -f .venv/pyvenv.cfg ]; then
      _uvmod_v_path=$UV_PROJECT_ENVIRONMENT  # the user's own, at a root the wrapper skipped
    fi
  fi
  case $_uvmod_v_path in
    /*) ;;
    *) [ -z "$_uvmod_directory" ] || _uvmod_v_path=$_uvmod_directory/$_uvmod_v_path ;;
  esac
  if [ -f "$_uvmod_v_path/pyvenv.cfg" ]; then
    _uvmod_refuse_manylinux "$_uvmod_v_path" || :
  else
    _uvmod_say "cannot find the environment uv just made; it may accept manylinux wheels" \
      "(see: uvmod doctor)"
  fi
  exit 0
}

# --- Offline projects (docs/design.md#offline-projects) ------------------------------------
# On a wheelhouse-only site uv still locks for every platform, and a macOS-only dependency
# (ipykernel's appnope) has no wheel here; `environments` narrows the lock, but uv accepts it
# in pyproject.toml only. `uv init` runs, then the new project's pyproject.toml gets a
# `[tool.uv]` table with UVMOD_INIT_ENVIRONMENTS, unless it has a `[tool.uv]` already (then
# one line says what to add). A `--script` has no pyproject.toml. Ends the call with uv's
# status.
_uvmod_init_environments() {
  "$UVMOD_REAL_UV" "$@"
  _uvmod_i_status=$?
  [ "$_uvmod_i_status" -eq 0 ] || exit "$_uvmod_i_status"
  _uvmod_i_path=
  _uvmod_i_seen=
  _uvmod_i_take=
  for _uvmod_arg do
    if [ -n "$_uvmod_i_take" ]; then _uvmod_i_take= && continue; fi
    case $_uvmod_arg in
      --) break ;;
      --script) exit 0 ;;
      --name | --build-backend | --vcs | --author-from | --description | -p | --python | \
        --cache-dir | --color | --config-file | --directory | --project | \
        --allow-insecure-host | --index | --default-index | -i | --index-url | \
        --extra-index-url | -f | --find-links)
        _uvmod_i_take=1 ;;
      -*) ;;
      *)
        if [ -z "$_uvmod_i_seen" ]; then
          _uvmod_i_seen=1
        else
          _uvmod_i_path=$_uvmod_arg
          break
        fi ;;
    esac
  done
  case ${_uvmod_i_path:-.} in
    /*) _uvmod_i_file=$_uvmod_i_path/pyproject.toml ;;
    *) _uvmod_i_file=${_uvmod_directory:-.}/${_uvmod_i_path:-.}/pyproject.toml ;;
  esac
  [ -f "$_uvmod_i_file" ] || exit 0
  grep -Eq '^[[:space:]]*environments[[:space:]]*=' "$_uvmod_i_file" && exit 0
  if grep -Eq '^[[:space:]]*\[[[:space:]]*tool\.uv[[:space:]]*\]' "$_uvmod_i_file"; then
    _uvmod_say "this site serves Linux wheels only: add $UVMOD_INIT_ENVIRONMENTS under" \
      "[tool.uv] in $_uvmod_i_file"
    exit 0
  fi
  {
    printf '\n# Added by the %s wrapper: this site serves Linux wheels only, and uv locks for\n' \
      "$UVMOD_MODULE" &&
      printf '# every platform unless told where the project runs.\n[tool.uv]\n%s\n' \
        "$UVMOD_INIT_ENVIRONMENTS"
  } >>"$_uvmod_i_file" 2>/dev/null ||
    _uvmod_say "cannot write $_uvmod_i_file: add $UVMOD_INIT_ENVIRONMENTS under [tool.uv]"
  exit 0
}

# `uv add`/`uv lock` in a project whose pyproject.toml has no `environments` line: uv runs as a
# child, and when it fails, one line names the fix (uv's own message says which package was
# missing). With the line, uv is exec'ed as usual.
_uvmod_hint_environments() {
  _uvmod_h_file=$_uvmod_root/pyproject.toml
  [ "$_uvmod_root" != / ] || _uvmod_h_file=/pyproject.toml
  ! grep -Eq '^[[:space:]]*environments[[:space:]]*=' "$_uvmod_h_file" 2>/dev/null || return 0
  "$UVMOD_REAL_UV" "$@"
  _uvmod_h_status=$?
  [ "$_uvmod_h_status" -eq 0 ] ||
    _uvmod_say "this site serves Linux wheels only and uv locks for every platform: if a" \
      "package above is missing for another platform, add $UVMOD_INIT_ENVIRONMENTS under" \
      "[tool.uv] in $_uvmod_h_file"
  exit "$_uvmod_h_status"
}
_uvmod_rare_build='3a9f87447574a297'
UVMOD_ETC='/opt/uvmod/uv-hpc/1.0/etc'
UVMOD_DEPOT_TRASH='.uvmod-trash'
UVMOD_DEPOT_TEMPORARY='.uvmod-tmp'
UVMOD_WORKSPACE_ERE='^[[:blank:]]*\[[[:blank:]]*tool\.uv\.workspace[[:blank:]]*\]'
UVMOD_READABLE_MAX='48'
UVMOD_READABLE_EMPTY='project'
UVMOD_MARKER_HEADER='uvmod-project 2'
UVMOD_MANYLINUX_FILE='_manylinux.py'
UVMOD_MANYLINUX_TEXT='# Written by uvmod: this site refuses manylinux wheels (docs/design.md#manylinux-switch).
manylinux1_compatible = False
manylinux2010_compatible = False
manylinux2014_compatible = False


def manylinux_compatible(*args, **kwargs):
    return False
'
UVMOD_JOB_DIR_VARIABLE='SLURM_TMPDIR'
UVMOD_JOB_ENVS='uvmod-envs'
UVMOD_JOB_LINK_MODE_FILE='.uvmod-link-mode'
UVMOD_JOB_STATE='job-local'
