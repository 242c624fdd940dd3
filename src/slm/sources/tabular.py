"""CSV and Parquet measurement files with the columns ``timestamp``, ``series``, ``value``.

``value`` is the number of events in the bucket that starts at ``timestamp`` (or, for a
threshold metric, the metric's value in that bucket). ``timestamp`` is RFC 3339 with an
offset (``2026-10-01T00:00:00+02:00``, ``...Z``) or Unix time (integer or float), in any
mix; Parquet may also use a time-zone-aware timestamp column. Unix time is in the declared
epoch unit (``s``, ``ms``, ``us``, ``ns``), or with ``auto`` in the unit its magnitude
tells (``slm.domain.instants.detect_unit``; every numeric timestamp of a file in the
same unit). Everything is normalised to Unix seconds UTC (fractions of a second are
floored) and must lie in the representable range of ``slm.domain.instants``; values are
counts from 0 to 2**53, and so is the sum of the rows of one series in one bucket.

Parsing is vectorised (pyarrow, numpy). When a column does not convert, the first bad row
is found afterwards (by bisection) and reported as ``DataError`` naming the file, the row
(the line number for CSV) and the column. Other columns are ignored.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from slm.domain.errors import DataError, MissingExtraError
from slm.domain.instants import (
    DETECTION,
    EARLIEST,
    LATEST,
    MAX_VALUE,
    PER_SECOND,
    UNIT_NAMES,
    EpochOption,
    EpochUnit,
    range_text,
    undetectable,
    value_problem,
)
from slm.sources.grid import FloatArray, IntArray

try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq
except ModuleNotFoundError as e:  # an optional dependency: slm[parquet]
    raise MissingExtraError("parquet", "reading CSV and Parquet files", "pyarrow") from e
from slm.sources.table import MeasurementTable

BoolArray = npt.NDArray[np.bool_]

COLUMNS = ("timestamp", "series", "value")
TabularFormat = Literal["csv", "parquet"]

_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_INTEGER = r"^[+-]?\d{1,19}$"
_NANOS = r"\.\d{7,}"
_PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class _Bad:
    """The first bad row of a column (0-based data row) and what is wrong with it."""

    row: int
    message: str


def tabular_format(path: Path) -> TabularFormat | None:
    """``csv`` or ``parquet`` from the suffix, else from the Parquet magic bytes."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    try:
        with path.open("rb") as f:
            return "parquet" if f.read(4) == _PARQUET_MAGIC else None
    except OSError:
        return None


def read_tabular(
    path: Path, fmt: TabularFormat | None = None, epoch_unit: EpochOption = "auto"
) -> MeasurementTable:
    """Parse a CSV or Parquet measurement file (format from ``fmt`` or the file);
    numeric timestamps are Unix time in ``epoch_unit`` (``auto``: from their magnitude)."""
    fmt = fmt or tabular_format(path) or "csv"
    if fmt == "parquet":
        return read_parquet(path, epoch_unit)
    return read_csv(path, epoch_unit)


def read_csv(path: Path, epoch_unit: EpochOption = "auto") -> MeasurementTable:
    options = pa_csv.ConvertOptions(
        column_types={c: pa.string() for c in COLUMNS},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        table = pa_csv.read_csv(path, convert_options=options)
    except FileNotFoundError as e:
        raise DataError(f"{path}: no such file") from e
    except (OSError, pa.ArrowException) as e:  # CSV syntax, encoding
        raise DataError(_csv_syntax_error(path, e)) from e

    def where(row: int) -> str:
        return f"{path}:{_csv_lines(path)[row]}"

    return _to_table(path, table, where, epoch_unit)


def read_parquet(path: Path, epoch_unit: EpochOption = "auto") -> MeasurementTable:
    try:
        table = pq.read_table(path)
    except FileNotFoundError as e:
        raise DataError(f"{path}: no such file") from e
    except (OSError, pa.ArrowException) as e:
        raise DataError(f"{path}: not a readable Parquet file: {e}") from e

    def where(row: int) -> str:
        return f"{path}: row {row + 1}"

    return _to_table(path, table, where, epoch_unit)


def _to_table(
    path: Path, table: pa.Table, where: Callable[[int], str], epoch_unit: EpochOption
) -> MeasurementTable:
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        have = ", ".join(table.column_names) or "none"
        raise DataError(
            f"{path}: missing column {', '.join(repr(c) for c in missing)} "
            f"(expected timestamp, series, value; the file has: {have})"
        )
    cols = {c: table.column(c).combine_chunks() for c in COLUMNS}
    results = {
        "timestamp": _timestamps(cols["timestamp"], epoch_unit),
        "series": _series(cols["series"]),
        "value": _values(cols["value"]),
    }
    bad = [(r.row, c, r.message) for c, r in results.items() if isinstance(r, _Bad)]
    if bad:
        row, column, message = min(bad)
        raise DataError(f"{where(row)}: column {column!r}: {message}")
    ts, (names, codes), values = results["timestamp"], results["series"], results["value"]
    assert isinstance(ts, np.ndarray) and isinstance(values, np.ndarray)
    labels = _label_columns(table)
    table_ = MeasurementTable.from_columns(str(path), names, codes, ts, values, labels)
    table_.check_sums()
    return table_


# -- columns ------------------------------------------------------------------------------


def _label_columns(table: pa.Table) -> dict[str, tuple[list[str], IntArray]]:
    """The columns besides ``COLUMNS`` as text labels (a grouped SLO groups by them);
    an empty cell is the empty label value, as in Prometheus. Columns that are not
    text or numbers are left out."""
    out: dict[str, tuple[list[str], IntArray]] = {}
    for name in table.column_names:
        if name in COLUMNS:
            continue
        try:
            col = table.column(name).combine_chunks().cast(pa.string()).fill_null("")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        encoded = col.dictionary_encode()
        values = [str(v) for v in encoded.dictionary.to_pylist()]
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        out[name] = (values, codes)
    return out


def _timestamps(col: pa.Array[Any], unit: EpochOption) -> IntArray | _Bad:
    kind = col.type
    if col.null_count:
        return _Bad(_first_true(col.is_null()), "missing timestamp")
    if pa.types.is_dictionary(kind):
        col, kind = col.cast(kind.value_type), kind.value_type
    if pa.types.is_integer(kind):
        ints: IntArray = np.asarray(col.cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64)
        exact = np.ones(len(ints), dtype=np.bool_)
        return _epoch(ints.astype(np.float64), ints, exact, col, unit)
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        floats = np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False), np.float64)
        return _epoch(floats, None, None, col, unit)
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            return _Bad(0, "timestamp column has no time zone (write it as UTC-aware)")
        us = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        seconds = np.asarray(us.to_numpy(zero_copy_only=False), dtype=np.int64) // 1_000_000
        return _in_range(seconds, col)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _string_timestamps(pc.utf8_trim_whitespace(col), unit)
    return _Bad(0, f"unsupported column type {kind} (use RFC 3339 text or Unix time)")


