"""Connecting Siigo companies and MercadoLibre accounts; reading and refreshing their state.

Services never commit: the request's session does. Vendor calls happen before anything is
written, so a refused credential or code leaves nothing stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import jwt
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.accounts.models import User
from conexapi.connections.catalogs import load_catalogs
from conexapi.connections.health import clear_renewal, mark_active, record_access_token
from conexapi.connections.models import Connection, OAuthState, Provider
from conexapi.connections.repository import ConnectionStore, TenantConnections
from conexapi.connections.schemas import CatalogsSummary
from conexapi.core.errors import (
    AuthError,
    BadRequest,
    Conflict,
    NotFound,
    Unprocessable,
)
from conexapi.db import utcnow
from conexapi.erps.siigo.auth import authenticate
from conexapi.erps.siigo.client import siigo_client
from conexapi.marketplaces.mercadolibre import oauth
from conexapi.marketplaces.mercadolibre.client import MercadoLibreClient, StaticBearer
from conexapi.marketplaces.mercadolibre.tokens import store_tokens
from conexapi.runtime import Runtime

log = structlog.get_logger("conexapi.connections")

STATE_PURPOSE = "ml_oauth"
STATE_TTL = timedelta(minutes=10)
SITE_ID = "MCO"


async def get_connection(
    session: AsyncSession, *, tenant_id: int, connection_id: int
) -> Connection:
    connection = await TenantConnections(session, tenant_id).get(connection_id)
    if connection is None:
        raise NotFound("Connection not found.", code="connection_not_found")
    return connection


async def list_connections(session: AsyncSession, *, tenant_id: int) -> Sequence[Connection]:
    return await TenantConnections(session, tenant_id).list()


# ---------------------------------------------------------------------------- Siigo
async def connect_siigo(
    session: AsyncSession, *, runtime: Runtime, tenant_id: int, username: str, access_key: str
) -> Connection:
    """Validates the credentials against Siigo `/auth`, then stores them encrypted (and the token).

    The same Siigo user connected again by the same tenant updates that connection (new key,
    status back to active); connected by another tenant it is a conflict.
    """
    username = username.strip()
    try:
        token = await authenticate(runtime.siigo_http, runtime.settings.siigo, username, access_key)
    except AuthError as exc:
        raise BadRequest(
            "Siigo refused this API user and access key. Check them in Siigo Nube "
            "(Alianzas → Mi credencial API) and try again.",
            code="siigo_invalid_credentials",
        ) from exc
    now = utcnow()
    account = username.lower()
    store = ConnectionStore(session)
    connection = await store.by_external(Provider.SIIGO.value, account)
    if connection is not None and connection.tenant_id != tenant_id:
        raise Conflict(
            "This Siigo API user is already connected to another account.",
            code="connection_taken",
        )
    if connection is None:
        connection = Connection(
            tenant_id=tenant_id,
            provider=Provider.SIIGO.value,
            external_account_id=account,
            account_name=username,
            meta={},
        )
        session.add(connection)
    connection.credentials_enc = runtime.secrets.encrypt_json(
        {"username": username, "access_key": access_key}
    )
    record_access_token(connection, runtime.secrets, token.access_token, token.expires_in, now)
    mark_active(connection)
    await session.flush()
    log.info("connection.siigo.connected", connection_id=connection.id, tenant_id=tenant_id)
    return connection


async def refresh_catalogs(
    session: AsyncSession, *, runtime: Runtime, tenant_id: int, connection_id: int
) -> CatalogsSummary:
    connection = await get_connection(session, tenant_id=tenant_id, connection_id=connection_id)
    if connection.provider != Provider.SIIGO.value:
        raise Unprocessable("Only Siigo connections have catalogs.", code="not_an_erp_connection")
    catalogs = await load_catalogs(
        session, siigo_client(runtime, connection.id), connection.id, refresh=True
    )
    counts = {
        "document_types_fv": len(catalogs.document_types_fv),
        "document_types_nc": len(catalogs.document_types_nc),
        "taxes": len(catalogs.taxes),
        "payment_types_fv": len(catalogs.payment_types_fv),
        "payment_types_nc": len(catalogs.payment_types_nc),
        "users": len(catalogs.users),
        "cost_centers": len(catalogs.cost_centers),
        "account_groups": len(catalogs.account_groups),
    }
    return CatalogsSummary(
        connection_id=connection.id, fetched_at=catalogs.fetched_at, counts=counts
    )


# ---------------------------------------------------------------------------- MercadoLibre
# The browser that asked for the consent URL gets this nonce in an HttpOnly cookie; the signed
# `state` carries its hash, and the callback wants both (the contract, docs/security.md §OAuth).
OAUTH_NONCE_COOKIE = "conexapi_oauth_nonce"


@dataclass(frozen=True)
class Authorization:
    url: str
    nonce: str  # goes to the initiating browser as OAUTH_NONCE_COOKIE, never in the URL


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


async def start_meli_authorization(
    session: AsyncSession, *, runtime: Runtime, tenant_id: int, user_id: int
) -> Authorization:
    """A consent URL with a signed, single-use `state` bound to the tenant, the user who asked
    and a nonce only their browser holds (and PKCE S256)."""
    settings = runtime.settings.mercadolibre
    state_id = secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(32)
    verifier = oauth.new_code_verifier() if settings.use_pkce else None
    now = utcnow()
    await TenantConnections(session, tenant_id).add_state(
        OAuthState(
            id=state_id,
            user_id=user_id,
            code_verifier_enc=runtime.secrets.encrypt(verifier) if verifier else None,
            expires_at=now + STATE_TTL,
            created_at=now,
        )
    )
    signed = runtime.tokens.sign(
        STATE_PURPOSE,
        {"sid": state_id, "tid": tenant_id, "uid": user_id, "nh": _nonce_hash(nonce)},
        int(STATE_TTL.total_seconds()),
    )
    challenge = oauth.code_challenge_s256(verifier) if verifier else None
    return Authorization(oauth.authorization_url(settings, signed, challenge), nonce)


def _state_error(code: str) -> BadRequest:
    messages = {
        "oauth_state_invalid": "This authorization link is not valid. Start the connection again.",
        "oauth_state_expired": "This authorization link expired. Start the connection again.",
        "oauth_state_used": "This authorization link was already used. Start the connection again.",
        "oauth_browser_mismatch": "This authorization must be completed in the browser that "
        "started it, by the same user. Start the connection again from ConexAPI.",
        "oauth_user_inactive": "The user who started this authorization is no longer active.",
    }
    return BadRequest(messages[code], code=code)


async def complete_meli_authorization(
    session: AsyncSession,
    *,
    runtime: Runtime,
    code: str,
    state: str,
    nonce: str | None,
    session_user_id: int | None = None,
) -> Connection:
    """The OAuth callback: checks `state` and that this browser started it (`nonce`, the cookie
    the authorize answer set; `session_user_id`, the dashboard session if there is one, must be
    the user who started it, still active), exchanges the code, stores the tokens encrypted."""
    try:
        payload = runtime.tokens.unsign(STATE_PURPOSE, state)
    except jwt.ExpiredSignatureError as exc:
        raise _state_error("oauth_state_expired") from exc
    except jwt.InvalidTokenError as exc:
        raise _state_error("oauth_state_invalid") from exc
    if payload.get("pur") != STATE_PURPOSE or not isinstance(payload.get("sid"), str):
        raise _state_error("oauth_state_invalid")
    store = ConnectionStore(session)
    row = await store.state(payload["sid"])
    if row is None or row.tenant_id != payload.get("tid"):
        raise _state_error("oauth_state_invalid")
    now = utcnow()
    if row.used_at is not None:
        raise _state_error("oauth_state_used")
    if row.expires_at.replace(tzinfo=None) <= now:
        raise _state_error("oauth_state_expired")
    # Bound to the initiator: a link sent to someone else and opened in their browser has no
    # cookie (or another one), so it cannot connect their account into this tenant.
    expected = payload.get("nh")
    if (
        not isinstance(expected, str)
        or not nonce
        or not hmac.compare_digest(_nonce_hash(nonce), expected)
    ):
        raise _state_error("oauth_browser_mismatch")
    user_id = payload.get("uid")
    if not isinstance(user_id, int) or row.user_id != user_id:
        raise _state_error("oauth_state_invalid")
    if session_user_id is not None and session_user_id != user_id:
        raise _state_error("oauth_browser_mismatch")
    initiator = await session.get(User, user_id)
    if initiator is None or initiator.tenant_id != row.tenant_id or not initiator.is_active:
        raise _state_error("oauth_user_inactive")
    if not await store.mark_state_used(row.id, now):
        raise _state_error("oauth_state_used")
    verifier = runtime.secrets.decrypt(row.code_verifier_enc) if row.code_verifier_enc else None
    settings = runtime.settings.mercadolibre
    try:
        tokens = await oauth.exchange_code(runtime.meli_http, settings, code, verifier)
    except AuthError as exc:
        raise BadRequest(
            "MercadoLibre did not accept the authorization code (it may be used or expired). "
            "Start the connection again.",
            code="oauth_code_invalid",
        ) from exc
    me = await MercadoLibreClient(runtime.meli_http, StaticBearer(tokens.access_token)).get_me()
    site = me.get("site_id")
    if site != SITE_ID:
        raise Unprocessable(
            f"Only MercadoLibre Colombia (MCO) accounts are supported; this account is {site}.",
            code="meli_site_not_supported",
        )
    account = str(tokens.user_id)
    connection = await store.by_external(Provider.MERCADOLIBRE.value, account)
    if connection is not None and connection.tenant_id != row.tenant_id:
        raise Conflict(
            "This MercadoLibre account is already connected to another ConexAPI account.",
            code="connection_taken",
        )
    if connection is None:
        connection = Connection(
            tenant_id=row.tenant_id,
            provider=Provider.MERCADOLIBRE.value,
            external_account_id=account,
            meta={},
        )
        session.add(connection)
        await session.flush()
    else:
        # Serialize with a worker that might be refreshing the old grant right now.
        await store.lock(connection.id)
    connection.account_name = str(me.get("nickname") or account)
    store_tokens(runtime, connection, tokens, now)
    clear_renewal(connection)  # a new grant: whatever renewal was in flight is moot
    connection.meta = {**(connection.meta or {}), "site_id": site}
    await session.flush()
    log.info("connection.meli.connected", connection_id=connection.id, tenant_id=row.tenant_id)
    return connection
