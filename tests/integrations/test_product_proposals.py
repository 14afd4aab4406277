"""Proposals for SKUs Siigo can't take, and the safe code of a product created for one."""

from __future__ import annotations

from conexapi.connections.catalogs import Product
from conexapi.integrations.product_proposals import (
    CLEAN_CODE,
    EXACT_CODE,
    MIN_NAME_SIMILARITY,
    SIMILAR_NAME,
    ProductIndex,
    clean_code,
    name_similarity,
)
from conexapi.integrations.proposals import is_valid_code
from conexapi.integrations.unmapped import safe_code


def _product(code: str, name: str, active: bool = True, **extra: object) -> Product:
    return Product.model_validate(
        {"id": code, "code": code, "name": name, "active": active, **extra}
    )


CATALOG = [
    _product("BOTELLA1LECO", "Botella térmica ecológica 1 L"),
    _product("botella-1l", "Botella plástica"),
    _product("SOPCEL-CARRO", "Soporte de celular para carro"),
    _product("SOPCEL-MOTO", "Soporte celular para moto"),
    _product("KITDEST32", "Kit destornilladores 32 piezas", reference="KIT-DEST-PRECISION-32"),
    _product("OLD-1", "Soporte celular para carro viejo", active=False),
]


def test_the_surest_match_comes_first_and_inactive_products_never() -> None:
    index = ProductIndex(CATALOG)
    first, *others = index.propose("BOTELLA 1L 'ECO'", "Botella térmica ecológica 1 litro")
    assert (first.code, first.match) == ("BOTELLA1LECO", CLEAN_CODE)
    assert all(p.score < first.score for p in others)
    exact = index.propose("BOTELLA-1L")[0]  # letter case aside
    assert (exact.code, exact.match) == ("botella-1l", EXACT_CODE)
    by_name = index.propose("SKU-NO-SIIGO-99", "Soporte celular para carro")
    assert [p.code for p in by_name][:2] == ["SOPCEL-CARRO", "SOPCEL-MOTO"]
    assert by_name[0].match == SIMILAR_NAME
    assert "OLD-1" not in {p.code for p in by_name}
    assert index.propose("KIT-DEST-PRECISION-32")[0].code == "KITDEST32"
    assert index.propose("NADA-QUE-VER", "Audífonos inalámbricos") == []


def test_names_compare_without_accents_case_punctuation_or_filler_words() -> None:
    assert (
        name_similarity("Termo ACERO inoxidable, 750ml", "termo de acero inoxidable 750 ml") > 0.6
    )
    assert name_similarity("Soporte celular", "Audífonos Bluetooth") < MIN_NAME_SIMILARITY
    assert clean_code(" CAM ALG 'M' ") == "CAMALGM"


def test_a_safe_code_is_a_valid_siigo_code_and_not_taken() -> None:
    long = "KIT-DESTORNILLADORES-PRECISION-32-PIEZAS"
    code = safe_code(long)
    assert is_valid_code(code)
    assert len(code) == 30
    assert code.startswith("KIT-DESTORNILLADORES")
    assert safe_code("botella 1l 'eco'") == "BOTELLA1LECO"
    taken = safe_code("botella 1l 'eco'", frozenset({"BOTELLA1LECO"}))
    assert taken == "BOTELLA1LECO-2"
    assert is_valid_code(taken)
    assert is_valid_code(safe_code("ñandú #1 / ½"))
