from __future__ import annotations

import pytest

from conexapi.erps.siigo.identification import (
    InvalidIdentification,
    UnknownIdType,
    nit_check_digit,
    normalize_identification,
    siigo_id_type,
    split_nit,
)


@pytest.mark.parametrize(
    ("nit", "dv"),
    [
        ("800197268", "4"),  # DIAN itself
        ("900373913", "4"),
        ("860002964", "4"),
        ("890903938", "8"),  # Bancolombia
        ("860034313", "7"),  # Davivienda
        ("899999068", "1"),  # Ecopetrol
        ("800.197.268", "4"),
    ],
)
def test_nit_check_digit(nit: str, dv: str) -> None:
    assert nit_check_digit(nit) == dv


def test_check_digit_rejects_empty() -> None:
    with pytest.raises(InvalidIdentification):
        nit_check_digit("")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("900373913-4", ("900373913", "4")),
        ("900.373.913-4", ("900373913", "4")),
        ("900373913 - 4", ("900373913", "4")),
        ("9003739134", ("900373913", "4")),  # 10 digits whose last one is the DV
        ("900373913", ("900373913", None)),
        ("1020304050", ("1020304050", None)),  # 10-digit cédula-NIT, 0 is not its DV
        ("900373913-5", ("900373913", "5")),  # wrong DV is returned as given
    ],
)
def test_split_nit(value: str, expected: tuple[str, str | None]) -> None:
    assert split_nit(value) == expected


@pytest.mark.parametrize(
    ("ml_type", "code"),
    [
        ("CC", "13"),
        ("cc", "13"),
        ("CE", "22"),
        ("NIT", "31"),
        ("PASSPORT", "41"),
        ("PAS", "41"),
        ("Pasaporte", "41"),
        ("PEP", "47"),
        ("PPT", "48"),
        ("DNI", "42"),
        ("13", "13"),
    ],
)
def test_siigo_id_type(ml_type: str, code: str) -> None:
    assert siigo_id_type(ml_type) == code


def test_unknown_id_type_is_a_value_error_with_message() -> None:
    with pytest.raises(UnknownIdType, match="XYZ") as info:
        siigo_id_type("XYZ")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("id_type", "raw", "expected"),
    [
        ("13", "1.020.304.050", "1020304050"),
        ("13", "123", "123"),
        ("31", "900.373.913-4", "900373913"),
        ("31", "9003739134", "900373913"),
        ("22", "ce-123 456", "CE123456"),
        ("41", "AB1234567", "AB1234567"),
    ],
)
def test_normalize_identification(id_type: str, raw: str, expected: str) -> None:
    assert normalize_identification(id_type, raw) == expected


@pytest.mark.parametrize(
    ("id_type", "raw"),
    [
        ("13", "12"),  # too short
        ("13", "12345678901234"),  # 14 digits
        ("13", "12AB34"),
        ("31", ""),
        ("41", ""),
        ("41", "A" * 21),
    ],
)
def test_invalid_identification(id_type: str, raw: str) -> None:
    with pytest.raises(InvalidIdentification):
        normalize_identification(id_type, raw)


# --- the NIT's check digit: taken off only when clearly written, always verified -------------


def _cedula_whose_last_digit_is_the_dv_of_the_rest() -> str:
    # 1 ten-digit cédula in 11 ends with the mod-11 DV of its first nine digits.
    n = 1020304050
    while nit_check_digit(str(n)[:9]) != str(n)[-1]:
        n += 1
    return str(n)


def test_a_persons_ten_digit_cedula_is_never_cut() -> None:
    cedula = _cedula_whose_last_digit_is_the_dv_of_the_rest()
    # A person (cust_type CO) invoicing under a NIT: the NIT is the cédula, 10 digits.
    assert split_nit(cedula, company=False) == (cedula, None)
    assert normalize_identification("31", cedula, company=False) == cedula
    # The same digits from a company would be a 9-digit NIT plus its DV.
    assert split_nit(cedula, company=True) == (cedula[:9], cedula[-1])


def test_a_persons_nit_with_its_dv_appended_is_split() -> None:
    cedula = "1020304050"
    with_dv = cedula + nit_check_digit(cedula)
    assert split_nit(with_dv, company=False) == (cedula, nit_check_digit(cedula))
    assert normalize_identification("31", with_dv, company=False) == cedula


def test_a_company_nit_with_its_dv_and_no_separator() -> None:
    # The case of the issue: "9003739134" is NIT 900373913 with DV 4, not a 10-digit NIT.
    assert normalize_identification("31", "9003739134", company=True) == "900373913"
    # Ten digits whose last one is not the DV are kept whole (never guessed).
    assert normalize_identification("31", "9003739135", company=True) == "9003739135"


def test_a_written_dv_that_does_not_verify_is_refused() -> None:
    with pytest.raises(InvalidIdentification, match="debería ser 4"):
        normalize_identification("31", "900373913-5")
    with pytest.raises(InvalidIdentification):
        normalize_identification("31", "1020304050-0", company=False)
