"""API schemas for connections (our API; Siigo/ML payloads live in their vendor packages)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SiigoConnect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=191, description="Siigo API user (an e-mail)")
    access_key: str = Field(min_length=1, max_length=1000, description="Siigo access key")


class ConnectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider: str
    status: str
    account_name: str
    external_account_id: str
    token_expires_at: datetime | None = None
    last_refresh_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_success_at: datetime | None = None
    created_at: datetime


class AuthorizeResponse(BaseModel):
    authorization_url: str


class CatalogsSummary(BaseModel):
    connection_id: int
    fetched_at: datetime
    counts: dict[str, int]
