# shellcheck shell=sh
# The first lines of the uv wrapper, run before its phases are even read (dash reads a script
# one command at a time, and reading the phases costs about a third of the wrapper's time):
# `uv --version` and `uv --help`, and every call without the module loaded (the module sets the
# depot variable), go to the real uv at once. This keeps `uv --version` within a few per cent of
# the real binary. A dry run (sh/uv-phases.sh, _uvmod_report) goes on, and _uvmod_passthrough
# reports instead.
_uvmod_plain=''
case ${1-} in
  -V | --version | -h | --help) _uvmod_plain=1 ;;
esac
eval "[ -n \"\${$UVMOD_DEPOT_VARIABLE-}\" ]" || _uvmod_plain=1
if [ -n "$_uvmod_plain" ] && eval "[ -z \"\${$UVMOD_DRY_RUN_VARIABLE-}\" ]"; then
  exec "$UVMOD_REAL_UV" "$@"
fi
