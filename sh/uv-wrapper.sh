# Body of the uv wrapper. uvmod prepends `#!/bin/sh`, a marker and these assignments
# (uvmod/plan.py: wrapper_assignments), then this text follows unchanged, so `sh -n` checks it:
#   UVMOD_MODULE         the site's module name (uv-hpc), for messages
#   UVMOD_REAL_UV        the real uv to exec
#   UVMOD_ETC            <prefix>/<name>/<version>/etc (per-arch site policy in <arch>/uv/uv.toml)
#   UVMOD_BUILD_ID       changes whenever a policy file, the key settings or this code change
#   UVMOD_KEY_VARIABLE   the cache-key variable (site cache_key.variable)
#   UVMOD_KEY_PACKAGES   space-separated packages that get the key as an extra build variable
#   UVMOD_KEY_MODULES    space-separated [cache_key].modules      } for the stale-key check of
#   UVMOD_KEY_FAMILY_VARS  variables naming each family's module  } sh/uvmod-key.sh, pasted above
#
# It runs on every uv call, so: POSIX sh only, no Python, no subprocess on the common path.
# Outside a project it runs a few builtins and execs; inside a project it adds a few stat()s
# and one builtin read (one sha256sum the first time: the depot name). uvmod/depot.py computes
# exactly the same names; tests/test_depot_names.py compares the two over many generated paths.
# Every internal variable starts with _uvmod_.

# Commands that never touch a project environment or build anything: exec straight away
# (keeps `uv --version` within a few per cent of the real binary). Not `tool`: `uv tool run`
# and `uvx` build packages, so they need the per-key uv.toml below.
case ${1-} in
  -V | --version | -h | --help | help | cache | self | generate-shell-completion)
    exec "$UVMOD_REAL_UV" "$@" ;;
esac
# Wrapper run without the module loaded (UVMOD_VENV_DEPOT is set by the module): plain uv.
[ -n "${UVMOD_VENV_DEPOT-}" ] || exec "$UVMOD_REAL_UV" "$@"

# Byte semantics for `?` and [a-z] while we look at paths (bash as /bin/sh honours the locale,
# dash does not); restored before the exec so uv and its children see the user's locale.
_uvmod_lc_set=${LC_ALL+x}
_uvmod_lc=${LC_ALL-}
LC_ALL=C

_uvmod_say() {
  printf '%s\n' "$UVMOD_MODULE: $*" >&2
}

# `cd -P .` below rewrites PWD and OLDPWD: uv's children (uv run) get them back as they were.
_uvmod_exec() {
  if [ -n "$_uvmod_lc_set" ]; then LC_ALL=$_uvmod_lc; else unset LC_ALL; fi
  if [ -n "$_uvmod_pwd_set" ]; then PWD=$_uvmod_pwd; fi
  if [ -n "$_uvmod_oldpwd_set" ]; then OLDPWD=$_uvmod_oldpwd; else unset OLDPWD; fi
  exec "$UVMOD_REAL_UV" "$@"
}
_uvmod_pwd_set=${PWD+x}
_uvmod_pwd=${PWD-}
_uvmod_oldpwd_set=${OLDPWD+x}
_uvmod_oldpwd=${OLDPWD-}

# --- The cache key (DESIGN.md: module full names joined with ','). ----------------------------
# Validated with a case pattern: it ends up in a TOML string and a directory name, and only
# characters of module names are allowed, so no escaping is ever needed (and none is attempted).
eval "_uvmod_key=\${$UVMOD_KEY_VARIABLE-}"
case $_uvmod_key in
  *[!A-Za-z0-9._+,/-]*)
    _uvmod_say "\$$UVMOD_KEY_VARIABLE='$_uvmod_key' holds characters other than letters," \
      "digits and '._+,/-'; refusing to run uv with it. Reload your modules, or unset it."
    exit 2 ;;
esac

# --- Which subcommand, and --project/--directory (also --project=X). -------------------------
# uv's global options may come before or after the subcommand. After `uv run`, the first
# positional argument is the command to run and everything after it belongs to that command
# (`uv run python x.py --project y`), so the scan stops there; to find that argument it must skip
# the values of uv's options that take one (list from `uv run --help` of uv 0.13.8, checked by
# tests/test_wrapper.py). Other subcommands have no trailing command: scan up to `--`.
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
case $_uvmod_cmd in
  cache | self | help | generate-shell-completion) _uvmod_exec "$@" ;;
esac

