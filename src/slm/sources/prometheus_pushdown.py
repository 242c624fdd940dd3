"""Window sums computed by Prometheus itself (the ``WindowSource`` port).

A report over windows of 1h .. 30d does not need every one-minute bucket: Prometheus can
sum the window where the data lives. For each query and window ``[end - w, end)`` slm asks
for a handful of instant values instead of ``w / 1m`` points, with the same bucket rule as
the bucket path (values 1 ms before bucket boundaries, ``e' = end - 1ms``,
``s' = end - w - 1ms``):

- ``counter: true``: the window total is the sum over series of ``C(e') - C(s')`` (read with
  ``@`` modifiers: ``Q @ e'`` for a plain selector, ``last_over_time((Q)[1ms:1ms] @ e')``
  for any other expression). That telescopes the bucket path's per-bucket increases, so it
  equals the bucket path when every series is continuous over the window. slm checks that
  with ``resets(Q[w + 5m] @ e')`` (plain selectors: the raw samples) or
  ``resets((Q)[w + 5m:1m] @ e')`` (other expressions: one-minute subquery): the result
  lists every series that had samples in the window (and the lookback before it) and how
  often it dropped. When a series restarted, or starts or stops inside the window (it has
  no value at ``s'`` or ``e'``), the window is answered from buckets instead
  (``WindowPush.fallback`` says why). Not detected: a gap *inside* the window longer than
  the lookback delta; the pushdown then counts the increase across the gap (as measurement
  files do), the bucket path loses it.

  Reading raw samples is what costs, so the check is done as rarely as it can be. It runs
  once over the *longest* window: all windows end at ``e'``, so a series set with no
  restart there and present at ``e'`` and at a shorter window's ``s'`` passes for that
  window too. And a plain selector whose matchers include all of another counter
  selector's (``x{slo="a",code="ok"}`` inside ``x{slo="a"}``, the usual good/total pair)
  selects a subset of its series, so the wider selector's check covers it; with only
  ``=``/``!=`` extra matchers its values are filtered out of the wider one's answers. Only a
  (query, window) pair that this first round cannot clear gets its own ``resets`` over
  that window in a second round, with the rule above.
- ``counter: false``: ``sum_over_time((sum((Q) >= -Inf))[w:1m] @ end+1m-1ms)`` and the same
  with ``count_over_time(count(...))`` for coverage: ``Q`` is evaluated by Prometheus at the
  ``w / 1m`` minute boundaries ``end - w + 1m .. end`` (a subquery's steps are aligned to
  the minute; the bucket path evaluates 1 ms earlier). ``>= -Inf`` drops ``NaN`` (a gap).
  Differs from the bucket path only where a sample sits exactly on a minute boundary.

No extrapolation is involved (no ``increase()``/``rate()`` is added around user queries).
All expressions of all queries are sent as few large instant queries (each expression
tagged with a ``__slm_k`` label by ``label_replace`` and joined with ``or`` as a
balanced tree), split into at
most ``maxConcurrentQueries`` concurrent requests. A request that Prometheus rejects (bad
PromQL in one query) is retried query by query, so one bad query fails alone.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slm.domain.errors import SourceError
from slm.domain.model import MetricQuery
from slm.domain.series import DEFAULT_STEP
from slm.domain.window_totals import WindowPush, WindowTotal
from slm.sources import promql
from slm.sources.grid import step_seconds, unix_seconds
from slm.sources.prometheus_http import PrometheusClient
from slm.sources.promql import Matcher

LOOKBACK_MS = 5 * 60_000
"""Prometheus's default ``--query.lookback-delta``: how far back an instant value looks."""
EPSILON_MS = 1
MAX_EXPRESSIONS_PER_REQUEST = 400
_KEY = "__slm_k"


def is_selector(expr: str) -> bool:
    """A plain instant-vector selector (``name{...}`` or ``{...}``, no functions/offset)."""
    return promql.is_selector(expr)


def _at(ms: int) -> str:
    whole, frac = divmod(ms, 1000)
    return f"{whole}.{frac:03d}"


@dataclass(frozen=True)
class _Expr:
    query: int  # index of the query
    kind: str  # "value", "resets", "sum", "count"
    ms: int  # the instant of a value; the window length otherwise
    text: str


