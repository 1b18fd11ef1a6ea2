# shellcheck shell=sh
# The uv wrapper's flow: bin/uv is `#!/bin/sh`, a marker, generated assignments, sh/uv-start.sh
# (the calls that need nothing else), sh/uvmod-key.sh and sh/uv-phases.sh (functions only),
# then this text, which calls the phases in order (docs/design.md#the-wrapper). Each phase
# ends the call with _uvmod_exec (uv, or the dry run's report) once nothing is left to decide.
#
# The results each phase leaves for the next ones:
#   _uvmod_save_shell         _uvmod_lc*, _uvmod_pwd*, _uvmod_oldpwd* (given back by _uvmod_exec)
#   _uvmod_read_environment   _uvmod_depot, _uvmod_arch, _uvmod_source, _uvmod_key, _uvmod_dry
#   _uvmod_scan_args          _uvmod_cmd, _uvmod_sub, _uvmod_project, _uvmod_directory
#   _uvmod_follow_loaded_modules  _uvmod_key (the key of the modules loaded now), _uvmod_stale
#   _uvmod_key_dir_name       _uvmod_key_dir
#   _uvmod_per_key_config     _uvmod_config (and XDG_CONFIG_DIRS)
#   _uvmod_tool_link_mode     UV_LINK_MODE, for `uv tool install`/`upgrade` across filesystems
#   _uvmod_discovery_start    _uvmod_start
#   _uvmod_project_root       _uvmod_root
#   _uvmod_trust_depot        _uvmod_trusted (also called by _uvmod_per_key_config)
#   _uvmod_node               _uvmod_machine, _uvmod_node_dir
#   _uvmod_identity           _uvmod_identity, _uvmod_index_entry
#   _uvmod_depot_name         _uvmod_name
#   _uvmod_own_environment    _uvmod_env
#   _uvmod_job_local          _uvmod_env, _uvmod_state (and UV_LINK_MODE) for a job-local one
#   _uvmod_check_environment  _uvmod_env, _uvmod_state
#   _uvmod_use_environment    UV_PROJECT_ENVIRONMENT (and VIRTUAL_ENV for `uv pip`)

_uvmod_save_shell
_uvmod_read_environment
_uvmod_passthrough "$@"
_uvmod_check_key || exit 2
_uvmod_scan_args "$@"
# shellcheck disable=SC2154 # _uvmod_cmd: set by _uvmod_scan_args (sh/uv-phases.sh)
if _uvmod_plain_command "$_uvmod_cmd"; then _uvmod_exec "$@"; fi
_uvmod_follow_loaded_modules || exit 2
_uvmod_key_dir_name
_uvmod_per_key_config
# `uv tool` (and bin/uvx): uv's own tool environments, never the project's.
# shellcheck disable=SC2154 # _uvmod_sub: set by _uvmod_scan_args (sh/uv-phases.sh)
if [ "$_uvmod_cmd" = tool ]; then
  case $_uvmod_sub in
    install | upgrade) _uvmod_tool_link_mode ;;
  esac
  _uvmod_exec "$@"
fi
# The user chose an environment themselves (the documented opt-out): leave it alone.
[ -z "${UV_PROJECT_ENVIRONMENT-}" ] || _uvmod_exec "$@"
_uvmod_discovery_start || _uvmod_exec "$@"
_uvmod_project_root || _uvmod_exec "$@"
_uvmod_trust_depot || exit 2
_uvmod_node || exit 2
_uvmod_identity
_uvmod_depot_name || _uvmod_exec "$@"
_uvmod_own_environment || exit 2
# Inside a job, the job's node-local environment instead of the depot's, when chosen.
_uvmod_job_local || _uvmod_check_environment
# A project's first call on this node type: say so if its uv.lock names another type's wheels.
# shellcheck disable=SC2154 # _uvmod_state: set by _uvmod_check_environment (sh/uv-phases.sh)
[ "$_uvmod_state" != absent ] || [ -n "$_uvmod_dry" ] || [ ! -f "${_uvmod_root%/}/uv.lock" ] ||
  _uvmod_lock_notice
_uvmod_use_environment
_uvmod_exec "$@"
