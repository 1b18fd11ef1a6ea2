# Body of `uvx` in the module's bin/. uvmod prepends `#!/bin/sh`, a marker and one assignment
# (uvmod/render/wrapper.py):
#   UVMOD_UV_WRAPPER   the `uv` wrapper next to this file, as an absolute path
#
# uv's own `uvx` is `uv tool uvx` (same options, same `--version` line). Going through the
# wrapper gives it what every other uv call gets: the architecture's site policy (XDG_CONFIG_DIRS
# set by the module) and, with an MPI/CUDA key, the per-key uv.toml with [extra-build-variables]
# (docs/design.md#per-key-builds); the wrapper takes care not to touch the project environment
# for `uv tool`. Nothing is duplicated here, so the two cannot drift apart.
exec "$UVMOD_UV_WRAPPER" tool uvx "$@"