def _values(i: int, expr: str, end_ms: int, windows_ms: list[int]) -> list[_Expr]:
    """A counter query's values at ``e'`` and at every window's ``s'``."""
    sel = promql.selector(expr)
    plain = sel is not None
    expr = sel.text if sel is not None else promql.enclosable(expr)
    e = end_ms - EPSILON_MS
    out: list[_Expr] = []
    for t in sorted({e, *(e - w for w in windows_ms)}):
        text = f"{expr} @ {_at(t)}" if plain else f"last_over_time(({expr})[1ms:1ms] @ {_at(t)})"
        out.append(_Expr(i, "value", t, text))
    return out


def _resets(i: int, expr: str, end_ms: int, w: int) -> _Expr:
    """Restarts per series over ``[e' - w - lookback, e']``; lists every series seen."""
    r = f"{w + LOOKBACK_MS}ms"
    sel = promql.selector(expr)
    rng = f"{sel.text}[{r}]" if sel is not None else f"({promql.enclosable(expr)})[{r}:1m]"
    return _Expr(i, "resets", w, f"resets({rng} @ {_at(end_ms - EPSILON_MS)})")


def _gauge(i: int, expr: str, end_ms: int, windows_ms: list[int]) -> list[_Expr]:
    out: list[_Expr] = []
    t = end_ms + 60_000 - EPSILON_MS
    for w in windows_ms:
        inner = f"(({promql.enclosable(expr)}) >= -Inf)"
        out.append(_Expr(i, "sum", w, f"sum_over_time((sum{inner})[{w}ms:1m] @ {_at(t)})"))
        out.append(_Expr(i, "count", w, f"count_over_time((count{inner})[{w}ms:1m] @ {_at(t)})"))
    return out


def selector_matchers(expr: str) -> frozenset[Matcher] | None:
    """The matchers of a plain selector (the metric name as ``("__name__", "=", name)``),
    as the parser reads them, else None.

    ``A``'s series are a subset of ``B``'s whenever ``matchers(B) <= matchers(A)``.
    """
    found = promql.selector(expr)
    return None if found is None else found.matchers


def _name(matchers: frozenset[Matcher]) -> str | None:
    return next((v for label, op, v in matchers if label == "__name__" and op == "="), None)


def covers(texts: dict[int, str]) -> dict[int, int]:
    """For each plain selector, the query whose reset check stands for it (maybe itself).

    The cover has the fewest matchers among the selectors whose matchers are a subset of
    this one's (ties: lowest index), so it is never covered by another one itself. Only
    selectors of the same metric name, or without one, can cover each other.
    """
    parsed = {i: m for i, t in texts.items() if (m := selector_matchers(t)) is not None}
    by_set: dict[frozenset[Matcher], int] = {}  # lowest index of each matcher set
    for i, m in sorted(parsed.items()):
        by_set.setdefault(m, i)
    out: dict[int, int] = {}
    for i, mi in parsed.items():
        name = _name(mi) or ""
        if len(mi) <= _MAX_SUBSET_MATCHERS:  # look the subsets up: 2^len(mi) of them
            items = sorted(mi)
            subsets = (
                frozenset(x for b, x in enumerate(items) if mask >> b & 1)
                for mask in range(1 << len(items))
            )
            found = [(s, by_set[s]) for s in subsets if s in by_set]
        else:
            found = [(m, j) for m, j in by_set.items() if m <= mi]
        out[i] = min((len(m), j) for m, j in found if (_name(m) or "") in (name, ""))[1]
    return out


_MAX_SUBSET_MATCHERS = 10


_Labels = tuple[tuple[str, str], ...]


MAX_GROUP = 100
"""Most selectors merged into one: RE2 alternations stay small, groups run in parallel."""
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_:./-]+")
"""Values that may join a merged selector's alternation (``.`` is escaped there)."""


@dataclass(frozen=True)
class MergedSelector:
    """Selectors that differ only in the value of one label, as one selector:
    ``x{job="a",slo="s1"}`` and ``x{job="a",slo="s2"}`` -> ``x{job="a",slo=~"s1|s2"}``.
    Its series are exactly the union of theirs; ``members`` maps each selector (its
    index) to its value of ``label``, which picks its series back out of the answers."""

    text: str
    label: str
    members: dict[int, str]