def _epoch(
    values: FloatArray,
    ints: IntArray | None,
    exact: BoolArray | None,
    raw: pa.Array[Any],
    unit: EpochOption,
) -> IntArray | _Bad:
    """Unix time in ``unit`` (``auto``: told from the magnitude, one unit per file) as
    whole Unix seconds; ``ints`` holds the rows in ``exact`` without rounding."""
    finite = np.isfinite(values)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        return _Bad(i, f"{raw[i].as_py()!r} is not a finite number")
    if unit == "auto":
        detected = np.full(len(values), -1, dtype=np.int64)
        for k, (low, high, _) in enumerate(DETECTION):
            detected[(values >= low) & (values < high)] = k
        if (detected < 0).any():
            i = int(np.flatnonzero(detected < 0)[0])
            return _Bad(i, undetectable(raw[i].as_py()))
        if len(values) == 0:
            return np.zeros(0, dtype=np.int64)
        first = DETECTION[int(detected[0])][2]
        other = detected != detected[0]
        if other.any():
            i = int(np.flatnonzero(other)[0])
            return _Bad(
                i,
                f"{raw[i].as_py()!r} is Unix time in {UNIT_NAMES[DETECTION[int(detected[i])][2]]}"
                f" but the first numeric timestamp, {raw[0].as_py()!r}, is in "
                f"{UNIT_NAMES[first]}: one file uses one epoch unit (or declare it with "
                "--epoch-unit)",
            )
        unit = first
    per = PER_SECOND[unit]
    seconds = values / per
    outside = (seconds < EARLIEST) | (seconds >= LATEST)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        return _Bad(
            i,
            f"{raw[i].as_py()!r} as Unix time in {UNIT_NAMES[unit]} is outside the "
            f"representable range {range_text()}",
        )
    out = np.floor(seconds).astype(np.int64)
    if ints is not None and exact is not None:
        out[exact] = np.floor_divide(ints[exact], per)
    return out


def _in_range(seconds: IntArray, raw: pa.Array[Any]) -> IntArray | _Bad:
    outside = (seconds < EARLIEST) | (seconds >= LATEST)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        return _Bad(i, f"{_text(raw[i].as_py())} is outside the representable range {range_text()}")
    return seconds


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)


def _string_timestamps(text: pa.Array[Any], unit: EpochOption) -> IntArray | _Bad:
    numeric = pc.match_substring_regex(text, _NUMBER)
    is_num = np.asarray(numeric.to_numpy(zero_copy_only=False), dtype=np.bool_)
    out = np.empty(len(text), dtype=np.int64)
    if is_num.any():
        numbers = pc.filter(text, numeric)
        floats = np.asarray(numbers.cast(pa.float64()).to_numpy(zero_copy_only=False), np.float64)
        integral = pc.match_substring_regex(numbers, _INTEGER)
        exact = np.asarray(integral.to_numpy(zero_copy_only=False), dtype=np.bool_)
        exact &= np.abs(floats) < 9e18  # within int64; larger ones are refused below
        integral = pa.array(exact)
        ints = np.zeros(len(numbers), dtype=np.int64)
        if exact.any():
            ints[exact] = np.asarray(
                pc.filter(numbers, integral).cast(pa.int64()).to_numpy(zero_copy_only=False),
                np.int64,
            )
        seconds = _epoch(floats, ints, exact, numbers, unit)
        if isinstance(seconds, _Bad):
            return _Bad(int(np.flatnonzero(is_num)[seconds.row]), seconds.message)
        out[is_num] = seconds
    if not is_num.all():
        rfc = pc.filter(text, pc.invert(numeric))
        parsed = _rfc3339_seconds(rfc)
        if isinstance(parsed, _Bad):
            return _Bad(int(np.flatnonzero(~is_num)[parsed.row]), parsed.message)
        out[~is_num] = parsed
    return out


