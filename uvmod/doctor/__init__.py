"""`uvmod doctor`: small checks of one user's uv set-up, each returning a Result.

One module per topic (module state, settings, wheelhouse, filesystems, cache key, depot, purge);
`uvmod.commands.doctor` runs them in order and renders the results. Checks read the world
(environment, files, mounts) through a Context and never change anything, except the temporary
file the flock check needs.
"""
