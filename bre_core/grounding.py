"""Grounding: where a generated entity string occurs in its passage (exact, case, normalized) or that it is absent."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

# The levels, best first: an entity is marked with the first that holds. An absent entity is a hallucination.
EXACT, CASE, NORMALIZED, ABSENT = "exact", "case", "normalized", "absent"
LEVELS = (EXACT, CASE, NORMALIZED, ABSENT)
IN_PASSAGE = (EXACT, CASE, NORMALIZED)

Span = tuple[int, int]  # (start, end) into the passage, end exclusive

GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "µ": "mu",  # the micro sign, which passages use for mu
    "ν": "nu",
    "ξ": "xi",
    "ο": "omicron",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "ς": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
}
# Words and single symbols; whitespace, hyphens and dashes separate tokens and vanish from the normal form,
# so "COX-2", "COX 2" and "COX2" read the same.
_TOKENS = re.compile(r"[^\W_]+|[^\s\-\u2010-\u2015\u2212]")
_PARENTHESISED = re.compile(r"\s*\([^()]*\)")


@dataclass(frozen=True)
class Grounding:
    """One entity string's best grounding level in a passage and the spans where it occurs at that level."""

    text: str
    level: str
    spans: tuple[Span, ...] = ()

    @property
    def absent(self) -> bool:
        return self.level == ABSENT


def _plural_stem(token: str) -> str:
    # A trailing plural s goes ("inhibitors" -> "inhibitor"); short words and "-ss" keep it ("gas", "class").
    if len(token) > 3 and token.isalpha() and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def normal_form(text: str, drop_parenthesised: bool = False) -> tuple[str, tuple[Span, ...]]:
    """The normalised string and, for each of its characters, the span of the original it came from.

    Case folded, Greek letters spelt out, whitespace, hyphens and dashes removed, a plural s dropped from each
    word, and (with `drop_parenthesised`) every parenthesised group removed.

    >>> normal_form("TNF-α inhibitors")[0], normal_form("tnf alpha inhibitor")[0]
    ('tnfalphainhibitor', 'tnfalphainhibitor')
    >>> normal_form("cyclooxygenase-2 (COX-2)", drop_parenthesised=True)[0]
    'cyclooxygenase2'
    """
    hidden = [False] * len(text)
    if drop_parenthesised:
        for match in _PARENTHESISED.finditer(text):
            hidden[match.start() : match.end()] = [True] * (match.end() - match.start())
    chars: list[str] = []
    spans: list[Span] = []
    for match in _TOKENS.finditer(text):
        if hidden[match.start()]:
            continue
        token = "".join(GREEK.get(c, c) for c in match.group().lower())
        # Spelt-out Greek letters and folded characters point back at the character they came from.
        pieces = [(GREEK.get(c, c), match.start() + i) for i, c in enumerate(match.group().lower())]
        stem = _plural_stem(token)
        emitted = 0
        for piece, at in pieces:
            for ch in piece:
                if emitted == len(stem):
                    break
                chars.append(ch)
                spans.append((at, at + 1))
                emitted += 1
    return "".join(chars), tuple(spans)


def _occurrences(haystack: str, needle: str) -> list[int]:
    starts, at = [], haystack.find(needle)
    while needle and at >= 0:
        starts.append(at)
        at = haystack.find(needle, at + 1)
    return starts


class Passage:
    """A passage prepared for grounding many strings: its normal forms are computed once, when first needed."""

    def __init__(self, text: str):
        self.text = text

    @cached_property
    def _normal_forms(self) -> tuple[tuple[str, tuple[Span, ...]], ...]:
        return normal_form(self.text), normal_form(self.text, drop_parenthesised=True)

    def ground(self, name: str) -> Grounding:
        """The best level at which `name` occurs, with every span where it occurs at that level."""
        if not name.strip():
            return Grounding(name, ABSENT)
        exact = _occurrences(self.text, name)
        if exact:
            return Grounding(name, EXACT, tuple((s, s + len(name)) for s in exact))
        folded = tuple(m.span() for m in re.finditer(re.escape(name), self.text, re.IGNORECASE))
        if folded:
            return Grounding(name, CASE, folded)
        spans = self._normalized_spans(name)
        return Grounding(name, NORMALIZED, spans) if spans else Grounding(name, ABSENT)

    def _normalized_spans(self, name: str) -> tuple[Span, ...]:
        # The name whole, without its parenthesised part, and the abbreviation alone ("X (Y)" names X and Y),
        # each looked for in the passage as written and without its own parenthesised groups.
        candidates = {normal_form(name)[0], normal_form(name, drop_parenthesised=True)[0]}
        candidates |= {normal_form(inner)[0] for inner in re.findall(r"\(([^()]*)\)", name)}
        found: set[Span] = set()
        for form, origin in self._normal_forms:
            for candidate in filter(None, candidates):
                for start in _occurrences(form, candidate):
                    found.add((origin[start][0], origin[start + len(candidate) - 1][1]))
        return tuple(sorted(found))


def ground(name: str, text: str) -> Grounding:
    """`name`'s grounding in the passage `text` (use a Passage to ground many strings in one passage)."""
    return Passage(text).ground(name)


def ground_names(names: Iterable[str], passage: Passage) -> dict[str, Grounding]:
    """Each distinct name's grounding, in order of first appearance."""
    return {name: passage.ground(name) for name in dict.fromkeys(names)}


def level_counts(levels: Iterable[str]) -> dict[str, int]:
    """{level: count} over all four levels (zero where none)."""
    counts = Counter(levels)
    return {level: counts[level] for level in LEVELS}


def hallucination_rate(counts: dict[str, int]) -> float:
    """Absent entities / predicted entities (0 when nothing was predicted)."""
    total = sum(counts.get(level, 0) for level in LEVELS)
    return counts.get(ABSENT, 0) / total if total else 0.0