# --- Stale key (issue 4 item 3, issue 5). ---------------------------------------------------
# Without the Lmod hook (UVMOD_KEY_SOURCE=load: Environment Modules, or a site without the hook)
# the key was computed when uv-hpc was loaded, and an MPI/CUDA module loaded or swapped later
# leaves it behind. The check is builtins only (sh/uvmod-key.sh); with the hook the key is kept
# current, so it is skipped. When stale, this call uses the key of the modules loaded *now*
# (one `sort` process, only on this rare path), so builds and environments are never mixed
# across MPI stacks; the shell's variable stays stale until uv-hpc is reloaded, and we say so.
if [ "${UVMOD_KEY_SOURCE-}" != hook ] &&
  ! uvmod_key_current "$_uvmod_key" "${LOADEDMODULES-}" "$UVMOD_KEY_MODULES" \
    "$UVMOD_KEY_FAMILY_VARS"; then
  uvmod_key_compute "${LOADEDMODULES-}" "$UVMOD_KEY_MODULES" "$UVMOD_KEY_FAMILY_VARS"
  case $uvmod_key_result in
    *[!A-Za-z0-9._+,/-]*)
      _uvmod_say "the loaded modules give the cache key '$uvmod_key_result', which holds" \
        "characters other than letters, digits and '._+,/-'; refusing to run uv with it."
      exit 2 ;;
  esac
  _uvmod_say "\$$UVMOD_KEY_VARIABLE='$_uvmod_key' does not match the MPI/CUDA modules loaded" \
    "now; this command uses '$uvmod_key_result'. To update the variable too:" \
    "module reload $UVMOD_MODULE (Environment Modules: module switch $UVMOD_MODULE)" \
    "(see: uvmod key)."
  _uvmod_key=$uvmod_key_result
  if [ -n "$_uvmod_key" ]; then
    eval "$UVMOD_KEY_VARIABLE=\$_uvmod_key; export $UVMOD_KEY_VARIABLE"
  else
    unset "$UVMOD_KEY_VARIABLE"
  fi
fi

# --- Per-key builds (docs/design.md#per-key-builds). -----------------------------------------
# No env var or CLI flag sets extra-build-variables (docs/design.md#site-policy), so with a key
# the wrapper hands uv another system uv.toml: the arch's site policy plus [extra-build-variables],
# found first on XDG_CONFIG_DIRS for this one exec (uv reads only the first <dir>/uv/uv.toml of
# that list). The variables do two things for each keyed package:
#   UVMOD_CACHE_KEY    gives its built wheels their own shard of the uv cache per key;
#   DIST_EXTRA_CONFIG  names a per-key setup.cfg moving setuptools' build directory to
#                      build/uvmod-k-<key> inside the sdist's source tree. uv unpacks an sdist
#                      once for all shards, and a build/ left by another key's build makes
#                      setuptools pack that key's objects (https://github.com/astral-sh/uv/issues/16850).
# uv's shard hash covers every variable's value, so the setup.cfg path depends on the key and
# the depot only, never on the module build or the arch: rebuilding the module tree or moving
# to another node type rebuilds nothing.
# Both files live in the depot, not in UV_CACHE_DIR (`uv cache clean`/`prune` would delete
# them) nor in $HOME (jobs should not write there), and are rewritten when purged:
#   $UVMOD_VENV_DEPOT/.uvmod-config/<build>/<arch>/k-<key>/uv/uv.toml
#   $UVMOD_VENV_DEPOT/.uvmod-setuptools/k-<key>.cfg
# with the key's '/' spelled '@' ('@' is not a key character, so the spelling is one-to-one).
# Each is written atomically (tmp + mv); concurrent first calls write the same bytes.
_uvmod_k=$_uvmod_key
while :; do
  case $_uvmod_k in
    */*) _uvmod_k=${_uvmod_k%%/*}@${_uvmod_k#*/} ;;
    *) break ;;
  esac
