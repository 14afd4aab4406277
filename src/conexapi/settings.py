"""Settings from the environment and `.env` (prefix `CONEXAPI_`).

Read once in `create_app()` / the worker and passed down; nothing imports a global settings object.
The flat names of the contract (`CONEXAPI_MELI_CLIENT_ID`, `CONEXAPI_SIIGO_API_URL`...) are the
public interface; they are grouped into sections by properties for the code's convenience.
"""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Production refuses a shorter JWT signing key (bytes of its UTF-8 text).
MIN_SECRET_KEY_BYTES = 32
# Production refuses a cheaper Argon2id password hash (OWASP's minimum: 2 passes over 19 MiB).
MIN_PASSWORD_HASH_TIME_COST = 2
MIN_PASSWORD_HASH_MEMORY_KIB = 19456


def _is_fernet_key(value: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(value.encode())) == 32
    except (binascii.Error, ValueError):
        return False


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigurationError(Exception):
    """The settings cannot run the service (e.g. a missing secret in production)."""


class MercadoLibreSection(BaseModel):
    client_id: str | None
    client_secret: SecretStr | None
    application_id: str | None
    api_url: str
    auth_url: str
    use_pkce: bool
    redirect_uri: str
    requests_per_second: float
    max_wait_seconds: float
    call_retries: int
    call_retry_base_seconds: float


class SiigoSection(BaseModel):
    api_url: str
    partner_id: str
    requests_per_minute: int
    max_wait_seconds: float
    call_retries: int
    call_retry_base_seconds: float


class SmtpSection(BaseModel):
    """Where alert e-mails go out, from `CONEXAPI_SMTP_URL` and its companions."""

    host: str
    port: int
    username: str | None
    password: SecretStr | None
    use_tls: bool  # smtps://: TLS from the first byte (usually port 465)
    # STARTTLS: True = required, False = never, None = when the server offers it.
    start_tls: bool | None
    sender: str
    timeout_seconds: float


