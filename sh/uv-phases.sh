# shellcheck shell=sh
# The phases of the uv wrapper: functions only, one per step of a uv call, which
# sh/uv-wrapper.sh calls in order. uvmod pastes this text into the module's bin/uv after
# sh/uv-start.sh and sh/uvmod-key.sh and before sh/uv-wrapper.sh, behind generated assignments
# (uvmod/render/wrapper.py, wrapper_assignments) of:
#   UVMOD_MODULE           the site's module name (uv-hpc), for messages
#   UVMOD_REAL_UV          the real uv to exec
#   UVMOD_BUILD_ID         changes whenever a policy file, the key settings or this code change
#   UVMOD_RARE_LIBRARY     <install dir>/libexec/uv-rare.sh: the phases' rarely run parts
#   UVMOD_KEY_VARIABLE     the cache-key variable (site cache_key.variable)
#   UVMOD_KEY_PACKAGES     space-separated packages that get the key as an extra build variable
#   UVMOD_KEY_MODULES      space-separated [cache_key].modules         } for the stale-key check
#   UVMOD_KEY_FAMILY_VARS  variables naming each family's module       } of sh/uvmod-key.sh
#   UVMOD_JOB_LOCAL_DEFAULT  "1" when the site turns job-local environments on ([jobs])
#   UVMOD_JOB_LOCAL_VARIABLE, UVMOD_JOB_ID_VARIABLE  the user's switch and the variable set in
#                          a job (_uvmod_job_local)
# and of the names and limits the Python side defines once (docs/design.md#one-home-for-each-rule):
# the module's variables (UVMOD_*_VARIABLE, UVMOD_KEY_SOURCE_HOOK), the depot's file names
# (UVMOD_DEPOT_CONFIG, ..._SETUPTOOLS, ..._INDEX, ..._INDEX_NAME, ..._MARKER, ..._LAST_USED,
# ..._CHECKED),
# the name rule (UVMOD_DEPOT_TAG, UVMOD_HASH_GLOB: one '?' per hex digit kept,
# UVMOD_NAME_PUNCTUATION), the key's spelling in paths (UVMOD_KEY_PUNCTUATION,
# UVMOD_KEY_DIR_PREFIX, ..._SLASH, ..._HASHED_PREFIX, ..._DIR_MAX).
#
# It runs on every uv call, so: POSIX sh only, no Python, no subprocess on the common path.
# Outside a project a call runs a few builtins and execs; inside a project it adds a few stat()s
# and one builtin read. What only the first call for a project or key, a stale key, `uv tool`
# or a dry run needs is in sh/uv-rare.sh, which bin/uv reads only then (_uvmod_rare): the shell
# reads every line of a script it reaches, so the common path stays as short to read as to run
# (docs/design.md#the-wrapper).
#
# Each phase reads the results of the phases before it and sets its own, all in variables
# starting with _uvmod_ (the list is in sh/uv-wrapper.sh); a phase returns 1 when the call
# should go to uv unchanged. A test can paste these files behind the assignments, set the inputs
# of one phase and call it (tests/test_wrapper_phases.py).

_uvmod_say() {
  printf '%s\n' "$UVMOD_MODULE: $*" >&2
}

# --- Shell state ---------------------------------------------------------------------------
# Byte semantics for `?` and [a-z] while paths are looked at (bash as /bin/sh honours the
# locale, dash does not), and `cd -P .` below rewrites PWD and OLDPWD: _uvmod_exec gives uv and
# its children (uv run) all three back as they were.
_uvmod_save_shell() {
  _uvmod_lc_set=${LC_ALL+x}
  _uvmod_lc=${LC_ALL-}
  _uvmod_pwd_set=${PWD+x}
  _uvmod_pwd=${PWD-}
  _uvmod_oldpwd_set=${OLDPWD+x}
  _uvmod_oldpwd=${OLDPWD-}
  LC_ALL=C
}

