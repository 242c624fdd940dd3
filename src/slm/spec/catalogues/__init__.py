"""Alert-window catalogues as data: ``AlertWindowCatalogue`` YAML files.

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
from slm.spec.checks import CATALOGUE_KEY
from slm.spec.loader import load_workspace

_28D = timedelta(days=28)


def load_catalogue(path: str | Path) -> AlertCatalogue:
    """The one ``AlertWindowCatalogue`` in ``path``; ``SpecError`` if invalid or absent."""
    ws = load_workspace([path])
    found = list(ws.objects.get(CATALOGUE_KEY, {}).values())
    if len(found) != 1:
        msg = (
            "no AlertWindowCatalogue in file"
            if not found
            else ("more than one AlertWindowCatalogue in file")
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
