"""Every problem doctor can report, with its fixed wording.

The titles are the headings of docs/troubleshooting.md, word for word; a test fails when one is
missing there. Keep them short, lower case, and free of names that vary (module name, paths):
those go in the details after the colon.
"""

from __future__ import annotations

from uvmod.doctor.result import Problem

# A check that could not read what it needs (permission denied, a stale NFS handle, ...)
CHECK_ERROR = Problem("a check could not read what it needs")

# Module state
MODULE_NOT_LOADED = Problem("the uv module is not loaded")
SITE_FACTS_UNREADABLE = Problem("the loaded module's site facts cannot be read")
NO_UV_ON_PATH = Problem("there is no uv on PATH")
WRAPPER_NOT_FIRST = Problem("the uv on PATH is not the module's wrapper")
REAL_UV_MISSING = Problem("the real uv is missing")
REAL_UV_BROKEN = Problem("the real uv does not run")

# Effective configuration
CONFIG_SWITCHED_OFF = Problem("a variable switches the site uv.toml off")
NO_SYSTEM_CONFIG = Problem("uv reads no system uv.toml")
SYSTEM_CONFIG_SHADOWED = Problem("another system uv.toml comes first")
SITE_POLICY_DRIFT = Problem("the site uv.toml does not match the site configuration")
CONFIG_INVALID = Problem("a uv configuration file is not valid TOML")
USER_CONFIG_OVERRIDE = Problem("a user uv.toml changes the site index policy")
PROJECT_CONFIG_OVERRIDE = Problem("the project's configuration changes the site index policy")
ENV_OVERRIDE = Problem("UV_ variables change the site index policy")
WHEELHOUSE_MISSING = Problem("a wheelhouse directory is missing")
WHEELHOUSE_EMPTY = Problem("a wheelhouse directory holds no wheels")

# Node types (docs/design.md#node-types)
LOADED_ON_OTHER_NODE = Problem("the module was loaded on another node type")
ENV_OF_OTHER_NODE = Problem("the environment was made on another node type")
BUILD_OF_OTHER_NODE = Problem("a package was installed from another node type's wheels")

# Filesystems
CACHE_ENVS_SPLIT = Problem("the cache and the environments are on different filesystems")
VENV_IN_PROJECT = Problem("a .venv inside the project counts against your file quota")
VENV_LINK_BROKEN = Problem("the project's .venv is a symlink to a missing directory")
NOT_WRITABLE = Problem("a uv directory is not writable")
FLOCK_FAILS = Problem("file locking does not work in a uv directory")
FLOCK_NODE_LOCAL = Problem("file locks in a uv directory hold on this node only")
FLOCK_NFS = Problem("file locks on NFS do not exclude the NFS server")

# Batch jobs
JOB_DIR_MISSING = Problem("job-local environments are on but the job has no local directory")

# Cache key
KEY_STALE = Problem("the cache key is stale")
BUILT_WITH_OTHER_KEY = Problem("a package was built with another cache key")
LINKS_OTHER_STACK = Problem("a package links another MPI or CUDA than the one loaded")

# Depot and the activated environment
ENV_DAMAGED = Problem("the project environment is missing files")
ACTIVE_ENV_DAMAGED = Problem("the activated environment is missing files")
ACTIVE_ENV_GONE = Problem("the activated environment does not exist")
ORPHANED_ENVS = Problem("environments of deleted projects take space")

# Ownership and modes
OPEN_TO_OTHERS = Problem("another user could write what uv reads or runs")

# Scratch purge
ENVS_AT_RISK = Problem("environments not used within the purge age")
CACHE_AT_RISK = Problem("cache entries not used within the purge age")
CACHE_DAMAGED = Problem("unpacked wheels in the cache are missing files")

# The site's pip stack (manylinux.py, constraints.py, module_packages.py)
MANYLINUX_ACCEPTED = Problem("an environment accepts manylinux wheels")
MANYLINUX_INSTALLED = Problem("manylinux wheels are installed against the site's rule")
LOCK_VIOLATES_CONSTRAINTS = Problem("uv.lock breaks the site constraints")
MODULE_PACKAGES_SHADOWED = Problem("the environment installs a loaded module's packages again")


def all_problems() -> list[Problem]:
    return [value for value in globals().values() if isinstance(value, Problem)]