# What the module set: the depot, the arch, the key and who wrote it; and the dry-run switch.
# The names come from the assignments, so one eval reads them all.
_uvmod_read_environment() {
  _uvmod_depot='' _uvmod_arch='' _uvmod_source='' _uvmod_key='' _uvmod_dry=''
  eval "_uvmod_depot=\${$UVMOD_DEPOT_VARIABLE-} _uvmod_arch=\${$UVMOD_ARCH_VARIABLE-}" \
    "_uvmod_source=\${$UVMOD_KEY_SOURCE_VARIABLE-} _uvmod_key=\${$UVMOD_KEY_VARIABLE-}" \
    "_uvmod_dry=\${$UVMOD_DRY_RUN_VARIABLE-}"
  # What the dry run reports, set by later phases (never inherited from the environment).
  _uvmod_stale='' _uvmod_cmd='' _uvmod_config='' _uvmod_root='' _uvmod_env='' _uvmod_state=''
  _uvmod_machine=''
  _uvmod_trusted=''
}

# The end of every call: the shell state back, then uv; or, for a dry run, the report instead.
_uvmod_exec() {
  if [ -n "$_uvmod_lc_set" ]; then LC_ALL=$_uvmod_lc; else unset LC_ALL; fi
  if [ -n "$_uvmod_pwd_set" ]; then PWD=$_uvmod_pwd; fi
  if [ -n "$_uvmod_oldpwd_set" ]; then OLDPWD=$_uvmod_oldpwd; else unset OLDPWD; fi
  [ -z "$UVMOD_NO_MANYLINUX$UVMOD_INIT_ENVIRONMENTS" ] || [ -n "$_uvmod_dry" ] ||
    _uvmod_pip_stack "$@"
  if [ -n "$_uvmod_dry" ]; then
    _uvmod_report
    exit 0
  fi
  exec "$UVMOD_REAL_UV" "$@"
}

# What sh/uv-start.sh sends to uv at once (here for a dry run), and the plain commands, before
# anything is checked: `uv cache clean` works whatever the key variable holds.
_uvmod_passthrough() {
  if [ -n "${_uvmod_plain-}" ] || _uvmod_plain_command "${1-}"; then _uvmod_exec "$@"; fi
}

# Commands that never touch a project environment or build anything.
_uvmod_plain_command() {
  case $1 in
    cache | self | help | generate-shell-completion) return 0 ;;
  esac
  return 1
}

# --- The rarely run parts: sh/uv-rare.sh -----------------------------------------------------
# Each function of sh/uv-rare.sh the phases call has a stand-in here that reads the library
# (which defines the real function over it) and calls it. The library must come from the same
# build as this file: a module rebuilt while this command started ends it, rather than mixing
# two builds' rules for names and per-key builds.
_uvmod_rare() {
  _uvmod_rare_build=''
  if [ -r "$UVMOD_RARE_LIBRARY" ]; then
    # shellcheck disable=SC1090 # sh/uv-rare.sh, checked on its own
    . "$UVMOD_RARE_LIBRARY"
    [ "$_uvmod_rare_build" != "$UVMOD_BUILD_ID" ] || return 0
  fi
  _uvmod_say "$UVMOD_RARE_LIBRARY is missing or from another build of $UVMOD_MODULE: the" \
    "module was rebuilt while this command started (run it again), or is damaged (ask your" \
    "administrator to rerun uvmod build-modulefiles)."
  exit 1
}
_uvmod_report() { _uvmod_rare && _uvmod_report "$@"; }
_uvmod_use_loaded_modules_key() { _uvmod_rare && _uvmod_use_loaded_modules_key "$@"; }
_uvmod_write_per_key_files() { _uvmod_rare && _uvmod_write_per_key_files "$@"; }
_uvmod_tool_link_mode() { _uvmod_rare && _uvmod_tool_link_mode "$@"; }
_uvmod_new_name() { _uvmod_rare && _uvmod_new_name "$@"; }
_uvmod_mark_environment() { _uvmod_rare && _uvmod_mark_environment "$@"; }
_uvmod_move_aside() { _uvmod_rare && _uvmod_move_aside "$@"; }
_uvmod_lock_notice() { _uvmod_rare && _uvmod_lock_notice "$@"; }
_uvmod_refuse_manylinux() { _uvmod_rare && _uvmod_refuse_manylinux "$@"; }
_uvmod_create_refusing() { _uvmod_rare && _uvmod_create_refusing "$@"; }
_uvmod_venv_refusing() { _uvmod_rare && _uvmod_venv_refusing "$@"; }
_uvmod_init_environments() { _uvmod_rare && _uvmod_init_environments "$@"; }
_uvmod_hint_environments() { _uvmod_rare && _uvmod_hint_environments "$@"; }
_uvmod_check_depot() { _uvmod_rare && _uvmod_check_depot "$@"; }
_uvmod_workspace_counts() { _uvmod_rare && _uvmod_workspace_counts "$@"; }
_uvmod_refuse_environment() { _uvmod_rare && _uvmod_refuse_environment "$@"; }

