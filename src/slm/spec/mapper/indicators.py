"""Metric queries, ratio and threshold metrics, missing data: OpenSLO SLIs -> ``Indicator``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from slm.domain.model import Indicator, MetricQuery, MissingData, RatioMetric, ThresholdMetric
from slm.sources import promql
from slm.spec.context import MapContext, origin_of
from slm.spec.problems import SpecObject
from slm.spec.yamlio import FieldPath

if TYPE_CHECKING:
    from slm.spec import openslo_v1 as v1
    from slm.spec import openslo_v2alpha as v2


MISSING_DATA_ANNOTATION = "slm.dev/missing-data"
DATASOURCE_BY_NAME = "its data cannot be read until a DataSource of this name is defined"


class QueryMapper(Protocol):
    """A format's metric spec at ``field`` -> ``MetricQuery`` (``None`` when reported)."""

    def __call__(
        self, obj: SpecObject, field: FieldPath, m: Any, ctx: MapContext
    ) -> MetricQuery | None: ...


class _Ratio(Protocol):
    @property
    def counter(self) -> bool: ...
    @property
    def good(self) -> Any: ...
    @property
    def bad(self) -> Any: ...
    @property
    def total(self) -> Any: ...
    @property
    def raw(self) -> Any: ...
    @property
    def raw_type(self) -> Any: ...


def spec_dir(obj: SpecObject) -> str:
    """The directory of the object's file: relative ``File`` paths resolve against it."""
    return os.path.dirname(obj.path) or "."


def check_promql(obj: SpecObject, field: FieldPath, q: MetricQuery, ctx: MapContext) -> None:
    """A Prometheus query is parsed now (Sloth's ``{{.window}}`` filled): a syntax error
    is reported at ``field`` instead of failing at read time or in promtool."""
    text = q.spec.get("query")
    if q.source_type.lower() != "prometheus" or not isinstance(text, str) or not text.strip():
        return
    problem = promql.query_problem(text)
    if problem is None:
        return
    if promql.unknown_function(problem):
        ctx.problems.warn(
            obj, field, f"{problem}: not in the PromQL parser's list; the server will judge"
        )
    else:
        ctx.problems.at(obj, field, problem)


def check_file_spec(obj: SpecObject, field: FieldPath, q: MetricQuery, ctx: MapContext) -> None:
    if q.source_type == "File" and not isinstance(q.spec.get("series"), str):
        ctx.problems.at(obj, field, "a File metric source needs spec.series (the series name)")


def ref_query(
    obj: SpecObject,
    field: FieldPath,
    ref: str,
    type_: str | None,
    spec: Mapping[str, Any],
    ctx: MapContext,
) -> MetricQuery | None:
    """A query against the DataSource ``ref`` (whose type ``type_`` must match). An
    undefined DataSource is a warning: the query keeps its name (and ``type_``), rules can
    be generated from it, and reading it says the DataSource is not defined."""
    if not ctx.check_ref(obj, field, "datasource", ref, warn=DATASOURCE_BY_NAME):
        return MetricQuery(
            source=ref, source_type=type_ or "", spec=dict(spec), base_dir=spec_dir(obj)
        )
    ds = ctx.workspace.datasources.get(ref)
    if ds is None:
        return None  # declared but invalid: already reported
    if type_ and type_ != ds.type:
        ctx.problems.at(
            obj,
            (*field[:-1], "type"),
            f"type {type_!r} does not match DataSource {ref!r} (type {ds.type!r})",
        )
    return MetricQuery(source=ref, source_type=ds.type, spec=dict(spec), base_dir=ds.base_dir)


def _ratio_shape_ok(obj: SpecObject, f: FieldPath, r: _Ratio, ctx: MapContext) -> bool:
    before = len(ctx.problems.items)
    if r.raw is not None:
        if r.good is not None or r.bad is not None or r.total is not None:
            ctx.problems.at(obj, f, "raw cannot be combined with good, bad or total")
        if r.raw_type is None:
            ctx.problems.at(obj, (*f, "rawType"), "required field missing (needed with raw)")
    else:
        if r.raw_type is not None:
            ctx.problems.at(obj, (*f, "rawType"), "only allowed with raw")
        if r.good is not None and r.bad is not None:
            ctx.problems.at(obj, f, "use either good or bad, not both")
        elif r.good is None and r.bad is None:
            ctx.problems.at(obj, f, "good or bad (with total), or raw, is required")
        if r.total is None:
            ctx.problems.at(obj, (*f, "total"), "required field missing")
    return len(ctx.problems.items) == before


