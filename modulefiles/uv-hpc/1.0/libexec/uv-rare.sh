# uvmod-generated: written by uvmod 0.1.0 build-modulefiles; do not edit.
# shellcheck shell=sh
# The rarely run parts of the uv wrapper's phases: functions only, read by bin/uv
# (sh/uv-phases.sh, _uvmod_rare) when a call needs one of them: the first call for a project or
# a key, an environment to mark or move aside, a stale key, `uv tool install`/`upgrade`, a dry
# run. uvmod installs this text as <install dir>/libexec/uv-rare.sh, followed by generated
# assignments (uvmod/render/wrapper.py, library_assignments) of what only this part reads:
#   _uvmod_rare_build      the build id of the bin/uv it belongs to (checked by _uvmod_rare)
#   UVMOD_ETC              <prefix>/<name>/<version>/etc (per-arch site policy in <arch>/uv/uv.toml)
#   UVMOD_DEPOT_TRASH, UVMOD_READABLE_MAX, UVMOD_READABLE_EMPTY, UVMOD_MARKER_HEADER
#                          names and limits of uvmod/depot.py (docs/design.md#one-home-for-each-rule)
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
  if [ ! -f "$_uvmod_setup" ] && [ -z "$_uvmod_dry" ] &&
    ! _uvmod_write_atomic "$_uvmod_setup" _uvmod_print_setup_cfg; then
    _uvmod_say "cannot write $_uvmod_setup; setuptools builds now may pack another key's objects"
  fi
  [ ! -f "$_uvmod_c/uv/uv.toml" ] || return 0
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

# --- Environments (docs/design.md#environment-depot) ---------------------------------------
# A new environment uv made: the back-pointer (what uvmod/depot.py read_marker reads), then its
# first use. Everything uvmod keeps in an environment it writes here.
_uvmod_mark_environment() {
  _uvmod_write_atomic "$_uvmod_marker" printf '%s\n%s\n%s\n%s\n%s\n' "$UVMOD_MARKER_HEADER" \
    "$_uvmod_key" "$_uvmod_arch" "$_uvmod_machine" "$_uvmod_root" &&
    _uvmod_touch "$_uvmod_used"
}

# Purge damage (sh/uv-phases.sh, _uvmod_check_environment): out of uv's way, into the trash
# that `uvmod venv gc` empties.
_uvmod_move_aside() {
  _uvmod_trash=$_uvmod_depot/$UVMOD_DEPOT_TRASH/$_uvmod_name.$$
  if mkdir -p "$_uvmod_depot/$UVMOD_DEPOT_TRASH" && mv "$_uvmod_env" "$_uvmod_trash" 2>/dev/null
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
_uvmod_rare_build='56dfeaaf690f1e78'
UVMOD_ETC='/opt/uvmod/uv-hpc/1.0/etc'
UVMOD_DEPOT_TRASH='.uvmod-trash'
UVMOD_READABLE_MAX='48'
UVMOD_READABLE_EMPTY='project'
UVMOD_MARKER_HEADER='uvmod-project 2'
