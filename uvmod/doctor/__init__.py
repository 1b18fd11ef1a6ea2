"""`uvmod doctor`: small checks of one user's uv set-up, each returning a Result.

One module per topic (module state, settings, wheelhouse, filesystems, cache key and what
builds link, damaged environments, orphans, purge risk, cache damage); registry.py lists the
checks in the order they run, and `uvmod.commands.doctor` renders their results. Checks read
the world (environment, files, mounts) through a Context and never change anything, except the
temporary file the flock check needs. Environments are read through uvmod/envscan.py, the
scan `uvmod venv` uses too.
"""