done
if [ ${#_uvmod_k} -gt 200 ]; then  # NAME_MAX is 255: very long keys are hashed instead
  _uvmod_k=$(printf '%s' "$_uvmod_key" | sha256sum)
  _uvmod_k=h-${_uvmod_k%% *}
fi
if [ -n "$_uvmod_key" ] && [ -n "$UVMOD_KEY_PACKAGES" ] && [ -n "${UVMOD_ARCH-}" ]; then
  _uvmod_cfg=$UVMOD_VENV_DEPOT/.uvmod-config/$UVMOD_BUILD_ID/$UVMOD_ARCH/k-$_uvmod_k
  _uvmod_setup=$UVMOD_VENV_DEPOT/.uvmod-setuptools/k-$_uvmod_k.cfg
  if [ ! -f "$_uvmod_setup" ]; then
    _uvmod_tmp=$_uvmod_setup.$$
    # The build directory is relative: setuptools runs in the source tree, so every sdist (and
    # every version of it) gets its own per-key directory there, removed with the tree.
    if mkdir -p "${_uvmod_setup%/*}" && {
      printf '# Written by the %s wrapper for %s=%s (docs/design.md#per-key-builds).\n' \
        "$UVMOD_MODULE" "$UVMOD_KEY_VARIABLE" "$_uvmod_key" &&
        printf '[build]\nbuild_base = build/uvmod-k-%s\n' "$_uvmod_k"
    } >"$_uvmod_tmp" && mv -f "$_uvmod_tmp" "$_uvmod_setup"; then
      :
    else
      rm -f "$_uvmod_tmp" 2>/dev/null
      _uvmod_say "cannot write $_uvmod_setup; setuptools builds now may pack another key's objects"
    fi
  fi
  if [ ! -f "$_uvmod_cfg/uv/uv.toml" ]; then
    # The setup.cfg path goes into a TOML basic string: '\' and '"' are escaped; a depot path
    # with control characters is refused (it would not survive the module tool's eval anyway).
    _uvmod_rest=$_uvmod_setup
    _uvmod_quoted=
    while :; do
      case $_uvmod_rest in
        *[\\\"]*)
          _uvmod_t=${_uvmod_rest%%[\\\"]*}
          _uvmod_rest=${_uvmod_rest#"$_uvmod_t"}
          _uvmod_quoted=$_uvmod_quoted$_uvmod_t\\${_uvmod_rest%"${_uvmod_rest#?}"}
          _uvmod_rest=${_uvmod_rest#?} ;;
        *)
          _uvmod_quoted=$_uvmod_quoted$_uvmod_rest
          break ;;
      esac
    done
    _uvmod_policy=$UVMOD_ETC/$UVMOD_ARCH/uv/uv.toml
    _uvmod_tmp=$_uvmod_cfg/uv/.uv.toml.$$
    case $_uvmod_setup in
      *[[:cntrl:]]*)
        _uvmod_say "the depot path $UVMOD_VENV_DEPOT holds control characters;" \
          "wheels built now are not isolated per key"
        false ;;
      *)
        mkdir -p "$_uvmod_cfg/uv" && {
          cat "$_uvmod_policy" &&
            printf '\n# Added by the %s wrapper for %s=%s: built wheels of these packages get\n' \
              "$UVMOD_MODULE" "$UVMOD_KEY_VARIABLE" "$_uvmod_key" &&
            printf '# their own shard of the uv cache per key, and setuptools its own build\n' &&
            printf '# directory (docs/design.md#per-key-builds).\n[extra-build-variables]\n' &&
            for _uvmod_pkg in $UVMOD_KEY_PACKAGES; do
              printf '"%s" = { %s = "%s", DIST_EXTRA_CONFIG = "%s" }\n' "$_uvmod_pkg" \
                "$UVMOD_KEY_VARIABLE" "$_uvmod_key" "$_uvmod_quoted"
            done
        } >"$_uvmod_tmp" && mv -f "$_uvmod_tmp" "$_uvmod_cfg/uv/uv.toml" ;;
    esac || {
      rm -f "$_uvmod_tmp" 2>/dev/null
      _uvmod_say "cannot write $_uvmod_cfg/uv/uv.toml; wheels built now are not isolated per key"
    }
  fi
  if [ -f "$_uvmod_cfg/uv/uv.toml" ]; then
    XDG_CONFIG_DIRS=$_uvmod_cfg${XDG_CONFIG_DIRS:+:$XDG_CONFIG_DIRS}
    export XDG_CONFIG_DIRS
  fi
fi

# `uv tool ...` (and bin/uvx, which runs `uv tool uvx`) installs into uv's own tool
# environments, never into the project's: it gets the key and the per-key uv.toml above, and
# nothing of the depot below (docs/design.md#uvmod-and-uvx-on-path).
# `uv tool install`/`upgrade` link from the cache into $UV_TOOL_DIR, which by default is not on
# the cache's filesystem: uv then copies anyway, after a warning that suggests exporting
# UV_LINK_MODE=copy, which would also make every project environment a copy. So for these two
# only, and only across filesystems, this call gets UV_LINK_MODE=copy (docs/design.md#tools).
if [ "$_uvmod_cmd" = tool ]; then
  case $_uvmod_sub in
    install | upgrade)
      if [ -z "${UV_LINK_MODE-}" ] && [ -n "${UV_CACHE_DIR-}" ] && [ -n "${UV_TOOL_DIR-}" ]; then
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
      fi ;;
  esac
  _uvmod_exec "$@"
fi

# The user chose an environment themselves (the documented opt-out): leave it alone.
[ -z "${UV_PROJECT_ENVIRONMENT-}" ] || _uvmod_exec "$@"

# --- Where project discovery starts: the physical cwd, or --directory, then --project. --------
# Hash input is the project's real path (`pwd -P`), so a symlinked route to the same project
# gets the same environment. `cd -P .` gives the physical cwd without a subshell; the rare
# --directory/--project forms pay for one.
if [ -n "$_uvmod_directory$_uvmod_project" ]; then
  _uvmod_start=$(
    CDPATH=
    if [ -n "$_uvmod_directory" ]; then cd -P -- "$_uvmod_directory" || exit 1; fi
    if [ -n "$_uvmod_project" ]; then cd -P -- "$_uvmod_project" || exit 1; fi
    printf '%s/' "$PWD"
  ) 2>/dev/null || _uvmod_exec "$@"  # a missing directory: let uv report it
  _uvmod_start=${_uvmod_start%/}
else
  cd -P . 2>/dev/null || _uvmod_exec "$@"
  _uvmod_start=$PWD
fi
[ "$_uvmod_start" != / ] || _uvmod_start=

# --- Walk up to the nearest pyproject.toml; prefer an ancestor declaring a uv workspace. -----
# ("" stands for /.) Approximations, documented in docs/user-guide.md: the workspace test is a
# grep for a `[tool.uv.workspace]` header (not the inline or dotted-key TOML forms), and it does
# not check that the project is one of the workspace's members.
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
[ -n "$_uvmod_root" ] || _uvmod_exec "$@"  # not in a project: nothing to do
_uvmod_root=${_uvmod_root%/}
while [ -n "$_uvmod_d" ]; do
  _uvmod_d=${_uvmod_d%/*}
  if [ -f "$_uvmod_d/pyproject.toml" ] &&
    grep -Eq '^[[:blank:]]*\[[[:blank:]]*tool\.uv\.workspace[[:blank:]]*\]' \
      "$_uvmod_d/pyproject.toml" 2>/dev/null; then
    _uvmod_root=$_uvmod_d
    break
  fi
done
[ -n "$_uvmod_root" ] || _uvmod_root=/

# --- The depot name: <readable>-<16 hex of sha256("uvmod-depot-v1\n" key "\n" path "\n")>. ---
# The name is a pure function of (key, root), remembered in an index that mirrors the project
# path, $UVMOD_VENV_DEPOT/.uvmod-index/k-<key>/<root>/.uvmod-name, so that after the first call
# a builtin `read` replaces the sha256sum process (about 1 ms, a twentieth of `uv run`).
# A missing or malformed entry is recomputed; a purged index just costs one sha256sum again.
_uvmod_idx=$UVMOD_VENV_DEPOT/.uvmod-index/k-$_uvmod_k$_uvmod_root/.uvmod-name
[ "$_uvmod_root" != / ] || _uvmod_idx=$UVMOD_VENV_DEPOT/.uvmod-index/k-$_uvmod_k/.uvmod-name
_uvmod_name=
{ read -r _uvmod_name <"$_uvmod_idx"; } 2>/dev/null
_uvmod_hash=${_uvmod_name##*-}
case $_uvmod_name:$_uvmod_hash in
  *[!A-Za-z0-9._:-]* | .* | -* | *:*[!0-9a-f]*) _uvmod_name= ;;
  *-????????????????:????????????????) ;;
  *) _uvmod_name= ;;
esac
if [ -z "$_uvmod_name" ]; then
  # sha256sum: cksum is POSIX but a 32-bit CRC (collisions at ~65,000 projects); sha256sum is
  # in GNU coreutils >= 6.0 (2006), on every Linux cluster node. 64 bits of it are plenty.
  # The key comes first: it has no newline (validated above) while a path may, so the framing
  # is one-to-one. Heredoc, not a pipe: one process fewer.
  _uvmod_sum=$(sha256sum <<_uvmod_EOF
uvmod-depot-v1
$_uvmod_key
$_uvmod_root
_uvmod_EOF
  ) 2>/dev/null
  _uvmod_sum=${_uvmod_sum%% *}
  if [ ${#_uvmod_sum} -ne 64 ]; then
    _uvmod_say "sha256sum failed; using uv's default environment location"
    _uvmod_exec "$@"
  fi
  _uvmod_t=${_uvmod_sum#????????????????}
  _uvmod_hash=${_uvmod_sum%"$_uvmod_t"}
  # Readable part: the root's last component, every run of bytes outside [A-Za-z0-9._-] made
  # one '_', at most 48 characters, a leading '.' made '_' (depot entries starting with '.' are
  # uvmod's own), "project" when empty.
  _uvmod_rest=${_uvmod_root##*/}
  _uvmod_read=
  _uvmod_bad=
  while [ -n "$_uvmod_rest" ] && [ ${#_uvmod_read} -lt 48 ]; do
    _uvmod_t=${_uvmod_rest#?}
    _uvmod_c=${_uvmod_rest%"$_uvmod_t"}
    _uvmod_rest=$_uvmod_t
    case $_uvmod_c in
      [A-Za-z0-9._-]) _uvmod_read=$_uvmod_read$_uvmod_c _uvmod_bad= ;;
      *)
        [ -n "$_uvmod_bad" ] || _uvmod_read=${_uvmod_read}_
        _uvmod_bad=1 ;;
    esac
  done
  case $_uvmod_read in
    '') _uvmod_read=project ;;
    .*) _uvmod_read=_${_uvmod_read#.} ;;
  esac
  _uvmod_name=$_uvmod_read-$_uvmod_hash
  _uvmod_tmp=$_uvmod_idx.$$
  if mkdir -p "${_uvmod_idx%/*}" 2>/dev/null &&
    { printf '%s\n' "$_uvmod_name" >"$_uvmod_tmp"; } 2>/dev/null; then
    mv -f "$_uvmod_tmp" "$_uvmod_idx" 2>/dev/null || rm -f "$_uvmod_tmp"
  fi
fi
_uvmod_env=$UVMOD_VENV_DEPOT/$_uvmod_name

# --- Back-pointer, last use, purge damage. ---------------------------------------------------
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
_uvmod_marker=$_uvmod_env/.uvmod-project
_uvmod_used=$_uvmod_env/.uvmod-last-used
if { [ -f "$_uvmod_used" ] && [ ! -f "$_uvmod_marker" ]; } ||
  { [ ! -e "$_uvmod_env/bin/python" ] && { [ -f "$_uvmod_marker" ] || [ -f "$_uvmod_used" ]; }; }
then
  _uvmod_trash=$UVMOD_VENV_DEPOT/.uvmod-trash/$_uvmod_name.$$
  if mkdir -p "$UVMOD_VENV_DEPOT/.uvmod-trash" && mv "$_uvmod_env" "$_uvmod_trash" 2>/dev/null
  then
    _uvmod_say "$_uvmod_env was partly deleted (most likely by the scratch purge);" \
      "moved it to $_uvmod_trash and uv will create a fresh one." \
      "'uvmod venv gc --yes' deletes the old copy."
  fi
elif [ -f "$_uvmod_marker" ]; then
  { true >"$_uvmod_used"; } 2>/dev/null
elif [ -f "$_uvmod_env/pyvenv.cfg" ]; then
  _uvmod_tmp=$_uvmod_marker.$$
  if { printf 'uvmod-project 1\n%s\n%s\n' "$_uvmod_key" "$_uvmod_root" >"$_uvmod_tmp"; } \
    2>/dev/null && mv -f "$_uvmod_tmp" "$_uvmod_marker" 2>/dev/null; then
    { true >"$_uvmod_used"; } 2>/dev/null
  else
    rm -f "$_uvmod_tmp" 2>/dev/null
  fi
fi

UV_PROJECT_ENVIRONMENT=$_uvmod_env
export UV_PROJECT_ENVIRONMENT
# `uv pip` ignores UV_PROJECT_ENVIRONMENT and wants VIRTUAL_ENV (DESIGN.md); an active venv or
# conda environment wins.
if [ "$_uvmod_cmd" = pip ] && [ -z "${VIRTUAL_ENV-}" ] && [ -z "${CONDA_PREFIX-}" ] &&
  [ -f "$_uvmod_env/pyvenv.cfg" ]; then
  VIRTUAL_ENV=$_uvmod_env
  export VIRTUAL_ENV
fi
_uvmod_exec "$@"
