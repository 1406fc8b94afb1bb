"""The homoglyph fold's table, derived from the Unicode confusables data, limited to Latin targets. Pure.

The data is UTS #39's ``confusables.txt`` as the confusable-homoglyphs package bundles it (read from
the installed package; nothing is downloaded). A character maps to a Latin letter when the data lists
it as confusable with exactly one ASCII letter, in either case: text is case folded before the fold, so
an upper-case look-alike (Cyrillic ``В`` for ``B``) gives its lower case (``в`` → ``b``), and a
lower-case one's own entry wins over its capital's.

Left alone: ASCII itself, everything that is not a letter (digits and punctuation have their own folds:
leet, inner punctuation), and the Arabic script. Persian letters keep their meaning: the data calls
``ه`` confusable with ``o``, but it is a letter of a language these feeds are written in.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib.resources import files

import orjson

# The Arabic script's blocks: Arabic, Supplement, Extended-A/B, Presentation Forms A and B.
_ARABIC_BLOCKS = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x0870, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))


def _is_arabic_script(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _ARABIC_BLOCKS)


@cache
def homoglyph_table() -> dict[str, str]:
    """Look-alike character (lower case) → the ASCII letter it imitates."""
    data = orjson.loads((files("confusable_homoglyphs") / "confusables.json").read_bytes())
    own: dict[str, str] = {}
    from_capital: dict[str, str] = {}
    for source, entries in data.items():
        if len(source) != 1 or source.isascii() or _is_arabic_script(source):
            continue
        if not unicodedata.category(source).startswith("L"):
            continue
        targets = {entry["c"].lower() for entry in entries if len(entry["c"]) == 1 and entry["c"].isascii()}
        targets = {target for target in targets if target.isalpha()}
        folded = source.casefold()
        if len(targets) != 1 or len(folded) != 1 or folded.isascii():
            continue
        (own if folded == source else from_capital).setdefault(folded, targets.pop())
    return {**from_capital, **own}
