"""``slm rules generate``: Sloth-compatible Prometheus rules from any spec slm reads."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import typer

from slm.cli.app import PathsArg, app, err, parse_duration_option
from slm.cli.output import OutputOpt, emit

rules_app = typer.Typer(
    help="Prometheus recording and alerting rules (Sloth conventions).", no_args_is_help=True
)
app.add_typer(rules_app, name="rules")


class RulesFormat(StrEnum):
    prometheus = "prometheus"
    prometheus_operator = "prometheus-operator"


class CompatMode(StrEnum):
    slm = "slm"
    sloth = "sloth"


class Optimize(StrEnum):
    none = "none"
    period = "period"
    long = "long"


_OPTIMIZE: dict[Optimize, Literal["none", "period", "long"]] = {
    Optimize.none: "none",
    Optimize.period: "period",
    Optimize.long: "long",
}


def _labels(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{v!r} is not KEY=VALUE", param_hint="--label")
        out[key.strip()] = value
    return out


def _period(value: str | None) -> timedelta | None:
    return None if value is None else parse_duration_option(value, "--period")


@rules_app.command("generate")
def generate(
    paths: PathsArg,
    output: OutputOpt = None,
    fmt: Annotated[
        RulesFormat,
        typer.Option(
            "--format",
            help="prometheus: a rule file; prometheus-operator: PrometheusRule resources.",
        ),
    ] = RulesFormat.prometheus,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="SLO period for specs without one (Sloth; OpenSLO calendar windows). "
            "Default: the --windows period, else 30d.",
        ),
    ] = None,
    windows: Annotated[
        Path | None,
        typer.Option(
            "--windows",
            help="AlertWindowCatalogue or Sloth AlertWindows file (default: SRE Workbook 30d/28d).",
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("-l", "--label", help="Extra KEY=VALUE label on every recording rule."),
    ] = None,
    no_alerts: Annotated[bool, typer.Option("--no-alerts", help="Recording rules only.")] = False,
    no_recordings: Annotated[
        bool, typer.Option("--no-recordings", help="Alerting rules only.")
    ] = False,
    optimize: Annotated[
        Optimize,
        typer.Option(
            "--optimize",
            help="Windows computed from the 5m recording: period (Sloth's default), none "
            "(every window from raw series), long (period and long alert windows).",
        ),
    ] = Optimize.period,
    cheap_long_windows: Annotated[
        bool, typer.Option("--cheap-long-windows", help="Same as --optimize long.")
    ] = False,
    default_alerts: Annotated[
        bool,
        typer.Option(
            "--default-alerts",
            help="Page and ticket alerts from the windows also for SLOs whose spec "
            "configures no alerting (OpenSLO without alertPolicies, Sloth without alerting.name).",
        ),
    ] = False,
    compat: Annotated[
        CompatMode,
        typer.Option(
            "--compat",
            help="sloth: SLI ratios as Sloth writes them (no '> 0' guard on the total), "
            "to diff against Sloth's output.",
        ),
    ] = CompatMode.slm,
) -> None:
    """Write recording and alerting rules for every SLO with Prometheus metric sources."""
    from slm.rules.pipeline import RulesRequest, build_rules
    from slm.spec.catalogues import load_catalogue

    if no_alerts and no_recordings:
        raise typer.BadParameter(
            "with --no-recordings too, nothing is left", param_hint="--no-alerts"
        )
    if cheap_long_windows and optimize is Optimize.none:
        raise typer.BadParameter(
            "--cheap-long-windows contradicts --optimize none", param_hint="--optimize"
        )
    req = RulesRequest(
        paths=paths,
        format="prometheus-operator" if fmt is RulesFormat.prometheus_operator else "prometheus",
        period=_period(period),
        catalogue=load_catalogue(windows) if windows is not None else None,
        labels=_labels(label or []),
        alerts=not no_alerts,
        recordings=not no_recordings,
        optimize="long" if cheap_long_windows else _OPTIMIZE[optimize],
        default_alerts=default_alerts,
        compat="sloth" if compat is CompatMode.sloth else "slm",
    )
    result = build_rules(req)
    for note in result.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    for s in result.skipped:
        err.print(f"note: {s}", markup=False, highlight=False)
    groups = sum(len(s.groups) for s in result.sets)
    emit(result.text, output, note=f"{groups} groups")
