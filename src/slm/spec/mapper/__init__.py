"""The one place where spec models become ``slm.domain.model`` objects.

Each ``map_*`` function takes the located object, its valid pydantic model and the
mapping context; it returns the domain objects it made and reports every problem it
finds (references, cross-field rules, windows, time zones) to ``ctx.problems``.

One module per concern: ``windows``, ``indicators`` (queries, ratios, missing data),
``objectives`` (targets and the OpenSLO ``SLO``), ``alert_policies``, one module per
format (``openslo_v1``, ``openslo_v2alpha``, ``openslo_v1alpha``, ``sloth``) and
``catalogue`` (``AlertWindowCatalogue``). The names below are importable from here;
each submodule is imported when one of its names is first asked for (so reading OpenSLO v1
files does not import the Sloth, Pyrra or slo-generator models).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slm.spec.mapper.alert_policies import (
        map_policy_spec,
        map_v1_condition,
        map_v1_policy,
        map_v1_target,
    )
    from slm.spec.mapper.catalogue import catalogue_from_spec, map_catalogue, map_sloth_windows
    from slm.spec.mapper.indicators import MISSING_DATA_ANNOTATION, missing_data
    from slm.spec.mapper.objectives import map_objective, percent_to_ratio
    from slm.spec.mapper.openslo_v1 import map_v1_datasource, map_v1_service, map_v1_sli, map_v1_slo
    from slm.spec.mapper.openslo_v1alpha import map_v1alpha_slo
    from slm.spec.mapper.openslo_v2alpha import map_v2_sli, map_v2_slo
    from slm.spec.mapper.pyrra import map_pyrra
    from slm.spec.mapper.slo_generator import map_config as map_slo_generator_config
    from slm.spec.mapper.slo_generator import map_slo as map_slo_generator
    from slm.spec.mapper.sloth import (
        SLOTH_WINDOW,
        map_sloth,
        map_sloth_file,
        map_sloth_k8s,
        sloth_id,
    )
    from slm.spec.mapper.windows import map_window, window_length

# name -> (submodule, its name there)
_WHERE: dict[str, tuple[str, str]] = {
    "MISSING_DATA_ANNOTATION": ("indicators", "MISSING_DATA_ANNOTATION"),
    "SLOTH_WINDOW": ("sloth", "SLOTH_WINDOW"),
    "catalogue_from_spec": ("catalogue", "catalogue_from_spec"),
    "map_catalogue": ("catalogue", "map_catalogue"),
    "map_objective": ("objectives", "map_objective"),
    "map_policy_spec": ("alert_policies", "map_policy_spec"),
    "map_pyrra": ("pyrra", "map_pyrra"),
    "map_slo_generator": ("slo_generator", "map_slo"),
    "map_slo_generator_config": ("slo_generator", "map_config"),
    "map_sloth": ("sloth", "map_sloth"),
    "map_sloth_file": ("sloth", "map_sloth_file"),
    "map_sloth_k8s": ("sloth", "map_sloth_k8s"),
    "map_sloth_windows": ("catalogue", "map_sloth_windows"),
    "map_v1_condition": ("alert_policies", "map_v1_condition"),
    "map_v1_datasource": ("openslo_v1", "map_v1_datasource"),
    "map_v1_policy": ("alert_policies", "map_v1_policy"),
    "map_v1_service": ("openslo_v1", "map_v1_service"),
    "map_v1_sli": ("openslo_v1", "map_v1_sli"),
    "map_v1_slo": ("openslo_v1", "map_v1_slo"),
    "map_v1_target": ("alert_policies", "map_v1_target"),
    "map_v1alpha_slo": ("openslo_v1alpha", "map_v1alpha_slo"),
    "map_v2_sli": ("openslo_v2alpha", "map_v2_sli"),
    "map_v2_slo": ("openslo_v2alpha", "map_v2_slo"),
    "map_window": ("windows", "map_window"),
    "missing_data": ("indicators", "missing_data"),
    "percent_to_ratio": ("objectives", "percent_to_ratio"),
    "sloth_id": ("sloth", "sloth_id"),
    "window_length": ("windows", "window_length"),
}


def __getattr__(name: str) -> Any:
    found = _WHERE.get(name)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = found
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value


__all__ = [
    "MISSING_DATA_ANNOTATION",
    "SLOTH_WINDOW",
    "catalogue_from_spec",
    "map_catalogue",
    "map_objective",
    "map_policy_spec",
    "map_pyrra",
    "map_slo_generator",
    "map_slo_generator_config",
    "map_sloth",
    "map_sloth_file",
    "map_sloth_k8s",
    "map_sloth_windows",
    "map_v1_condition",
    "map_v1_datasource",
    "map_v1_policy",
    "map_v1_service",
    "map_v1_sli",
    "map_v1_slo",
    "map_v1_target",
    "map_v1alpha_slo",
    "map_v2_sli",
    "map_v2_slo",
    "map_window",
    "missing_data",
    "percent_to_ratio",
    "sloth_id",
    "window_length",
]
