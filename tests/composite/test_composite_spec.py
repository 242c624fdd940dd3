"""The ``Component`` kind: good specs map to the graph; bad ones get located messages."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from slm.domain.composite import AllOf, AnyOf, AtLeast, Fallback, Ref, SloBinding
from slm.domain.errors import SpecError
from slm.spec.components import components
from slm.spec.loader import load_workspace

SLO = """\
apiVersion: openslo/v2alpha
kind: SLO
metadata:
  name: api-availability
spec:
  service: api
  sli:
    metadata: {name: api-ok}
    spec:
      ratioMetric:
        good: {dataSourceSpec: {type: File, connectionDetails: {}}, spec: {series: good}}
        total: {dataSourceSpec: {type: File, connectionDetails: {}}, spec: {series: total}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives:
    - {displayName: fast, target: 0.99, compositeWeight: 2}
    - {displayName: ok, target: 0.999}
---
apiVersion: openslo/v2alpha
kind: Service
metadata:
  name: api
spec: {}
"""


def _component(name: str, spec: str) -> str:
    body = textwrap.indent(textwrap.dedent(spec).strip(), "  ")
    return f"apiVersion: slm/v1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n{body}\n"


def _write(tmp_path: Path, *docs: str) -> Path:
    path = tmp_path / "components.yaml"
    path.write_text("---\n".join([SLO, *docs]), encoding="utf-8")
    return path


def _problems(tmp_path: Path, *docs: str) -> list[str]:
    path = _write(tmp_path, *docs)
    with pytest.raises(SpecError) as e:
        load_workspace([path])
    return [str(p).replace(str(path), "F") for p in e.value.problems]


def test_every_dependency_form_maps(tmp_path: Path) -> None:
    leaves = [_component(n, "targetPercent: 99.9") for n in ("a", "b", "c", "d", "e")]
    top = _component(
        "top",
        """
        service: api
        provider: cloudco
        responsibility: {hosting: public-cloud, operatedBy: cloudco}
        tier: vendor
        party: cloudco
        target: 0.995
        slos:
          - {slo: api-availability, objective: fast}
          - {slo: api-availability, objective: ok, weight: 5}
        aggregation: errorBudgetState
        dependsOn:
          - a
          - anyOf: [b, {component: c}]
          - {atLeast: 2, of: [a, b, c]}
          - {primary: d, fallback: e, switchover: 0.9}
        """,
    )
    ws = load_workspace([_write(tmp_path, *leaves, top)])
    c = components(ws.objects)["top"]
    assert c.depends_on == AllOf(
        (
            Ref("a"),
            AnyOf((Ref("b"), Ref("c"))),
            AtLeast(2, (Ref("a"), Ref("b"), Ref("c"))),
            Fallback(Ref("d"), Ref("e"), 0.9),
        )
    )
    # the weight defaults to the objective's compositeWeight, then to 1
    assert c.slos == (
        SloBinding("api-availability", "fast", 2.0),
        SloBinding("api-availability", "ok", 5.0),
    )
    assert (c.provider, c.hosting, c.operated_by, c.tier, c.party) == (
        "cloudco",
        "public-cloud",
        "cloudco",
        "vendor",
        "cloudco",
    )
    assert (c.target, c.aggregation) == (0.995, "errorBudgetState")
    assert components(ws.objects)["a"].target == 0.999
    assert components(ws.objects)["a"].depends_on is None


BAD = [
    (
        "unknown-component",
        [_component("x", "dependsOn: [nope]")],
        ["F:30: Component/x: spec.dependsOn.allOf[0].component: unknown Component 'nope'"],
    ),
    (
        "self-dependency",
        [_component("x", "dependsOn: x")],
        ["F:30: Component/x: spec.dependsOn.component: a component cannot depend on itself"],
    ),
    (
        "cycle",
        [_component("x", "dependsOn: y"), _component("y", "dependsOn: {anyOf: [x]}")],
        ["F:37: Component/y: spec.dependsOn: dependency cycle: x -> y -> x"],
    ),
    (
        "k-larger-than-n",
        [_component("a", "{}"), _component("x", "dependsOn: {atLeast: 3, of: [a, a]}")],
        [
            "F:37: Component/x: spec.dependsOn.atLeast: "
            "must be at most the number of items in of (2)"
        ],
    ),
    (
        "two-forms",
        [_component("a", "{}"), _component("x", "dependsOn: {component: a, anyOf: [a]}")],
        [
            "F:37: Component/x: spec.dependsOn: give exactly one of component, allOf, anyOf, "
            "atLeast/of, primary/fallback (got component and anyOf)"
        ],
    ),
    (
        "fallback-without-primary",
        [_component("a", "{}"), _component("x", "dependsOn: {fallback: a}")],
        [
            "F:37: Component/x: spec.dependsOn.primary: required field missing "
            "(primary and fallback go together)"
        ],
    ),
    (
        "switchover-out-of-range",
        [
            _component("a", "{}"),
            _component("x", "dependsOn: {primary: a, fallback: a, switchover: 2}"),
        ],
        ["F:37: Component/x: spec.dependsOn.switchover: must be at most 1.0"],
    ),
    (
        "unknown-slo",
        [_component("x", "slos: [{slo: nope}]")],
        ["F:30: Component/x: spec.slos[0].slo: unknown SLO 'nope'"],
    ),
    (
        "objective-needed",
        [_component("x", "slos: [{slo: api-availability}]")],
        [
            "F:30: Component/x: spec.slos[0].objective: required field missing: SLO "
            "'api-availability' has 2 objectives ('fast', 'ok'); name one"
        ],
    ),
    (
        "unknown-objective",
        [_component("x", "slos: [{slo: api-availability, objective: slow}]")],
        [
            "F:30: Component/x: spec.slos[0].objective: SLO 'api-availability' has no "
            "objective 'slow' (it has 'fast', 'ok')"
        ],
    ),
    (
        "bad-target",
        [_component("x", "target: 1.5")],
        ["F:30: Component/x: spec.target: must be between 0 and 1 (exclusive), e.g. 0.999"],
    ),
    (
        "both-targets",
        [_component("x", "target: 0.99\ntargetPercent: 99")],
        ["F:29: Component/x: spec: use either target or targetPercent, not both"],
    ),
    (
        "bad-hosting",
        [_component("x", "responsibility: {hosting: moon}")],
        [
            "F:30: Component/x: spec.responsibility.hosting: must be one of on-premises, "
            "public-cloud, private-cloud, saas, hybrid"
        ],
    ),
    (
        "unknown-field",
        [_component("x", "depends: [a]")],
        ["F:30: Component/x: spec.depends: unknown field 'depends'"],
    ),
    (
        "unknown-service",
        [_component("x", "service: nope")],
        ["F:30: Component/x: spec.service: unknown Service 'nope'"],
    ),
]


@pytest.mark.parametrize(("docs", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_components_are_rejected_with_a_located_message(
    tmp_path: Path, docs: list[str], expected: list[str]
) -> None:
    assert _problems(tmp_path, *docs) == expected


def test_examples_components_load(examples_dir: Path) -> None:
    ws = load_workspace([examples_dir])
    comps = components(ws.objects)
    assert sorted(comps) == [
        "checkout",
        "checkout-db",
        "db-1",
        "db-2",
        "db-3",
        "payments",
        "psp-backup",
        "psp-main",
        "shop-lb",
    ]
    assert comps["shop-lb"].hosting == "public-cloud"
    assert comps["checkout"].depends_on == AllOf(
        (Ref("shop-lb"), Ref("payments"), Ref("checkout-db"))
    )
