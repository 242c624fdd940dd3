"""Which SLOs get alert rules: as Sloth, only those whose spec configures alerting,
unless ``--default-alerts``; and Sloth's ``AlertWindows`` files as ``--windows``."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm.domain.errors import SpecError
from slm.rules.pipeline import RulesRequest, build_rules
from slm.spec.catalogues import load_catalogue

HERE = Path(__file__).parent
SHOP = HERE / "specs" / "promtool-shop.yaml"
POLICIES = HERE / "specs" / "openslo-policies.yaml"

SLOTH = """\
version: prometheus/v1
service: svc
slos:
  - name: s
    objective: 99
    sli:
      events:
        error_query: sum(rate(e[{{{{.window}}}}]))
        total_query: sum(rate(t[{{{{.window}}}}]))
{alerting}"""


def _sloth(tmp_path: Path, alerting: str) -> Path:
    p = tmp_path / "sloth.yaml"
    p.write_text(SLOTH.format(alerting=alerting), encoding="utf-8")
    return p


def _alerts(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("- alert:")]


def test_sloth_slo_without_alerting_gets_no_alerts_and_a_note(tmp_path: Path) -> None:
    path = _sloth(tmp_path, "")
    result = build_rules(RulesRequest([path]))
    assert _alerts(result.text) == []
    assert "slo:sli_error:ratio_rate5m" in result.text
    assert result.notes == (
        f"{path}:4: SLO/svc-s: Sloth alerting has no name (Sloth refuses such an SLO): no "
        "alert rules (--default-alerts adds the catalogue's page and ticket alerts)",
    )


def test_sloth_slo_without_alerting_name_gets_default_alerts_when_asked(tmp_path: Path) -> None:
    path = _sloth(tmp_path, "    alerting:\n      labels:\n        team: a\n")
    result = build_rules(RulesRequest([path], default_alerts=True))
    assert _alerts(result.text) == ["- alert: SvcSErrorBudgetBurn"] * 2
    assert "team: a" in result.text
    assert result.notes == ()


def test_sloth_slo_with_a_named_alerting_gets_its_alerts(tmp_path: Path) -> None:
    path = _sloth(tmp_path, "    alerting:\n      name: MyAlert\n")
    result = build_rules(RulesRequest([path]))
    assert _alerts(result.text) == ["- alert: MyAlert"] * 2
    assert result.notes == ()


def test_disabled_sloth_alerts_stay_disabled_with_default_alerts(tmp_path: Path) -> None:
    alerting = (
        "    alerting:\n      page_alert:\n        disable: true\n"
        "      ticket_alert:\n        disable: true\n"
    )
    path = _sloth(tmp_path, alerting)
    for default in (False, True):
        result = build_rules(RulesRequest([path], default_alerts=default))
        assert _alerts(result.text) == []
        assert result.notes == ()


def test_openslo_policies_alert_and_slos_without_policies_do_not() -> None:
    result = build_rules(RulesRequest([POLICIES]))
    assert "sloth-slo-alerts-shop-requests-0" in result.text  # alertPolicies: fast, slow
    assert "sloth-slo-alerts-shop-search-0" not in result.text
    assert [n.split(": ", 2)[1:] for n in result.notes] == [
        [
            "SLO/search",
            "no alertPolicies: no alert rules (--default-alerts adds the catalogue's page "
            "and ticket alerts)",
        ]
    ]
    with_default = build_rules(RulesRequest([POLICIES], default_alerts=True))
    assert "sloth-slo-alerts-shop-search-0" in with_default.text
    # --default-alerts adds nothing to an SLO that has its policies
    requests = lambda t: t[t.index("sloth-slo-alerts-shop-requests-0") :]  # noqa: E731
    assert requests(with_default.text).startswith(requests(result.text).split("- name:")[0])


def test_no_alerts_option_says_nothing_about_missing_alerting() -> None:
    assert build_rules(RulesRequest([SHOP], alerts=False)).notes == ()


SEVEN_DAYS = """\
apiVersion: sloth.slok.dev/v1
kind: AlertWindows
spec:
  sloPeriod: 7d
  page:
    quick: {errorBudgetPercent: 8, shortWindow: 5m, longWindow: 1h}
    slow: {errorBudgetPercent: 12.5, shortWindow: 30m, longWindow: 6h}
  ticket:
    quick: {errorBudgetPercent: 20, shortWindow: 2h, longWindow: 1d}
    slow: {errorBudgetPercent: 42, shortWindow: 6h, longWindow: 3d}
"""


def test_sloth_alert_windows_file_is_a_catalogue(tmp_path: Path) -> None:
    p = tmp_path / "team-7d.yaml"
    p.write_text(SEVEN_DAYS, encoding="utf-8")
    cat = load_catalogue(p)
    assert cat.name == "team-7d"
    assert cat.period.days == 7
    assert [(w.severity, w.short, w.long, w.budget_percent) for w in cat.windows][1] == (
        "page",
        cat.windows[1].short,
        cat.windows[1].long,
        12.5,
    )
    assert [str(w.long) for w in cat.windows] == [
        "1:00:00",
        "6:00:00",
        "1 day, 0:00:00",
        "3 days, 0:00:00",
    ]
    # factors from the windows' own period: 8% of 7d in 1h = 13.44
    assert [round(w.factor(cat.period), 6) for w in cat.windows] == [13.44, 3.5, 1.4, 0.98]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("shortWindow: 5m, longWindow: 1h", "shortWindow: 1h, longWindow: 1h"),
        ("longWindow: 3d}", "longWindow: 8d}"),
        ("errorBudgetPercent: 8,", "errorBudgetPercent: 0,"),
        ("  ticket:\n", "  tickets:\n"),
    ],
)
def test_bad_alert_windows_are_located_problems(tmp_path: Path, change: str, message: str) -> None:
    p = tmp_path / "w.yaml"
    p.write_text(SEVEN_DAYS.replace(change, message), encoding="utf-8")
    with pytest.raises(SpecError) as e:
        load_catalogue(p)
    text = str(e.value)
    assert f"{p}:" in text
    assert "AlertWindows" in text
