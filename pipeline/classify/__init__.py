"""Classification: the rule classifier (:mod:`.classifier`), its normalizer (:mod:`.normalize`) and its
cues (:mod:`.lexicon`). Pure: no Kafka, no Faust."""

from feed.taxonomy import CATEGORIES
from pipeline.classify.classifier import (
    CHANNELS,
    PRIORITIES,
    STANCES,
    Classification,
    Classifier,
    LexiconError,
)

__all__ = ["CATEGORIES", "CHANNELS", "PRIORITIES", "STANCES", "Classification", "Classifier", "LexiconError"]
