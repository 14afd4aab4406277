"""Tenant-scoped queries on sales and their documents (the API never sees another tenant's)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    union,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defer

from conexapi.core.errors import Unprocessable
from conexapi.db import utcnow
from conexapi.operations.schemas import SaleFilter
from conexapi.operations.tally import state_counts
from conexapi.sales.clock import COLOMBIA
from conexapi.sales.states import RETRYABLE_BY_HAND, SaleState
from conexapi.sales.terms import (
    PAIR_OVERFLOW,
    TERM_KEY,
    TERM_WORD,
    fold,
    pair_words,
    search_words,
)
from conexapi.sync.models import Document, Sale, SaleEvent, SaleOrder, SalePair, SaleTerm
from conexapi.sync.queue import Priority

PHASES_ALL = ("a", "b")  # needs_attention first (the queue a person works through), then the rest
COUNT_CAP = 10_000  # filtered totals are counted up to here; beyond it "more than 10,000"
# A search's matching ids are read into the list's query up to here (a row each to transfer and
# parse: 10,000 cost more than the rest of the request); beyond, the list semi-joins the terms.
ID_LIST_MAX = 2_000
# The backlog is counted up to here ("más de 10.000"), and places in the queue are ranked up to
# `PLACE_CAP` ("más de 1.000 antes"): both read an index range that stops there, whatever the
# backlog (docs/big-sellers.md, "Backlog and places").
BACKLOG_CAP = 10_000
PLACE_CAP = 1_000
WAITING = (SaleState.PENDING.value, *sorted(s.value for s in RETRYABLE_BY_HAND))
ATTENTION = SaleState.NEEDS_ATTENTION.value


@dataclass(frozen=True)
class Cursor:
    """Where a keyset page starts: after the sale (`sort_at`, `id`) of `phase`."""

    phase: str
    sort_at: datetime
    sale_id: int

    def encode(self) -> str:
        raw = json.dumps([self.phase, self.sort_at.isoformat(), self.sale_id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            phase, at, sale_id = json.loads(raw)
            moment = datetime.fromisoformat(at)
            if phase not in ("a", "b", "s") or not isinstance(sale_id, int):
                raise ValueError(phase)
        except (ValueError, TypeError, binascii.Error) as exc:
            raise Unprocessable(
                "The cursor is not one this API gave: start again without it.",
                code="invalid_cursor",
            ) from exc
        return cls(phase, moment if moment.tzinfo else moment.replace(tzinfo=UTC), sale_id)


@dataclass(frozen=True)
class Found:
    """What a search matched: the condition on `sale` (None: nothing to add) and how many
    sales it matched, counted up to the repository's cap + 1. `matches`: when they are few
    (up to `id_list_max`), the select of their ids (`keyed`: and their sort keys), each once,
    from which the list reads its page and the filtered total in one statement."""

    condition: Any
    matched: int
    matches: Any = None
    keyed: bool = False  # `matches` also selects each sale's sort key (`at`)


@dataclass
class PageResult:
    sales: list[Sale]
    total: int
    total_exact: bool
    next_cursor: str | None


class SaleRepository:
    def __init__(
        self,
        session: AsyncSession,
        tenant_id: int,
        *,
        count_cap: int = COUNT_CAP,
        id_list_max: int = ID_LIST_MAX,
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.count_cap = count_cap
        self.id_list_max = id_list_max

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _conditions(self, f: SaleFilter, sale: Any = Sale) -> list[Any]:
        """The filter without the search, on `sale` (or an alias): every one of them is an
        index prefix."""
        where: list[Any] = []
        if f.integration_id is not None:
            where.append(sale.integration_id == f.integration_id)
        where.append(sale.tenant_id == self.tenant_id)
        if f.state is not None:
            where.append(sale.state == f.state.value)
        return where + _dates(f, sale.sort_at)

    async def _search(self, q: str) -> Found:
        """What `q` finds: an order, pack or invoice number, or a buyer's identification (typed
        with or without dots and dash), is an exact indexed lookup; then the words of the
        buyer's name and identification (each word of `q` begins one of them); only when no
        name matches, and for 3 characters or more, the beginning of a key of the sale's facts
        (the buyer's nickname, a SKU). Names and keys are read from `sale_term`, this tenant's
        part of its index only (docs/big-sellers.md, "Search")."""
        q = q.strip()
        digits = re.sub(r"[.\-\s]", "", q)
        idents = [q, digits] if digits != q and digits.isdigit() else [q]
        exact = union(
            select(SaleOrder.sale_id.label("sid"))
            .join(Sale, Sale.id == SaleOrder.sale_id)
            .where(SaleOrder.order_id == q, Sale.tenant_id == self.tenant_id),
            select(Sale.id.label("sid")).where(
                Sale.external_id == q, Sale.tenant_id == self.tenant_id
            ),
            select(Sale.id.label("sid")).where(
                Sale.buyer_ident.in_(idents), Sale.tenant_id == self.tenant_id
            ),
            select(Document.sale_id.label("sid")).where(
                Document.number == q, Document.tenant_id == self.tenant_id
            ),
        )
        numbers = select(exact.subquery().c.sid)
        ids = list((await self.session.execute(numbers.limit(1000))).scalars())
        if ids:
            return Found(Sale.id.in_(ids), len(ids), numbers)
        words = search_words(q)
        by_name = Found(false(), 0)
        if words:
            pairs = await self._pair_match(words)
            by_name = await self._terms(TERM_WORD, [[w] for w in words], pairs)
        if by_name.matched or len(q) < 3:
            return by_name
        keys = [fold(q)] + ([digits] if len(idents) > 1 else [])
        return await self._terms(TERM_KEY, [keys])

    async def _pair_match(self, words: list[str]) -> Any:
        """The sales with every one of `words` (the name search's meaning), read from
        `sale_pair` when two of them begin with a letter and neither begins the other (then
        the words they begin are two different words of the sale, so the pair is stored): the
        pairs "F s..." for each distinct word F that begins like one of the two (at most
        `PAIR_FIRSTS` of them, one index seek each), and the few sales whose
        names have no pairs ("*"); the other words are checked per sale. None when no two
        words qualify, or both begin too many distinct words: `_terms` then semi-joins the
        words' ranges."""
        letters = sorted(pair_words(words), key=len, reverse=True)
        chosen = next(
            (
                (a, b)
                for i, a in enumerate(letters)
                for b in letters[i + 1 :]
                if not a.startswith(b) and not b.startswith(a)
            ),
            None,
        )
        if chosen is None:
            return None
        for order in (chosen, chosen[::-1]):
            first, second = order
            firsts = await self._distinct_words(first)
            if firsts is not None:
                break
        else:
            return None
        pair, over = aliased(SalePair), aliased(SalePair)
        rest = [w for w in words if w not in (first, second)]
        found = (
            select(pair.sale_id.label("sid"), pair.sort_at.label("at"))
            .where(
                pair.tenant_id == self.tenant_id,
                self._prefixes(pair.pair, [f"{f} {second}" for f in firsts]),
                *(self._has_word(pair.sale_id, w) for w in rest),
            )
            .union(
                select(over.sale_id.label("sid"), over.sort_at.label("at")).where(
                    over.tenant_id == self.tenant_id,
                    over.pair == PAIR_OVERFLOW,
                    *(self._has_word(over.sale_id, w) for w in words),
                )
            )
            .subquery()
        )
        return found

    async def _distinct_words(self, prefix: str) -> list[str] | None:
        """The distinct words of this tenant's names beginning with `prefix`, one index seek
        each (the next word after the last one found; neither database skips through a range
        of the index by itself), or None past `PAIR_FIRSTS` of them."""
        found: list[str] = []
        while len(found) <= PAIR_FIRSTS:
            term = aliased(SaleTerm)
            stmt = select(term.term).where(
                term.tenant_id == self.tenant_id,
                term.kind == TERM_WORD,
                self._prefixes(term.term, [prefix]),
            )
            if found:
                stmt = stmt.where(term.term > found[-1])
            word = (await self.session.execute(stmt.order_by(term.term).limit(1))).scalar()
            if word is None:
                return found
            found.append(word)
        return None

    def _has_word(self, sale_id: Any, prefix: str) -> Any:
        """The sale has a word beginning with `prefix`: its few terms, read by its id."""
        term = aliased(SaleTerm)
        return exists().where(
            term.sale_id == sale_id, term.kind == TERM_WORD, self._prefixes(term.term, [prefix])
        )

    async def _terms(self, kind: str, groups: list[list[str]], found: Any = None) -> Found:
        """The sales with, for every group, a term of `kind` that begins with one of the
        group's prefixes: one range of `sale_term` per group, semi-joined. Up to
        `id_list_max` matches, their ids are collected (one query) and the list pages them;
        up to `count_cap`, the list semi-joins the same ranges (cost grows with the matches,
        at most `count_cap`); beyond, the search is broad (at least 1 sale in every
        `history / count_cap` matches), and the list reads the index newest first and checks
        each sale's terms until the page is full. The count comes with the ids, or from one
        count of the ranges up to `count_cap` + 1. `found`: the matches already chosen (by
        word pairs), as a subquery of `sid` and `at`."""
        groups = sorted(groups, key=lambda g: -min(len(p) for p in g))  # longest first
        if found is None:
            first, *rest = groups
            lead = self._term_match(kind, first, keyed=True)
            found = lead.where(
                *(lead.selected_columns.sid.in_(self._term_match(kind, g)) for g in rest)
            ).subquery()
        matching = select(found.c.sid)
        distinct = matching.distinct()
        counted = select(func.count()).select_from(distinct.limit(self.count_cap + 1).subquery())
        n = int((await self.session.execute(counted)).scalar_one())
        if n <= min(self.id_list_max, self.count_cap):
            keyed = select(found.c.sid, found.c.at).distinct()
            return Found(Sale.id.in_(matching) if n else false(), n, keyed if n else None, True)
        if n <= self.count_cap:
            return Found(Sale.id.in_(matching), n)
        checks = []
        for group in groups:
            term = aliased(SaleTerm)
            hit = (
                select(term.sale_id)
                .where(term.sale_id == Sale.id, term.kind == kind, self._prefixes(term.term, group))
                .limit(1)
                .scalar_subquery()
            )
            checks.append(hit.is_not(None))
        return Found(and_(*checks), n)

    def _term_match(self, kind: str, prefixes: list[str], *, keyed: bool = False) -> Any:
        """The sales with a term of `kind` beginning with one of `prefixes`, as a subquery
        (with `keyed`, each with its sort key: columns `sid` and `at`).
        MariaDB is told not to check it per candidate through `ix_sale_term_sale_id` (a
        random lookup for each of tens of thousands of candidates: seconds on a big tenant)
        but to read its range once and semi-join (materialization: a hash of the ids)."""
        term = aliased(SaleTerm)
        columns = [term.sale_id.label("sid"), term.sort_at.label("at")] if keyed else [term.sale_id]
        stmt = select(*columns).where(
            term.tenant_id == self.tenant_id, term.kind == kind, self._prefixes(term.term, prefixes)
        )
        stmt = _mariadb_hint(stmt, term, "IGNORE INDEX (ix_sale_term_sale_id)")
        return stmt

    def _prefixes(self, column: Any, prefixes: list[str]) -> Any:
        """`term` begins with one of `prefixes` (already folded): LIKE on MariaDB (its
        collation ignores case and accents, and the index serves a prefix LIKE); a range on
        SQLite, whose LIKE would not use the index."""
        if self._dialect() in ("mysql", "mariadb"):
            return or_(
                false(), *(column.like(f"{_escape_like(p)}%", escape="\\") for p in prefixes)
            )
        return or_(false(), *(and_(column >= p, column < p + _TOP) for p in prefixes))

    def _due(self, now: datetime, states: Sequence[str] = WAITING) -> list[Any]:
        return [
            Sale.tenant_id == self.tenant_id,
            Sale.state.in_(list(states)) if len(states) > 1 else Sale.state == states[0],
            Sale.next_attempt_at.is_not(None),
            Sale.next_attempt_at <= now,
        ]

    async def due_count(self, now: datetime, *, cap: int = BACKLOG_CAP) -> int:
        """How many of the tenant's sales wait for the worker and are due now, counted inside
        `ix_sale_tenant_state_due` up to `cap` + 1 (more than `cap`: the count is not exact)."""
        due = select(Sale.id).where(*self._due(now)).limit(cap + 1).subquery()
        return int((await self.session.execute(select(func.count()).select_from(due))).scalar_one())

    async def places(
        self, sale_ids: Sequence[int], now: datetime, *, cap: int = PLACE_CAP
    ) -> dict[int, int]:
        """The place of each of these sales in the tenant's queue of due sales, soonest due
        first (`sync.queue.claim_due`), for the first `cap` places: the first `cap` due sales
        of each waiting state, read in `ix_sale_tenant_state_due`'s order (each state's range
        stops after `cap` entries), ranked together. A sale further back has no place here;
        the cost does not grow with the backlog."""
        if not sale_ids:
            return {}
        firsts = []
        for state in WAITING:
            head = (
                select(Sale.id.label("sid"), Sale.next_attempt_at.label("at"))
                .where(*self._due(now, [state]))
                .order_by(Sale.next_attempt_at, Sale.id)
                .limit(cap)
                .subquery()
            )
            firsts.append(select(head.c.sid, head.c.at))
        heads = union_all(*firsts).subquery()
        order = func.row_number().over(order_by=(heads.c.at, heads.c.sid))
        ranked = select(heads.c.sid, order.label("place")).subquery()
        rows = await self.session.execute(
            select(ranked.c.sid, ranked.c.place).where(
                ranked.c.sid.in_(list(sale_ids)), ranked.c.place <= cap
            )
        )
        return {int(i): int(n) for i, n in rows.all()}

    async def states(self, sale_ids: Sequence[int]) -> list[Sale]:
        if not sale_ids:
            return []
        rows = await self.session.execute(
            select(Sale).where(Sale.tenant_id == self.tenant_id, Sale.id.in_(sale_ids))
        )
        return list(rows.scalars())

    async def where(self, f: SaleFilter) -> list[Any]:
        return (await self._where(f))[0]

    async def _where(self, f: SaleFilter) -> tuple[list[Any], Found | None]:
        where = self._conditions(f)
        found = None
        if f.q and f.q.strip():
            found = await self._search(f.q)
            where.append(found.condition)
        return where, found

    async def _count(self, where: list[Any]) -> tuple[int, bool]:
        """How many sales match, counted up to `count_cap` (then not exact)."""
        limited = select(Sale.id).where(*where).limit(self.count_cap + 1).subquery()
        n = int(
            (await self.session.execute(select(func.count()).select_from(limited))).scalar_one()
        )
        return (self.count_cap, False) if n > self.count_cap else (n, True)

    async def total(
        self, f: SaleFilter, where: list[Any], found: Found | None = None
    ) -> tuple[int, bool]:
        """The tallies without search or dates; the search's own count when nothing else
        filters (it was collected with the ids); else counted through the index, capped."""
        dates = f.date_from is not None or f.date_to is not None
        if not f.q and not dates:
            counts = await self.counts(f.integration_id)
            if f.state is not None:
                return counts.get(f.state.value, 0), True
            return sum(counts.values()), True
        if found is not None and not dates and f.state is None and f.integration_id is None:
            if found.matched > self.count_cap:
                return self.count_cap, False
            return found.matched, True
        return await self._count(where)

    def _phases(self, f: SaleFilter) -> list[tuple[str, Any]]:
        if f.state is not None:
            return [("s", None)]
        return [("a", Sale.state == ATTENTION), ("b", Sale.state != ATTENTION)]

    async def _ids(
        self, where: list[Any], extra: Any, *, after: Cursor | None, offset: int, limit: int
    ) -> list[tuple[int, datetime]]:
        stmt = select(Sale.id, Sale.sort_at).where(*where)
        if extra is not None:
            stmt = stmt.where(extra)
        if after is not None:
            stmt = stmt.where(*_older(Sale.sort_at, Sale.id, after))
        stmt = stmt.order_by(Sale.sort_at.desc(), Sale.id.desc()).offset(offset).limit(limit)
        rows = (await self.session.execute(stmt)).all()
        return [(int(i), at) for i, at in rows if at is not None]

    async def page(
        self,
        f: SaleFilter,
        *,
        page: int = 1,
        page_size: int,
        cursor: Cursor | None = None,
        with_total: bool = True,
    ) -> PageResult:
        """One page: needs_attention first (without a state filter), then newest first. By
        `cursor` (keyset: reads only the page) or by `page` (skips over index entries)."""
        where, found = await self._where(f)
        if found is not None and found.matches is not None:
            return await self._page_of_matches(
                f, found, page=page, page_size=page_size, cursor=cursor, with_total=with_total
            )
        phases = self._phases(f)
        picked: list[tuple[str, int, datetime]] = []
        want = page_size + 1
        skip = 0 if cursor is not None else (page - 1) * page_size
        started = cursor is None
        for name, extra in phases:
            if not started:
                if cursor is None or name != cursor.phase:
                    continue
                started = True
                rows = await self._ids(
                    where, extra, after=cursor, offset=0, limit=want - len(picked)
                )
            else:
                if skip and len(phases) > 1 and name == "a":
                    n_a, _ = await self._count([*where, extra])
                    if skip >= n_a:
                        skip -= n_a
                        continue
                rows = await self._ids(
                    where, extra, after=None, offset=skip, limit=want - len(picked)
                )
                skip = 0
            picked.extend((name, i, at) for i, at in rows)
            if len(picked) >= want:
                break
        more = len(picked) > page_size
        picked = picked[:page_size]
        sales = await self._load([i for _, i, _ in picked])
        next_cursor = None
        if more and picked:
            name, last_id, last_at = picked[-1]
            next_cursor = Cursor(name, last_at, last_id).encode()
        total, exact = await self.total(f, where, found) if with_total else (0, False)
        return PageResult(sales, total, exact, next_cursor)

    async def _page_of_matches(
        self,
        f: SaleFilter,
        found: Found,
        *,
        page: int,
        page_size: int,
        cursor: Cursor | None,
        with_total: bool,
    ) -> PageResult:
        """`page` for a search of few matches, in one statement: their ids joined to `sale`
        (each match read once from an index, in the database), filtered, counted (a window over the
        filtered matches: the exact total), then the page past `cursor` or `page`, in the
        list's order (needs_attention first without a state filter, then newest first). Only
        the page's rows come back."""
        ids = found.matches.subquery()
        if found.keyed and f.state is None and f.integration_id is None:
            # The matches carry their sort key: only those needing attention are looked up,
            # in the small needs_attention part of `ix_sale_tenant_state_sort`.
            sale = aliased(Sale, name="attention")
            needs = select(sale.id).where(
                sale.tenant_id == self.tenant_id,
                sale.state == ATTENTION,
                sale.sort_at == ids.c.at,
                sale.id == ids.c.sid,
            )
            needs = _mariadb_hint(needs, sale, "FORCE INDEX (ix_sale_tenant_state_sort)")
            matched = select(
                ids.c.sid.label("sid"),
                ids.c.at.label("at"),
                case((needs.exists(), "a"), else_="b").label("phase"),
                func.count().over().label("n"),
            ).where(ids.c.at.is_not(None), *_dates(f, ids.c.at))
        else:
            sale = aliased(Sale, name="paged")  # named apart from the matches' own `sale`
            matched = (
                select(
                    sale.id.label("sid"),
                    sale.sort_at.label("at"),
                    case((sale.state == ATTENTION, "a"), else_="b").label("phase"),
                    func.count().over().label("n"),
                )
                .join(ids, sale.id == ids.c[0])
                .where(*self._conditions(f, sale), sale.sort_at.is_not(None))
            )
            # MariaDB would read each match's row by its primary key (45 ms for 630 matches
            # not in memory at 1,000,000 sales); this index has every column needed (4 ms).
            matched = _mariadb_hint(matched, sale, "FORCE INDEX (ix_sale_tenant_id_sort)")
        inner = matched.subquery()
        phase = literal("s") if f.state is not None else inner.c.phase
        stmt = select(inner.c.sid, inner.c.at, phase, inner.c.n).order_by(
            phase, inner.c.at.desc(), inner.c.sid.desc()
        )
        if cursor is not None:
            names = [name for name, _ in self._phases(f)]
            before = and_(*_older(inner.c.at, inner.c.sid, cursor))
            if cursor.phase not in names:
                stmt = stmt.where(false())
            elif cursor.phase == names[0] and len(names) > 1:
                stmt = stmt.where(or_(phase != cursor.phase, before))
            else:
                stmt = stmt.where(phase == cursor.phase, before)
        else:
            stmt = stmt.offset((page - 1) * page_size)
        rows = (await self.session.execute(stmt.limit(page_size + 1))).all()
        picked = rows[:page_size]
        next_cursor = None
        if len(rows) > page_size:
            last = picked[-1]
            next_cursor = Cursor(last[2], last[1], int(last[0])).encode()
        sales = await self._load([int(r[0]) for r in picked])
        if not with_total:
            return PageResult(sales, 0, False, next_cursor)
        if rows:
            return PageResult(sales, int(rows[0][3]), True, next_cursor)
        total, exact = await self._count([*self._conditions(f), found.condition])
        return PageResult(sales, total, exact, next_cursor)

    async def _load(self, ids: list[int]) -> list[Sale]:
        """A page's sales, in order, without the facts and profit the list does not show (rows
        of a long history are scattered: the less read and parsed, the better); reading them
        raises instead of loading them behind the caller's back."""
        if not ids:
            return []
        rows = await self.session.execute(
            select(Sale).where(Sale.id.in_(ids)).options(*_deferred(Sale.facts, Sale.profit))
        )
        by_id = {s.id: s for s in rows.scalars()}
        return [by_id[i] for i in ids if i in by_id]

    async def iterate(self, f: SaleFilter, *, batch: int = 2000) -> AsyncIterator[list[Sale]]:
        """Every matching sale, oldest first, `batch` at a time by keyset (for reports and
        exports: memory stays bounded however long the history)."""
        where = await self.where(f)
        after: tuple[datetime, int] | None = None
        while True:
            stmt = select(Sale).where(*where)
            if after is not None:
                stmt = stmt.where(
                    Sale.sort_at >= after[0], or_(Sale.sort_at > after[0], Sale.id > after[1])
                )
            rows = list(
                (
                    await self.session.execute(stmt.order_by(Sale.sort_at, Sale.id).limit(batch))
                ).scalars()
            )
            if not rows:
                return
            yield rows
            last = rows[-1]
            assert last.sort_at is not None
            after = (last.sort_at, last.id)
            if len(rows) < batch:
                return

    async def counts(self, integration_id: int | None = None) -> dict[str, int]:
        return await state_counts(self.session, self.tenant_id, integration_id)

    async def get(self, sale_id: int) -> Sale | None:
        return (
            await self.session.execute(
                select(Sale).where(Sale.id == sale_id, Sale.tenant_id == self.tenant_id)
            )
        ).scalar_one_or_none()

    async def documents(
        self, sale_ids: Sequence[int], *, summary: bool = False
    ) -> dict[int, list[Document]]:
        """These sales' documents; with `summary`, without the request body, breakdown and
        stamp errors (what a list shows does not need them; reading them then raises)."""
        if not sale_ids:
            return {}
        stmt = select(Document).where(
            Document.tenant_id == self.tenant_id, Document.sale_id.in_(sale_ids)
        )
        if summary:
            stmt = stmt.options(
                *_deferred(Document.body, Document.breakdown, Document.stamp_errors)
            )
        rows = await self.session.execute(stmt.order_by(Document.kind, Document.seq))
        grouped: dict[int, list[Document]] = {}
        for doc in rows.scalars():
            grouped.setdefault(doc.sale_id, []).append(doc)
        return grouped

    async def events(self, sale_id: int) -> list[SaleEvent]:
        rows = await self.session.execute(
            select(SaleEvent)
            .where(SaleEvent.sale_id == sale_id, SaleEvent.tenant_id == self.tenant_id)
            .order_by(SaleEvent.created_at, SaleEvent.id)
        )
        return list(rows.scalars())

    async def events_of(self, sale_ids: Sequence[int]) -> dict[int, list[SaleEvent]]:
        """The timelines of many sales in one query (oldest event first in each)."""
        if not sale_ids:
            return {}
        rows = await self.session.execute(
            select(SaleEvent)
            .where(SaleEvent.tenant_id == self.tenant_id, SaleEvent.sale_id.in_(sale_ids))
            .order_by(SaleEvent.sale_id, SaleEvent.created_at, SaleEvent.id)
        )
        grouped: dict[int, list[SaleEvent]] = {}
        for event in rows.scalars():
            grouped.setdefault(event.sale_id, []).append(event)
        return grouped

    async def facts_of(self, sale_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The stored facts of many sales in one query."""
        if not sale_ids:
            return {}
        rows = await self.session.execute(
            select(Sale.id, Sale.facts).where(
                Sale.tenant_id == self.tenant_id, Sale.id.in_(sale_ids)
            )
        )
        return {int(i): facts or {} for i, facts in rows.all()}

    async def make_invoiced_due(self, sale_ids: Sequence[int]) -> int:
        """Makes invoiced sales due now, to look at their invoice again (an audit, a
        correction); their state and attempts do not change."""
        return await self._make_due(sale_ids, [SaleState.INVOICED.value], reset_attempts=False)

    async def make_due(self, sale_ids: Sequence[int]) -> int:
        """Makes retryable sales due now (a fresh round of attempts)."""
        states = [s.value for s in RETRYABLE_BY_HAND]
        return await self._make_due(sale_ids, states, reset_attempts=True)

    async def _make_due(
        self, sale_ids: Sequence[int], states: list[str], *, reset_attempts: bool
    ) -> int:
        if not sale_ids:
            return 0
        # A person asked: served before live, sweep and backfill work (`queue.Priority`).
        values: dict[str, Any] = {"next_attempt_at": utcnow(), "priority": int(Priority.RETRIED)}
        if reset_attempts:
            values["attempts"] = 0
        result = await self.session.execute(
            update(Sale)
            .where(
                Sale.tenant_id == self.tenant_id,
                Sale.id.in_(sale_ids),
                Sale.state.in_(states),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def retryable_ids(self, f: SaleFilter) -> list[int]:
        stmt = (
            select(Sale.id)
            .where(*await self.where(f))
            .where(Sale.state.in_([s.value for s in RETRYABLE_BY_HAND]))
        )
        return list((await self.session.execute(stmt.limit(10_000))).scalars())


PAIR_FIRSTS = 20  # distinct words beginning like a searched word, past which pairs are not read
_TOP = "\U0010ffff"  # above every character: `p <= x < p + _TOP` is "x begins with p" (SQLite)


def _older(sort_at: Any, sale_id: Any, cursor: Cursor) -> list[Any]:
    """After `cursor` in the list's order (newest first): older, or as old with a lower id;
    a range on the sort key, then the tie."""
    return [
        sort_at <= cursor.sort_at,
        or_(sort_at < cursor.sort_at, sale_id < cursor.sale_id),
    ]


def _mariadb_hint(stmt: Any, table: Any, hint: str) -> Any:
    """An index hint for MariaDB (MySQL's dialect name too); other databases plan alone."""
    for dialect in ("mysql", "mariadb"):
        stmt = stmt.with_hint(table, hint, dialect)
    return stmt


def _deferred(*columns: Any) -> list[Any]:
    return [defer(c, raiseload=True) for c in columns]


def _dates(f: SaleFilter, sort_at: Any) -> list[Any]:
    """The filter's dates (Colombia's days) on a sort key column."""
    where = []
    if f.date_from is not None:
        where.append(sort_at >= _colombia_midnight(f.date_from))
    if f.date_to is not None:
        where.append(sort_at < _colombia_midnight(f.date_to) + timedelta(days=1))
    return where


def _colombia_midnight(day: Any) -> datetime:
    return datetime.combine(day, time(0), tzinfo=COLOMBIA)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
