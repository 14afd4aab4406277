"""Colombian identification documents as Siigo wants them (docs/vendors/siigo.md §6.1–6.2).

MercadoLibre names the buyer's document type ("CC", "NIT"...; docs/vendors/mercadolibre.md §5.1);
Siigo wants its own DIAN-derived codes ("13", "31"...) and, for NITs, the number without the
verification digit (DV) plus an optional `check_digit`.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "NUMERIC_ID_TYPES",
    "InvalidIdentification",
    "UnknownIdType",
    "nit_check_digit",
    "normalize_identification",
    "siigo_id_type",
    "split_nit",
]

# DIAN mod-11 weights, applied from the rightmost digit of the NIT leftwards.
_NIT_WEIGHTS = (3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71)

# Siigo id types whose identification must be numeric, 3–13 digits (docs/vendors/siigo.md §6.2); the
# rest are alphanumeric 1–20 ("R-00-PN" is 1–13).
NUMERIC_ID_TYPES = frozenset({"13", "31", "11"})

_ML_TO_SIIGO: dict[str, str] = {
    "CC": "13",
    "CEDULA": "13",
    "CEDULA DE CIUDADANIA": "13",
    "CE": "22",
    "CEDULA DE EXTRANJERIA": "22",
    "NIT": "31",
    "PASSPORT": "41",
    "PASAPORTE": "41",
    "PAS": "41",
    "PP": "41",
    "PEP": "47",
    "PPT": "48",
    "DNI": "42",
    "DIE": "42",
    "EXTRANJERO": "42",
    "FOREIGN": "42",
    "OTHER": "42",
    "OTRO": "42",
    "NIT_EXTRANJERO": "50",
    "TI": "12",
    "RC": "11",
}

_SIIGO_CODES = frozenset(
    {"13", "31", "22", "42", "50", "41", "47", "48", "11", "12", "21", "91", "43", "89", "R-00-PN"}
)


class UnknownIdType(ValueError):
    """The marketplace sent a document type we cannot map to a Siigo id type."""

    def __init__(self, ml_type: str) -> None:
        super().__init__(
            f"Tipo de documento desconocido: {ml_type!r}. Tipos admitidos: CC, CE, NIT, "
            "Pasaporte, PEP, PPT, DNI / documento extranjero."
        )
        self.ml_type = ml_type


class InvalidIdentification(ValueError):
    """The identification number does not fit the format Siigo accepts for its id type."""

    def __init__(self, id_type: str, identification: str, reason: str) -> None:
        super().__init__(
            f"Identificación {identification!r} inválida para el tipo {id_type}: {reason}"
        )
        self.id_type = id_type
        self.identification = identification
        self.reason = reason


def siigo_id_type(ml_type: str) -> str:
    """Siigo `id_type` code for a MercadoLibre document type (case/accent/space tolerant).

    Siigo codes passed through unchanged ("13", "31"...) are accepted too.
    """
    raw = ml_type.strip()
    if raw.upper() in _SIIGO_CODES:
        return raw.upper()
    key = re.sub(r"[\s.\-]+", " ", _strip_accents(raw).upper()).strip()
    code = _ML_TO_SIIGO.get(key) or _ML_TO_SIIGO.get(key.replace(" ", "_"))
    if code is None:
        raise UnknownIdType(ml_type)
    return code


def nit_check_digit(nit: str) -> str:
    """DIAN verification digit (DV) of a NIT given without its DV ("800197268" → "4")."""
    digits = re.sub(r"\D", "", nit)
    if not digits or len(digits) > len(_NIT_WEIGHTS):
        raise InvalidIdentification("31", nit, "un NIT tiene entre 1 y 15 dígitos sin el DV")
    total = sum(int(d) * w for d, w in zip(reversed(digits), _NIT_WEIGHTS, strict=False))
    remainder = total % 11
    return str(11 - remainder if remainder > 1 else remainder)


def split_nit(value: str) -> tuple[str, str | None]:
    """Split a NIT as typed by a buyer into (number without DV, DV or None).

    Accepted: "900.123.456-7", "900123456-7", "900123456 7" (explicit separator: the last digit
    after it is the DV), "900123456" (no DV). MercadoLibre does not say whether billing info NITs
    carry the DV (docs/vendors/mercadolibre.md §5.1, UNCERTAIN), so for a bare 10-digit value we
    treat the last digit as the DV only when it *is* the DV of the first nine digits: company NITs
    have nine digits, and a 10-digit number whose last digit matches by chance (1 in 11) is far less
    likely than a NIT pasted with its DV. The returned DV is the one given, not validated: compare
    with `nit_check_digit` to detect typos.
    """
    text = value.strip()
    sep = re.fullmatch(r"([\d.\s]+?)\s*[-‐–/]\s*(\d)", text)
    if sep is not None:
        return re.sub(r"\D", "", sep.group(1)), sep.group(2)
    digits = re.sub(r"\D", "", text)
    if len(digits) == 10 and nit_check_digit(digits[:9]) == digits[9]:
        return digits[:9], digits[9]
    return digits, None


def normalize_identification(id_type: str, identification: str) -> str:
    """The identification as Siigo wants it for `id_type`, or `InvalidIdentification`.

    Numeric types (13 CC, 31 NIT, 11 RC) keep digits only (dots, spaces, and for NITs the DV are
    dropped), 3–13 digits. Other types keep letters and digits, 1–20 (13 for "R-00-PN"); Siigo
    rejects special characters in `identification` (docs/vendors/siigo.md §6.1).
    """
    if id_type == "31":
        number, _ = split_nit(identification)
    elif id_type in NUMERIC_ID_TYPES:
        number = re.sub(r"[\s.\-]", "", identification.strip())
    else:
        number = re.sub(r"[^A-Za-z0-9]", "", identification).upper()
    if id_type in NUMERIC_ID_TYPES:
        if not number.isdigit():
            raise InvalidIdentification(id_type, identification, "debe ser numérica")
        if not 3 <= len(number) <= 13:
            raise InvalidIdentification(id_type, identification, "debe tener de 3 a 13 dígitos")
        return number
    limit = 13 if id_type == "R-00-PN" else 20
    if not 1 <= len(number) <= limit:
        raise InvalidIdentification(
            id_type, identification, f"debe tener de 1 a {limit} letras o dígitos"
        )
    return number


def _strip_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
