"""One error model for the whole service.

`AppError` and its subclasses are what our own API raises; one handler renders them as
``{"code": "...", "message": "..."}`` with the right status. `IntegrationError` is what the
MercadoLibre and Siigo clients raise; `sync.policy` is the only place that decides what it means
for a sale (retry, wait for a person, ask for re-authorization).
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error our API answers with a stable machine code and a human message."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Unprocessable(AppError):
    status_code = 422
    code = "unprocessable"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"


class IntegrationError(Exception):
    """A call to an external API (MercadoLibre, Siigo) did not succeed.

    - `TransientError`: network failure, timeout, 5xx, 429. Safe to retry later (with the same
      idempotency key for document creation). `retry_after` is in seconds when the vendor said.
    - `PermanentError`: the vendor refused the request (validation, configuration, not found).
      Retrying the same request cannot succeed; a person must change data or settings.
    - `AuthError`: credentials are revoked or invalid; the connection needs re-authorization.
    """

    def __init__(
        self,
        message: str,
        *,
        vendor: str,
        status_code: int | None = None,
        vendor_code: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.status_code = status_code
        self.vendor_code = vendor_code
        self.body = body

    def __str__(self) -> str:
        parts = [self.vendor]
        if self.status_code is not None:
            parts.append(str(self.status_code))
        if self.vendor_code:
            parts.append(self.vendor_code)
        return f"{' '.join(parts)}: {self.message}"


class TransientError(IntegrationError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RateLimitedError(TransientError):
    """HTTP 429: the request was not executed; wait and retry without burning an attempt."""


class RenewalPendingError(TransientError):
    """Nothing was sent: another process is renewing this connection's token (or a renewed
    token is on its way back from a process that stopped). Retry after `retry_after` seconds
    without burning an attempt."""


class PermanentError(IntegrationError):
    pass


class NotFoundError(PermanentError):
    """The vendor answered 404 for the resource."""


class PermissionMissingError(PermanentError):
    """The vendor refused because our application lacks a functional permission.

    MercadoLibre answers `403 PA_UNAUTHORIZED_RESULT_FROM_POLICIES` (`blocked_by: PolicyAgent`)
    when the application is not allowed a family of resources, e.g. billing info without the
    "Facturación" permission (docs/vendors/mercadolibre.md §1.1, §5.3). It is a problem of the
    connection, not of the sale: `permission` names the missing one when the caller knows it,
    and `probe` is what to ask again to learn that it was granted.
    """

    def __init__(
        self,
        message: str,
        *,
        permission: str | None = None,
        probe: dict[str, str] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.permission = permission
        self.probe = probe or {}


class AuthError(IntegrationError):
    pass


class BudgetWaitError(RateLimitedError):
    """Nothing was sent: our own request budget (a Siigo company's rate bucket, the MercadoLibre
    application's budget) cannot give a token soon enough. The sale is deferred until
    `retry_after` seconds from now without burning an attempt, and the worker's slot takes other
    work instead of sleeping on one company (`sync.policy`)."""
