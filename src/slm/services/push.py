"""Pushed measurement batches (``POST /api/v1/measurements`` and ``slm ingest --batch``).

A batch is ``{"idempotency_key": "...", "items": [{"series", "timestamp", "value"}, ...]}``;
each item *adds* ``value`` events to the bucket of ``series`` that starts at ``timestamp``
(whole Unix seconds UTC; RFC 3339 with any offset or Unix seconds are accepted and
normalised to UTC). File ingest replaces bucket values; push adds to them, so a retry must
never be applied twice:

- the key and the SHA-256 of the batch's normalised items are stored in the same
  transaction that adds the counts: either both are written or neither;
- the same key with the same items again is a *duplicate*: nothing is added, the first
  receipt is returned (``duplicate: true``);
- the same key with different items is a conflict (``IdempotencyConflict``, HTTP 409).

Checks, all before anything is kept (a bad batch writes nothing): every item is
validated (the error names ``items[i].field``): its instant must lie in the representable
range and its value be a count from 0 to 2**53 (``slm.domain.instants``); a timestamp
more than the future tolerance (default 5m) ahead of the server's clock is refused as
clock skew of the sender; a count that would make its stored bucket hold more than 2**53
rolls the whole transaction back. Items that
land before the newest stored bucket of their series (*late*) or before an earlier item of
the same series in the batch (*out of order*) are accepted, counted in the receipt and
logged; ``slm serve`` re-evaluates the SLOs that read those series.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
)

from slm.domain.durations import format_duration
from slm.domain.errors import FieldProblem
from slm.domain.instants import (
    EARLIEST,
    LATEST,
    MAX_VALUE,
    UNIT_NAMES,
    detect_unit,
    instant_problem,
    range_text,
)
from slm.services.errors import IdempotencyConflict, InvalidBatch, MissingIdempotencyKey
from slm.services.ports import Clock, SystemClock
from slm.store.db import Store
from slm.store.push import PushBatchRecord, PushRepository

log = logging.getLogger("slm.push")

DEFAULT_FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_ITEMS = 100_000
MAX_KEY = 200


def _unix_seconds(value: object) -> int:
    """An RFC 3339 instant with an offset, or Unix seconds, as whole Unix seconds UTC in the
    representable range (``slm.domain.instants``)."""
    if isinstance(value, bool):
        raise ValueError("expected an RFC 3339 instant or Unix seconds, not a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
        problem = instant_problem(seconds)
        if problem is not None:
            unit, hint = detect_unit(seconds), ""
            if unit is not None and unit != "s":
                hint = f" (it looks like {UNIT_NAMES[unit]}; send seconds)"
            raise ValueError(f"{value!r} as Unix seconds {problem}{hint}")
        return math.floor(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            t = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{value!r} is not an RFC 3339 instant (e.g. 2026-11-01T00:00:00Z)"
            ) from None
        if t.tzinfo is None:
            raise ValueError(f"{value!r} has no UTC offset; add Z or +HH:MM")
        try:
            seconds = t.timestamp()
        except (OverflowError, ValueError):
            seconds = math.nan
        if not EARLIEST <= seconds < LATEST:
            raise ValueError(f"{value!r} is outside the representable range {range_text()}")
        return math.floor(seconds)
    raise ValueError("expected an RFC 3339 instant or Unix seconds")


Timestamp = Annotated[
    int,
    PlainValidator(_unix_seconds),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
            "description": "RFC 3339 with an offset, or Unix seconds",
        }
    ),
]


class PushItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    series: str = Field(min_length=1, max_length=1000, strict=True)
    timestamp: Timestamp
    value: float = Field(ge=0, le=MAX_VALUE, allow_inf_nan=False, strict=True)


class PushBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    idempotency_key: str | None = Field(default=None, min_length=1, max_length=MAX_KEY)
    items: list[PushItem] = Field(min_length=1, max_length=MAX_ITEMS)


def problems_of(error: ValidationError) -> list[FieldProblem]:
    out = []
    for e in error.errors(include_url=False):
        loc = tuple(p for p in e["loc"] if p != "body")
        msg = str(e["msg"]).removeprefix("Value error, ")
        out.append(FieldProblem(loc, msg))
    return out


def parse_batch(data: bytes | str, where: str = "") -> PushBatch:
    """A batch from JSON text; ``InvalidBatch`` naming field and item index otherwise."""
    try:
        return PushBatch.model_validate_json(data)
    except ValidationError as e:
        raise InvalidBatch(problems_of(e), where) from None


@dataclass(frozen=True)
class PushReceipt:
    batch_id: int
    idempotency_key: str
    sha256: str
    items: int
    series: tuple[str, ...]
    duplicate: bool
    late_items: int
    out_of_order_items: int
    min_bucket: int | None
    max_bucket: int | None

    def view(self) -> dict[str, Any]:
        def iso(s: int | None) -> str | None:
            if s is None:
                return None
            return datetime.fromtimestamp(s, UTC).isoformat().replace("+00:00", "Z")

        return {
            "batch_id": self.batch_id,
            "idempotency_key": self.idempotency_key,
            "sha256": self.sha256,
            "duplicate": self.duplicate,
            "item_count": self.items,
            "series": list(self.series),
            "late_items": self.late_items,
            "out_of_order_items": self.out_of_order_items,
            "first_bucket": iso(self.min_bucket),
            "last_bucket": iso(self.max_bucket),
        }


def batch_sha256(batch: PushBatch) -> str:
    """SHA-256 of the normalised items, order-insensitive (the key is not part of it)."""
    rows = sorted((i.series, i.timestamp, i.value) for i in batch.items)
    text = json.dumps(rows, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def resolve_key(batch: PushBatch, header: str | None) -> str:
    """The idempotency key from the header or the body (they must agree when both given)."""
    body = batch.idempotency_key
    if header is not None:
        header = header.strip()
        if not header or len(header) > MAX_KEY:
            raise InvalidBatch(
                [FieldProblem(("Idempotency-Key",), f"must be 1 to {MAX_KEY} characters", "header")]
            )
        if body is not None and body != header:
            raise InvalidBatch(
                [
                    FieldProblem(
                        ("idempotency_key",),
                        f"{body!r} differs from the Idempotency-Key header {header!r}",
                    )
                ]
            )
        return header
    if body is None:
        raise MissingIdempotencyKey(
            "a push batch needs an idempotency key: send an Idempotency-Key header or an "
            "idempotency_key field"
        )
    return body


def check_future(
    batch: PushBatch, now: datetime, tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE
) -> None:
    """Refuse items more than ``tolerance`` ahead of ``now`` (a sender's clock is off)."""
    limit = now.timestamp() + tolerance.total_seconds()

    def ahead(seconds: int) -> str:
        return format_duration(timedelta(seconds=seconds - now.timestamp()))

    problems = [
        FieldProblem(
            ("items", i, "timestamp"),
            f"{_iso(item.timestamp)} is {ahead(item.timestamp)} "
            f"ahead of the server clock ({_iso(int(now.timestamp()))}; tolerance "
            f"{format_duration(tolerance)}): check the sender's clock",
        )
        for i, item in enumerate(batch.items)
        if item.timestamp > limit
    ]
    if problems:
        log.warning("push refused: %d item(s) in the future, first %s", len(problems), problems[0])
        raise InvalidBatch(problems)


def push_batch(
    store: Store,
    batch: PushBatch,
    *,
    key: str,
    clock: Clock | None = None,
    wall: Clock | None = None,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
    origin: str = "api",
) -> PushReceipt:
    """Add the batch's counts once; see the module docstring for the semantics.

    ``clock`` is the evaluation clock that future timestamps are checked against;
    ``wall`` the real clock that stamps the batch's arrival.
    """
    check_future(batch, (clock or SystemClock()).now(), future_tolerance)
    digest = batch_sha256(batch)
    rows = _aggregate(batch)
    series = tuple(sorted({s for s, _, _ in rows}))
    received_at = (wall or SystemClock()).now()
    with store.transaction() as repos:
        push = PushRepository(repos.connection)
        batch_id = push.claim(key, digest, origin, received_at)
        if batch_id is None:
            seen = push.find(key)
            assert seen is not None
            return _duplicate(seen, digest)
        latest = push.latest_buckets(series)
        late = sum(1 for i in batch.items if i.timestamp < latest.get(i.series, i.timestamp))
        out_of_order = _out_of_order(batch)
        starts = [b for _, b, _ in rows]
        push.add_counts(rows)
        over = push.above(rows, MAX_VALUE)
        if over:  # raised inside the transaction: nothing of the batch is kept
            raise InvalidBatch(_overflowing(batch, over))
        push.complete(
            batch_id,
            items=len(batch.items),
            series=series,
            min_bucket=min(starts),
            max_bucket=max(starts),
            late_items=late,
            out_of_order_items=out_of_order,
        )
    if late or out_of_order:
        log.warning(
            "push %s: %d late item(s) (before the newest stored bucket of their series), "
            "%d out of order within the batch; series: %s",
            key,
            late,
            out_of_order,
            ", ".join(series),
        )
    return PushReceipt(
        batch_id, key, digest, len(batch.items), series, False, late, out_of_order,
        min(starts), max(starts),
    )  # fmt: skip


def _overflowing(batch: PushBatch, over: Sequence[tuple[str, int, float]]) -> list[FieldProblem]:
    totals = {(s, b): v for s, b, v in over}
    return [
        FieldProblem(
            ("items", i, "value"),
            f"the bucket {_iso(item.timestamp)} of {item.series!r} would hold "
            f"{totals[(item.series, item.timestamp)]!r}, above the largest storable value "
            f"2**53 ({MAX_VALUE:.0f}); nothing of the batch was added",
        )
        for i, item in enumerate(batch.items)
        if (item.series, item.timestamp) in totals
    ]


def _duplicate(seen: PushBatchRecord, digest: str) -> PushReceipt:
    if seen.sha256 != digest:
        raise IdempotencyConflict(
            f"idempotency key {seen.idempotency_key!r} was used on "
            f"{seen.received_at.isoformat()} for a different batch (sha256 {seen.sha256[:12]}…, "
            f"this one {digest[:12]}…): use a new key for new data"
        )
    return PushReceipt(
        seen.id, seen.idempotency_key, seen.sha256, seen.items, seen.series, True,
        seen.late_items, seen.out_of_order_items, seen.min_bucket, seen.max_bucket,
    )  # fmt: skip


def _aggregate(batch: PushBatch) -> list[tuple[str, int, float]]:
    sums: dict[tuple[str, int], float] = defaultdict(float)
    for item in batch.items:
        sums[(item.series, item.timestamp)] += item.value
    return [(s, b, v) for (s, b), v in sorted(sums.items())]


def _out_of_order(batch: PushBatch) -> int:
    newest: dict[str, int] = {}
    count = 0
    for item in batch.items:
        if item.timestamp < newest.get(item.series, item.timestamp):
            count += 1
        newest[item.series] = max(newest.get(item.series, item.timestamp), item.timestamp)
    return count


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
