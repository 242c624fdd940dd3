"""RetentionPolicy and LegalHold specs: what they map to, and every problem located."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from slm.domain.errors import SpecError
from slm.domain.retention import Keep, LegalHold, RetentionPolicy, Selector, Tier
from slm.services.retention import retention_objects
from slm.spec.loader import load_workspace

POLICY = """\
apiVersion: slm/v1
kind: RetentionPolicy
metadata: {name: standard}
spec:
  description: Minutes for 35 days, hours for 400 days, days for seven years.
  tiers:
    - {resolution: 1m, keep: 35d}
    - {resolution: 1h, keep: 400d}
    - {resolution: 1d, keep: 7y}
---
apiVersion: slm/v1
kind: LegalHold
metadata: {name: dispute-114}
spec:
  selector: {series: ["payments_*"]}
  period: {from: 2026-03-01, to: "2026-04-01T02:00:00+02:00"}
  reason: Credit dispute with ACME, March 2026
  setBy: jane.doe@example.com
  setAt: 2026-04-03T09:12:00Z
"""


def test_a_policy_and_a_hold_map_to_the_domain(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(POLICY)
    policies, holds = retention_objects(load_workspace([tmp_path]))
    assert policies == [
        RetentionPolicy(
            "standard",
            (
                Tier(timedelta(minutes=1), Keep(duration=timedelta(days=35))),
                Tier(timedelta(hours=1), Keep(duration=timedelta(days=400))),
                Tier(timedelta(days=1), Keep(months=84)),
            ),
            Selector(),
            "Minutes for 35 days, hours for 400 days, days for seven years.",
            origin=policies[0].origin,
        )
    ]
    assert holds == [
        LegalHold(
            "dispute-114",
            Selector(series=("payments_*",)),
            datetime(2026, 3, 1, tzinfo=UTC),
            datetime(2026, 4, 1, tzinfo=UTC),
            "Credit dispute with ACME, March 2026",
            "jane.doe@example.com",
            datetime(2026, 4, 3, 9, 12, tzinfo=UTC),
            origin=holds[0].origin,
        )
    ]
    assert holds[0].origin is not None and holds[0].origin.line == 11


def _policy(tiers: str, selector: str = "") -> str:
    return (
        "apiVersion: slm/v1\nkind: RetentionPolicy\nmetadata: {name: p}\nspec:\n"
        f"{selector}  tiers:\n{tiers}"
    )


def _hold(spec: str) -> str:
    return f"apiVersion: slm/v1\nkind: LegalHold\nmetadata: {{name: h}}\nspec:\n{spec}"


HOLD_OK = "  reason: r\n  setBy: me\n"

BAD = [
    pytest.param(
        _policy("    - {resolution: 1m, keep: 35x}\n"),
        "r.yaml:6: RetentionPolicy/p: spec.tiers[0].keep: invalid retention length '35x' "
        "(expected a number and m, h, d, w, M or y, e.g. 35d, 13M, 7y)",
        id="bad-keep",
    ),
    pytest.param(
        _policy("    - {resolution: 1h, keep: 35d}\n    - {resolution: 1m, keep: 400d}\n"),
        "r.yaml:7: RetentionPolicy/p: spec.tiers[1].resolution: must be a multiple of the "
        "previous tier's resolution",
        id="finer-after-coarser",
    ),
    pytest.param(
        _policy("    - {resolution: 1h, keep: 35d}\n    - {resolution: 90m, keep: 400d}\n"),
        "spec.tiers[1].resolution: must be a multiple of the previous tier's resolution",
        id="not-a-multiple",
    ),
    pytest.param(
        _policy("    - {resolution: 1m, keep: 13M}\n    - {resolution: 1h, keep: 1y}\n"),
        "r.yaml:7: RetentionPolicy/p: spec.tiers[1].keep: must be longer than the previous "
        "tier's keep",
        id="keep-not-longer",
    ),
    pytest.param(_policy("    []\n"), "spec.tiers: must have at least 1 item(s)", id="no-tiers"),
    pytest.param(
        _policy("    - {resolution: 1m, keep: 1d, rollup: avg}\n"),
        "spec.tiers[0].rollup: unknown field 'rollup'",
        id="unknown-field",
    ),
    pytest.param(
        _policy("    - {resolution: 1m, keep: 1d}\n", "  selector: {services: [nope]}\n")
        + "\n---\napiVersion: openslo/v1\nkind: Service\nmetadata: {name: shop}\nspec: {}\n",
        "spec.selector.services[0]: unknown Service 'nope'",
        id="unknown-service",
    ),
    pytest.param(
        _hold("  selector: {}\n  period: {from: 2026-03-01, to: 2026-04-01}\n" + HOLD_OK),
        "r.yaml:5: LegalHold/h: spec.selector: a legal hold must name services or series "
        "patterns (use series: ['*'] for all)",
        id="hold-selects-nothing",
    ),
    pytest.param(
        _hold(
            "  selector: {series: [x]}\n  period: {from: 2026-04-01, to: 2026-03-01}\n" + HOLD_OK
        ),
        "LegalHold/h: spec.period: period.to must be after period.from",
        id="period-reversed",
    ),
    pytest.param(
        _hold(
            "  selector: {series: [x]}\n"
            "  period: {from: '2026-03-01T00:00:00', to: 2026-04-01}\n" + HOLD_OK
        ),
        "spec.period.from: needs a UTC offset (e.g. 2026-03-01T00:00:00Z) or a plain date",
        id="naive-instant",
    ),
    pytest.param(
        _hold("  selector: {series: [x]}\n  period: {from: 2026-03-01, to: 2026-04-01}\n"),
        "LegalHold/h: spec.reason: required field missing",
        id="no-reason",
    ),
]


@pytest.mark.parametrize(("text", "problem"), BAD)
def test_bad_specs_are_located(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "r.yaml").write_text(text)
    with pytest.raises(SpecError) as info:
        load_workspace([tmp_path / "r.yaml"])
    messages = [str(p) for p in info.value.problems]
    assert any(m.endswith(problem) for m in messages), messages