def _ratio(
    obj: SpecObject, f: FieldPath, r: _Ratio, query: QueryMapper, ctx: MapContext
) -> RatioMetric | None:
    if not _ratio_shape_ok(obj, f, r, ctx):
        return None
    parts = {k: getattr(r, k) for k in ("good", "bad", "total", "raw")}
    qs = {k: query(obj, (*f, k), m, ctx) for k, m in parts.items() if m is not None}
    if any(q is None for q in qs.values()):
        return None
    counted = {k: replace(q, counter=r.counter) for k, q in qs.items() if q is not None}
    return RatioMetric(
        total=counted.get("total"),
        good=counted.get("good"),
        bad=counted.get("bad"),
        raw=counted.get("raw"),
        raw_type=r.raw_type,
        counter=r.counter,
    )


def missing_data(
    obj: SpecObject, f: FieldPath, annotations: Mapping[str, str], ctx: MapContext
) -> MissingData | None:
    """The ``slm.dev/missing-data`` annotation under ``f`` (``None`` if absent or invalid)."""
    value = annotations.get(MISSING_DATA_ANNOTATION)
    if value is None:
        return None
    try:
        return MissingData(value)
    except ValueError:
        ctx.problems.at(
            obj,
            (*f, "annotations", MISSING_DATA_ANNOTATION),
            f"must be one of ignore, good, bad (not {value!r})",
        )
        return None


def map_indicator(
    obj: SpecObject,
    f: FieldPath,
    spec: v1.SLISpec | v2.SLISpec,
    query: QueryMapper,
    meta: Any,
    ctx: MapContext,
) -> Indicator | None:
    """An SLI spec at ``f`` (the SLI's ``spec``) with its metadata ``meta``."""
    if (spec.threshold_metric is None) == (spec.ratio_metric is None):
        ctx.problems.at(obj, f, "exactly one of thresholdMetric or ratioMetric is required")
        return None
    md = missing_data(obj, (*f[:-1], "metadata"), meta.annotations, ctx)
    base = Indicator(
        name=meta.name,
        display_name=getattr(meta, "display_name", None) or "",
        description=spec.description or "",
        missing_data=md or MissingData.IGNORE,
        origin=origin_of(obj, str(obj.data.get("apiVersion", "")), "SLI"),
    )
    if spec.ratio_metric is not None:
        ratio = _ratio(obj, (*f, "ratioMetric"), spec.ratio_metric, query, ctx)
        return None if ratio is None else replace(base, ratio=ratio)
    assert spec.threshold_metric is not None
    q = query(obj, (*f, "thresholdMetric"), spec.threshold_metric, ctx)
    return None if q is None else replace(base, threshold=ThresholdMetric(q))


def slo_indicator(
    obj: SpecObject,
    inline: Any,
    ref: str | None,
    keys: tuple[str, str],
    query: QueryMapper,
    ctx: MapContext,
    *,
    required: bool = True,
) -> Indicator | None:
    """An SLO's indicator: inline (``keys[0]``) or a reference to an SLI (``keys[1]``)."""
    if inline is not None and ref is not None:
        ctx.problems.at(obj, ("spec",), f"use either {keys[0]} or {keys[1]}, not both")
        return None
    if ref is not None:
        if ctx.check_ref(obj, ("spec", keys[1]), "sli", ref):
            return ctx.workspace.slis.get(ref)
        return None
    if inline is not None:
        f = ("spec", keys[0], "spec")
        return map_indicator(obj, f, inline.spec, query, inline.metadata, ctx)
    if required:
        ctx.problems.at(obj, ("spec",), f"{keys[0]} or {keys[1]} is required")
    return None


def with_slo_missing_data(
    obj: SpecObject, ind: Indicator, annotations: Mapping[str, str], ctx: MapContext
) -> Indicator:
    """``ind`` with the SLO's own missing-data annotation applied, if it has one."""
    md = missing_data(obj, ("metadata",), annotations, ctx)
    return ind if md is None else replace(ind, missing_data=md)
