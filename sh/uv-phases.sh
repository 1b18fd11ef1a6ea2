# shellcheck shell=sh
# The phases of the uv wrapper: functions only, one per step of a uv call, which
# sh/uv-wrapper.sh calls in order. uvmod pastes this text into the module's bin/uv after
# sh/uvmod-key.sh and before sh/uv-wrapper.sh, behind generated assignments
# (uvmod/render/wrapper.py, wrapper_assignments) of:
#   UVMOD_MODULE           the site's module name (uv-hpc), for messages
#   UVMOD_REAL_UV          the real uv to exec
#   UVMOD_ETC              <prefix>/<name>/<version>/etc (per-arch site policy in <arch>/uv/uv.toml)
#   UVMOD_BUILD_ID         changes whenever a policy file, the key settings or this code change
#   UVMOD_KEY_VARIABLE     the cache-key variable (site cache_key.variable)
#   UVMOD_KEY_PACKAGES     space-separated packages that get the key as an extra build variable
#   UVMOD_KEY_MODULES      space-separated [cache_key].modules         } for the stale-key check
#   UVMOD_KEY_FAMILY_VARS  variables naming each family's module       } of sh/uvmod-key.sh
# and of the names and limits the Python side defines once (docs/design.md#one-home-for-each-rule):
# the module's variables (UVMOD_*_VARIABLE, UVMOD_KEY_SOURCE_HOOK), the depot's file names
# (UVMOD_DEPOT_CONFIG, ..._SETUPTOOLS, ..._INDEX, ..._INDEX_NAME, ..._MARKER, ..._LAST_USED,
# ..._TRASH), the name rule (UVMOD_DEPOT_TAG, UVMOD_HASH_GLOB: one '?' per hex digit kept,
# UVMOD_READABLE_MAX, UVMOD_READABLE_EMPTY, UVMOD_NAME_PUNCTUATION), the key's spelling in paths
# (UVMOD_KEY_PUNCTUATION, UVMOD_KEY_DIR_PREFIX, ..._SLASH, ..._HASHED_PREFIX, ..._DIR_MAX), the
# back-pointer's first line (UVMOD_MARKER_HEADER) and the workspace test (UVMOD_WORKSPACE_ERE).
#
# It runs on every uv call, so: POSIX sh only, no Python, no subprocess on the common path.
# Outside a project a call runs a few builtins and execs; inside a project it adds a few stat()s
# and one builtin read (one sha256sum the first time: the depot name).
#
# Each phase reads the results of the phases before it and sets its own, all in variables
# starting with _uvmod_ (the list is in sh/uv-wrapper.sh); a phase returns 1 when the call
# should go to uv unchanged. A test can paste this file behind the assignments, set the inputs
# of one phase and call it (tests/test_wrapper_phases.py). Every file the wrapper writes goes
# through _uvmod_write_atomic and the last-use stamp through _uvmod_touch: the one place to
# check a depot path before it is written.

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
  # What the report names, set by later phases (never inherited from the environment).
  _uvmod_stale='' _uvmod_cmd='' _uvmod_config='' _uvmod_root='' _uvmod_env='' _uvmod_state=''
}

# The end of every call: the shell state back, then uv; or, for a dry run, the report instead.
_uvmod_exec() {
  if [ -n "$_uvmod_lc_set" ]; then LC_ALL=$_uvmod_lc; else unset LC_ALL; fi
  if [ -n "$_uvmod_pwd_set" ]; then PWD=$_uvmod_pwd; fi
  if [ -n "$_uvmod_oldpwd_set" ]; then OLDPWD=$_uvmod_oldpwd; else unset OLDPWD; fi
  if [ -n "$_uvmod_dry" ]; then
    _uvmod_report
    exit 0
  fi
  exec "$UVMOD_REAL_UV" "$@"
}

# The dry run's answer on stdout: NAME=VALUE records, each ended by a NUL byte (a path may hold a
# newline), first what the wrapper decided, then the variables uv would get (only those set).
# `state` is what _uvmod_check_environment found: absent, unmarked, marked or damaged (a dry run
# writes and moves nothing, so "unmarked" would be marked and "damaged" moved aside).
_uvmod_report() {
  printf '%s=%s\0' dry-run 1 command "$_uvmod_cmd" key "$_uvmod_key" stale "$_uvmod_stale" \
    config "$_uvmod_config" project "$_uvmod_root" environment "$_uvmod_env" \
    state "$_uvmod_state"
  for _uvmod_var in UV_PROJECT_ENVIRONMENT VIRTUAL_ENV XDG_CONFIG_DIRS UV_LINK_MODE \
    "$UVMOD_KEY_VARIABLE"; do
    eval "[ -z \"\${$_uvmod_var+x}\" ] || printf '%s=%s\\0' $_uvmod_var \"\$$_uvmod_var\""
  done
}

