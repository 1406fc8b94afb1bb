"""Single keys from the terminal, without Enter: the terminal in cbreak mode while the demo runs, and
restored on the way out whatever happens (Ctrl-C, an error, SIGTERM).

Ctrl-C still raises SIGINT in cbreak mode (only line buffering and echo are off).
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import threading
import tty
from collections.abc import Callable
from typing import Any


class KeyReader:
    """Calls ``on_key(char)`` from a thread for each key typed on stdin, while in a ``with`` block.
    Not a terminal: does nothing."""

    def __init__(self, on_key: Callable[[str], None], stream: Any = None) -> None:
        self.on_key = on_key
        self.stream = stream or sys.stdin
        self._saved: list[Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._saved is not None

    def __enter__(self) -> KeyReader:
        try:
            fd = self.stream.fileno()
            if not os.isatty(fd):
                return self
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd, termios.TCSANOW)
        except (OSError, ValueError, termios.error):
            self._saved = None
            return self
        self._thread = threading.Thread(target=self._read, args=(fd,), name="demo-keys", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None
        if self._saved is not None:
            with contextlib.suppress(OSError, ValueError, termios.error):
                termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None

    def _read(self, fd: int) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], 0.2)
                if not ready:
                    continue
                data = os.read(fd, 1)
            except (OSError, ValueError):
                return
            if not data:  # end of input
                return
            try:
                self.on_key(data.decode(errors="replace"))
            except Exception:  # a failed command must not end the key thread
                continue
