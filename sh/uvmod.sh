# Body of `uvmod` in the module's bin/. uvmod prepends `#!/bin/sh`, a marker and these
# assignments (uvmod/render/wrapper.py):
#   UVMOD_MODULE    the site's module name (uv-hpc), for messages
#   UVMOD_PYTHON    the Python that ran `uvmod build-modulefiles` (uvmod is installed there), or
#                   empty when the site config names another uvmod (module.uvmod)
#   UVMOD_PROGRAM   module.uvmod: a uvmod executable to run instead, or empty
#
# So users get `uvmod doctor`, `uvmod venv` and `uvmod key` on PATH with the module, from the same
# uvmod that wrote the tree (docs/design.md#uvmod-and-uvx-on-path). `-I` keeps the user's
# PYTHONPATH, user site-packages and current directory out of that Python's import path: a
# directory named `uvmod` where the user stands must not replace the installed package.
if [ -n "$UVMOD_PYTHON" ]; then
  if [ ! -x "$UVMOD_PYTHON" ]; then
    printf '%s\n' "$UVMOD_MODULE: $UVMOD_PYTHON, the Python uvmod was installed with, is not" \
      "on this node; ask your administrator to set module.uvmod in the site configuration." >&2
    exit 127
  fi
  exec "$UVMOD_PYTHON" -I -m uvmod "$@"
fi
exec "$UVMOD_PROGRAM" "$@"
