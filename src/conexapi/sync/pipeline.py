"""Processing one sale: re-fetch it from MercadoLibre, decide, invoice or credit, record.

Runs under the worker's lease on the sale. Each step commits in a short transaction and checks
the lease is still ours; external calls happen outside transactions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import aliased

from conexapi.connections.health import mark_needs_permission
from conexapi.connections.models import Connection, ConnectionStatus
from conexapi.core.errors import (
    AuthError,
    NotFoundError,
    PermanentError,
    PermissionMissingError,
)
from conexapi.core.metrics import NOTIFICATIONS, SALE_TRANSITIONS, SALES_DEFERRED
from conexapi.db import (
    insert_many_ignore,
    is_database_unavailable,
    is_lock_conflict,
    naive_utc,
    retry_on_lock_conflict,
    utcnow,
)
from conexapi.integrations.models import Integration
from conexapi.marketplaces.mercadolibre.client import MercadoLibreClient, meli_client
from conexapi.marketplaces.mercadolibre.mapping import build_sale_facts
from conexapi.messages import text
from conexapi.runtime import Runtime
from conexapi.sales.decision import Action, decide
from conexapi.sales.facts import SaleFacts
from conexapi.sales.settings import InvoicingSettings
from conexapi.sales.snapshot import buyer_name, facts_to_json
from conexapi.sales.states import SaleState
from conexapi.sales.step import EventKind, Step
from conexapi.sync import breaker, queue
from conexapi.sync.invoicing import Invoicer, invoice_of
from conexapi.sync.manual import ELSEWHERE_CODES, elsewhere_step, is_elsewhere
from conexapi.sync.models import Document, Sale, SaleEvent, SaleOrder
from conexapi.sync.policy import Outcome, RetryPolicy, Verdict, actionable, classify
from conexapi.sync.preview import PREVIEW, still_previewing
from conexapi.sync.schedule import schedule_data
from conexapi.sync.unblock import record_waiting

log = structlog.get_logger("conexapi.pipeline")

# The integration's two connections, aliased once (building an alias per query is costly).
_ML_CONNECTION = aliased(Connection)
_SIIGO_CONNECTION = aliased(Connection)

# Codes a sale keeps as its reason although it is not failing: a person's decision, a preview.
KEPT_CODES = (*ELSEWHERE_CODES, PREVIEW)

# A sale whose processing loses a deadlock is advanced again at once, this many times in all.
LOCK_CONFLICT_RETRIES = 3


# States a sale settles in: re-checking them (DIAN status, refunds; a changed order of a sale
# that waits for a person) never turns them into `retrying` or `dead`.
SETTLED = (SaleState.INVOICED.value, SaleState.NEEDS_ATTENTION.value)


class LeaseLost(Exception):
    """Another worker owns the sale now (our lease expired): stop without writing."""


@dataclass
class Context:
    sale_id: int
    tenant_id: int
    integration_id: int
    external_id: str
    order_ids: list[str]
    attempts: int
    state: str
    settings: InvoicingSettings
    ml_connection_id: int
    siigo_connection_id: int
    ml_status: str
    siigo_status: str
    # The error the sale had when claimed (`unmapped_products`: it had SKUs waiting).
    error_code: str | None = None
    error_message: str | None = None
    # Since when its attempts keep failing for passing reasons (None: they do not).
    failing_since: datetime | None = None
    # What this attempt's end does to `failing_since`: "set" (a passing failure), "keep" (a
    # deferral: the vendor asked to wait) or "clear" (any other outcome).
    failing: str = "clear"
    # The breaker of its Siigo company paused sending (`sync.breaker`).
    siigo_paused: bool = False
    # Full orders a sweep's or backfill's search returned for it (used instead of reading them).
    prefetched: dict[str, Any] = field(default_factory=dict)
    # The `last_updated` of the orders this attempt read, by id (a pack's merge compares them).
    seen_versions: dict[str, str] = field(default_factory=dict)
    # Why the sale was deferred last (a budget's wait is written in its timeline once).
    deferred_reason: str | None = None
    # When this attempt began: what it knows (mappings...) is as of then.
    loaded_at: datetime = field(default_factory=utcnow)
    # Columns of the sale not written yet (the facts just fetched): they go with the next write
    # of the sale (the invoice row's transaction, or the end of this attempt) to save a
    # statement and a commit per sale.
    pending: dict[str, Any] = field(default_factory=dict)
    # The invoice row as `_load` read it; used once (a deadlock retry reads it again).
    loaded_invoice: Document | None = None
    invoice_loaded: bool = False
    # What a person decided for the sale (`sync.manual`), and whether its integration previews
    # (`sync.preview`: nothing is sent to Siigo).
    manual: dict[str, Any] = field(default_factory=dict)
    preview: bool = False
    # Known only by one order id from a notification (or a sweep), never read from MercadoLibre.
    provisional: bool = False


class SaleProcessor:
    def __init__(
        self,
        runtime: Runtime,
        *,
        worker_id: str,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        self.policy = policy or RetryPolicy.from_settings(runtime.settings.worker)
        self.rng = rng or random.Random()

    async def process(self, sale_id: int) -> str | None:
        """Advances one claimed sale; returns its new state (None if it was merged or lost)."""
        ctx = await self._load(sale_id)
        if ctx is None:
            return None
        structlog.contextvars.bind_contextvars(sale_id=sale_id, tenant_id=ctx.tenant_id)
        try:
            step = await self._advance_retrying_deadlocks(ctx)
        except LeaseLost:
            log.warning("sale.lease_lost")
            return None
        except (_Merged, _Discarded):
            return None
        except Exception as exc:
            if is_database_unavailable(exc):
                raise  # our outage, not the sale's: the worker gives it back, no attempt counted
            step = await self._failure(ctx, exc)
        await self._finish(ctx, step)
        SALE_TRANSITIONS.labels(step.state.value).inc()
        return step.state.value

    # -- loading and saving -------------------------------------------------------------------

    async def _load(self, sale_id: int) -> Context | None:
        ml, siigo = _ML_CONNECTION, _SIIGO_CONNECTION
        async with self.runtime.sessions() as session:
            row = (
                await session.execute(
                    select(
                        Sale.id,
                        Sale.tenant_id,
                        Sale.integration_id,
                        Sale.external_id,
                        Sale.order_ids,
                        Sale.attempts,
                        Sale.state,
                        Integration.settings,
                        Integration.ml_connection_id,
                        Integration.siigo_connection_id,
                        ml.status,
                        siigo.status,
                        Sale.error_code,
                        Sale.total,
                        Sale.manual,
                        Integration.preview,
                        Sale.error_message,
                        Sale.failing_since,
                        siigo.paused_at,
                        Sale.prefetched,
                        Sale.deferred_reason,
                    )
                    .join(Integration, Integration.id == Sale.integration_id)
                    .outerjoin(ml, ml.id == Integration.ml_connection_id)
                    .outerjoin(siigo, siigo.id == Integration.siigo_connection_id)
                    .where(Sale.id == sale_id, Sale.lease_owner == self.worker_id)
                )
            ).first()
            # Its invoice row, if any, in the same session (a checkout and a round trip less).
            invoice = None if row is None else await invoice_of(session, sale_id)
        if row is None:
            return None
        reauth = ConnectionStatus.NEEDS_REAUTH.value
        return Context(
            sale_id=row[0],
            tenant_id=row[1],
            integration_id=row[2],
            external_id=row[3],
            order_ids=[str(o) for o in row[4]],
            attempts=row[5],
            state=row[6],
            settings=InvoicingSettings.from_stored(row[7]),
            ml_connection_id=row[8],
            siigo_connection_id=row[9],
            ml_status=row[10] or reauth,
            siigo_status=row[11] or reauth,
            error_code=row[12],
            manual=dict(row[14] or {}),
            preview=bool(row[15]),
            error_message=row[16],
            failing_since=naive_utc(row[17]),
            siigo_paused=row[18] is not None,
            prefetched=dict(row[19] or {}),
            deferred_reason=row[20],
            loaded_invoice=invoice,
            invoice_loaded=True,
            provisional=(
                row[13] is None
                and invoice is None
                and row[6] == SaleState.PENDING.value
                and [str(o) for o in row[4]] == [row[3]]
            ),
        )

    async def _update_owned(self, session: Any, sale_id: int, **values: Any) -> None:
        """One conditional UPDATE: applies only while this worker still holds the lease."""
        result = await session.execute(
            update(Sale)
            .where(Sale.id == sale_id, Sale.lease_owner == self.worker_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:
            raise LeaseLost

    async def _owned(self, session: Any, sale_id: int) -> Sale:
        sale = await session.get(Sale, sale_id, with_for_update=True)
        if sale is None or sale.lease_owner != self.worker_id:
            raise LeaseLost
        return sale  # type: ignore[no-any-return]

    async def _finish(self, ctx: Context, step: Step) -> None:
        failing = (
            step.code in KEPT_CODES
            or step.error is not None
            or step.state
            in (
                SaleState.NEEDS_ATTENTION,
                SaleState.RETRYING,
                SaleState.DEAD,
            )
        )
        values: dict[str, Any] = {
            "state": step.state.value,
            "error_code": step.code if failing else None,
            "error_message": (step.error or step.message) if failing else None,
            "lease_owner": None,
            "lease_until": None,
            "next_attempt_at": step.next_at,
            "prefetched": None,
        }
        if step.kind is EventKind.DEFERRED:
            # Not a failure: kept apart so the seller (and the operator) see why and until when.
            values["deferred_until"] = step.next_at
            values["deferred_reason"] = step.code
            if is_budget_wait(step.code):
                # Our own budget's wait says nothing about the sale: the reason it had stays.
                values["error_code"] = ctx.error_code
                del values["error_message"]
            SALES_DEFERRED.labels(step.code or "deferred").inc()
        else:
            values["deferred_until"] = None
            values["deferred_reason"] = None
            # A person's retry is served first once; what follows is an ordinary sale's.
            values["priority"] = case(
                (Sale.priority < int(queue.Priority.LIVE), int(queue.Priority.LIVE)),
                else_=Sale.priority,
            )
        if step.reset_attempts:
            values["attempts"] = 0
        if ctx.failing == "set":
            values["failing_since"] = ctx.failing_since or utcnow()
        elif ctx.failing == "clear":
            values["failing_since"] = None
        values.update(ctx.pending)
        await retry_on_lock_conflict(lambda: self._write_finish(ctx, step, values))

    async def _write_finish(self, ctx: Context, step: Step, values: dict[str, Any]) -> None:
        async with self.runtime.sessions() as session:
            mapped_meanwhile = await record_waiting(
                session,
                tenant_id=ctx.tenant_id,
                integration_id=ctx.integration_id,
                sale_id=ctx.sale_id,
                previous_code=ctx.error_code,
                code=values["error_code"],
                data=step.data,
                since=ctx.loaded_at,
            )
            if mapped_meanwhile:
                # A SKU it waits for was mapped while this attempt ran: again at once.
                values = {**values, "next_attempt_at": utcnow()}
            if step.code == PREVIEW and not await still_previewing(session, ctx.integration_id):
                # The integration went live while this attempt previewed: invoice it now.
                values = {**values, "next_attempt_at": utcnow()}
            try:
                await self._update_owned(session, ctx.sale_id, **values)
            except LeaseLost:
                return
            if step.code == SIIGO_BUDGET_WAIT and step.next_at is not None:
                # The company's other sales would only be claimed to be deferred again.
                await queue.pause_claims(
                    session, ctx.integration_id, until=step.next_at, reason=SIIGO_BUDGET_WAIT
                )
            repeated_wait = is_budget_wait(step.code) and step.code == ctx.deferred_reason
            if not repeated_wait and (
                ctx.state != step.state.value or step.kind is not EventKind.CHECKED
            ):
                queue.add_event(
                    session,
                    sale_id=ctx.sale_id,
                    tenant_id=ctx.tenant_id,
                    kind=step.kind,
                    message=step.message,
                    data=step.data or {},
                )
            await session.commit()

    async def _failure(self, ctx: Context, exc: Exception) -> Step:
        attempt = ctx.attempts + 1
        outcome = classify(exc, attempt=attempt, policy=self.policy)
        if outcome.verdict is Verdict.RETRY:
            log.warning(
                "sale.attempt_failed",
                error=str(exc),
                error_type=type(exc).__name__,
                attempt=attempt,
            )
            ctx.failing = "set"
        elif outcome.verdict is Verdict.DEFER:
            ctx.failing = "keep"
        now = utcnow()
        if ctx.state in SETTLED and outcome.verdict in (Verdict.RETRY, Verdict.DEFER):
            # Re-checking a settled sale (an invoiced one's DIAN status or refunds; a sale that
            # waits for a person, whose order changed) failed for a passing reason: it keeps its
            # state, its reason and its attempts, and is looked at again later (waits that grow
            # with the outage; a deferral waits what the vendor asked).
            failing_for = now - (ctx.failing_since or now)
            delay = (
                outcome.delay
                if outcome.verdict is Verdict.DEFER
                else self.policy.recheck_delay(failing_for, self.rng)
            )
            keep = ctx.state == SaleState.NEEDS_ATTENTION.value
            return Step(
                state=SaleState(ctx.state),
                next_at=now + delay,
                message=text("sync.recheck_deferred", reason=outcome.message),
                kind=EventKind.RECHECK_DEFERRED,
                code=ctx.error_code if keep else None,
                error=ctx.error_message if keep else None,
                data=schedule_data(outcome.code, now + delay),
            )
        if outcome.burns_attempt and outcome.verdict is Verdict.RETRY:
            await self._bump_attempts(ctx)
        return await self._step_for(ctx, outcome, exc, attempt)

    async def _bump_attempts(self, ctx: Context) -> None:
        async with self.runtime.sessions() as session:
            await session.execute(
                update(Sale)
                .where(Sale.id == ctx.sale_id, Sale.lease_owner == self.worker_id)
                .values(attempts=Sale.attempts + 1)
            )
            await session.commit()
        ctx.attempts += 1

    async def _step_for(self, ctx: Context, outcome: Outcome, exc: Exception, attempt: int) -> Step:
        now = utcnow()
        if outcome.verdict is Verdict.DEFER:
            return Step(
                state=_keep_state(ctx),
                next_at=now + outcome.delay,
                message=outcome.message,
                kind=EventKind.DEFERRED,
                code=outcome.code,
                error=outcome.message,
                data=schedule_data(outcome.code, now + outcome.delay),
            )
        if outcome.verdict is Verdict.RETRY:
            # The last reason a person can act on stays the sale's reason while it retries and
            # if it ends dead; the passing failure is on the timeline.
            keep = actionable(ctx.error_code)
            code = ctx.error_code if keep else outcome.code
            error = ctx.error_message if keep else outcome.message
            since = ctx.failing_since or now
            if now - since >= self.policy.dead_after:
                hours = self.policy.dead_after.total_seconds() / 3600
                return Step(
                    state=SaleState.DEAD,
                    next_at=None,
                    message=text(
                        "sync.dead_after",
                        hours=f"{hours:g}",
                        attempts=attempt,
                        reason=outcome.message,
                    ),
                    kind=EventKind.DEAD,
                    code=code,
                    error=error,
                )
            return Step(
                state=SaleState.RETRYING,
                next_at=now + outcome.delay,
                message=f"Intento {attempt} falló: {outcome.message}",
                kind=EventKind.RETRYING,
                code=code,
                error=error,
                data=schedule_data(outcome.code, now + outcome.delay),
            )
        if outcome.verdict is Verdict.PERMISSION:
            assert isinstance(exc, PermissionMissingError)
            await self._mark_permission(ctx.ml_connection_id, exc)
            # A wait on the vendor: `upkeep` asks MercadoLibre again now and then and makes the
            # sale due once the permission works; the sale is re-checked on schedule meanwhile.
            return self._waiting_for_permission(ctx, outcome.message)
        if outcome.verdict is Verdict.REAUTH:
            if isinstance(exc, AuthError) and exc.vendor == "siigo":
                await self._mark_connection(ctx.siigo_connection_id, exc.message)
            # Reconnecting the account makes the sale due again.
            return _waiting(ctx, outcome.message, outcome.code, EventKind.NEEDS_REAUTH)
        return Step.attention(outcome.code, outcome.message)

    def _waiting_for_permission(self, ctx: Context, message: str) -> Step:
        """The MercadoLibre connection lacks a functional permission: a wait on the vendor, so
        the sale is `waiting` (a settled one keeps its state) with a scheduled re-check; it
        costs no MercadoLibre call while the connection still lacks it."""
        state = _keep_state(ctx)
        if state not in (SaleState.INVOICED, SaleState.NEEDS_ATTENTION):
            state = SaleState.WAITING
        code = "mercadolibre_needs_permission"
        at = utcnow() + timedelta(seconds=self.runtime.settings.worker.permission_check_seconds)
        return Step(
            state=state,
            next_at=at,
            message=message,
            kind=EventKind.NEEDS_PERMISSION,
            code=code,
            error=message,
            data=schedule_data(code, at),
        )

    async def _mark_connection(self, connection_id: int, message: str) -> None:
        async with self.runtime.sessions() as session:
            conn = await session.get(Connection, connection_id)
            if conn is not None:
                conn.status = ConnectionStatus.NEEDS_REAUTH.value
                conn.last_error = message
                conn.last_error_at = utcnow()
                await session.commit()

    async def _mark_permission(self, connection_id: int, exc: PermissionMissingError) -> None:
        permission = exc.permission or "unknown"
        async with self.runtime.sessions() as session:
            conn = await session.get(Connection, connection_id, with_for_update=True)
            if conn is not None:
                mark_needs_permission(
                    conn,
                    utcnow(),
                    permission=permission,
                    probe=exc.probe,
                    message=text(
                        "connection.needs_permission",
                        permission=text(f"permission.{permission}"),
                    ),
                )
                await session.commit()
        log.warning(
            "connection.needs_permission", connection_id=connection_id, permission=permission
        )

    # -- the sale itself -----------------------------------------------------------------------

    async def _advance_retrying_deadlocks(self, ctx: Context) -> Step:
        """Workers processing orders of one pack at once can deadlock each other on MariaDB.
        Advancing a sale is safe to run again from the start (that is how every retry and every
        crash recovery works), so a lost deadlock runs it again at once instead of costing the
        sale an attempt and a backoff."""
        for attempt in range(1, LOCK_CONFLICT_RETRIES + 1):
            try:
                return await self._advance(ctx)
            except DBAPIError as exc:
                if attempt == LOCK_CONFLICT_RETRIES or not is_lock_conflict(exc):
                    raise
                log.info("sale.lock_conflict_retried", attempt=attempt)
        raise AssertionError("unreachable")

    async def _advance(self, ctx: Context) -> Step:
        if ctx.ml_status == ConnectionStatus.NEEDS_PERMISSION.value:
            message = text("sync.waiting_permission", permission=text("permission.billing"))
            return self._waiting_for_permission(ctx, message)
        if ctx.ml_status != ConnectionStatus.ACTIVE.value:
            return _waiting_for_connection(ctx, "MercadoLibre")
        ml = meli_client(self.runtime, ctx.ml_connection_id, defer_when_busy=True)
        invoicer = Invoicer(
            self.runtime, ctx, owned=self._owned, update_owned=self._update_owned, ml=ml
        )
        if ctx.state in _BEFORE_INVOICE and ctx.siigo_status == ConnectionStatus.ACTIVE.value:
            # A sale its Siigo company cannot serve now is deferred before any vendor call; one
            # it can serve holds its first Siigo token from now on (given back if unused), so it
            # is never deferred after spending its MercadoLibre calls.
            await invoicer.siigo.reserve_first_request()
        try:
            return await self._advance_admitted(ctx, ml, invoicer)
        finally:
            if invoicer.siigo_created:
                try:
                    await invoicer.siigo.release_unused()
                except Exception:  # a token not given back only slows its company a little
                    log.warning("siigo.token_not_given_back", sale_id=ctx.sale_id, exc_info=True)

    async def _advance_admitted(
        self, ctx: Context, ml: MercadoLibreClient, invoicer: Invoicer
    ) -> Step:
        # Written with the sale whatever happens next: notifications coalesce on it.
        ctx.pending["fetched_at"] = utcnow()
        facts = await self._fetch(ctx, ml)
        await self._save_facts(ctx, facts)
        if is_elsewhere(ctx.manual):
            # The seller invoiced it by hand: never a document; a refund is only reported.
            return elsewhere_step(ctx.error_code, ctx.manual, facts)
        if ctx.invoice_loaded:
            existing, ctx.invoice_loaded = ctx.loaded_invoice, False
        else:
            existing = await invoicer.invoice_document()
        if existing is not None and existing.erp_id:
            if ctx.siigo_paused and facts.refunds:
                return _paused(ctx)  # a credit note would be sent
            return await invoicer.after_invoice(facts, existing)
        now = utcnow()
        recheck = timedelta(seconds=self.runtime.settings.worker.data_recheck_seconds)
        decision = decide(facts, ctx.settings, now=now, recheck=recheck)
        if decision.action is Action.SKIP:
            if existing is not None:  # an invoice in flight: resolve it before anything else
                return _then_credit(await invoicer.issue(facts, existing), facts)
            return Step(
                state=SaleState.SKIPPED,
                next_at=None,
                message=decision.message,
                kind=EventKind.SKIPPED,
                code=decision.reason,
            )
        if decision.action is Action.WAIT:
            # Re-checked on the next notification or sweep; a slow safety net besides those, or
            # the decision's own schedule when it waits for data MercadoLibre is processing.
            at = naive_utc(decision.recheck_at) or now + timedelta(hours=6)
            # A wait on vendor data on a schedule (billing info PROCESSING, a shipping cost)
            # is the sale's reason until then: its row says what it waits for and until when.
            scheduled = decision.recheck_at is not None
            return Step(
                state=SaleState.WAITING,
                next_at=at,
                message=decision.message,
                kind=EventKind.WAITING,
                code=decision.reason,
                error=decision.message if scheduled else None,
                data=schedule_data(decision.reason, at) if scheduled else None,
            )
        if decision.action is Action.ATTENTION:
            return Step.attention(decision.reason, decision.message)
        if ctx.siigo_status != ConnectionStatus.ACTIVE.value:
            return _waiting_for_connection(ctx, "Siigo")
        if ctx.preview and existing is None:
            return await invoicer.preview(facts)
        if ctx.siigo_paused:
            return _paused(ctx)
        return _then_credit(await invoicer.issue(facts, existing), facts)

    async def _order(self, ctx: Context, ml: MercadoLibreClient, order_id: str) -> dict[str, Any]:
        """The order as a search just returned it, or as MercadoLibre answers now (used once:
        a deadlock retry reads it again)."""
        found = ctx.prefetched.pop(order_id, None)
        if isinstance(found, dict) and str(found.get("id")) == order_id:
            return found
        return await ml.get_order(order_id)

    async def _fetch(self, ctx: Context, ml: MercadoLibreClient) -> SaleFacts:
        try:
            first = await self._order(ctx, ml, ctx.order_ids[0])
        except PermanentError as exc:
            if ctx.provisional and _not_the_sellers_order(exc):
                await self._discard(ctx, exc)
            raise
        pack_id = first.get("pack_id")
        pack: dict[str, Any] | None = None
        orders = {str(first["id"]): first}
        if pack_id:
            # First become the pack's sale, or merge into it if another order got there first
            # (then this sale is gone and nothing more is fetched for it).
            ctx.seen_versions = {
                str(o["id"]): str(o.get("last_updated") or "") for o in orders.values()
            }
            await self._rekey(ctx, str(pack_id), list(orders))
            pack = await ml.get_pack(str(pack_id))
            for ref in pack.get("orders") or []:
                oid = str(ref.get("id"))
                if oid not in orders:
                    orders[oid] = await self._order(ctx, ml, oid)
        ordered = list(orders.values())
        billing = await ml.get_billing_info(first)
        shipping_id = (first.get("shipping") or {}).get("id")
        costs = await ml.get_shipment_costs(str(shipping_id)) if shipping_id else None
        shipment = None
        if shipping_id and ctx.settings.invoice_trigger.value == "delivered":
            shipment = await ml.get_shipment(str(shipping_id))
        discounts: dict[str, dict[str, Any]] = {}
        for oid, order in orders.items():
            if "order_has_discount" in (order.get("tags") or []):
                found = await ml.get_discounts(oid)
                if found:
                    discounts[oid] = found
        return build_sale_facts(
            ordered,
            pack=pack,
            billing=billing,
            shipment_costs=costs,
            discounts=discounts or None,
            shipment=shipment,
        )

    async def _discard(self, ctx: Context, exc: PermanentError) -> None:
        """A sale known only from a notification whose order MercadoLibre says this seller does
        not have: anyone can post a notification (the application id is public), so it was
        forged or mistaken. The provisional sale goes away with its timeline, nothing is shown
        to the seller and no alert is raised; the metric counts it."""
        async with self.runtime.sessions() as session:
            await self._owned(session, ctx.sale_id)
            await session.execute(delete(SaleEvent).where(SaleEvent.sale_id == ctx.sale_id))
            await session.execute(delete(SaleOrder).where(SaleOrder.sale_id == ctx.sale_id))
            await session.execute(delete(Sale).where(Sale.id == ctx.sale_id))
            await session.commit()
        NOTIFICATIONS.labels("discarded_order_not_found").inc()
        log.warning(
            "sale.discarded_unknown_order",
            order_id=ctx.order_ids[0],
            integration_id=ctx.integration_id,
            status=exc.status_code,
        )
        raise _Discarded

    async def _rekey(self, ctx: Context, external_id: str, order_ids: list[str]) -> None:
        """The sale was created from an order; it is really its pack. Merge or rename.

        Several orders of one pack may be processed at once by several workers: one renames its
        sale to the pack id, the others find that sale and merge into it (raising `_Merged`). A
        rename that loses the race to the unique key runs again and merges; a deadlock between
        the two short transactions runs again too.
        """
        for _ in range(3):
            renamed = await retry_on_lock_conflict(
                lambda: self._rename_or_merge(ctx, external_id, order_ids)
            )
            if renamed:
                ctx.external_id = external_id
                return
        raise RuntimeError(f"could not give sale {ctx.sale_id} its pack id {external_id}")

    async def _rename_or_merge(self, ctx: Context, external_id: str, order_ids: list[str]) -> bool:
        async with self.runtime.sessions() as session:
            sale = await self._owned(session, ctx.sale_id)
            if sale.external_id == external_id:
                return True
            found = (
                await session.execute(
                    select(Sale.id, Sale.facts).where(
                        Sale.integration_id == ctx.integration_id,
                        Sale.external_id == external_id,
                    )
                )
            ).first()
            other, other_facts = (None, None) if found is None else (found[0], found[1])
            if other is not None:
                # The pack already has its sale: move our orders and timeline there.
                await session.execute(
                    update(SaleOrder).where(SaleOrder.sale_id == sale.id).values(sale_id=other)
                )
                await session.execute(
                    update(SaleEvent).where(SaleEvent.sale_id == sale.id).values(sale_id=other)
                )
                await session.execute(delete(Sale).where(Sale.id == sale.id))
                await self._link_orders(session, ctx, other, order_ids)
                if not _already_read(other_facts, ctx.seen_versions):
                    # The pack's sale has not read these orders at this version: again now.
                    await queue.make_sale_due(session, other)
                await session.commit()
                raise _Merged
            sale.external_id = external_id
            try:
                await session.flush()
            except IntegrityError:
                # Another order of this pack was renamed to the pack id first: merge next time.
                await session.rollback()
                return False
            await self._link_orders(session, ctx, sale.id, order_ids)
            await session.commit()
            return True

    async def _link_orders(
        self, session: Any, ctx: Context, sale_id: int, order_ids: list[str]
    ) -> None:
        await insert_many_ignore(
            session,
            SaleOrder,
            [
                {"integration_id": ctx.integration_id, "order_id": oid, "sale_id": sale_id}
                for oid in order_ids
            ],
        )

    async def _save_facts(self, ctx: Context, facts: SaleFacts) -> None:
        ctx.pending = {
            **ctx.pending,
            # When ConexAPI read these facts: a missed-feed entry received before then is a
            # change already seen (`sweep_window.unchanged_orders`).
            "facts": {**facts_to_json(facts), "read_at": _aware(ctx.loaded_at).isoformat()},
            "total": facts.total_paid.quantize(Decimal("0.01")),
            "buyer_name": buyer_name(facts),
            "buyer_ident": (facts.buyer.identification if facts.buyer else "")[:40],
            "sale_date": facts.sale_date,
            "order_ids": list(facts.order_ids),
        }
        if len(facts.order_ids) > 1:
            # A pack: every order points at this sale at once, so their notifications find it.
            await retry_on_lock_conflict(lambda: self._write_pack(ctx))

    async def _write_pack(self, ctx: Context) -> None:
        async with self.runtime.sessions() as session:
            await self._link_orders(session, ctx, ctx.sale_id, ctx.pending["order_ids"])
            await self._update_owned(session, ctx.sale_id, **ctx.pending)
            await session.commit()
        ctx.pending = {}


class _Merged(Exception):
    pass


def _already_read(facts: Any, versions: dict[str, str]) -> bool:
    """Whether a pack's sale already read each of these orders at this version or a newer one
    (its facts' `order_versions`): merging an order's provisional sale into it then needs no
    new read of the pack. Unknown or unreadable versions mean it did not."""
    if not versions or not isinstance(facts, dict):
        return False
    read = facts.get("order_versions")
    if not isinstance(read, dict):
        return False
    for order_id, version in versions.items():
        seen, now = _moment(read.get(order_id)), _moment(version)
        if seen is None or now is None or now > seen:
            return False
    return True


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _Discarded(Exception):
    """The provisional sale was deleted: its order does not exist for this seller."""


def _not_the_sellers_order(exc: PermanentError) -> bool:
    """MercadoLibre's answer for an order this seller does not have: 404 (no such order) or a
    403 that is not the PolicyAgent's (the order is another user's, docs/vendors/mercadolibre.md
    §1.3). A PolicyAgent 403 is the connection lacking a permission and is handled as such."""
    if isinstance(exc, PermissionMissingError):
        return False
    return isinstance(exc, NotFoundError) or exc.status_code == 403


def _then_credit(step: Step, facts: SaleFacts) -> Step:
    """A sale refunded or cancelled by now is due again at once: its credit note comes next."""
    if step.state is SaleState.INVOICED and facts.refunds:
        step.next_at = utcnow()
    return step


SIIGO_BUDGET_WAIT = "siigo_budget_wait"
# States in which an attempt is expected to call Siigo (to invoice).
_BEFORE_INVOICE = frozenset({SaleState.PENDING.value, SaleState.RETRYING.value})


def is_budget_wait(code: str | None) -> bool:
    """A deferral for our own request budget (`sync.policy`: `<vendor>_budget_wait`)."""
    return code is not None and code.endswith("_budget_wait")


def _keep_state(ctx: Context) -> SaleState:
    state = SaleState(ctx.state)
    return SaleState.PENDING if state is SaleState.DEAD else state


def _waiting_for_connection(ctx: Context, vendor: str) -> Step:
    message = text("sync.waiting_reauth", vendor=vendor)
    return _waiting(ctx, message, f"{vendor.lower()}_needs_reauth", EventKind.NEEDS_REAUTH)


def _paused(ctx: Context) -> Step:
    """The breaker of the sale's Siigo company paused sending: the sale keeps its state and
    waits, not due, until a person resumes sending (`sync.breaker.resume` makes it due)."""
    message = text("breaker.sale_paused")
    return _waiting(ctx, message, breaker.PAUSED_CODE, EventKind.DEFERRED)


def _waiting(ctx: Context, message: str, code: str, kind: EventKind) -> Step:
    """The sale keeps its state, not due: what it waits for makes it due again (`upkeep`)."""
    return Step(
        state=_keep_state(ctx),
        next_at=None,
        message=message,
        kind=kind,
        code=code,
        error=message,
    )