# --- Trust (docs/design.md#trust) ----------------------------------------------------------
# Nothing another user could have written is used. The depot must be this user's and writable
# by nobody else, and so must every directory above it that is not root's (sticky ones
# excepted), as ssh's StrictModes checks: checking that takes a stat process, so it is done once,
# by _uvmod_check_depot (sh/uv-rare.sh), which then makes the depot 0700 and leaves the stamp
# directory <depot>/.uvmod-checked. After that only its owner (or root) can change the depot's
# mode or contents, so a call just tests, with builtins, that the depot and the stamp are this
# user's and the stamp is no symlink: a depot that was replaced, or never checked, is checked
# again. A directory cannot be hard-linked, so the stamp cannot be another file of the user's.
# Returns 1 (the call is refused) for a depot that fails the check; once per call.
_uvmod_trust_depot() {
  [ -z "${_uvmod_trusted-}" ] || return 0
  _uvmod_stamp=$_uvmod_depot/$UVMOD_DEPOT_CHECKED
  if [ -O "$_uvmod_depot" ] && [ -d "$_uvmod_stamp" ] && [ -O "$_uvmod_stamp" ] &&
    [ ! -h "$_uvmod_stamp" ]; then
    _uvmod_trusted=1
    return 0
  fi
  _uvmod_check_depot && _uvmod_trusted=1
}

# A file of the depot is used only when it is a regular file of this user's, not a symlink: a
# FIFO or a link to /dev/zero would block the read, and a link would be followed by a write.
_uvmod_own_file() {
  [ -f "$1" ] && [ -O "$1" ] && [ ! -h "$1" ]
}

# The environment directory, if there is one, is this user's real directory; else the call is
# refused (_uvmod_refuse_environment says why and how to fix it).
_uvmod_own_environment() {
  _uvmod_env=$_uvmod_depot/$_uvmod_name
  if [ -h "$_uvmod_env" ] || { [ -e "$_uvmod_env" ] && [ ! -O "$_uvmod_env" ]; }; then
    _uvmod_refuse_environment
    return 1
  fi
}
_uvmod_job_environment() { _uvmod_rare && _uvmod_job_environment "$@"; }

# --- The cache key (docs/design.md#cache-key) ---------------------------------------------
# Validated with a case pattern: it ends up in a TOML string and a directory name, and only
# characters of module names are allowed, so no escaping is ever needed (and none is attempted).
_uvmod_key_is_safe() {
  case $1 in
    *[!A-Za-z0-9$UVMOD_KEY_PUNCTUATION]*) return 1 ;;
  esac
}

_uvmod_check_key() {
  _uvmod_key_is_safe "$_uvmod_key" && return 0
  _uvmod_say "\$$UVMOD_KEY_VARIABLE='$_uvmod_key' holds characters other than letters," \
    "digits and '$UVMOD_KEY_PUNCTUATION'; refusing to run uv with it. Reload your modules," \
    "or unset it."
  return 1
}

