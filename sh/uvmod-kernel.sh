# shellcheck shell=sh
# Body of the Jupyter kernel launcher, <prefix>/<name>/<version>/libexec/uvmod-kernel. uvmod
# prepends `#!/bin/sh`, a marker and these assignments (uvmod/render/wrapper.py, from the
# constants of uvmod/kernelspec.py, uvmod/moduledesc.py and uvmod/layout.py):
#   UVMOD_MODULE          the site's module name (uv-hpc), for messages
#   UVMOD_KERNEL_FORMAT   the `--format` of the kernel.json argv this launcher reads
#   UVMOD_HOME_VARIABLE   the variable the module sets to its install directory (UVMOD_HOME)
#   UVMOD_HOME_WRAPPER    the uv wrapper's path in that directory (bin/uv)
#
# `uvmod kernel install` writes a kernel.json whose argv runs this file (uvmod/kernelspec.py):
#   uvmod-kernel --format 1 --kernel NAME --project DIR --module-init FILE
#                [--modulepath DIR]... --connection-file FILE --load MODULE... UV_MODULE
# Jupyter starts kernels with the environment of its server and no login shell: no `module`
# function, maybe no MODULEPATH (Open OnDemand's Jupyter app, jupyter_client). So this script
# sources the module system's sh init, loads exactly the recorded modules and uv-hpc (last, so
# its key is computed with the MPI/CUDA modules already loaded), and runs the kernel through the
# uv wrapper: `uv run` recreates a purged environment, and the key and architecture of the node
# where the kernel starts apply (docs/design.md#jupyter-kernels).
#
# Every value arrives as one argv element and stays one: nothing is eval'ed or word-split. It
# fails with a message on stderr, which Jupyter logs, and a non-zero status: jupyter_client then
# reports the kernel as dead instead of waiting for it.

_uvmodk_name=

_uvmodk_fail() {
  _uvmodk_label="$UVMOD_MODULE kernel"
  [ -z "$_uvmodk_name" ] || _uvmodk_label="$_uvmodk_label '$_uvmodk_name'"
  printf '%s\n' "$_uvmodk_label: $*" >&2
  exit 1
}

if [ "${1-}" != --format ] || [ "${2-}" != "$UVMOD_KERNEL_FORMAT" ]; then
  _uvmodk_fail "this kernel.json was not written for this launcher (it expects" \
    "'--format $UVMOD_KERNEL_FORMAT' first); reinstall the kernel with 'uvmod kernel install'."
fi
shift 2

_uvmodk_project=
_uvmodk_init=
_uvmodk_paths=
_uvmodk_conn=
_uvmodk_load=
while [ $# -gt 0 ]; do
  case $1 in
    --load)
      shift
      _uvmodk_load=1
      break ;;
    --kernel | --project | --module-init | --modulepath | --connection-file)
      [ $# -ge 2 ] || _uvmodk_fail "$1 needs a value; reinstall the kernel."
      case $1 in
        --kernel) _uvmodk_name=$2 ;;
        --project) _uvmodk_project=$2 ;;
        --module-init) _uvmodk_init=$2 ;;
        # A MODULEPATH entry never holds ':' (the list separator), so ':' joins them one-to-one.
        --modulepath) _uvmodk_paths=$_uvmodk_paths:$2 ;;
        --connection-file) _uvmodk_conn=$2 ;;
      esac
      shift 2 ;;
    *) _uvmodk_fail "unknown argument '$1'; reinstall the kernel with 'uvmod kernel install'." ;;
  esac
done
if [ -z "$_uvmodk_load" ] || [ $# -eq 0 ]; then
  _uvmodk_fail "no modules to load (--load MODULE...); reinstall the kernel."
fi
[ -n "$_uvmodk_conn" ] ||
  _uvmodk_fail "no --connection-file: Jupyter starts this kernel, not a shell."

# The project first: a kernel whose project was deleted or moved fails at once.
if [ ! -f "$_uvmodk_project/pyproject.toml" ]; then
  if [ -d "$_uvmodk_project" ]; then
    _uvmodk_why="has no pyproject.toml"
  else
    _uvmodk_why="does not exist on $(uname -n 2>/dev/null || echo this node)"
  fi
  _uvmodk_fail "the project $_uvmodk_project $_uvmodk_why. Remove this kernel with" \
    "'uvmod kernel remove $_uvmodk_name', or reinstall it from the project's new place with" \
    "'uvmod kernel install --project DIR --name $_uvmodk_name'."
fi

if [ ! -f "$_uvmodk_init" ] || [ ! -r "$_uvmodk_init" ]; then
  _uvmodk_fail "the module system's init script $_uvmodk_init is not readable on" \
    "$(uname -n 2>/dev/null || echo this node); reinstall the kernel with" \
    "'uvmod kernel install --module-init FILE' naming the sh init script of this cluster."
fi
# Sourced inside a function, so an init script that resets the positional parameters cannot
# take the module list with it.
_uvmodk_source() {
  # shellcheck disable=SC1090  # the site's init script, named in kernel.json
  . "$1"
}
_uvmodk_source "$_uvmodk_init"
command -v module >/dev/null 2>&1 ||
  _uvmodk_fail "sourcing $_uvmodk_init did not define the 'module' command."

# The kernel gets the recorded modules and nothing else of the Jupyter server's (which may have
# loaded its own Python); sticky modules stay, as in any `module purge`.
if [ -n "${LOADEDMODULES-}" ]; then
  module purge || _uvmodk_fail "'module purge' failed (its messages are above)."
fi

# The MODULEPATH seen when the kernel was installed, for entries this node's init did not set
# (a `module use` of the user's, the directory of uv-hpc): appended, so the site's own order
# keeps priority. Set directly, as the site's profile scripts set it: no module command needed.
_uvmodk_rest=$_uvmodk_paths
while [ -n "$_uvmodk_rest" ]; do
  _uvmodk_rest=${_uvmodk_rest#:}
  _uvmodk_dir=${_uvmodk_rest%%:*}
  _uvmodk_rest=${_uvmodk_rest#"$_uvmodk_dir"}
  case :${MODULEPATH-}: in
    *:"$_uvmodk_dir":*) ;;
    *)
      if [ -d "$_uvmodk_dir" ]; then
        MODULEPATH=${MODULEPATH:+$MODULEPATH:}$_uvmodk_dir
        export MODULEPATH
      fi ;;
  esac
done

module load "$@" ||
  _uvmodk_fail "'module load $*' failed (its messages are above)."
eval "_uvmodk_home=\${$UVMOD_HOME_VARIABLE-}"
if [ -z "$_uvmodk_home" ] || [ ! -x "$_uvmodk_home/$UVMOD_HOME_WRAPPER" ]; then
  _uvmodk_fail "'module load $*' did not set up $UVMOD_MODULE" \
    "(no \$$UVMOD_HOME_VARIABLE/$UVMOD_HOME_WRAPPER)."
fi

# An environment activated in the Jupyter server's shell is not the kernel's: uv run would only
# warn that it ignores it.
unset VIRTUAL_ENV
exec "$_uvmodk_home/$UVMOD_HOME_WRAPPER" run --project "$_uvmodk_project" \
  python -m ipykernel_launcher -f "$_uvmodk_conn"
