"""Alert-window catalogues as data: ``AlertWindowCatalogue`` YAML files (and Sloth's
``AlertWindows`` files, read the same way).

``30d.yaml`` and ``28d.yaml`` ship with slm (the SRE Workbook's page/ticket pairs); a
user's own catalogue is the same kind of file and loads the same way.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path

from slm.domain.errors import Problem, SpecError
from slm.domain.model import AlertCatalogue
from slm.spec.checks import CATALOGUE_KEY, SLOTH_WINDOWS_KEY
from slm.spec.loader import load_workspace

_28D = timedelta(days=28)


def load_catalogue(path: str | Path) -> AlertCatalogue:
    """The one ``AlertWindowCatalogue`` (or Sloth ``AlertWindows``) in ``path``;
    ``SpecError`` if invalid or absent."""
    ws = load_workspace([path])
    found = [
        *ws.objects.get(CATALOGUE_KEY, {}).values(),
        *ws.objects.get(SLOTH_WINDOWS_KEY, {}).values(),
    ]
    if len(found) != 1:
        msg = (
            "no AlertWindowCatalogue or Sloth AlertWindows in file"
            if not found
            else "more than one AlertWindowCatalogue or AlertWindows in file"
        )
        raise SpecError([Problem(str(path), None, "AlertWindowCatalogue", "", "", msg)])
    cat = found[0]
    assert isinstance(cat, AlertCatalogue)
    return cat


@cache
def _builtin(name: str) -> AlertCatalogue:
    with as_file(files(__name__) / name) as path:
        return load_catalogue(path)


def default_catalogue(period: timedelta) -> AlertCatalogue:
    """The shipped catalogue for an SLO period: 28d has its own, any other uses the 30d rows."""
    if period == _28D:
        return _builtin("28d.yaml")
    base = _builtin("30d.yaml")
    return base if period == base.period else AlertCatalogue(base.name, period, base.windows)