class WorkerSection(BaseModel):
    concurrency: int
    poll_interval_seconds: float
    lease_seconds: int
    dead_after_hours: float
    max_in_flight_per_integration: int
    retry_base_seconds: float
    retry_cap_seconds: float
    rate_limit_default_seconds: float
    sweep_interval_seconds: int
    sweep_page_retries: int
    sweep_retry_base_seconds: float
    sweep_retry_max_wait_seconds: float
    stamp_poll_interval_seconds: int
    shutdown_timeout_seconds: float
    permission_check_seconds: int
    data_recheck_seconds: int
    notification_retention_days: float
    breaker_window_hours: float
    breaker_min_requests: int
    breaker_refused_share: float
    notification_refetch_seconds: float
    notification_debounce_seconds: float


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONEXAPI_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # `CONEXAPI_SECRET_KEY=` (empty, as in .env.example) means unset, never an empty secret.
        env_ignore_empty=True,
    )

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./conexapi.db"
    secret_key: SecretStr | None = None
    encryption_key: SecretStr | None = None
    # Extra Fernet keys still accepted for decryption, comma-separated: rotate by putting the new
    # key in CONEXAPI_ENCRYPTION_KEY and the old one here.
    old_encryption_keys: SecretStr | None = None
    public_url: str = "http://localhost:8000"
    # Local files of this machine's processes (the token spool). Unset: `conexapi-data` beside
    # the SQLite database, or `./conexapi-data` with MariaDB.
    data_dir: Path | None = None
    # Where a renewed MercadoLibre/Siigo token pair is written (encrypted) the moment the vendor
    # answers, until the database has it. Unset: `<data dir>/token-spool`.
    token_spool_dir: Path | None = None
    log_level: str = "INFO"
    log_json: bool = True

    meli_client_id: str | None = None
    meli_client_secret: SecretStr | None = None
    meli_application_id: str | None = None
    meli_api_url: str = "https://api.mercadolibre.com"
    meli_auth_url: str = "https://auth.mercadolibre.com.co"
    meli_use_pkce: bool = True

    siigo_api_url: str = "https://api.siigo.com"
    siigo_partner_id: str = Field(default="ConexAPI", pattern=r"^[A-Za-z0-9]{3,100}$")
    siigo_requests_per_minute: int = Field(default=100, ge=0)
    # MercadoLibre limits requests per application, not per seller: every worker and process
    # shares this budget through the database (0 = unlimited). The default stays under the
    # documented 18,000 requests/hour (5/s); a 429 lowers it for a while (AIMD).
    meli_requests_per_second: float = Field(default=5.0, ge=0)
    # A sale waits at most this long for a token of a request budget (its Siigo company's, the
    # MercadoLibre application's); when the token is further away the sale is deferred to that
    # moment (no attempt counted) and the worker's slot takes other work.
    rate_max_wait_seconds: float = Field(default=1.0, ge=0, le=60)
    # Quick retries of one vendor call (MercadoLibre GETs, Siigo reads and keyed document
    # POSTs) on a 5xx or a timeout, with jittered waits from this base, before the attempt fails.
    vendor_call_retries: int = Field(default=2, ge=0, le=5)
    vendor_call_retry_base_seconds: float = Field(default=0.25, ge=0, le=10)

    sweep_interval_seconds: int = Field(default=600, ge=1)
    # A sweep page that fails (5xx, timeout, 429) is retried this many times, waiting base, 2x base,
    # 4x base... or the vendor's Retry-After; a longer wait than the maximum ends this sweep (it
    # resumes at that page next time).
    sweep_page_retries: int = Field(default=3, ge=0, le=10)
    sweep_retry_base_seconds: float = Field(default=1.0, ge=0)
    sweep_retry_max_wait_seconds: float = Field(default=30.0, ge=0)
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    worker_poll_interval_seconds: float = Field(default=1.0, gt=0)
    worker_lease_seconds: int = Field(default=300, ge=5)
    # A sale whose transient failures (network, 5xx) go on this long without one success ends
    # `dead` (a time budget, not a count of attempts), keeping the last reason a person can act on.
    worker_dead_after_hours: float = Field(default=48.0, gt=0)
    # Fair claims: at most this many sales of one integration in flight across every worker
    # (round-robin over the integrations with due work), so no seller's backlog fills the slots.
    worker_max_in_flight_per_integration: int = Field(default=4, ge=1, le=256)
    # Backoff between attempts: full jitter from base/2 up to base * 2**(attempt-1), capped.
    worker_retry_base_seconds: float = Field(default=30.0, gt=0)
    worker_retry_cap_seconds: float = Field(default=3600.0, gt=0)
    # Wait after a 429 that carries no Retry-After.
    worker_rate_limit_default_seconds: float = Field(default=30.0, gt=0)
    stamp_poll_interval_seconds: int = Field(default=60, ge=1)
    # How often a MercadoLibre connection whose application lacks a functional permission
    # ("Facturación") is asked again; its sales resume as soon as it works.
    permission_check_seconds: int = Field(default=300, ge=1)
    # A sale waiting for MercadoLibre data still being processed (billing info PROCESSING, a
    # shipping cost nobody reports yet) is looked at again this often, up to the integration's
    # `data_wait_hours`.
    data_recheck_seconds: int = Field(default=900, ge=1)
    # Applied notifications older than this are deleted by the workers' upkeep, in small batches
    # (beyond MercadoLibre's 2-day missed-feeds window).
    notification_retention_days: float = Field(default=3.0, gt=0)
    # The breaker per Siigo company: sending pauses when, over the last `window` hours, at least
    # `min_requests` documents were sent and the share Siigo refused (validation errors) reached
    # `refused_share` — far below Siigo's rule (> 80 % failed over 7 days blocks the API user).
    breaker_window_hours: float = Field(default=24.0, gt=0, le=168)
    breaker_min_requests: int = Field(default=10, ge=1)
    breaker_refused_share: float = Field(default=0.5, gt=0, lt=0.8)
    # However many notifications of one order arrive, its orders are read from MercadoLibre at
    # most once per this many seconds (a notification within the window makes the sale due when
    # the window ends). 0 turns coalescing off.
    notification_refetch_seconds: float = Field(default=10.0, ge=0, le=3600)
    # A notification makes its sale due this long after it is applied, not at once: MercadoLibre
    # sends several notifications per change (and the creation and payment of an order close
    # together), and a burst within this time costs one read of the order. 0: due at once.
    notification_debounce_seconds: float = Field(default=1.0, ge=0, le=60)

    # Argon2id cost of new password hashes (pwdlib's default: 3 passes over 64 MiB). Production
    # refuses less than OWASP's minimum (2 passes, 19 MiB); the test settings use a tiny cost.
    password_hash_time_cost: int = Field(default=3, ge=1, le=20)
    password_hash_memory_kib: int = Field(default=65536, ge=32, le=4_194_304)

    jwt_ttl_seconds: int = Field(default=3600, ge=60)
    jwt_issuer: str = "conexapi"
    jwt_audience: str = "conexapi-api"
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=300, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)

    # Alert e-mail: smtp://user@host:587?starttls=1 or smtps://user@host:465 (no password in the
    # URL: it goes in CONEXAPI_SMTP_PASSWORD, a secret).
    smtp_url: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "ConexAPI <alertas@conexapi.dev>"
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)

    # `conexapi serve`: API processes (gunicorn with uvicorn workers), recycled after this many
    # requests plus a random jitter (0 = never), trusting X-Forwarded-* from these addresses.
    serve_workers: int = Field(default=1, ge=1, le=64)
    serve_max_requests: int = Field(default=0, ge=0)
    serve_max_requests_jitter: int = Field(default=0, ge=0)
    forwarded_allow_ips: str = "127.0.0.1,::1"
    # On SIGTERM, `serve` and `worker` finish what is in progress for at most this long; the
    # worker then releases the sales it still holds (due again at once) and exits 0.
    shutdown_timeout_seconds: float = Field(default=25.0, ge=1, le=600)

    # Prometheus: `/metrics` asks for `Authorization: Bearer <token>` when a token is set; a worker
    # serves its own metrics on this port when one is set (`conexapi worker --metrics-port`).
    metrics_token: SecretStr | None = None
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_host: str = "127.0.0.1"
    # The queue gauges (sales by state, backlog, connections) are counted in the database at
    # most this often, however often Prometheus scrapes.
    metrics_queue_cache_seconds: float = Field(default=10.0, ge=0)

    # Bounded in-process memories (`core/caches.py`): the most entries each cache of a process
    # keeps (least recently used dropped first), and how long a remembered answer is reused.
    # Per connection: access tokens, tax catalogues, webhook sellers, idle per-connection locks.
    cache_connections: int = Field(default=10_000, ge=1)
    # Siigo product codes remembered as checked (and idle per-code locks).
    cache_product_codes: int = Field(default=50_000, ge=1)
    token_memo_seconds: float = Field(default=30.0, ge=0)
    # "This MercadoLibre seller is connected" (only positive answers are kept).
    intake_target_seconds: float = Field(default=30.0, ge=0)
    tax_catalog_memory_seconds: float = Field(default=600.0, ge=0)

    # URLs ConexAPI calls on a tenant's behalf (the alert webhook) must be https and resolve only
    # to public addresses; `true` lifts the address rule (and allows http) for development and
    # tests against local services. Never in production.
    allow_private_urls: bool = False
    # In production `/docs`, `/redoc` and `/openapi.json` are off unless this is true; in
    # development and tests they are always on.
    docs_enabled: bool = False

    # `conexapi demo`: the seed of the simulated sales.
    demo_seed: int = 7

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_has_no_password(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("expected smtp://[user@]host[:port][?starttls=1] or smtps://...")
        if parts.password is not None:
            raise ValueError("put the SMTP password in CONEXAPI_SMTP_PASSWORD, not in the URL")
        return value

    @model_validator(mode="after")
    def _check_keys(self) -> Settings:
        for name, secret in (
            ("encryption_key", self.encryption_key),
            ("old_encryption_keys", self.old_encryption_keys),
        ):
            if secret is None:
                continue
            values = [k.strip() for k in secret.get_secret_value().split(",") if k.strip()]
            if not all(_is_fernet_key(v) for v in values):
                raise ConfigurationError(
                    f"CONEXAPI_{name.upper()} must hold Fernet keys (32 random bytes, url-safe "
                    "base64): generate one with `conexapi keys generate`."
                )
        if self.env is Environment.PRODUCTION:
            missing = [
                f"CONEXAPI_{name.upper()}"
                for name in ("secret_key", "encryption_key")
                if getattr(self, name) is None
            ]
            if missing:
                raise ConfigurationError(
                    "Refusing to start in production without "
                    + ", ".join(missing)
                    + ". Generate a secret key with `openssl rand -hex 32` and an encryption key "
                    "with `conexapi keys generate`."
                )
            assert self.secret_key is not None
            if len(self.secret_key.get_secret_value().encode()) < MIN_SECRET_KEY_BYTES:
                raise ConfigurationError(
                    f"CONEXAPI_SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes: refusing "
                    "to start in production. Generate one with `openssl rand -hex 32`."
                )
            if (
                self.password_hash_time_cost < MIN_PASSWORD_HASH_TIME_COST
                or self.password_hash_memory_kib < MIN_PASSWORD_HASH_MEMORY_KIB
            ):
                raise ConfigurationError(
                    "CONEXAPI_PASSWORD_HASH_TIME_COST / CONEXAPI_PASSWORD_HASH_MEMORY_KIB are "
                    f"below {MIN_PASSWORD_HASH_TIME_COST} passes over "
                    f"{MIN_PASSWORD_HASH_MEMORY_KIB} KiB (OWASP's minimum for Argon2id): "
                    "refusing to start in production."
                )
        return self

    @property
    def local_data_dir(self) -> Path:
        """`CONEXAPI_DATA_DIR`, else `conexapi-data` beside the SQLite database, else
        `./conexapi-data`."""
        if self.data_dir is not None:
            return self.data_dir
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            path = self.database_url.removeprefix(prefix).split("?", 1)[0]
            if path and path != ":memory:":
                return Path(path).parent / "conexapi-data"
        return Path("conexapi-data")

    @property
    def spool_dir(self) -> Path:
        return self.token_spool_dir or self.local_data_dir / "token-spool"

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @cached_property
    def old_fernet_keys(self) -> list[bytes]:
        """Keys still accepted for decryption after a rotation (the current key comes first,
        from `security.keys.load_keys`)."""
        if self.old_encryption_keys is None:
            return []
        return [
            k.strip().encode()
            for k in self.old_encryption_keys.get_secret_value().split(",")
            if k.strip()
        ]

    @property
    def mercadolibre(self) -> MercadoLibreSection:
        return MercadoLibreSection(
            client_id=self.meli_client_id,
            client_secret=self.meli_client_secret,
            application_id=self.meli_application_id,
            api_url=self.meli_api_url.rstrip("/"),
            auth_url=self.meli_auth_url.rstrip("/"),
            use_pkce=self.meli_use_pkce,
            redirect_uri=self.public_url.rstrip("/") + "/api/v1/connections/mercadolibre/callback",
            requests_per_second=self.meli_requests_per_second,
            max_wait_seconds=self.rate_max_wait_seconds,
            call_retries=self.vendor_call_retries,
            call_retry_base_seconds=self.vendor_call_retry_base_seconds,
        )

    @property
    def siigo(self) -> SiigoSection:
        return SiigoSection(
            api_url=self.siigo_api_url.rstrip("/"),
            partner_id=self.siigo_partner_id,
            requests_per_minute=self.siigo_requests_per_minute,
            max_wait_seconds=self.rate_max_wait_seconds,
            call_retries=self.vendor_call_retries,
            call_retry_base_seconds=self.vendor_call_retry_base_seconds,
        )

    @property
    def worker(self) -> WorkerSection:
        return WorkerSection(
            concurrency=self.worker_concurrency,
            poll_interval_seconds=self.worker_poll_interval_seconds,
            lease_seconds=self.worker_lease_seconds,
            dead_after_hours=self.worker_dead_after_hours,
            max_in_flight_per_integration=self.worker_max_in_flight_per_integration,
            retry_base_seconds=self.worker_retry_base_seconds,
            retry_cap_seconds=self.worker_retry_cap_seconds,
            rate_limit_default_seconds=self.worker_rate_limit_default_seconds,
            sweep_interval_seconds=self.sweep_interval_seconds,
            sweep_page_retries=self.sweep_page_retries,
            sweep_retry_base_seconds=self.sweep_retry_base_seconds,
            sweep_retry_max_wait_seconds=self.sweep_retry_max_wait_seconds,
            stamp_poll_interval_seconds=self.stamp_poll_interval_seconds,
            shutdown_timeout_seconds=self.shutdown_timeout_seconds,
            permission_check_seconds=self.permission_check_seconds,
            data_recheck_seconds=self.data_recheck_seconds,
            notification_retention_days=self.notification_retention_days,
            breaker_window_hours=self.breaker_window_hours,
            breaker_min_requests=self.breaker_min_requests,
            breaker_refused_share=self.breaker_refused_share,
            notification_refetch_seconds=self.notification_refetch_seconds,
            notification_debounce_seconds=self.notification_debounce_seconds,
        )

    @property
    def smtp(self) -> SmtpSection | None:
        """The SMTP server for alert e-mail, or None when `CONEXAPI_SMTP_URL` is not set."""
        if not self.smtp_url:
            return None
        parts = urlsplit(self.smtp_url)
        starttls = parse_qs(parts.query).get("starttls", [""])[0].lower()
        use_tls = parts.scheme == "smtps"
        return SmtpSection(
            host=parts.hostname or "",
            port=parts.port or (465 if use_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=self.smtp_password,
            use_tls=use_tls,
            start_tls={"1": True, "true": True, "yes": True, "0": False, "false": False}.get(
                starttls
            ),
            sender=self.smtp_from,
            timeout_seconds=self.smtp_timeout_seconds,
        )


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a `ConfigurationError` explains what is missing or wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"CONEXAPI_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigurationError(problems) from exc