def merge_selectors(texts: dict[int, str], parallel: int = 4) -> list[MergedSelector]:
    """Groups of named plain selectors that differ in one ``label="value"`` matcher.

    Prometheus pays a few milliseconds per selector before reading any sample, so 200
    per-SLO selectors of one metric cost much more than one selector of all of them.
    Each selector joins the largest group it can; a group is split into up to
    ``parallel`` even parts of at least two (and at most ``MAX_GROUP``) members so that
    Prometheus can read them on all its cores. Values with regex metacharacters other
    than ``.`` stay alone.
    """
    options: dict[int, list[tuple[frozenset[Matcher], str, str]]] = {}
    sizes: Counter[tuple[frozenset[Matcher], str]] = Counter()
    for i, text in texts.items():
        matchers = selector_matchers(text)
        if matchers is None or _name(matchers) is None:
            continue
        mine = []
        for m in sorted(matchers):
            label, op, value = m
            if op == "=" and label != "__name__" and _PLAIN_VALUE.fullmatch(value):
                mine.append((matchers - {m}, label, value))
                sizes[(matchers - {m}, label)] += 1
        options[i] = mine
    groups: dict[tuple[frozenset[Matcher], str], dict[int, str]] = defaultdict(dict)
    for i, mine in options.items():
        if mine:
            rest, label, value = max(mine, key=lambda o: (sizes[(o[0], o[1])], o[1]))
            groups[(rest, label)][i] = value
    out: list[MergedSelector] = []
    for (rest, label), members in sorted(groups.items(), key=lambda g: min(g[1])):
        if len(members) < 2:
            continue
        name = _name(rest)
        others = sorted(m for m in rest if m != ("__name__", "=", name))
        items = sorted(members.items())
        parts = max(1, min(parallel, len(items) // 2), math.ceil(len(items) / MAX_GROUP))
        for c in range(parts):
            chunk = dict(items[c * len(items) // parts : (c + 1) * len(items) // parts])
            alternatives = "|".join(sorted({v.replace(".", "\\.") for v in chunk.values()}))
            text = promql.render_selector(name, [*others, (label, "=~", alternatives)])
            out.append(MergedSelector(text, label, chunk))
    return out


_Matchers = frozenset[tuple[str, str, str]]  # (label, "=" or "!=", value)


def _filter(text: str, cover_text: str) -> _Matchers | None:
    """The matchers that pick ``text``'s series out of ``cover_text``'s, when Python can
    apply them exactly: ``=``/``!=`` on plain values, and a cover that names its metric
    (series are keyed without the name). None: ask Prometheus for ``text``'s values."""
    mine, theirs = selector_matchers(text), selector_matchers(cover_text)
    if mine is None or theirs is None or _name(theirs) is None:
        return None
    extra = mine - theirs
    if any(op not in ("=", "!=") or label == "__name__" for label, op, _ in extra):
        return None
    return frozenset(extra)


def _matches(labels: _Labels, matchers: _Matchers) -> bool:
    """PromQL semantics: an absent label has the empty value."""
    have = dict(labels)
    return all((have.get(label, "") == value) == (op == "=") for label, op, value in matchers)


_Answer = dict[int, list[tuple[_Labels, float]]]  # expression index -> series


def instant_query(client: PrometheusClient, expr: str, time_ms: int) -> list[dict[str, Any]]:
    """``/api/v1/query`` at ``time_ms``: the vector's items (``metric``, ``value``)."""
    form = {"query": expr, "time": _at(time_ms), "timeout": f"{client.config.timeout:g}s"}
    if client.collect_stats:
        form["stats"] = "all"
    body = client._post("/api/v1/query", form)
    where = client._where()
    if not isinstance(body, dict) or body.get("status") != "success":
        err = body.get("error") if isinstance(body, dict) else None
        raise SourceError(f"{where}: {err or 'malformed query answer'}")
    data = body.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector":
        raise SourceError(f"{where}: malformed query answer: expected a vector result")
    result = data.get("result")
    if not isinstance(result, list):
        raise SourceError(f"{where}: malformed query answer: data.result is not a list")
    stats = data.get("stats")
    timings = stats.get("timings") if isinstance(stats, dict) else None
    seconds = timings.get("execTotalTime") if isinstance(timings, dict) else None
    if isinstance(seconds, int | float) and seconds:
        with client._lock:
            client.server_seconds += float(seconds)
    return result


def _union(parts: list[str]) -> str:
    """``a or b or ...`` as a balanced tree: a chain makes Prometheus match every series
    collected so far at each ``or`` (quadratic), a tree only ``log n`` times."""
    if len(parts) == 1:
        return parts[0]
    mid = len(parts) // 2
    return f"({_union(parts[:mid])}) or ({_union(parts[mid:])})"


def _batch(client: PrometheusClient, exprs: Sequence[tuple[int, _Expr]], time_ms: int) -> _Answer:
    text = _union([f'label_replace({e.text}, "{_KEY}", "{k}", "", "")' for k, e in exprs])
    out: _Answer = defaultdict(list)
    where = client._where()
    for item in instant_query(client, text, time_ms):
        try:
            metric = dict(item["metric"])
            k = int(metric.pop(_KEY))
            value = float(item["value"][1])
        except (KeyError, TypeError, ValueError, IndexError):
            raise SourceError(f"{where}: malformed query answer: {str(item)[:200]}") from None
        out[k].append((tuple(sorted(metric.items())), value))
    return out


NO_AT_MODIFIER = (
    "the server does not accept the @ modifier (Prometheus 2.25-2.32 need "
    "--enable-feature=promql-at-modifier)"
)


def _no_at_modifier(message: str) -> bool:
    return "@ modifier" in message and ("disabled" in message or "not supported" in message)


def _rejected(e: SourceError) -> bool:
    """Prometheus refused the query itself (bad PromQL, bad labels), not a transport error."""
    return "HTTP 400" in str(e) or "HTTP 422" in str(e)


class Pushdown:
    """Window totals of many queries from one Prometheus server."""

    def __init__(self, client: PrometheusClient, step: timedelta = DEFAULT_STEP):
        if step != DEFAULT_STEP:
            raise ValueError("window pushdown works on one-minute buckets")
        self.client = client

    def window_totals(
        self,
        queries: Sequence[tuple[str, MetricQuery]],
        end: datetime,
        windows: Sequence[timedelta],
    ) -> list[WindowPush]:
        """``queries`` are (PromQL, query) pairs; ``end`` is on the minute grid."""
        end_ms = unix_seconds(end) * 1000
        windows_ms = [step_seconds(w) * 1000 for w in windows]
        if any(w <= 0 or w % 60_000 for w in windows_ms):
            raise ValueError("windows must be positive whole minutes")
        longest = max(windows_ms)
        texts = {i: t for i, (t, q) in enumerate(queries) if q.counter}
        cover = covers(texts)
        derived = {
            i: extra
            for i, j in cover.items()
            if i != j and (extra := _filter(texts[i], texts[j])) is not None
        }
        roots = {i: texts[i] for i in texts if cover.get(i, i) == i}
        groups = merge_selectors(roots, self.client.config.max_in_flight)
        grouped = {r for g in groups for r in g.members}
        n = len(queries)
        exprs: list[_Expr] = []
        for i, (text, q) in enumerate(queries):
            if not q.counter:
                exprs += _gauge(i, text, end_ms, windows_ms)
            elif i not in grouped:
                if i not in derived:
                    exprs += _values(i, text, end_ms, windows_ms)
                if i in roots:
                    exprs.append(_resets(i, text, end_ms, longest))
        for k, g in enumerate(groups):  # one virtual query per group, after the real ones
            exprs += _values(n + k, g.text, end_ms, windows_ms)
            exprs.append(_resets(n + k, g.text, end_ms, longest))
        time_ms = end_ms + 60_000
        answers, errors = self._run(list(enumerate(exprs)), time_ms)
        if any(_no_at_modifier(m) for m in errors.values()):  # Prometheus < 2.33 by default
            every: list[WindowPush] = []
            for i in range(len(queries)):
                m = errors.get(i)
                if m is not None and not _no_at_modifier(m):
                    every.append(WindowPush(error=m))  # a problem of its own
                else:
                    every.append(WindowPush({}, dict.fromkeys(windows, NO_AT_MODIFIER)))
            return every
        parts: dict[int, list[tuple[_Expr, list[tuple[_Labels, float]]]]] = defaultdict(list)
        for k, e in enumerate(exprs):
            parts[e.query].append((e, answers.get(k, [])))
        counters = {i: _Counter.parse(parts[i], end_ms) for i in texts if i not in errors}
        second: list[_Expr] = []
        unanswered: set[int] = set()  # counters whose values come in round two
        for k, g in enumerate(groups):
            failed = errors.pop(n + k, None)
            merged = _Counter.parse(parts[n + k], end_ms)
            by_value = merged.split(g.label) if failed is None else {}
            for r, value in g.members.items():
                if failed is None:
                    counters[r] = by_value.get(value) or merged.restricted(
                        frozenset({(g.label, "=", value)})
                    )
                else:  # ask each member alone: its own query may well be fine
                    unanswered.add(r)
                    second += _values(r, texts[r], end_ms, windows_ms)
        for i, extra in derived.items():
            j = cover[i]
            if j in errors or j in unanswered:  # no values to filter: ask its own
                second += _values(i, texts[i], end_ms, windows_ms)
            else:
                counters[i].values = counters[j].restricted(extra).values
        # round one: each counter judged by its cover's check over the longest window
        verdicts: dict[int, dict[int, str | None]] = {i: {} for i in counters}
        for i in counters:
            j = cover.get(i, i)
            judge = counters.get(j)
            # a group member whose merged query failed has no check yet: its own, below
            checked = judge is not None and longest in judge.resets
            for w in windows_ms:
                reason = judge.check(w, longest) if judge is not None else "unchecked"
                if reason is None or (j == i and w == longest and checked):
                    verdicts[i][w] = reason
                else:
                    second.append(_resets(i, texts[i], end_ms, w))
        # round two: the (query, window) pairs round one could not clear, checked alone
        if second:
            answers, more = self._run(list(enumerate(second)), time_ms)
            errors.update(more)
            got = [(k, e) for k, e in enumerate(second) if e.query not in more]
            for k, e in got:
                if e.kind == "value":
                    counters[e.query].values[e.ms] = _by_series(answers.get(k, []))
            for k, e in got:
                if e.kind == "resets":
                    counters[e.query].resets[e.ms] = _by_series(answers.get(k, []))
                    verdicts[e.query][e.ms] = counters[e.query].check(e.ms, e.ms)
        out = []
        for i, (_, q) in enumerate(queries):
            if i in errors:
                out.append(WindowPush(error=errors[i]))
                continue
            scale = 60.0 if q.spec.get("perSecond") is True else 1.0
            if q.counter:
                out.append(counters[i].push(verdicts[i], windows, windows_ms, scale))
            else:
                out.append(_gauge_totals(parts[i], windows, windows_ms, scale))
        return out

    def _run(self, exprs: list[tuple[int, _Expr]], time_ms: int) -> tuple[_Answer, dict[int, str]]:
        """Answers of all expressions; queries whose expressions were refused -> error."""
        client = self.client
        per = max(1, math.ceil(len(exprs) / client.config.max_in_flight))
        per = min(per, MAX_EXPRESSIONS_PER_REQUEST)
        # keep each query's expressions in one request, so a refusal names few queries
        batches: list[list[tuple[int, _Expr]]] = [[]]
        for item in exprs:
            last = batches[-1]
            if len(last) >= per and last[-1][1].query != item[1].query:
                batches.append([])
            batches[-1].append(item)
        answers: _Answer = {}
        errors: dict[int, str] = {}

        def run(batch: list[tuple[int, _Expr]]) -> tuple[_Answer, dict[int, str]]:
            try:
                return _batch(client, batch, time_ms), {}
            except SourceError as e:
                queries = sorted({x.query for _, x in batch})
                if not _rejected(e) or len(queries) == 1:
                    return {}, dict.fromkeys(queries, str(e))
            got: _Answer = {}
            failed: dict[int, str] = {}
            for qi in queries:  # find the query Prometheus refused
                mine = [item for item in batch if item[1].query == qi]
                a, f = run(mine)
                got.update(a)
                failed.update(f)
            return got, failed

        batches = [b for b in batches if b]
        workers = min(len(batches), client.config.max_in_flight) or 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for a, f in pool.map(run, batches):
                answers.update(a)
                errors.update(f)
        return answers, errors


RESTARTED = "a counter restarted in the window"
STARTS_OR_STOPS = "a series starts or stops in the window"


def _by_series(series: list[tuple[_Labels, float]]) -> dict[_Labels, float]:
    """Values by series; ``resets()`` drops the metric name, so compare without it."""
    found: dict[_Labels, float] = {}
    for labels, v in series:
        if not math.isnan(v):
            key = tuple(lv for lv in labels if lv[0] != "__name__")
            found[key] = found.get(key, 0.0) + v
    return found


@dataclass
class _Counter:
    """One counter query's answers: values by instant, restarts by checked span."""

    e_ms: int  # e'
    values: dict[int, dict[_Labels, float]]
    resets: dict[int, dict[_Labels, float]]

    @classmethod
    def parse(cls, parts: list[tuple[_Expr, list[tuple[_Labels, float]]]], end_ms: int) -> _Counter:
        c = cls(end_ms - EPSILON_MS, {}, {})
        for e, series in parts:
            (c.values if e.kind == "value" else c.resets)[e.ms] = _by_series(series)
        return c

    def restricted(self, matchers: _Matchers) -> _Counter:
        """The answers of the series that ``matchers`` select (a merged selector's member,
        or a selector inside its cover)."""

        def mine(series: dict[_Labels, float]) -> dict[_Labels, float]:
            return {lb: v for lb, v in series.items() if _matches(lb, matchers)}

        return _Counter(
            self.e_ms,
            {t: mine(s) for t, s in self.values.items()},
            {span: mine(s) for span, s in self.resets.items()},
        )

    def split(self, label: str) -> dict[str, _Counter]:
        """The answers by value of ``label`` (absent: ``""``): ``split(l)[v]`` equals
        ``restricted({(l, "=", v)})`` for every ``v``, in one pass over the series
        instead of one per value (a merged selector's members)."""
        out: dict[str, _Counter] = {}

        def part(value: str) -> _Counter:
            found = out.get(value)
            if found is None:
                found = out[value] = _Counter(
                    self.e_ms, {t: {} for t in self.values}, {s: {} for s in self.resets}
                )
            return found

        for t, series in self.values.items():
            for lb, v in series.items():
                part(dict(lb).get(label, "")).values[t][lb] = v
        for span, series in self.resets.items():
            for lb, v in series.items():
                part(dict(lb).get(label, "")).resets[span][lb] = v
        return out

    def check(self, w_ms: int, span_ms: int) -> str | None:
        """Why window ``w`` cannot be pushed down (None: it can), judged by the restarts
        over ``span >= w``: a longer span lists more series, so None is always right and
        a reason may be one that a check over ``w`` alone would clear."""
        if span_ms not in self.resets:
            return "unchecked"
        seen = self.resets[span_ms]
        if any(n > 0 for n in seen.values()):
            return RESTARTED
        at_end = self.values.get(self.e_ms, {})
        at_start = self.values.get(self.e_ms - w_ms, {})
        every = set(seen) | set(at_end) | set(at_start)
        if any(lb not in at_end or lb not in at_start for lb in every):
            return STARTS_OR_STOPS
        return None

    def push(
        self,
        verdicts: dict[int, str | None],
        windows: Sequence[timedelta],
        windows_ms: list[int],
        scale: float,
    ) -> WindowPush:
        at_end = self.values.get(self.e_ms, {})
        totals: dict[timedelta, WindowTotal] = {}
        fallback: dict[timedelta, str] = {}
        for w, w_ms in zip(windows, windows_ms, strict=True):
            at_start = self.values.get(self.e_ms - w_ms, {})
            reason = verdicts.get(w_ms, "unchecked")
            if reason is None and set(at_end) != set(at_start):
                reason = STARTS_OR_STOPS  # cannot happen after a passed check; be safe
            if reason is not None:
                fallback[w] = reason
                continue
            total = sum(at_end[lb] - at_start[lb] for lb in at_end)
            totals[w] = WindowTotal(total * scale, bool(at_end))
        return WindowPush(totals, fallback)


def _gauge_totals(
    parts: list[tuple[_Expr, list[tuple[_Labels, float]]]],
    windows: Sequence[timedelta],
    windows_ms: list[int],
    scale: float,
) -> WindowPush:
    sums: dict[int, float] = {}
    counts: dict[int, float] = {}
    for e, series in parts:
        target = sums if e.kind == "sum" else counts
        target[e.ms] = sum(v for _, v in series)
    totals: dict[timedelta, WindowTotal] = {}
    fallback: dict[timedelta, str] = {}
    for w, w_ms in zip(windows, windows_ms, strict=True):
        n = counts.get(w_ms, 0.0)
        value = sums.get(w_ms, 0.0)
        if not math.isfinite(value):
            fallback[w] = "the window sum is not finite"
            continue
        totals[w] = WindowTotal(value * scale if n else 0.0, n > 0, n / (w_ms // 60_000))
    return WindowPush(totals, fallback)
