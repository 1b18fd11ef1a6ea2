"""Whether a directory or file of uv's could have been written by another user.

ssh's StrictModes rule (sshd_config(5)), which uv's files need as much as ~/.ssh does: what uv
reads (a uv.toml adds indexes, an environment's bin/python runs) must belong to the user, or to
root for the site's own files, and be writable by nobody else; and so must every directory
above it, except that a directory writable by others is safe above it when it is sticky (/tmp,
a 1777 /scratch: others can add entries there but not replace ours). A path that does not
exist yet is judged by the directories that would hold it.

The wrapper's depot check (uvmod/depot.py, check_depot, and its sh twin) applies this rule to
the depot and adds a scan of the depot's entries; doctor (uvmod/doctor/ownership.py) applies
this one to the cache and uv's configuration directories too.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

OPEN_TO_OTHERS = stat.S_IWGRP | stat.S_IWOTH


@dataclass(frozen=True)
class Unsafe:
    """Why `path` is unsafe, and what fixes it; `kind` is "owner" (another user's) or "open"
    (writable by others), for callers that phrase the message their own way."""

    path: str
    why: str
    fix: str
    kind: str


def owner_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return f"uid {uid}"


def unsafe_entry(
    path: str, info: os.stat_result, *, top: bool, uid: int, root_may_own: bool
) -> Unsafe | None:
    """The rule for one existing path: `top` is the directory or file itself (the user's, or
    root's when `root_may_own`; writable by nobody else), otherwise a directory above it (the
    user's or root's; writable by others only when sticky)."""
    mode = f"{stat.S_IMODE(info.st_mode):o}"
    owners = {uid, 0} if (root_may_own or not top) else {uid}
    if info.st_uid not in owners:
        where = "it" if top else f"the directory {path} above it"
        return Unsafe(
            path,
            f"{where} belongs to another user ({owner_name(info.st_uid)})",
            "use a directory of your own (see docs/troubleshooting.md)",
            "owner",
        )
    if info.st_mode & OPEN_TO_OTHERS and not (not top and info.st_mode & stat.S_ISVTX):
        where = "it" if top else f"the directory {path} above it"
        fix = f"chmod go-w {path}" if info.st_uid == uid else "ask your administrator"
        return Unsafe(path, f"{where} is writable by other users (mode {mode})", fix, "open")
    return None


def unsafe_path(path: Path, *, root_may_own: bool = False, uid: int | None = None) -> Unsafe | None:
    """The first reason `path` (or, when it does not exist yet, the directories that would hold
    it) could have been written by another user, checked from `/` down along its real path;
    None when it is safe."""
    owner = os.geteuid() if uid is None else uid
    real = os.path.realpath(path)
    chain = [real]
    while chain[-1] != "/":
        chain.append(os.path.dirname(chain[-1]))
    exists = os.path.lexists(real)
    for current in reversed(chain):
        try:
            info = os.stat(current)
        except FileNotFoundError:
            break  # nothing below exists either
        top = current == real and exists
        found = unsafe_entry(current, info, top=top, uid=owner, root_may_own=root_may_own)
        if found is not None:
            return found
    return None
