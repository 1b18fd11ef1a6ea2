# Body of the uv wrapper. uvmod prepends `#!/bin/sh`, a marker and the assignments of
# UVMOD_REAL_UV (and the other site values); this text follows unchanged, so `sh -n` checks it.
#
# It runs on every uv call: POSIX sh only, no Python, no subprocess on the common path.

exec "$UVMOD_REAL_UV" "$@"
