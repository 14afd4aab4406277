"""DANE DIVIPOLA codes for Colombian departments and municipalities.

Siigo customer addresses need the 2-digit department code (`state_code`) and the 5-digit
municipality code (`city_code`) (docs/vendors/siigo.md §6.1); Siigo has no city catalog endpoint, so
the table ships with the package (`divipola.csv`, DANE update of 2020-11-30). MercadoLibre gives
free text city names and ISO-like state codes such as "CO-DC" (docs/vendors/mercadolibre.md §5.1),
so matching here is accent-, case-, punctuation- and whitespace-insensitive, with aliases for the
names people actually type ("Bogotá D.C.", "Cartagena de Indias", "Cúcuta"...).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = [
    "ISO_STATE_CODES",
    "CityCode",
    "capital_of",
    "normalize_name",
    "resolve_city",
    "resolve_state",
]


@dataclass(frozen=True)
class CityCode:
    state_code: str  # DANE department code, 2 digits ("11")
    city_code: str  # DANE municipality code, 5 digits ("11001")
    state_name: str
    city_name: str


# ISO 3166-2:CO subdivision codes (what MercadoLibre sends in `state.code`) → DANE department.
ISO_STATE_CODES: dict[str, str] = {
    "CO-AMA": "91",
    "CO-ANT": "05",
    "CO-ARA": "81",
    "CO-ATL": "08",
    "CO-BOL": "13",
    "CO-BOY": "15",
    "CO-CAL": "17",
    "CO-CAQ": "18",
    "CO-CAS": "85",
    "CO-CAU": "19",
    "CO-CES": "20",
    "CO-CHO": "27",
    "CO-COR": "23",
    "CO-CUN": "25",
    "CO-DC": "11",
    "CO-GUA": "94",
    "CO-GUV": "95",
    "CO-HUI": "41",
    "CO-LAG": "44",
    "CO-MAG": "47",
    "CO-MET": "50",
    "CO-NAR": "52",
    "CO-NSA": "54",
    "CO-PUT": "86",
    "CO-QUI": "63",
    "CO-RIS": "66",
    "CO-SAP": "88",
    "CO-SAN": "68",
    "CO-SUC": "70",
    "CO-TOL": "73",
    "CO-VAC": "76",
    "CO-VAU": "97",
    "CO-VID": "99",
}

# Department names as people write them, beyond the DANE spelling (normalized on load).
_STATE_ALIASES: dict[str, str] = {
    "BOGOTA": "11",
    "BOGOTA DC": "11",
    "BOGOTA D C": "11",
    "DISTRITO CAPITAL": "11",
    "DISTRITO CAPITAL DE BOGOTA": "11",
    "SANTAFE DE BOGOTA": "11",
    "SANTA FE DE BOGOTA": "11",
    "VALLE": "76",
    "GUAJIRA": "44",
    "NORTE SANTANDER": "54",
    "SAN ANDRES": "88",
    "SAN ANDRES Y PROVIDENCIA": "88",
    "SAN ANDRES PROVIDENCIA Y SANTA CATALINA": "88",
    "ARCHIPIELAGO DE SAN ANDRES": "88",
}

# Municipality names as people write them → DANE code (the CSV uses the short official names).
_CITY_ALIASES: dict[str, str] = {
    "BOGOTA": "11001",
    "BOGOTA DC": "11001",
    "BOGOTA D C": "11001",
    "DISTRITO CAPITAL": "11001",
    "SANTAFE DE BOGOTA": "11001",
    "SANTA FE DE BOGOTA": "11001",
    "SANTAFE DE BOGOTA DC": "11001",
    "SANTA FE DE BOGOTA DC": "11001",
    "CARTAGENA DE INDIAS": "13001",
    "SAN JOSE DE CUCUTA": "54001",
    "SANTIAGO DE CALI": "76001",
    "SAN JUAN DE PASTO": "52001",
    "BUGA": "76111",
    "TUMACO": "52835",
    "MOMPOX": "13468",
    "SANTA CRUZ DE MOMPOX": "13468",
    "SANTA CRUZ DE MOMPOS": "13468",
    "TOLU": "70820",
    "SAN ANDRES ISLA": "88001",
    "PUERTO INIRIDA": "94001",
    "SANTA FE DE ANTIOQUIA": "05042",
    "SAN SEBASTIAN DE MARIQUITA": "73443",
}

# Cundinamarca's capital is Bogotá, which is its own department (11) in DIVIPOLA.
_CAPITAL_OVERRIDES: dict[str, str] = {"25": "11001"}

_NON_ALNUM = re.compile(r"[^A-Z0-9]+")


def normalize_name(value: str) -> str:
    """Upper case, no accents (Ñ → N), punctuation as spaces, single spaces."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", stripped.upper()).strip()


