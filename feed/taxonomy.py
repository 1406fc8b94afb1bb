"""The names both halves of the project share: post categories and alert types. Pure.

The classifier files posts under :data:`CATEGORIES`, the generator writes its truth in them, and the
analysis and metrics count by them; detection raises :data:`ALERT_TYPES`, the generator injects
episodes of those types, and the metrics label alerts with them. One definition each, imported
wherever they are needed, so a new category or alert type is added in one place.
"""

from __future__ import annotations

# The order is the classifier's channel order; "other" is last and fires only when nothing else did.
CATEGORIES: tuple[str, ...] = (
    "protest",
    "violence",
    "arrest",
    "medical",
    "censorship",
    "circumvention",
    "disinformation",
    "election",
    "solidarity",
    "other",
)
# The first three watch words and volumes; the last three watch accounts (issue 18): posts deleted far
# above their baseline, near-identical posts from new accounts, authors moving into another region.
ALERT_TYPES: tuple[str, ...] = ("filtering", "outage", "surge", "deletion", "coordination", "relocation")