def _rfc3339_seconds(rfc: pa.Array[Any]) -> IntArray | _Bad:
    """RFC 3339 text as Unix seconds: microsecond resolution (years 1 to 9999), or
    nanoseconds for texts with more than six fractional digits."""
    fine = np.asarray(
        pc.match_substring_regex(rfc, _NANOS).to_numpy(zero_copy_only=False), dtype=np.bool_
    )
    seconds = np.empty(len(rfc), dtype=np.int64)
    parts: tuple[tuple[BoolArray, EpochUnit], ...] = ((~fine, "us"), (fine, "ns"))
    for mask, unit in parts:
        if not mask.any():
            continue
        part = pc.filter(rfc, pa.array(mask))
        kind = pa.timestamp(unit, tz="UTC")
        try:
            ticks = part.cast(kind).cast(pa.int64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            k = _first_failure(part, lambda a, kind=kind: a.cast(kind))  # type: ignore[misc]
            return _Bad(
                int(np.flatnonzero(mask)[k]),
                f"{part[k].as_py()!r} is not an RFC 3339 timestamp with an offset "
                "(like 2026-10-01T00:00:00+02:00) or Unix time",
            )
        seconds[mask] = np.asarray(ticks, dtype=np.int64) // PER_SECOND[unit]
    outside = (seconds < EARLIEST) | (seconds >= LATEST)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        return _Bad(i, f"{rfc[i].as_py()!r} is outside the representable range {range_text()}")
    return seconds


def _series(col: pa.Array[Any]) -> tuple[list[str], Any] | _Bad:
    kind = col.type
    if pa.types.is_dictionary(kind):
        col, kind = col.cast(kind.value_type), kind.value_type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return _Bad(0, f"unsupported column type {kind} (series names are text)")
    if col.null_count:
        return _Bad(_first_true(col.is_null()), "missing series name")
    empty = pc.equal(pc.utf8_trim_whitespace(col), pa.scalar(""))
    if pc.any(empty).as_py():
        return _Bad(_first_true(empty), "empty series name")
    encoded = pc.dictionary_encode(col)
    assert isinstance(encoded, pa.DictionaryArray)
    names = [str(n) for n in encoded.dictionary.to_pylist()]
    return names, encoded.indices.to_numpy(zero_copy_only=False)


def _values(col: pa.Array[Any]) -> Any:
    raw, kind = col, col.type
    if col.null_count:
        return _Bad(_first_true(col.is_null()), "missing value")
    if pa.types.is_dictionary(kind):
        col, kind = col.cast(kind.value_type), kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(col)
        try:
            col = text.cast(pa.float64())
        except pa.ArrowInvalid:
            k = _first_failure(text, lambda a: a.cast(pa.float64()))
            return _Bad(k, f"{text[k].as_py()!r} is not a number")
    elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
        return _Bad(0, f"unsupported column type {kind} (values are numbers)")
    values = np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False), np.float64)
    bad = ~np.isfinite(values) | (values < 0) | (values > MAX_VALUE)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        return _Bad(i, f"{raw[i].as_py()!r} {value_problem(float(values[i]))}")
    return values


# -- finding the bad row --------------------------------------------------------------------


def _first_true(mask: pa.Array[Any]) -> int:
    return int(pc.index(mask, True).as_py())


def _first_failure(values: pa.Array[Any], convert: Callable[[pa.Array[Any]], object]) -> int:
    """Index of the first element ``convert`` rejects, knowing it rejects the whole array."""
    lo, hi = 0, len(values)  # the first failure is in values[lo:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            convert(values.slice(lo, mid - lo))
        except pa.ArrowInvalid:
            hi = mid
        else:
            lo = mid
    return lo


def _csv_lines(path: Path) -> list[int]:
    """The line where each data row starts (pyarrow skips blank lines, so we do too)."""
    lines: list[int] = []
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        previous = 0
        for row in reader:
            if row:
                lines.append(previous + 1)
            previous = reader.line_num
    return lines[1:]  # the first row is the header


def _csv_syntax_error(path: Path, error: Exception) -> str:
    """Explain a CSV pyarrow could not split into rows, with the line when we find it."""
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        width = None
        for row in reader:
            if not row:
                continue
            if width is None:
                width = len(row)
            elif len(row) != width:
                return (
                    f"{path}:{reader.line_num}: expected {width} fields like the header, "
                    f"found {len(row)}"
                )
    return f"{path}: not a readable CSV file: {error}"