@dataclass(frozen=True)
class _Table:
    by_code: dict[str, CityCode]
    by_state_and_name: dict[tuple[str, str], CityCode]
    by_name: dict[str, list[CityCode]]
    state_names: dict[str, str]  # normalized department name → code
    state_display: dict[str, str]  # code → DANE department name


@lru_cache(maxsize=1)
def _table() -> _Table:
    text = resources.files("conexapi.geo").joinpath("divipola.csv").read_text(encoding="utf-8")
    by_code: dict[str, CityCode] = {}
    by_state_and_name: dict[tuple[str, str], CityCode] = {}
    by_name: dict[str, list[CityCode]] = {}
    state_names: dict[str, str] = {}
    state_display: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        city = CityCode(
            state_code=row["department_code"],
            city_code=row["municipality_code"],
            state_name=row["department"],
            city_name=row["municipality"],
        )
        by_code[city.city_code] = city
        key = normalize_name(city.city_name)
        by_state_and_name[(city.state_code, key)] = city
        by_name.setdefault(key, []).append(city)
        state_names[normalize_name(city.state_name)] = city.state_code
        state_display[city.state_code] = city.state_name
    for alias, code in _STATE_ALIASES.items():
        state_names.setdefault(normalize_name(alias), code)
    return _Table(by_code, by_state_and_name, by_name, state_names, state_display)


def resolve_state(state: str) -> str | None:
    """DANE department code for a department name, a DANE code or an ISO 3166-2:CO code."""
    raw = state.strip().upper()
    if not raw:
        return None
    iso = raw.replace("_", "-").replace(" ", "")
    if iso in ISO_STATE_CODES:
        return ISO_STATE_CODES[iso]
    if not iso.startswith("CO-") and f"CO-{iso}" in ISO_STATE_CODES and len(iso) <= 3:
        return ISO_STATE_CODES[f"CO-{iso}"]
    table = _table()
    if raw.isdigit() and raw.zfill(2) in table.state_display:
        return raw.zfill(2)
    return table.state_names.get(normalize_name(state))


def capital_of(state: str) -> CityCode | None:
    """The capital of a department (given as name, DANE code or ISO code)."""
    code = resolve_state(state)
    if code is None:
        return None
    return _table().by_code.get(_CAPITAL_OVERRIDES.get(code, f"{code}001"))


def resolve_city(city_name: str, state: str = "") -> CityCode | None:
    """Find the DANE codes of a municipality.

    With a resolvable `state`, the name is looked up inside that department (this is how repeated
    names such as "San Andrés" or "Armenia" are told apart). A name that is not in the given
    department still resolves when it is unique in the country (buyers often pair "Bogotá" with
    "Cundinamarca"). Without a state, only a unique name (or alias) resolves. The department's
    own name as city name ("Bogotá D.C." / "Bogotá D.C.") resolves to its capital.
    """
    table = _table()
    key = normalize_name(city_name)
    if not key:
        return None
    state_code = resolve_state(state) if state else None
    alias_code = _CITY_ALIASES.get(key)
    if state_code is not None:
        found = table.by_state_and_name.get((state_code, key))
        if found is not None:
            return found
        if table.state_names.get(key) == state_code:
            return capital_of(state_code)
    if alias_code is not None:
        return table.by_code[alias_code]
    candidates = table.by_name.get(key, [])
    if len(candidates) == 1:
        return candidates[0]
    return None
