"""A query's words (pure, no I/O): cut as OpenSearch's standard tokenizer cuts them, lowercased, at most
MAX_TERMS, and grouped with their synonyms (a synonym phrase of up to MAX_SYNONYM_WORDS words is one group)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

Expansions = Mapping[str, Sequence[str]]
"""Synonyms: a lowercase term or phrase -> the alternatives a query for it also matches."""

MAX_TERMS: Final = 12
MAX_SYNONYM_WORDS: Final = 3

# Words as OpenSearch's standard tokenizer cuts them: "10.9", "1,5", "u.s.a" and "don't" stay one word (a query
# word that the index holds as part of a larger token would never match: "10" is not in "10.9").
_WORD = re.compile(r"\w+(?:(?:[.'\u2019]|(?<=\d),(?=\d))\w+)*", re.UNICODE)


def normalize_query(q: str) -> str:
    """Lowercase words joined by single spaces: the text the builders and the cache key use."""
    return " ".join(tokenize(q))


def tokenize(q: str) -> list[str]:
    return _WORD.findall(q.lower())[:MAX_TERMS]


def group_terms(words: Sequence[str], expansions: Expansions) -> list[tuple[str, tuple[str, ...]]]:
    """Split the words into (text, synonyms) groups, longest synonym phrase first."""
    groups: list[tuple[str, tuple[str, ...]]] = []
    i = 0
    while i < len(words):
        for size in range(min(MAX_SYNONYM_WORDS, len(words) - i), 0, -1):
            phrase = " ".join(words[i:i + size])
            alternatives = expansions.get(phrase)
            if alternatives or size == 1:
                groups.append((phrase, tuple(alternatives or ())))
                i += size
                break
    return groups


def word_groups(q: str, expansions: Expansions | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """The query's word groups (a word, or a synonym phrase), each with its synonyms, in the shopper's order."""
    return group_terms(tokenize(q), expansions or {})
