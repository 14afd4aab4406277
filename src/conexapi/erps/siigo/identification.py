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


# A company's NIT has 9 digits; a person's NIT is their cédula (up to 10 digits). With its DV
# appended, one digit more (DIAN, RUT; docs/vendors/siigo.md §6.2: NIT "without DV; DV in
# check_digit").
COMPANY_NIT_DIGITS = 9
PERSON_NIT_MAX_DIGITS = 10


def split_nit(value: str, *, company: bool = True) -> tuple[str, str | None]:
    """Split a NIT as typed by a buyer into (number without DV, DV or None).

    The DV is taken off only when the buyer clearly wrote it: after a separator ("900.123.456-7",
    "900123456 - 7", "900123456/7"), or when the bare number has the length of a NIT plus its DV (10
    digits for a company, 11 for a person) *and* its last digit is the DV of the rest. MercadoLibre
    does not say whether billing info NITs carry the DV (docs/vendors/mercadolibre.md §5.1,
    UNCERTAIN). Any other number is kept whole: a person's 10-digit cédula used as NIT is never cut,
    even when its last digit happens to be the DV of the first nine (1 case in 11). The DV returned
    is the one given, not validated: `normalize_identification` verifies it.
    """
    text = value.strip()
    sep = re.fullmatch(r"([\d.\s]+?)\s*[-‐–/]\s*(\d)", text)
    if sep is not None:
        return re.sub(r"\D", "", sep.group(1)), sep.group(2)
    digits = re.sub(r"\D", "", text)
    with_dv = COMPANY_NIT_DIGITS + 1 if company else PERSON_NIT_MAX_DIGITS + 1
    if len(digits) == with_dv and nit_check_digit(digits[:-1]) == digits[-1]:
        return digits[:-1], digits[-1]
    return digits, None


def normalize_identification(id_type: str, identification: str, *, company: bool = True) -> str:
    """The identification as Siigo wants it for `id_type`, or `InvalidIdentification`.

    Numeric types (13 CC, 31 NIT, 11 RC) keep digits only (dots and spaces dropped, and for NITs
    the DV when `split_nit` finds one), 3–13 digits. A DV the buyer wrote must be the NIT's
    módulo-11 DV: a wrong one means a mistyped NIT, and an invoice to a NIT that does not exist
    is worse than none. Other types keep letters and digits, 1–20 (13 for "R-00-PN"); Siigo
    rejects special characters in `identification` (docs/vendors/siigo.md §6.1).
    """
    if id_type == "31":
        number, given_dv = split_nit(identification, company=company)
        if number.isdigit() and given_dv is not None and nit_check_digit(number) != given_dv:
            raise InvalidIdentification(
                id_type,
                identification,
                f"el dígito de verificación {given_dv} no corresponde al NIT {number} "
                f"(según el módulo 11 de la DIAN debería ser {nit_check_digit(number)})",
            )
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