# --- Which subcommand, and --project/--directory (also --project=X) ------------------------
# uv's global options may come before or after the subcommand. After `uv run`, the first
# positional argument is the command to run and everything after it belongs to that command
# (`uv run python x.py --project y`), so the scan stops there; to find that argument it must skip
# the values of uv's options that take one (list from `uv run --help` of uv 0.13.8, checked by
# tests/test_wrapper.py). Other subcommands have no trailing command: scan up to `--`.
# Sets _uvmod_cmd, _uvmod_sub (of `uv tool`), _uvmod_project, _uvmod_directory and
# _uvmod_python (--python/-p).
_uvmod_scan_args() {
  _uvmod_cmd=
  _uvmod_sub=
  _uvmod_project=${UV_PROJECT-}
  _uvmod_directory=${UV_WORKING_DIR-}
  _uvmod_python=
  _uvmod_take=
  for _uvmod_arg do
    if [ -n "$_uvmod_take" ]; then
      case $_uvmod_take in
        --project) _uvmod_project=$_uvmod_arg ;;
        --directory) _uvmod_directory=$_uvmod_arg ;;
        --python | -p) _uvmod_python=$_uvmod_arg ;;
      esac
      _uvmod_take=
      continue
    fi
    case $_uvmod_arg in
      --) break ;;
      --project=*) _uvmod_project=${_uvmod_arg#--project=} ;;
      --directory=*) _uvmod_directory=${_uvmod_arg#--directory=} ;;
      --python=*) _uvmod_python=${_uvmod_arg#--python=} ;;
      --project | --directory | --extra | --no-extra | --group | --no-group | --only-group | \
        --no-editable-package | --env-file | -w | --with | --with-editable | \
        --with-requirements | --package | --python-platform | --index | --default-index | \
        -i | --index-url | --extra-index-url | -f | --find-links | --index-strategy | \
        --keyring-provider | -P | --upgrade-package | --upgrade-group | --resolution | \
        --prerelease | --prerelease-package | --fork-strategy | --exclude-newer | \
        --exclude-newer-package | --no-sources-package | --reinstall-package | --link-mode | \
        -C | --config-setting | --config-settings-package | --no-build-isolation-package | \
        --no-build-package | --no-binary-package | --cache-dir | --refresh-package | -p | \
        --python | --color | --allow-insecure-host | --config-file)
        _uvmod_take=$_uvmod_arg ;;
      -*) ;;
      *)
        if [ -z "$_uvmod_cmd" ]; then
          _uvmod_cmd=$_uvmod_arg
        elif [ "$_uvmod_cmd" = tool ] && [ -z "$_uvmod_sub" ]; then
          _uvmod_sub=$_uvmod_arg
        elif [ "$_uvmod_cmd" = run ]; then
          break
        fi ;;
    esac
  done
}

# --- Stale key (docs/design.md#environment-modules) ----------------------------------------
# Without the Lmod hook (Environment Modules, or a site without the hook) the key was computed
# when uv-hpc was loaded, and an MPI/CUDA module loaded or swapped later leaves it behind. The
# check is builtins only (sh/uvmod-key.sh); with the hook the key is kept current, so it is
# skipped. A stale key is replaced for this call (_uvmod_use_loaded_modules_key); returns 1
# when the loaded modules give a key the wrapper refuses.
_uvmod_follow_loaded_modules() {
  [ "$_uvmod_source" != "$UVMOD_KEY_SOURCE_HOOK" ] || return 0
  uvmod_key_current "$_uvmod_key" "${LOADEDMODULES-}" "$UVMOD_KEY_MODULES" \
    "$UVMOD_KEY_FAMILY_VARS" && return 0
  _uvmod_use_loaded_modules_key
}

