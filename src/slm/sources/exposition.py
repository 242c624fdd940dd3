"""Prometheus text exposition and OpenMetrics files exported from Prometheus counters.

Every sample must carry a timestamp (milliseconds in the Prometheus text format, seconds in
OpenMetrics, as the formats define). Each series — the metric name plus its labels, written
as a PromQL selector with sorted labels (``http_requests_total{code="200",method="GET"}``)
— is a cumulative counter; it becomes the counter's increase per one-minute bucket: the
increase from one sample to the next is assigned to the bucket of the later sample, and a
drop means the counter restarted from 0 (the increase is then the new value). The first
sample of a series is its baseline and yields no increase.

Counter-like samples are read: counters (``_total``), histogram ``_bucket``/``_count``/
``_sum``, summary ``_count``/``_sum`` and untyped samples; ``_created`` samples are skipped.
Gauges, quantiles and other non-counter samples are rejected, as are samples without a
timestamp, timestamps outside the representable range of ``slm.domain.instants`` (an
OpenMetrics timestamp in milliseconds is named as such) and values that are negative,
not finite or above 2**53 (so is a bucket whose increases sum above it): ``DataError``
naming the file and line (or the series and bucket).
Parsing is prometheus_client's (``parser`` and ``openmetrics.parser``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
from prometheus_client import parser as text_parser
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import parser as om_parser
from prometheus_client.samples import Sample

from slm.domain.errors import DataError
from slm.domain.instants import UNIT_NAMES, detect_unit, instant_problem, value_problem
from slm.sources.grid import IntArray
from slm.sources.table import MeasurementTable

BUCKET_SECONDS = 60
# Text-format timestamps before this (2000-01-01) were almost surely written in seconds.
_EARLIEST = 946_684_800

_COUNTER_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
    "unknown": ("",),
    "untyped": ("",),
}


def is_openmetrics(text: str) -> bool:
    return any(line.strip() == "# EOF" for line in text.splitlines()[-3:])


def read_exposition(path: Path, *, openmetrics: bool | None = None) -> MeasurementTable:
    """Parse an exposition file into per-minute counter increases per series."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise DataError(f"{path}: no such file") from e
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read: {e}") from e
    om = is_openmetrics(text) if openmetrics is None else openmetrics
    samples = _Samples(path, text, om)
    return _increases(path, samples.counters())


@dataclass(frozen=True)
class _Point:
    series: str
    timestamp: int  # Unix seconds, floored
    value: float


class _Samples:
    def __init__(self, path: Path, text: str, openmetrics: bool):
        self.path = path
        self.lines = text.splitlines(keepends=True)
        self.openmetrics = openmetrics
        self.format = "OpenMetrics" if openmetrics else "Prometheus text"
        self.line = 0

    def _numbered(self) -> Iterator[str]:
        for number, text in enumerate(self.lines, start=1):
            self.line = number
            yield text if text.endswith("\n") else text + "\n"

    def families(self) -> Iterator[Metric]:
        parse = (
            om_parser.text_fd_to_metric_families
            if self.openmetrics
            else text_parser.text_fd_to_metric_families
        )
        try:
            yield from parse(self._numbered())  # type: ignore[arg-type]
        except (ValueError, TypeError, AttributeError) as e:  # the parser's own slips too
            detail = (str(e) if isinstance(e, ValueError) else "") or "cannot parse"
            got = self.lines[self.line - 1].strip() if 0 < self.line <= len(self.lines) else ""
            raise DataError(
                f"{self.path}:{self.line}: not valid {self.format}: {detail}"
                + (f" (line: {got!r})" if got and got not in detail else "")
            ) from e

    def counters(self) -> Iterator[_Point]:
        for family in self.families():
            suffixes = _COUNTER_SUFFIXES.get(family.type)
            for sample in family.samples:
                if sample.name == family.name + "_created":
                    continue
                if suffixes is None or sample.name not in {family.name + s for s in suffixes}:
                    self._reject(sample, f"{family.type} sample {sample.name!r} is not a counter")
                yield self._point(sample)

    def _point(self, sample: Sample) -> _Point:
        if sample.timestamp is None:
            self._reject(sample, "sample has no timestamp (export samples with timestamps)")
        value = float(sample.value)
        problem = value_problem(value)
        if problem is not None:
            self._reject(sample, f"counter value {sample.value!r} {problem}")
        stamp = float(sample.timestamp)
        if not self.openmetrics and stamp < _EARLIEST:
            self._reject(
                sample,
                f"timestamp {sample.timestamp!r}s is before 2000: the Prometheus text "
                "format takes milliseconds since the epoch (or use OpenMetrics, in seconds)",
            )
        problem = instant_problem(stamp)
        if problem is not None:
            unit = "seconds" if self.openmetrics else "milliseconds"
            detected, hint = detect_unit(stamp), ""
            if self.openmetrics and detected is not None and detected != "s":
                hint = (
                    f" (it looks like {UNIT_NAMES[detected]}; OpenMetrics timestamps are seconds)"
                )
            self._reject(
                sample, f"timestamp {sample.timestamp} ({unit} in {self.format}) {problem}{hint}"
            )
        return _Point(series_name(sample.name, sample.labels), math.floor(stamp), value)

    def _reject(self, sample: Sample, message: str) -> NoReturn:
        raise DataError(f"{self.path}:{self._line_of(sample)}: {message}")

    def _line_of(self, sample: Sample) -> int | str:
        """The line of ``sample``, by parsing candidate lines alone (only on errors)."""
        wanted = (sample.name, sample.labels, sample.timestamp, _key(sample.value))
        parse = om_parser if self.openmetrics else text_parser
        for number, line in enumerate(self.lines, start=1):
            text = line.strip()
            if not text or text.startswith("#") or not text.startswith(sample.name):
                continue
            try:
                tail = "\n# EOF\n" if self.openmetrics else "\n"
                found = [
                    s for f in parse.text_string_to_metric_families(text + tail) for s in f.samples
                ]
            except ValueError:
                continue
            if any((s.name, s.labels, s.timestamp, _key(s.value)) == wanted for s in found):
                return number
        return "?"


def _key(value: float) -> str:
    return repr(float(value))  # NaN equals NaN as text


def series_name(metric: str, labels: Mapping[str, str]) -> str:
    """``metric{a="x",b="y"}`` with sorted labels (PromQL selector form), or ``metric``."""
    if not labels:
        return metric
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{metric}{{{body}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _increases(path: Path, points: Iterable[_Point]) -> MeasurementTable:
    codes: dict[str, int] = {}
    series_codes: list[int] = []
    stamps: list[int] = []
    values: list[float] = []
    for p in points:
        series_codes.append(codes.setdefault(p.series, len(codes)))
        stamps.append(p.timestamp)
        values.append(p.value)
    code = np.asarray(series_codes, dtype=np.int64)
    ts: IntArray = np.asarray(stamps, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    order = np.lexsort((ts, code))  # stable: samples with equal stamps keep file order
    code, ts, v = code[order], ts[order], v[order]
    increase = np.diff(v, prepend=np.nan)
    increase = np.where(increase < 0, v, increase)  # a drop: the counter restarted from 0
    later = np.ones(len(code), dtype=np.bool_)
    later[:1] = False
    later[1:] = code[1:] == code[:-1]  # the first sample of each series is its baseline
    buckets = ts[later] - ts[later] % BUCKET_SECONDS
    table = MeasurementTable.from_columns(
        str(path), list(codes), code[later], buckets, increase[later]
    )
    table.check_sums()
    return table
