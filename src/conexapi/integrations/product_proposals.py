"""Siigo products to propose for a SKU Siigo can't take (pure: no I/O).

Real SKUs have spaces, quotes or more than 30 characters, which Siigo refuses as product codes
(`invalid_code`, `^[^'\\s]+$`, at most 30; docs/vendors/siigo.md §7.1, docs/vendors/mercadolibre.md
§15), so the seller's Siigo product has another code. For each such SKU the active products of the
company are ranked by how surely they are the same product:

1. exact code: the product's code is the SKU (letter case aside);
2. clean code: the product's code is the SKU without spaces and quotes;
3. reference or barcode: the product's `reference` or `additional_fields.barcode` is the SKU;
4. similar name: the product's name resembles the item's title, compared without accents,
   punctuation, letter case or filler words.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

from conexapi.connections.catalogs import Product

EXACT_CODE = "exact_code"
CLEAN_CODE = "clean_code"
REFERENCE = "reference"
BARCODE = "barcode"
SIMILAR_NAME = "similar_name"

# How sure each kind of match is (a similar name scales by how similar it is).
_WEIGHTS = {EXACT_CODE: 1.0, CLEAN_CODE: 0.96, REFERENCE: 0.93, BARCODE: 0.93, SIMILAR_NAME: 0.85}
MIN_NAME_SIMILARITY = 0.55
_STRIPPED = re.compile(r"[\s'\"`´‘’“”]+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_FILLER = frozenset(
    [
        "a",
        "al",
        "con",
        "de",
        "del",
        "el",
        "en",
        "la",
        "las",
        "los",
        "para",
        "por",
        "x",
        "y",
        "un",
        "una",
        "sin",
    ]
)


def clean_code(sku: str) -> str:
    """The SKU without the characters Siigo refuses in a code (spaces and quotes)."""
    return _STRIPPED.sub("", sku)


def name_words(text: str) -> tuple[str, ...]:
    """Lowercase words without accents, punctuation or filler words."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return tuple(w for w in _NOT_WORD.split(plain) if w and w not in _FILLER)


def name_similarity(a: str, b: str) -> float:
    """0..1: how alike two product names are (shared words, and their order)."""
    wa, wb = name_words(a), name_words(b)
    if not wa or not wb:
        return 0.0
    shared = len(set(wa) & set(wb)) / len(set(wa) | set(wb))
    ordered = SequenceMatcher(None, " ".join(wa), " ".join(wb)).ratio()
    return round(max(shared, ordered * 0.9 + shared * 0.1), 3)


@dataclass(frozen=True)
class ProductProposal:
    code: str
    name: str
    match: str  # exact_code, clean_code, reference, barcode, similar_name
    score: float


class ProductIndex:
    """The company's active products, indexed once for many SKUs (a catalog has thousands)."""

    def __init__(self, products: Iterable[Product]) -> None:
        self.products = [p for p in products if p.active]
        self.by_code: dict[str, Product] = {}
        self.by_reference: dict[str, Product] = {}
        self.by_barcode: dict[str, Product] = {}
        self.by_word: dict[str, list[int]] = defaultdict(list)
        for i, product in enumerate(self.products):
            self.by_code.setdefault(product.code.casefold(), product)
            if product.reference:
                self.by_reference.setdefault(product.reference.strip().casefold(), product)
            if product.barcode:
                self.by_barcode.setdefault(product.barcode.strip().casefold(), product)
            for word in set(name_words(product.name)):
                self.by_word[word].append(i)

    def propose(self, sku: str, title: str = "", *, limit: int = 3) -> list[ProductProposal]:
        """The best products for `sku` (item title `title`), surest first, one per code."""
        found: dict[str, ProductProposal] = {}

        def add(product: Product | None, match: str, similarity: float = 1.0) -> None:
            if product is None:
                return
            score = round(_WEIGHTS[match] * similarity, 3)
            current = found.get(product.code)
            if current is None or current.score < score:
                found[product.code] = ProductProposal(product.code, product.name, match, score)

        key = sku.strip().casefold()
        add(self.by_code.get(key), EXACT_CODE)
        cleaned = clean_code(sku).casefold()
        if cleaned != key:
            add(self.by_code.get(cleaned), CLEAN_CODE)
        add(self.by_reference.get(key), REFERENCE)
        add(self.by_barcode.get(key), BARCODE)
        if title:
            for product in self._sharing_words(title):
                similarity = name_similarity(title, product.name)
                if similarity >= MIN_NAME_SIMILARITY:
                    add(product, SIMILAR_NAME, similarity)
        ranked = sorted(found.values(), key=lambda p: (-p.score, p.code))
        return ranked[:limit]

    def _sharing_words(self, title: str) -> list[Product]:
        """Only products sharing a word with the title are compared (not the whole catalog)."""
        hits: set[int] = set()
        for word in set(name_words(title)):
            hits.update(self.by_word.get(word, ()))
        return [self.products[i] for i in sorted(hits)]