# The key as one path component, into _uvmod_key_dir (uvmod/depot.py, key_dir): '/' spelled
# '@' ('@' is not a key character, so the spelling is one-to-one); a very long key is hashed,
# since NAME_MAX is 255.
_uvmod_key_dir_name() {
  _uvmod_key_dir=$_uvmod_key
  while :; do
    case $_uvmod_key_dir in
      */*) _uvmod_key_dir=${_uvmod_key_dir%%/*}$UVMOD_KEY_SLASH${_uvmod_key_dir#*/} ;;
      *) break ;;
    esac
  done
  if [ ${#_uvmod_key_dir} -gt "$UVMOD_KEY_DIR_MAX" ]; then
    _uvmod_key_dir=$(printf '%s' "$_uvmod_key" | sha256sum)
    _uvmod_key_dir=$UVMOD_KEY_HASHED_PREFIX${_uvmod_key_dir%% *}
  fi
  _uvmod_key_dir=$UVMOD_KEY_DIR_PREFIX$_uvmod_key_dir
}

# --- Per-key builds (docs/design.md#per-key-builds) ---------------------------------------
# No env var or CLI flag sets extra-build-variables (docs/design.md#site-policy), so with a key
# the wrapper hands uv another system uv.toml: the arch's site policy plus [extra-build-variables],
# found first on XDG_CONFIG_DIRS for this one exec (uv reads only the first <dir>/uv/uv.toml of
# that list), and a setup.cfg that uv.toml names (sh/uv-rare.sh writes both, once):
#   <depot>/.uvmod-config/<build>/<arch>/k-<key>/uv/uv.toml
#   <depot>/.uvmod-setuptools/k-<key>.cfg
# Sets _uvmod_config to the directory put on XDG_CONFIG_DIRS ("" when none is).
_uvmod_per_key_config() {
  _uvmod_config=
  [ -n "$_uvmod_key" ] && [ -n "$UVMOD_KEY_PACKAGES" ] && [ -n "$_uvmod_arch" ] || return 0
  _uvmod_trust_depot || exit 2
  _uvmod_c=$_uvmod_depot/$UVMOD_DEPOT_CONFIG/$UVMOD_BUILD_ID/$_uvmod_arch/$_uvmod_key_dir
  _uvmod_setup=$_uvmod_depot/$UVMOD_DEPOT_SETUPTOOLS/$_uvmod_key_dir.cfg
  if ! _uvmod_own_file "$_uvmod_setup" || ! _uvmod_own_file "$_uvmod_c/uv/uv.toml"; then
    _uvmod_write_per_key_files || return 0
  fi
  _uvmod_config=$_uvmod_c
  XDG_CONFIG_DIRS=$_uvmod_config${XDG_CONFIG_DIRS:+:$XDG_CONFIG_DIRS}
  export XDG_CONFIG_DIRS
}

# --- Where project discovery starts: the physical cwd, or --directory, then --project ------
# Hash input is the project's real path (`pwd -P`), so a symlinked route to the same project
# gets the same environment. `cd -P .` gives the physical cwd without a subshell; the rare
# --directory/--project forms pay for one. Sets _uvmod_start ("" stands for /); returns 1 for a
# missing directory, which uv then reports.
_uvmod_discovery_start() {
  if [ -n "$_uvmod_directory$_uvmod_project" ]; then
    _uvmod_start=$(
      CDPATH=
      if [ -n "$_uvmod_directory" ]; then cd -P -- "$_uvmod_directory" || exit 1; fi
      if [ -n "$_uvmod_project" ]; then cd -P -- "$_uvmod_project" || exit 1; fi
      printf '%s/' "$PWD"
    ) 2>/dev/null || return 1
    _uvmod_start=${_uvmod_start%/}
  else
    cd -P . 2>/dev/null || return 1
    _uvmod_start=$PWD
  fi
  [ "$_uvmod_start" != / ] || _uvmod_start=
}

# --- The project root: the nearest pyproject.toml; an ancestor's uv workspace may win -------
# An ancestor counts as uv counts it: its pyproject.toml has a `[tool.uv.workspace]` header and
# lists the project among its members, and the project declares no workspace of its own. One
# that would count but is another user's (not root's) ends the call (docs/design.md#trust): uv
# would join this user's project to it, and another user's pyproject.toml in a shared parent
# would put two of this user's projects in one environment. _uvmod_workspace_counts
# (sh/uv-rare.sh) decides; a pyproject.toml above a project is rare, so the common path pays
# one stat() per ancestor. Approximations, documented in
# docs/user-guide.md: the header test misses the inline and dotted-key TOML forms. Sets
# _uvmod_root; returns 1 outside a project.
_uvmod_project_root() {
  _uvmod_d=$_uvmod_start
  _uvmod_root=
  while :; do
    if [ -f "$_uvmod_d/pyproject.toml" ]; then
      _uvmod_root=$_uvmod_d/
      break
    fi
    [ -n "$_uvmod_d" ] || break
    _uvmod_d=${_uvmod_d%/*}
  done
  [ -n "$_uvmod_root" ] || return 1
  _uvmod_root=${_uvmod_root%/}
  while [ -n "$_uvmod_d" ]; do
    _uvmod_d=${_uvmod_d%/*}
    [ -f "$_uvmod_d/pyproject.toml" ] || continue
    _uvmod_workspace_counts "$_uvmod_d"
    case $? in
      0) _uvmod_root=$_uvmod_d; break ;;
      2) exit 2 ;;  # another user's workspace that uv would join: refused
    esac
  done
  [ -n "$_uvmod_root" ] || _uvmod_root=/
}

# --- The node type (docs/design.md#node-types) ---------------------------------------------
# The arch the module detected and the machine type, which the module exports at load time so
# that no call forks `uname -m` (one fork without the module). Both reach a path: a value
# holding other characters than letters, digits and UVMOD_NODE_PUNCTUATION is refused.
# Sets _uvmod_machine and _uvmod_node_dir (n-<machine>@<arch>); returns 1 to refuse.
_uvmod_node() {
  eval "_uvmod_machine=\${$UVMOD_MACHINE_VARIABLE-}"
  [ -n "$_uvmod_machine" ] || _uvmod_machine=$(uname -m 2>/dev/null) || _uvmod_machine=
  case $_uvmod_arch$_uvmod_machine in
    *[!A-Za-z0-9$UVMOD_NODE_PUNCTUATION]*)
      _uvmod_say "\$$UVMOD_ARCH_VARIABLE='$_uvmod_arch' or the machine type" \
        "'$_uvmod_machine' holds characters other than letters, digits and" \
        "'$UVMOD_NODE_PUNCTUATION'; refusing to run uv with it. Reload $UVMOD_MODULE."
      return 1 ;;
  esac
  _uvmod_node_dir=$UVMOD_NODE_DIR_PREFIX$_uvmod_machine$UVMOD_NODE_SEPARATOR$_uvmod_arch
}

# --- The environment's identity (docs/design.md#environment-depot) -------------------------
# What tells one project environment from another: the key, the node type (arch and machine,
# docs/design.md#node-types) and the project's real path. Sets _uvmod_identity, the text its
# depot name is a hash of (one line each: only the path may hold a newline, and it is last, so
# the framing is one-to-one; the hash adds the last newline), and _uvmod_index_entry, the file
# of the wrapper's index that remembers that name,
# <depot>/.uvmod-index/n-<machine>@<arch>/k-<key><root>/.uvmod-name, which mirrors the project
# path. uvmod/depot.py (identity, index_entry) is the Python twin.
_uvmod_identity() {
  _uvmod_identity="$UVMOD_DEPOT_TAG
$_uvmod_key
$_uvmod_arch
$_uvmod_machine
$_uvmod_root"
  _uvmod_index_entry=$_uvmod_depot/$UVMOD_DEPOT_INDEX/$_uvmod_node_dir/$_uvmod_key_dir
  _uvmod_index_entry=$_uvmod_index_entry${_uvmod_root%/}/$UVMOD_DEPOT_INDEX_NAME
}

# --- The depot name: <readable>-<16 hex of sha256(identity)> -------------------------------
# The name is a pure function of the identity, remembered in the index so that after the first
# call a builtin `read` replaces the sha256sum process of _uvmod_new_name (about 1 ms, a
# twentieth of `uv run`). A missing or malformed entry, or one that is not a regular file of this
# user's (_uvmod_own_file), is computed again and replaced; a purged index just costs one
# sha256sum again. Sets _uvmod_name; returns 1 when sha256sum fails.
_uvmod_depot_name() {
  _uvmod_name=
  ! _uvmod_own_file "$_uvmod_index_entry" ||
    { read -r _uvmod_name <"$_uvmod_index_entry"; } 2>/dev/null
  _uvmod_hash=${_uvmod_name##*-}
  # shellcheck disable=SC2254 # the glob is meant as a pattern: one '?' per hex digit
  case $_uvmod_name:$_uvmod_hash in
    *[!:A-Za-z0-9$UVMOD_NAME_PUNCTUATION]* | .* | -* | *:*[!0-9a-f]*) ;;
    *-$UVMOD_HASH_GLOB:$UVMOD_HASH_GLOB) return 0 ;;
  esac
  _uvmod_new_name
}

# --- Back-pointer, last use, purge damage (docs/design.md#environment-depot) ---------------
# .uvmod-project ("uvmod-project 1", the key, the project path; one per line) is written once,
# when the wrapper first finds the environment uv made, and never read on this path (only
# stat()ed): with an age-based scratch purge it is among the first files to go. So when
# .uvmod-last-used (emptied on every call, written only after the marker) is there but the marker
# is not, files were purged from this environment, maybe from site-packages: move it aside so
# uv builds a fresh one, and say so. uv itself recreates an environment that is absent or lacks
# pyvenv.cfg, but stops at one with pyvenv.cfg and no bin/python ("not a valid Python
# environment (no Python executable was found)", uv 0.13.8; tests/test_purge.py): that is purge
# damage too when uvmod marked the environment (after uv made it), caught with one more stat().
# Order matters with concurrent calls: .uvmod-last-used is tested before the marker, and written
# after it, so a call racing the one that marks a new environment never sees "used, unmarked".
# Reads _uvmod_env (_uvmod_own_environment); sets _uvmod_state (absent, unmarked, marked or
# damaged).
_uvmod_check_environment() {
  _uvmod_marker=$_uvmod_env/$UVMOD_DEPOT_MARKER
  _uvmod_used=$_uvmod_env/$UVMOD_DEPOT_LAST_USED
  if { [ -f "$_uvmod_used" ] && [ ! -f "$_uvmod_marker" ]; } ||
    { [ ! -e "$_uvmod_env/bin/python" ] && { [ -f "$_uvmod_marker" ] || [ -f "$_uvmod_used" ]; }; }
  then
    _uvmod_state=damaged
    [ -n "$_uvmod_dry" ] || _uvmod_move_aside
  elif [ -f "$_uvmod_marker" ]; then
    _uvmod_state=marked
    [ -n "$_uvmod_dry" ] || _uvmod_touch "$_uvmod_used"
  elif [ -f "$_uvmod_env/pyvenv.cfg" ]; then
    _uvmod_state=unmarked
    [ -n "$_uvmod_dry" ] || _uvmod_mark_environment
  else
    _uvmod_state=absent
  fi
}

# --- Job-local environments (docs/design.md#job-local-environments) ------------------------
# Inside a batch job, when the user (UVMOD_JOB_LOCAL_VARIABLE=1) or the site ([jobs]
# local_envs, UVMOD_JOB_LOCAL_DEFAULT) chose it, the project's environment is made on the job's
# node-local disk instead of the depot (sh/uv-rare.sh, _uvmod_job_environment). Outside a job
# this costs one eval and a test; the rest is read only inside a job that chose it. Sets
# _uvmod_env and _uvmod_state; returns 1 when the depot's environment is used.
_uvmod_job_local() {
  _uvmod_job='' _uvmod_jl=''
  eval "_uvmod_job=\${$UVMOD_JOB_ID_VARIABLE-} _uvmod_jl=\${$UVMOD_JOB_LOCAL_VARIABLE-}"
  [ -n "$_uvmod_job" ] || return 1
  case $_uvmod_jl in
    1) ;;
    0) return 1 ;;
    *) [ -n "$UVMOD_JOB_LOCAL_DEFAULT" ] || return 1 ;;
  esac
  _uvmod_job_environment
}

# An empty FILE, or FILE emptied: its mtime is the last use. A symlink or anything but a
# regular file there is left alone: the redirection would follow it (or block on a FIFO).
_uvmod_touch() {
  [ ! -h "$1" ] && { [ ! -e "$1" ] || [ -f "$1" ]; } && { true >"$1"; } 2>/dev/null
}

# --- What uv gets (docs/design.md#environment-depot) ---------------------------------------
# UV_PROJECT_ENVIRONMENT for the project commands; `uv pip` ignores it and wants VIRTUAL_ENV,
# which it gets when the environment exists and no venv or conda environment is active (those
# win). A dry run counts a damaged environment as moved aside.
_uvmod_use_environment() {
  UV_PROJECT_ENVIRONMENT=$_uvmod_env
  export UV_PROJECT_ENVIRONMENT
  if [ "$_uvmod_cmd" = pip ] && [ -z "${VIRTUAL_ENV-}" ] && [ -z "${CONDA_PREFIX-}" ] &&
    [ -f "$_uvmod_env/pyvenv.cfg" ] && { [ -z "$_uvmod_dry" ] || [ "$_uvmod_state" != damaged ]; }
  then
    VIRTUAL_ENV=$_uvmod_env
    export VIRTUAL_ENV
  fi
}

# --- The site's pip stack rules (docs/design.md#manylinux-switch and #offline-projects)
# Called by _uvmod_exec, once every phase has decided, when the site switched one on
# (UVMOD_NO_MANYLINUX, UVMOD_INIT_ENVIRONMENTS; never in a dry run). The common path costs one
# stat(): is the environment uv is about to use flagged as refusing manylinux wheels already?
# Everything else is in sh/uv-rare.sh. `uv venv`, `uv init`, and `uv add`/`uv lock` without an
# `environments` line, run uv as a child there and end the call with its status.
_uvmod_pip_stack() {
  case $_uvmod_cmd in
    run | sync | add | remove)
      if [ -n "$UVMOD_NO_MANYLINUX" ] && [ -n "$_uvmod_env" ]; then
        if [ ! -f "$_uvmod_env/pyvenv.cfg" ]; then
          _uvmod_create_refusing
        elif [ ! -f "$_uvmod_env/$UVMOD_MANYLINUX_FLAG" ]; then
          _uvmod_refuse_manylinux "$_uvmod_env"
        fi
      fi ;;
    pip)
      # The environment `uv pip` installs into: --python's (a directory or its bin/python*;
      # a version request names no directory), else $VIRTUAL_ENV.
      _uvmod_target=${VIRTUAL_ENV-}
      case $_uvmod_python in
        '') ;;
        */bin/python*) _uvmod_target=${_uvmod_python%/bin/python*} ;;
        *) _uvmod_target=$_uvmod_python ;;
      esac
      [ -z "$UVMOD_NO_MANYLINUX" ] || [ -z "$_uvmod_target" ] ||
        [ ! -f "$_uvmod_target/pyvenv.cfg" ] || [ -f "$_uvmod_target/$UVMOD_MANYLINUX_FLAG" ] ||
        _uvmod_refuse_manylinux "$_uvmod_target" ;;
    venv) [ -z "$UVMOD_NO_MANYLINUX" ] || _uvmod_venv_refusing "$@" ;;
    init) [ -z "$UVMOD_INIT_ENVIRONMENTS" ] || _uvmod_init_environments "$@" ;;
  esac
  case $_uvmod_cmd in
    add | lock) [ -z "$UVMOD_INIT_ENVIRONMENTS" ] || [ -z "$_uvmod_root" ] ||
      _uvmod_hint_environments "$@" ;;
  esac
}
