"""Bounded metric label values for what posts carry (platform, region, language). Pure.

A label takes a value from a fixed set, whatever a feed sends, so a hostile or broken feed cannot
make the metrics grow without bound.
"""

from __future__ import annotations

KNOWN_PLATFORMS = frozenset({"twitter", "facebook", "blog", "chat", "news", "sms", "youtube", "flickr"})
UNKNOWN = "unknown"


def platform_label(platform: str | None) -> str:
    """Known platforms as themselves, anything else as 'other': label values stay bounded."""
    if not platform:
        return UNKNOWN
    platform = platform.lower()
    return platform if platform in KNOWN_PLATFORMS else "other"


def region_label(region: str | None) -> str:
    """ISO 3166 alpha-2 codes as upper case, anything else as 'invalid' (at most 26² + 2 values)."""
    if not region:
        return UNKNOWN
    if len(region) == 2 and region.isascii() and region.isalpha():
        return region.upper()
    return "invalid"


MAIN_LANGS = frozenset({"en", "fa", "fa-Latn"})


def lang_label(lang: str) -> str:
    """The three languages of the feeds as themselves, anything else as 'other'."""
    return lang if lang in MAIN_LANGS else "other"
