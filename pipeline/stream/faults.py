"""Faults the tests inject into a real worker, through settings (``FAULT_*``). Pure.

``FAULT_ENGINE_ERROR``: :class:`PoisonedEngine` raises on a post whose text contains the marker, as an
engine bug would; the classify stage must dead-letter that post and go on (issue 16).
"""

from __future__ import annotations

from typing import Any

from feed import Post
from pipeline.engine import Engine
from pipeline.records import ClassifiedPost


class PoisonedEngine(Engine):
    def __init__(self, marker: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.marker = marker

    def classify(self, post: Post) -> ClassifiedPost:
        if self.marker in post.text:
            raise RuntimeError(f"FAULT_ENGINE_ERROR: the post contains {self.marker!r}")
        return super().classify(post)


def make_engine(fault_engine_error: str = "", **kwargs: Any) -> Engine:
    """The engine, poisoned when a fault marker is set."""
    return PoisonedEngine(fault_engine_error, **kwargs) if fault_engine_error else Engine(**kwargs)
