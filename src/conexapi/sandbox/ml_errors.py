"""MercadoLibre error shape: {"message", "error", "status", "cause": []}."""

from __future__ import annotations

from typing import Any


class MLHTTPError(Exception):
    def __init__(self, status: int, error: str, message: str, *, oauth: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.oauth = oauth

    def body(self) -> dict[str, Any]:
        # OAuth errors use error_description instead of message.
        key = "error_description" if self.oauth else "message"
        return {key: self.message, "error": self.error, "status": self.status, "cause": []}


def not_found(message: str) -> MLHTTPError:
    return MLHTTPError(404, "not_found", message)


def forbidden_order() -> MLHTTPError:
    return MLHTTPError(403, "forbidden", "The user has not access to the order")


class PolicyBlocked(MLHTTPError):
    """The PolicyAgent refusing a resource the application has no functional permission for
    (docs/vendors/mercadolibre.md §0, §1.1): no `error` key, `code` and `blocked_by` instead."""

    def __init__(self) -> None:
        super().__init__(
            403,
            "PA_UNAUTHORIZED_RESULT_FROM_POLICIES",
            "At least one policy returned UNAUTHORIZED.",
        )

    def body(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "code": self.error,
            "status": self.status,
            "blocked_by": "PolicyAgent",
        }
