"""Progress you can see: bars on stderr, only on a terminal, while phrases are synthesized
(when that will take more than a couple of seconds: a new voice, a cold neural export) and
while an export renders. One rich display holds both, as they overlap in an export.
``export``, ``plan`` and ``play`` show it; so can any other front end (``serve``)."""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["ProgressBars"]

SHOW_AFTER_S = 2.0  # synthesis estimated to take longer than this gets a bar


class ProgressBars:
    """Call :meth:`speaking` from the phrase cache (its ``progress``) and :meth:`rendering`
    from an export; the display appears at the first bar it needs and is gone at the end."""

    def __init__(self, enabled: bool = True, console: Any = None) -> None:
        from rich.console import Console

        self.console = console if console is not None else Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self._lock = threading.Lock()
        self._display: Any = None
        self._tasks: dict[str, Any] = {}
        self._skipping = False  # this batch of phrases is too quick to show

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *_exc: object) -> None:  # an error goes on up after the clean-up
        self.close()

    def speaking(self, done: int, total: int, estimate_s: float) -> None:
        """Phrases synthesized so far, of ``total``, that should take ``estimate_s`` in all."""
        if not self.enabled:
            return
        with self._lock:
            if done == 0:
                self._skipping = estimate_s <= SHOW_AFTER_S
            if self._skipping:
                return
            self._update("speaking", done, total, f"{done}/{total} phrases")
            if done >= total:
                self._finish("speaking")

    def rendering(self, done_ms: int, total_ms: int) -> None:
        """Milliseconds of the timeline rendered so far, of ``total_ms``."""
        if not self.enabled:
            return
        with self._lock:
            percent = 100 * done_ms // total_ms if total_ms else 100
            self._update("rendering", done_ms, total_ms, f"{percent:>3}%")

    def close(self) -> None:
        """The display goes, and no bar comes back (play's own display takes over)."""
        with self._lock:
            self.enabled = False
            if self._display is not None:
                self._display.stop()
            self._display = None
            self._tasks.clear()

    def _update(self, name: str, done: int, total: int, detail: str) -> None:
        if self._display is None:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._display = Progress(
                TextColumn("{task.description:<9}"),
                BarColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._display.start()
        if name not in self._tasks:
            self._tasks[name] = self._display.add_task(name, total=total, detail="")
        self._display.update(self._tasks[name], completed=done, total=max(total, 1), detail=detail)
        self._display.refresh()

    def _finish(self, name: str) -> None:
        """A bar whose work is done goes; the display too, when it was the last."""
        task = self._tasks.pop(name, None)
        if task is not None and self._display is not None:
            self._display.remove_task(task)
        if not self._tasks and self._display is not None:
            self._display.stop()
            self._display = None
