"""A stand-in /proc/cpuinfo that tells whether anything opened it.

The modulefile reads the file named by UVMOD_CPUINFO. Pointing that at a FIFO makes a read
visible: opening a FIFO for reading waits for a writer, so a thread keeps a writer waiting and
serves whoever opens it a captured flags line. (A writer that opens while a reader still holds
the FIFO gets through at once, so the number of sessions says "at least one read", not how many.)
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from types import TracebackType

FLAGS = "flags\t\t: fpu sse sse2 avx avx2 fma\n"


class CpuinfoProbe:
    """Use as a context manager; afterwards `opened` says whether anything opened the file."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(tempfile.mkdtemp(dir=directory, prefix="probe-")) / "cpuinfo"
        self._sessions = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> CpuinfoProbe:
        os.mkfifo(self.path)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while True:
            try:
                with open(self.path, "w") as fifo:  # waits for a reader
                    if self._stop.is_set():
                        return
                    self._sessions += 1
                    fifo.write(FLAGS)
            except BrokenPipeError:  # the reader stopped after the flags line
                continue

    @property
    def opened(self) -> bool:
        return self._sessions > 0

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        # Meet the waiting writer ourselves, so that it sees the stop and ends.
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            self._thread.join(timeout=10)
        finally:
            os.close(fd)
        assert not self._thread.is_alive()
