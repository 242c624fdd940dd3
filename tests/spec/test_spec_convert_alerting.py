"""``slm convert`` keeps alert routing: Sloth's alerting block (name, severities, labels,
annotations, disabled alerts) and OpenSLO alert policies with their conditions and
notification targets; the rules generated from the converted file alert as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from slm.domain.errors import SpecError
from slm.rules.pipeline import RulesRequest, build_rules
from slm.spec.convert import to_openslo_v1
from slm.spec.loader import load_workspace

RULES = Path(__file__).parents[1] / "rules"
SLOTH_BASE = RULES / "sloth_corpus" / "integration" / "in-base.yaml"
SLOTH_K8S = RULES / "sloth_corpus" / "examples" / "k8s-home-wifi.yml"
POLICIES = RULES / "specs" / "openslo-policies.yaml"


def _convert(src: Path, tmp_path: Path) -> Path:
    out = tmp_path / "converted.yaml"
    out.write_text(to_openslo_v1([src]), encoding="utf-8")
    return out


def _alerts(path: Path) -> list[dict[str, object]]:
    text = build_rules(RulesRequest([path])).text
    groups = YAML(typ="safe").load(text)["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def _routing(alerts: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(a["alert"], a["labels"], a["annotations"]) for a in alerts]


@pytest.mark.parametrize("src", [SLOTH_BASE, SLOTH_K8S], ids=["prometheus-v1", "k8s"])
def test_sloth_alert_routing_survives_conversion(src: Path, tmp_path: Path) -> None:
    before = _alerts(src)
    after = _alerts(_convert(src, tmp_path))
    assert before  # the spec has enabled, named alerts
    assert _routing(after) == _routing(before)
    # same windows and factors; only the OpenSLO ids of the SLO differ
    ws = load_workspace([src])
    for slo in ws.slos.values():
        sloth = slo.extras["sloth"]
        old = f'sloth_id="{slo.name}", sloth_service="{slo.service}", sloth_slo="{sloth["slo"]}"'
        new = f'sloth_id="{slo.service}-{slo.name}-0", sloth_service="{slo.service}", '
        new += f'sloth_slo="{slo.name}-0"'
        for a, b in zip(before, after, strict=True):
            if old in str(a["expr"]):
                assert str(a["expr"]).replace(old, new) == b["expr"]


def test_sloth_base_routing_is_written_as_the_annotation(tmp_path: Path) -> None:
    docs = list(YAML(typ="safe").load_all(_convert(SLOTH_BASE, tmp_path).read_text()))
    slos = {d["metadata"]["name"]: d for d in docs if d["kind"] == "SLO"}
    kept = json.loads(slos["svc01-slo1"]["metadata"]["annotations"]["slm.dev/sloth-alerting"])
    assert kept == {
        "name": "myServiceAlert",
        "labels": {"alert01k1": "alert01v1"},
        "annotations": {"alert02k1": "alert02k2"},
        "page_alert": {"labels": {"alert03k1": "alert03v1"}},
        "ticket_alert": {"labels": {"alert04k1": "alert04v1"}},
    }
    disabled = slos["svc01-slo02"]["metadata"]["annotations"]["slm.dev/sloth-alerting"]
    assert json.loads(disabled) == {
        "page_alert": {"disable": True},
        "ticket_alert": {"disable": True},
    }


def test_openslo_alert_policies_are_converted_with_their_conditions(tmp_path: Path) -> None:
    """Before, converted SLOs named their policies but the policies were not written: the
    output did not load (unknown AlertPolicy 'fast')."""
    converted = _convert(POLICIES, tmp_path)
    ws = load_workspace([converted])  # raises on a dangling reference
    original = load_workspace([POLICIES])
    assert ws.alert_policies.keys() == original.alert_policies.keys() == {"fast", "slow"}
    for name, policy in original.alert_policies.items():
        again = ws.alert_policies[name]
        assert (again.conditions, again.notification_targets, again.alert_when_no_data) == (
            policy.conditions,
            policy.notification_targets,
            policy.alert_when_no_data,
        )
    for name, cond in original.alert_conditions.items():
        assert ws.alert_conditions[name].__dict__ | {"origin": None} == cond.__dict__ | {
            "origin": None
        }
    a = build_rules(RulesRequest([POLICIES], default_alerts=True)).text
    b = build_rules(RulesRequest([converted], default_alerts=True)).text
    assert a == b


def test_a_bad_sloth_alerting_annotation_is_a_located_problem(tmp_path: Path) -> None:
    converted = _convert(SLOTH_BASE, tmp_path)
    text = converted.read_text(encoding="utf-8")
    converted.write_text(text.replace('"page_alert": {"labels"', '"page_alert": {"lables"'))
    with pytest.raises(SpecError) as e:
        load_workspace([converted])
    msg = str(e.value)
    assert f"{converted}:" in msg
    assert "SLO/svc01-slo1: metadata.annotations.slm.dev/sloth-alerting" in msg
    assert "page_alert.lables" in msg
