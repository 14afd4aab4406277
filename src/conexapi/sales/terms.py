"""What the search finds a sale by, besides its numbers: the rows of `sale_term`
(docs/big-sellers.md, "Search").

A buyer's name and identification are cut into words at spaces and punctuation (kind "w");
the sale's facts give whole keys (kind "k"): the buyer's MercadoLibre nickname, each line's SKU,
and the identification the facts carry when `buyer_ident` does not already have it. Terms are
stored lower case, at most `TERM_LEN` characters.

On MariaDB, triggers written in SQL cut the words the same way (migration b7d4e9a2c615 keeps a
frozen copy of these separators; a test compares what both databases store) and its collation
ignores case and accents. SQLite's triggers call `sale_terms` itself (registered on every
connection by `conexapi.db`), which also takes accents off. What a person types is cut and
folded the same way, so "gomez" finds "Gómez" and "maria-jose" finds "María José".
"""

from __future__ import annotations

import json
import re
import string
from typing import Any

TERM_WORD = "w"  # a word of the buyer's name or identification
TERM_KEY = "k"  # a key of the sale's facts: the buyer's nickname, a SKU, an identification
TERM_LEN = 100

# Where words split: ASCII punctuation, whitespace, and the marks Spanish text uses.
SEPARATORS = string.punctuation + "\t\n\r\u00a0¿¡«»“”‘’–—·"
# The accented letters of Spanish and their neighbours, both cases, to their base letter.
FOLD = {
    "a": "áàäâãÁÀÄÂÃ",
    "e": "éèëêÉÈËÊ",
    "i": "íìïîÍÌÏÎ",
    "o": "óòöôõÓÒÖÔÕ",
    "u": "úùüûÚÙÜÛ",
    "n": "ñÑ",
    "c": "çÇ",
}
_FOLD_TABLE = str.maketrans({ch: base for base, letters in FOLD.items() for ch in letters})
_SPLIT = re.compile("[" + re.escape(SEPARATORS) + " ]+")


def fold(text: str) -> str:
    """Accents off (the letters of `FOLD`), then lower case."""
    return text.translate(_FOLD_TABLE).lower()


def search_words(q: str) -> list[str]:
    """The folded words of a text, each once, in order."""
    words = [fold(w)[:TERM_LEN] for w in _SPLIT.split(q) if w]
    return list(dict.fromkeys(words))


def sale_terms(buyer_name: str | None, buyer_ident: str | None, facts: Any) -> list[list[str]]:
    """A sale's terms, `[kind, term]` each once, folded; `facts` as stored (JSON text or a
    dict; anything unreadable gives no keys)."""
    ident = buyer_ident or ""
    terms = [[TERM_WORD, w] for w in search_words(f"{buyer_name or ''} {ident}")]
    if isinstance(facts, str | bytes):
        try:
            facts = json.loads(facts)
        except ValueError:
            facts = None
    if not isinstance(facts, dict):
        return terms
    buyer = facts.get("buyer")
    values = [facts.get("buyer_nickname")]
    if isinstance(buyer, dict) and str(buyer.get("identification")) != ident:
        values.append(buyer.get("identification"))
    lines = facts.get("lines")
    if isinstance(lines, list):
        values.extend(line.get("sku") for line in lines if isinstance(line, dict))
    keys = [fold(str(v).strip())[:TERM_LEN] for v in values if _scalar(v)]
    terms.extend([TERM_KEY, k] for k in dict.fromkeys(keys) if k)
    return terms


def sale_terms_json(buyer_name: str | None, buyer_ident: str | None, facts: Any) -> str:
    """`sale_terms` as JSON text: what SQLite's triggers read with `json_each`."""
    return json.dumps(sale_terms(buyer_name, buyer_ident, facts), ensure_ascii=False)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


# Word pairs (`sale_pair`, migration e8b3f5c1a274): every ordered pair "a b" of two different
# words of the buyer's name and identification that do not begin with a digit, so that a
# search of two words reads only the sales with both. A sale with more than `PAIR_WORDS` such
# words, or one longer than `PAIR_WORD_LEN` (its pairs would not fit `TERM_LEN`), has the
# single entry `PAIR_OVERFLOW` instead, and the search checks those few sales word by word.
PAIR_WORDS = 8
PAIR_WORD_LEN = (TERM_LEN - 1) // 2
PAIR_OVERFLOW = "*"
DIGITS = "0123456789"


def pair_words(words: list[str]) -> list[str]:
    """The words that make pairs: those not beginning with a digit."""
    return [w for w in words if w and w[0] not in DIGITS]


def sale_pairs(buyer_name: str | None, buyer_ident: str | None) -> list[str]:
    """A sale's word pairs, folded, each once (or `[PAIR_OVERFLOW]`)."""
    words = pair_words(search_words(f"{buyer_name or ''} {buyer_ident or ''}"))
    if len(words) > PAIR_WORDS or any(len(w) > PAIR_WORD_LEN for w in words):
        return [PAIR_OVERFLOW]
    return [f"{a} {b}" for a in words for b in words if a != b]


def sale_pairs_json(buyer_name: str | None, buyer_ident: str | None) -> str:
    """`sale_pairs` as JSON text: what SQLite's triggers read with `json_each`."""
    return json.dumps(sale_pairs(buyer_name, buyer_ident), ensure_ascii=False)
