"""The one progress type: a callable told what is happening, in words."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]
ChunkProgress = Callable[[int, int], None]  # (chunks done, chunks in all)


def silent(_message: str) -> None:
    """A progress callback that says nothing."""


def reporter(progress: Progress | None) -> Progress:
    """``progress`` or one that says nothing."""
    return progress or silent
