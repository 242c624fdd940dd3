"""The same Sloth spec gives the same rules as Sloth.

Golden files: Sloth's own integration test (``test/integration/prometheus/generate_test.go``,
cases "Generate should generate the correct rules for all the SLOs." and "Generate using
28 day time window should generate Prometheus rules.") at commit 1c3336e7: input
``testdata/in-base.yaml``, expected ``testdata/out-base.yaml.tpl`` and
``testdata/out-base-28d.yaml.tpl``, copied to tests/rules/golden/sloth/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from slm.rules.generate import VERSION_LABEL_VALUE
from slm.rules.pipeline import RulesRequest, build_rules

SLOTH = Path(__file__).parent / "golden" / "sloth"
_NUMBER = re.compile(r"\d+\.\d+")


def sloth_expected(name: str) -> str:
    """Render Sloth's .tpl as its test does: version substituted, {{"..."}} unescaped."""
    tpl = (SLOTH / name).read_text(encoding="utf-8")
    text = re.sub(r'\{\{"(.*?)"\}\}', r"\1", tpl).replace("{{ .version }}", VERSION_LABEL_VALUE)
    return text[text.index("groups:") :]


def body(text: str) -> str:
    """The rule file without its header comment (Sloth's names Sloth, ours slm)."""
    return text[text.index("groups:") :]


def test_sloth_base_spec_gives_sloths_rules_byte_for_byte() -> None:
    got = build_rules(RulesRequest([SLOTH / "in-base.yaml"])).text
    assert body(got) == sloth_expected("out-base.yaml.tpl")


def _rounded(data: Any) -> Any:
    """Floats inside expressions rounded to 12 digits (see the 28d test)."""
    if isinstance(data, dict):
        return {k: _rounded(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_rounded(v) for v in data]
    if isinstance(data, str):
        return _NUMBER.sub(lambda m: repr(round(float(m.group()), 12)), data)
    return data


def test_sloth_base_spec_with_28d_period_gives_sloths_rules() -> None:
    """Same rules as Sloth's 28d output, up to the last bit of one burn factor.

    Sloth computes the ticket-slow factor as 10*672/100/72 = 0.9333333333333333; slm
    derives it as AlertWindow.factor(28d) = 0.1 * (28d / 3d) = 0.9333333333333335. The
    two differ in the last binary digit, so expressions are compared with numbers
    rounded to 12 digits; everything else (4w record names, vector(28), ...) is exact.
    """
    got = build_rules(RulesRequest([SLOTH / "in-base.yaml"], period=timedelta(days=28))).text
    expected = sloth_expected("out-base-28d.yaml.tpl")
    yaml = YAML(typ="safe")
    assert _rounded(yaml.load(body(got))) == _rounded(yaml.load(expected))
    differing = [
        (a, b) for a, b in zip(body(got).splitlines(), expected.splitlines(), strict=True) if a != b
    ]
    assert differing and all("0.9333333333333335" in a for a, _ in differing)
