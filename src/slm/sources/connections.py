"""Offline checks of DataSource connection settings, for ``slm validate``.

Each adapter reads its ``connectionDetails`` when it is first used; a mistake there (a
missing URL, ``basicAuth`` beside a bearer token, a timeout that is not a duration) would
otherwise show only when the SLO is evaluated. These checks run the same readers without
connecting, reading secret files or requiring environment variables, so they pass in a CI
job that lints specs without the production environment.
"""

from __future__ import annotations

from collections.abc import Iterable

from slm.domain.errors import SourceError
from slm.domain.model import DataSource
from slm.sources.prometheus_config import config_for, where_of


def connection_problems(datasources: Iterable[DataSource]) -> list[str]:
    """``path:line: DataSource/name: field: message`` for each unusable DataSource."""
    problems: list[str] = []
    for ds in datasources:
        try:
            match ds.type.lower():
                case "prometheus":
                    config_for(ds, {}, read_files=False)
                case "sql":
                    _check_sql(ds)
                case "file":
                    _check_file(ds)
        except SourceError as e:
            problems.append(str(e))
    return problems


def _check_file(ds: DataSource) -> None:
    """A path that exists must be a regular file of bounded size (a missing one may be
    written before evaluation: it is not an error here)."""
    from pathlib import Path

    from slm.sources.files import measurement_file

    path = ds.connection_details.get("path")
    if not isinstance(path, str) or not path:
        return
    p = Path(ds.base_dir) / path
    if not (p.exists() or p.is_symlink()):
        return
    try:
        measurement_file(p)
    except SourceError as e:
        raise SourceError(f"{where_of(ds)}: spec.connectionDetails.path: {e}") from None


def _check_sql(ds: DataSource) -> None:
    from slm.sources.sql import resolve_url

    details = ds.connection_details
    env = details.get("urlFromEnv")
    if isinstance(env, str) and env and "url" not in details:
        return  # the variable is read where slm runs
    resolve_url(details, ds.base_dir, where_of(ds), "spec.connectionDetails")
