"""The error responses an API router declares in its OpenAPI (`responses=`), built in one way."""

from __future__ import annotations

NOT_FOUND = "Not found in your account"

ErrorResponses = dict[int | str, dict[str, str]]


def error_responses(descriptions: dict[int, str]) -> ErrorResponses:
    """`{status: description}` → FastAPI's `responses=` mapping (errors are `{code, message}`)."""
    return {status: {"description": text} for status, text in descriptions.items()}
