"""The dynamic section of ELF files: what a shared object needs, where it looks, its name.

Read with pyelftools (https://github.com/eliben/pyelftools), a maintained pure-Python ELF reader,
rather than by parsing `ldd` output: ldd runs the dynamic loader on the file, resolves through
the caller's LD_LIBRARY_PATH, and prints a format meant for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_ELF_MAGIC = b"\x7fELF"
# pyelftools sets a tag's string value as an attribute named after the tag.
_STRING_TAGS = {
    "DT_NEEDED": "needed",
    "DT_RUNPATH": "runpath",
    "DT_RPATH": "rpath",
    "DT_SONAME": "soname",
}


@dataclass(frozen=True)
class Dynamic:
    needed: tuple[str, ...]  # DT_NEEDED: the sonames the loader must find, in order
    search: tuple[str, ...]  # DT_RUNPATH, else DT_RPATH: directories, `$ORIGIN` unexpanded
    soname: str | None  # DT_SONAME: the name programs linked with this library record


def read_dynamic(path: Path) -> Dynamic | None:
    """The dynamic section of `path`; None when it is not ELF (or truncated, or corrupt)."""
    with open(path, "rb") as stream:
        if stream.read(4) != _ELF_MAGIC:
            return None
        # Imported here: pyelftools adds 40 ms to every doctor run, most of which read no ELF.
        from elftools.common.exceptions import ELFError
        from elftools.elf.dynamic import DynamicSection
        from elftools.elf.elffile import ELFFile

        stream.seek(0)
        values: dict[str, list[str]] = {kind: [] for kind in _STRING_TAGS}
        try:
            for section in ELFFile(stream).iter_sections():
                if not isinstance(section, DynamicSection):
                    continue
                for tag in section.iter_tags():
                    attribute = _STRING_TAGS.get(str(tag.entry.d_tag))
                    if attribute is not None:
                        values[str(tag.entry.d_tag)].append(str(getattr(tag, attribute)))
        except (ELFError, ValueError, KeyError, AttributeError):
            return None
    # The loader ignores DT_RPATH when DT_RUNPATH is present (ld.so(8)).
    search = [d for entry in values["DT_RUNPATH"] or values["DT_RPATH"] for d in entry.split(":")]
    sonames = values["DT_SONAME"]
    return Dynamic(
        tuple(values["DT_NEEDED"]), tuple(d for d in search if d), sonames[0] if sonames else None
    )


def expand_origin(directory: str, origin: Path) -> Path:
    """A DT_RUNPATH entry with `$ORIGIN` (the object's own directory) substituted."""
    text = directory.replace("${ORIGIN}", str(origin)).replace("$ORIGIN", str(origin))
    return Path(text)
