"""Alert-window catalogues are data; factors are derived from them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from slm.domain.errors import SpecError
from slm.spec.catalogues import default_catalogue, load_catalogue

GOOD = Path(__file__).parent / "corpus" / "good"

ROWS = [  # severity, long, short, budget %, factor at 30d, factor at 28d
    ("page", timedelta(hours=1), timedelta(minutes=5), 2, 14.4, 13.44),
    ("page", timedelta(hours=6), timedelta(minutes=30), 5, 6.0, 5.6),
    ("ticket", timedelta(days=1), timedelta(hours=2), 10, 3.0, 2.8),
    ("ticket", timedelta(days=3), timedelta(hours=6), 10, 1.0, 0.9333),
]


@pytest.mark.parametrize("days", [30, 28], ids=["30d", "28d"])
def test_shipped_catalogue_is_the_sre_workbook(days: int) -> None:
    cat = default_catalogue(timedelta(days=days))
    assert cat.period == timedelta(days=days)
    assert cat.name == f"sre-workbook-{days}d"
    got = [(w.severity, w.long, w.short, w.budget_percent) for w in cat.windows]
    assert got == [r[:4] for r in ROWS]
    expected = [r[4] if days == 30 else r[5] for r in ROWS]
    assert [round(w.factor(cat.period), 4) for w in cat.windows] == expected


def test_other_periods_use_the_30d_rows() -> None:
    cat = default_catalogue(timedelta(days=7))
    assert cat.period == timedelta(days=7)
    assert cat.windows == default_catalogue(timedelta(days=30)).windows


def test_user_catalogue_loads() -> None:
    cat = load_catalogue(GOOD / "catalogue-7d.yaml")
    assert (cat.name, cat.period, len(cat.windows)) == ("fast-7d", timedelta(days=7), 2)
    assert cat.windows[0].factor(cat.period) == pytest.approx(0.02 * 7 * 24 * 2)


def test_file_without_catalogue_is_a_problem() -> None:
    with pytest.raises(SpecError, match="no AlertWindowCatalogue or Sloth AlertWindows in file"):
        load_catalogue(GOOD / "sloth-k8s.yaml")


def test_catalogue_is_also_loaded_by_the_loader() -> None:
    from slm.spec.loader import load_workspace

    ws = load_workspace([GOOD / "catalogue-7d.yaml"])
    assert list(ws.objects[("slm/v1", "AlertWindowCatalogue")]) == ["fast-7d"]
