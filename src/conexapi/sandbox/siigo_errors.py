"""Siigo's error shapes: the documented PascalCase `{"Status": 400, "Errors": [{Code, Message,
Params, Detail}]}` (docs/vendors/siigo.md §4.1), and the lowercase one production also answers
(`{"status", "errors": [{code, message, params, detail}]}`, §16; the quirk `error_case`)."""

from __future__ import annotations

from typing import Any

DETAIL_URL = (
    "Check the API documentation: https://developer.siigo.com/introduction/codigos-de-error/"
)


def siigo_error(code: str, message: str, params: list[str] | None = None) -> dict[str, Any]:
    return {
        "Code": code,
        "Message": message,
        "Params": params or [],
        "Detail": f"{DETAIL_URL}{code}" if code.startswith("invalid") else None,
    }


class SiigoHTTPError(Exception):
    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors

    @classmethod
    def one(
        cls, status: int, code: str, message: str, params: list[str] | None = None
    ) -> SiigoHTTPError:
        return cls(status, [siigo_error(code, message, params)])

    def body(self, lowercase: bool = False) -> dict[str, Any]:
        if lowercase:
            return {
                "status": self.status,
                "errors": [{k.lower(): v for k, v in e.items()} for e in self.errors],
            }
        return {"Status": self.status, "Errors": self.errors}
