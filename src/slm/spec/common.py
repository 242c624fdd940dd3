"""Pieces shared by every spec format: the strict base model, names, durations, labels."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

from slm.domain.durations import parse_duration, parse_span

_RFC1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class SpecModel(BaseModel):
    """Base of every spec model: unknown fields are errors; camelCase keys."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, frozen=True, allow_inf_nan=False
    )


class SnakeModel(BaseModel):
    """Base for formats with snake_case keys (Sloth ``prometheus/v1``)."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, frozen=True, allow_inf_nan=False
    )


def check_name(value: str) -> str:
    if len(value) > 63:
        raise ValueError(f"name {value!r} is longer than 63 characters")
    if not _RFC1123.match(value):
        raise ValueError(
            f"invalid name {value!r}: use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (RFC 1123)"
        )
    return value


def check_shorthand(value: str) -> str:
    parse_span(value, "mhdwMQY")
    return value


def check_shorthand_v2(value: str) -> str:
    parse_span(value, "mhdw")
    return value


def check_duration(value: str) -> str:
    """A positive duration of at most 100 years (``slm.domain.durations``)."""
    parse_duration(value)
    return value


def check_duration_or_zero(value: str) -> str:
    parse_duration(value, allow_zero=True)
    return value


def minutes_if_number(value: Any) -> Any:
    """OpenSLO ``timeSliceWindow`` may be a bare number of minutes."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value > 0 and float(value).is_integer():
        return f"{int(value)}m"
    return value


def scalar_to_str(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def check_ratio(value: float) -> float:
    if not 0 < value < 1:
        raise ValueError("must be between 0 and 1 (exclusive), e.g. 0.999")
    return value


def check_percent(value: float) -> float:
    if not 0 < value < 100:
        raise ValueError("must be between 0 and 100 (exclusive), e.g. 99.9")
    return value


def check_slice_target(value: float) -> float:
    if not 0 < value <= 1:
        raise ValueError("must be greater than 0 and at most 1, e.g. 0.95")
    return value


def check_positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


Name = Annotated[str, AfterValidator(check_name)]
Shorthand = Annotated[str, AfterValidator(check_shorthand)]
ShorthandV2 = Annotated[str, AfterValidator(check_shorthand_v2)]
Duration = Annotated[str, AfterValidator(check_duration)]
DurationOrZero = Annotated[str, AfterValidator(check_duration_or_zero)]
SliceWindow = Annotated[str, BeforeValidator(minutes_if_number), AfterValidator(check_duration)]
Ratio = Annotated[float, AfterValidator(check_ratio)]
Percent = Annotated[float, AfterValidator(check_percent)]
SliceTarget = Annotated[float, AfterValidator(check_slice_target)]
Positive = Annotated[float, AfterValidator(check_positive)]
LabelValue = Annotated[str, BeforeValidator(scalar_to_str)]
StrMap = dict[str, LabelValue]
Operator = Literal["lt", "lte", "gt", "gte"]
BudgetingMethodName = Literal["Occurrences", "Timeslices", "RatioTimeslices"]
RawType = Literal["success", "failure"]
Free = dict[str, Any]  # "anything that is valid YAML can be put here"


def none_as_empty_list(value: Any) -> Any:
    """``alertPolicies:`` with nothing after it (YAML null) is an empty list, as in
    OpenSLO's own examples."""
    return [] if value is None else value


def merge_map_list(value: Any) -> Any:
    """``connectionDetails`` as a map, or as a list of maps (both appear in OpenSLO examples)."""
    if not isinstance(value, list):
        return value
    merged: dict[str, Any] = {}
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ValueError(f"item {i} of the list is not a map (write key: value)")
        for key, v in item.items():
            if key in merged:
                raise ValueError(f"key {key!r} is given twice")
            merged[key] = v
    return merged


ConnectionDetails = Annotated[Free, BeforeValidator(merge_map_list)]


def labels_value(value: Any) -> Any:
    """OpenSLO v1 label values are a string or a list of strings."""
    if isinstance(value, list):
        return [scalar_to_str(v) for v in value]
    return scalar_to_str(value)


V1LabelValue = Annotated[str | list[str], BeforeValidator(labels_value)]


def flatten_labels(labels: Mapping[str, str | list[str]]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else ",".join(v) for k, v in labels.items()}