# Commands that never touch a project environment or build anything.
_uvmod_plain_command() {
  case $1 in
    cache | self | help | generate-shell-completion) return 0 ;;
  esac
  return 1
}

# `uv --version` and the plain commands, and any call without the module loaded (it sets the
# depot variable), go to uv at once: this keeps `uv --version` within a few per cent of the real
# binary. Not `tool`: `uv tool run` and `uvx` build packages, so they need the per-key uv.toml.
_uvmod_passthrough() {
  case ${1-} in
    -V | --version | -h | --help) _uvmod_exec "$@" ;;
  esac
  if _uvmod_plain_command "${1-}" || [ -z "$_uvmod_depot" ]; then _uvmod_exec "$@"; fi
}

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
# Sets _uvmod_cmd, _uvmod_sub (of `uv tool`), _uvmod_project and _uvmod_directory.
_uvmod_scan_args() {
  _uvmod_cmd=
  _uvmod_sub=
  _uvmod_project=${UV_PROJECT-}
  _uvmod_directory=${UV_WORKING_DIR-}
  _uvmod_take=
  for _uvmod_arg do
    if [ -n "$_uvmod_take" ]; then
      case $_uvmod_take in
        --project) _uvmod_project=$_uvmod_arg ;;
        --directory) _uvmod_directory=$_uvmod_arg ;;
      esac
      _uvmod_take=
      continue
    fi
    case $_uvmod_arg in
      --) break ;;
      --project=*) _uvmod_project=${_uvmod_arg#--project=} ;;
      --directory=*) _uvmod_directory=${_uvmod_arg#--directory=} ;;
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
# skipped. When stale, this call uses the key of the modules loaded *now* (one `sort` process,
# only on this rare path), so builds and environments are never mixed across MPI stacks; the
# shell's variable stays stale until uv-hpc is reloaded, and the message says so.
# Returns 1 when the loaded modules give a key the wrapper refuses.
_uvmod_follow_loaded_modules() {
  [ "$_uvmod_source" != "$UVMOD_KEY_SOURCE_HOOK" ] || return 0
  uvmod_key_current "$_uvmod_key" "${LOADEDMODULES-}" "$UVMOD_KEY_MODULES" \
    "$UVMOD_KEY_FAMILY_VARS" && return 0
  uvmod_key_compute "${LOADEDMODULES-}" "$UVMOD_KEY_MODULES" "$UVMOD_KEY_FAMILY_VARS"
  # shellcheck disable=SC2154 # uvmod_key_result: set by uvmod_key_compute (sh/uvmod-key.sh)
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

# --- Writing into the depot ----------------------------------------------------------------
# FILE gets the output of the command after it, atomically: written to FILE.<pid>, renamed over
# FILE once complete, so concurrent calls (which write the same bytes) and readers only ever see
# a whole file. Status 1, and no temporary file left, when anything fails.
_uvmod_write_atomic() {
  _uvmod_w_file=$1
  shift
  _uvmod_w_tmp=$_uvmod_w_file.$$
  if { [ -d "${_uvmod_w_file%/*}" ] || mkdir -p "${_uvmod_w_file%/*}"; } 2>/dev/null &&
    { "$@" >"$_uvmod_w_tmp"; } 2>/dev/null && mv -f "$_uvmod_w_tmp" "$_uvmod_w_file" 2>/dev/null
  then
    return 0
  fi
  rm -f "$_uvmod_w_tmp" 2>/dev/null
  return 1
}

# An empty FILE, or FILE emptied: its mtime is the last use.
_uvmod_touch() {
  { true >"$1"; } 2>/dev/null
}

# --- Per-key builds (docs/design.md#per-key-builds) ---------------------------------------
# No env var or CLI flag sets extra-build-variables (docs/design.md#site-policy), so with a key
# the wrapper hands uv another system uv.toml: the arch's site policy plus [extra-build-variables],
# found first on XDG_CONFIG_DIRS for this one exec (uv reads only the first <dir>/uv/uv.toml of
# that list). The variables do two things for each keyed package:
#   the key variable   gives its built wheels their own shard of the uv cache per key;
#   DIST_EXTRA_CONFIG  names a per-key setup.cfg moving setuptools' build directory to
#                      build/uvmod-k-<key> inside the sdist's source tree. uv unpacks an sdist
#                      once for all shards, and a build/ left by another key's build makes
#                      setuptools pack that key's objects (https://github.com/astral-sh/uv/issues/16850).
# uv's shard hash covers every variable's value, so the setup.cfg path depends on the key and
# the depot only, never on the module build or the arch: rebuilding the module tree or moving
# to another node type rebuilds nothing.
# Both files live in the depot, not in UV_CACHE_DIR (`uv cache clean`/`prune` would delete
# them) nor in $HOME (jobs should not write there), and are written again when purged:
#   <depot>/.uvmod-config/<build>/<arch>/k-<key>/uv/uv.toml
#   <depot>/.uvmod-setuptools/k-<key>.cfg
# Sets _uvmod_config to the directory put on XDG_CONFIG_DIRS ("" when none is).
_uvmod_per_key_config() {
  _uvmod_config=
  [ -n "$_uvmod_key" ] && [ -n "$UVMOD_KEY_PACKAGES" ] && [ -n "$_uvmod_arch" ] || return 0
  _uvmod_c=$_uvmod_depot/$UVMOD_DEPOT_CONFIG/$UVMOD_BUILD_ID/$_uvmod_arch/$_uvmod_key_dir
  _uvmod_setup=$_uvmod_depot/$UVMOD_DEPOT_SETUPTOOLS/$_uvmod_key_dir.cfg
  if [ ! -f "$_uvmod_setup" ] && [ -z "$_uvmod_dry" ] &&
    ! _uvmod_write_atomic "$_uvmod_setup" _uvmod_print_setup_cfg; then
    _uvmod_say "cannot write $_uvmod_setup; setuptools builds now may pack another key's objects"
  fi
  if [ ! -f "$_uvmod_c/uv/uv.toml" ]; then
    # The setup.cfg path goes into a TOML basic string: a depot path with control characters
    # is refused (it would not survive the module tool's eval anyway).
    case $_uvmod_setup in
      *[[:cntrl:]]*)
        _uvmod_say "the depot path $_uvmod_depot holds control characters;" \
          "wheels built now are not isolated per key"
        return 0 ;;
    esac
    if [ -z "$_uvmod_dry" ] &&
      ! _uvmod_write_atomic "$_uvmod_c/uv/uv.toml" _uvmod_print_uv_toml; then
      _uvmod_say "cannot write $_uvmod_c/uv/uv.toml; wheels built now are not isolated per key"
      return 0
    fi
  fi
  _uvmod_config=$_uvmod_c
  XDG_CONFIG_DIRS=$_uvmod_config${XDG_CONFIG_DIRS:+:$XDG_CONFIG_DIRS}
  export XDG_CONFIG_DIRS
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
# environments, never into the project's: it gets the key and the per-key uv.toml above, and
# nothing of the depot below (docs/design.md#uvmod-and-uvx-on-path).
# `uv tool install`/`upgrade` link from the cache into $UV_TOOL_DIR, which by default is not on
# the cache's filesystem: uv then copies anyway, after a warning that suggests exporting
# UV_LINK_MODE=copy, which would also make every project environment a copy. So for these two
# only, and only across filesystems, this call gets UV_LINK_MODE=copy.
_uvmod_tool_link_mode() {
  case $_uvmod_sub in
    install | upgrade) ;;
    *) return 0 ;;
  esac
  [ -z "${UV_LINK_MODE-}" ] && [ -n "${UV_CACHE_DIR-}" ] && [ -n "${UV_TOOL_DIR-}" ] || return 0
  # The nearest existing directory of each: neither needs to exist yet.
  _uvmod_a=$UV_CACHE_DIR
  while [ -n "$_uvmod_a" ] && [ ! -d "$_uvmod_a" ]; do _uvmod_a=${_uvmod_a%/*}; done
  _uvmod_b=$UV_TOOL_DIR
  while [ -n "$_uvmod_b" ] && [ ! -d "$_uvmod_b" ]; do _uvmod_b=${_uvmod_b%/*}; done
  _uvmod_da=
  _uvmod_db=
  { read -r _uvmod_da && read -r _uvmod_db; } 2>/dev/null <<_uvmod_EOF
$(stat -c %d -- "${_uvmod_a:-/}" "${_uvmod_b:-/}" 2>/dev/null)
_uvmod_EOF
  # Two device numbers that differ; anything else (stat failed) leaves uv's default.
  case $_uvmod_da:$_uvmod_db in
    *[!0-9:]* | :* | *:) ;;
    *)
      if [ "$_uvmod_da" != "$_uvmod_db" ]; then
        UV_LINK_MODE=copy
        export UV_LINK_MODE
      fi ;;
  esac
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

# --- The project root: the nearest pyproject.toml; an ancestor declaring a uv workspace wins -
# Approximations, documented in docs/user-guide.md: the workspace test is a grep for a
# `[tool.uv.workspace]` header (not the inline or dotted-key TOML forms), and it does not check
# that the project is one of the workspace's members. Sets _uvmod_root; returns 1 outside a
# project.
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
    if [ -f "$_uvmod_d/pyproject.toml" ] &&
      grep -Eq "$UVMOD_WORKSPACE_ERE" "$_uvmod_d/pyproject.toml" 2>/dev/null; then
      _uvmod_root=$_uvmod_d
      break
    fi
  done
  [ -n "$_uvmod_root" ] || _uvmod_root=/
}

# --- The environment's identity (docs/design.md#environment-depot) -------------------------
# What tells one project environment from another: the key and the project's real path. Sets
# _uvmod_identity, the text its depot name is a hash of (one line each: the key has no newline,
# so the framing is one-to-one even for a path with one; the heredoc of _uvmod_hash_identity
# adds the last newline), and _uvmod_index_entry, the file of the wrapper's index that remembers
# that name: $depot/.uvmod-index/k-<key><root>/.uvmod-name, which mirrors the project path.
# uvmod/depot.py (identity, index_entry) is the Python twin.
_uvmod_identity() {
  _uvmod_identity="$UVMOD_DEPOT_TAG
$_uvmod_key
$_uvmod_root"
  _uvmod_index_entry=$_uvmod_depot/$UVMOD_DEPOT_INDEX/$_uvmod_key_dir${_uvmod_root%/}
  _uvmod_index_entry=$_uvmod_index_entry/$UVMOD_DEPOT_INDEX_NAME
}

# --- The depot name: <readable>-<16 hex of sha256(identity)> -------------------------------
# The name is a pure function of the identity, remembered in the index so that after the first
# call a builtin `read` replaces the sha256sum process (about 1 ms, a twentieth of `uv run`).
# A missing or malformed entry is recomputed; a purged index just costs one sha256sum again.
# Sets _uvmod_name; returns 1 when sha256sum fails.
_uvmod_depot_name() {
  _uvmod_name=
  { read -r _uvmod_name <"$_uvmod_index_entry"; } 2>/dev/null
  _uvmod_hash=${_uvmod_name##*-}
  case $_uvmod_name:$_uvmod_hash in
    *[!:A-Za-z0-9$UVMOD_NAME_PUNCTUATION]* | .* | -* | *:*[!0-9a-f]*) _uvmod_name= ;;
    *-$UVMOD_HASH_GLOB:$UVMOD_HASH_GLOB) return 0 ;;
    *) _uvmod_name= ;;
  esac
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
  # shellcheck disable=SC2295 # the glob is meant as a pattern: one '?' per character
  _uvmod_t=${_uvmod_sum#$UVMOD_HASH_GLOB}
  _uvmod_hash=${_uvmod_sum%"$_uvmod_t"}
}

# The readable part of a name, from the root's last component $1, into _uvmod_readable: every
# run of bytes outside letters, digits and UVMOD_NAME_PUNCTUATION made one '_', at most
# UVMOD_READABLE_MAX characters, a leading '.' made '_' (depot entries starting with '.' are
# uvmod's own), UVMOD_READABLE_EMPTY when nothing is left.
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
    .*) _uvmod_readable=_${_uvmod_readable#.} ;;
  esac
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
# Sets _uvmod_env and _uvmod_state (absent, unmarked, marked or damaged).
_uvmod_check_environment() {
  _uvmod_env=$_uvmod_depot/$_uvmod_name
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

# A new environment uv made: the back-pointer (what uvmod/depot.py read_marker reads), then its
# first use. Everything uvmod keeps in an environment it writes here.
_uvmod_mark_environment() {
  _uvmod_write_atomic "$_uvmod_marker" \
    printf '%s\n%s\n%s\n' "$UVMOD_MARKER_HEADER" "$_uvmod_key" "$_uvmod_root" &&
    _uvmod_touch "$_uvmod_used"
}

_uvmod_move_aside() {
  _uvmod_trash=$_uvmod_depot/$UVMOD_DEPOT_TRASH/$_uvmod_name.$$
  if mkdir -p "$_uvmod_depot/$UVMOD_DEPOT_TRASH" && mv "$_uvmod_env" "$_uvmod_trash" 2>/dev/null
  then
    _uvmod_say "$_uvmod_env was partly deleted (most likely by the scratch purge);" \
      "moved it to $_uvmod_trash and uv will create a fresh one." \
      "'uvmod venv gc --yes' deletes the old copy."
  fi
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
