"""Tuples of terms written once per snapshot or part, and referred to by index. Pure.

Posts repeat their hashtags and words, so a snapshot's post index holds far fewer distinct tuples of terms
than posts (iran2009, 100,000 posts: 9,857). One dict lookup a post finds each tuple's index: faster than
an index per term (a Python loop over every term), and smaller than the terms written out (7.9 MB → 1.4
MB). On restore the posts of a tuple share one tuple object again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def index_term_sets(column: Iterable[tuple[str, ...]]) -> tuple[list[int], list[tuple[str, ...]]]:
    """Each tuple's index into the distinct tuples, and those tuples in order of first appearance."""
    sets: dict[tuple[str, ...], int] = {}
    index = [sets.setdefault(terms, len(sets)) for terms in column]
    return index, list(sets)


def from_term_sets(index: list[int], sets: list[Any]) -> list[tuple[str, ...]]:
    """The column :func:`index_term_sets` indexed. ValueError for an index that names no tuple."""
    tuples = [tuple(terms) for terms in sets]
    try:
        if index and min(index) < 0:
            raise IndexError
        return [tuples[i] for i in index]
    except (IndexError, TypeError):
        raise ValueError(f"a term-set index out of the {len(tuples)} tuples") from None
