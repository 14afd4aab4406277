from __future__ import annotations

import pytest

from conexapi.geo.divipola import ISO_STATE_CODES, capital_of, resolve_city, resolve_state


@pytest.mark.parametrize(
    ("city", "state", "expected"),
    [
        ("Bogotá", "", "11001"),
        ("Bogotá D.C.", "CO-DC", "11001"),
        ("Bogota DC", "", "11001"),
        ("Santafé de Bogotá", "", "11001"),
        ("Santa Fe de Bogotá", "Bogotá D.C.", "11001"),
        ("BOGOTÁ, D.C.", "Distrito Capital", "11001"),
        ("Bogotá", "Cundinamarca", "11001"),  # wrong department, unique name
        ("Cartagena", "", "13001"),
        ("Cartagena de Indias", "Bolívar", "13001"),
        ("Cúcuta", "Norte de Santander", "54001"),
        ("San José de Cúcuta", "", "54001"),
        ("  medellín ", "CO-ANT", "05001"),
        ("MEDELLIN", "antioquia", "05001"),
        ("Santiago de Cali", "CO-VAC", "76001"),
        ("Cali", "Valle", "76001"),
        ("Bucaramanga", "CO-SAN", "68001"),
        ("Chía", "Cundinamarca", "25175"),
        ("Puerto Carreño", "CO-VID", "99001"),
        ("Briceño", "Antioquia", "05107"),
        ("San Andrés", "CO-SAP", "88001"),
        ("San Andres", "Santander", "68669"),
        ("Armenia", "Quindío", "63001"),
        ("Armenia", "CO-ANT", "05059"),
        ("Antioquia", "Antioquia", "05001"),  # department name as city → its capital
    ],
)
def test_resolves_city(city: str, state: str, expected: str) -> None:
    found = resolve_city(city, state)
    assert found is not None
    assert found.city_code == expected
    assert found.state_code == expected[:2]


@pytest.mark.parametrize(
    ("city", "state"),
    [
        ("San Andrés", ""),  # Santander and the islands
        ("Armenia", ""),  # Antioquia and Quindío
        ("Ciudad Gótica", "CO-DC"),
        ("", "CO-ANT"),
        ("Armenia", "Narnia"),
    ],
)
def test_ambiguous_or_unknown_city_is_none(city: str, state: str) -> None:
    assert resolve_city(city, state) is None


def test_all_33_iso_codes_map_to_departments_with_capitals() -> None:
    assert len(ISO_STATE_CODES) == 33
    assert len(set(ISO_STATE_CODES.values())) == 33
    for iso, dane in ISO_STATE_CODES.items():
        assert resolve_state(iso) == dane
        capital = capital_of(iso)
        assert capital is not None, iso


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("CO-DC", "11"),
        ("co-vac", "76"),
        ("VAC", "76"),
        ("Valle del Cauca", "76"),
        ("Nariño", "52"),
        ("narino", "52"),
        ("La Guajira", "44"),
        ("San Andrés y Providencia", "88"),
        ("05", "05"),
        ("5", "05"),
        ("", None),
        ("Texas", None),
    ],
)
def test_resolve_state(state: str, expected: str | None) -> None:
    assert resolve_state(state) == expected


@pytest.mark.parametrize(
    ("state", "capital"),
    [("CO-ANT", "05001"), ("Cundinamarca", "11001"), ("CO-DC", "11001"), ("Meta", "50001")],
)
def test_capital_of(state: str, capital: str) -> None:
    found = capital_of(state)
    assert found is not None
    assert found.city_code == capital


def test_capital_of_unknown_state() -> None:
    assert capital_of("Atlantis") is None
