"""Specs that used to raise a traceback, or passed ``slm validate`` and failed later, are
located errors of ``slm validate`` (exit 1) now: one case per finding of issue 11."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHECKOUT = "shop/checkout.yaml"
SLA = "agreements/acme-sla.yaml"
PROBES = "probes/shop-probes.yaml"
OLA = "agreements/platform-ola.yaml"
AVAILABILITY = "metadata:\n  name: checkout-availability\n"

CASES = [
    # (id, file, old text, new text, expected "line: object: field: message" start)
    *[
        (
            f"decimal-{v}",
            SLA,
            'amount: "20000.00"',
            f"amount: {v}",
            '23: Agreement/acme-checkout-sla: spec.fee.amount: must be a number, e.g. 99.9 or "',
        )
        for v in ("true", "[1]", "{}", "null")
    ],
    (
        "decimal-huge",
        SLA,
        'amount: "20000.00"',
        'amount: "1e999999"',
        "23: Agreement/acme-checkout-sla: spec.fee.amount: '1e999999' is too large",
    ),
    (
        "window-1000000000d",
        CHECKOUT,
        "- duration: 30d",
        "- duration: 1000000000d",
        "33: SLO/checkout-availability: spec.timeWindow[0].duration: duration '1000000000d' is "
        "longer than the maximum of 100 years",
    ),
    (
        "slice-0m",
        CHECKOUT,
        "timeSliceWindow: 5m",
        "timeSliceWindow: 0m",
        "87: SLO/checkout-uptime: spec.objectives[0].timeSliceWindow: duration '0m' must be "
        "positive",
    ),
    (
        "slice-1s",
        CHECKOUT,
        "timeSliceWindow: 5m",
        "timeSliceWindow: 1s",
        "87: SLO/checkout-uptime: spec.objectives[0].timeSliceWindow: 1s is not a whole number "
        "of 1m buckets",
    ),
    *[
        (
            f"probe-interval-{v}",
            PROBES,
            "interval: 1m",
            f"interval: {v}",
            f"16: Probe/shop-home: spec.interval: {msg}",
        )
        for v, msg in (
            ("0s", "duration '0s' must be positive"),
            ("-1m", "duration '-1m' must be positive"),
            ("soon", "invalid duration 'soon' (expected e.g. 5m, 1h, 28d, 1h30m)"),
        )
    ],
    *[
        (
            f"evaluation-interval-{v}",
            CHECKOUT,
            AVAILABILITY,
            f"{AVAILABILITY}  annotations:\n    slm.dev/evaluation-interval: {v}\n",
            f"28: SLO/checkout-availability: metadata.annotations.slm.dev/evaluation-interval: "
            f"{msg}",
        )
        for v, msg in (
            ("999999999999d", "duration '999999999999d' is longer than the maximum of 100 years"),
            ("0s", "duration '0s' must be positive"),
            ("500ms", "duration '500ms' is shorter than the minimum of 1s"),
        )
    ],
    *[
        (
            f"threshold-{v}",
            CHECKOUT,
            "value: 400",
            f"value: {v}",
            "66: SLO/checkout-latency: spec.objectives[0].value: input should be a finite number",
        )
        for v in (".nan", ".inf", "-.inf")
    ],
    (
        "underpins-cycle",
        SLA,
        "  services: [checkout, payments]\n",
        "  services: [checkout, payments]\n  underpins: [platform-checkout-ola]\n",
        "14: Agreement/acme-checkout-sla: spec.underpins[0]: an underpins cycle: "
        "acme-checkout-sla -> platform-checkout-ola -> acme-checkout-sla",
    ),
]


def workspace(tmp_path: Path, rel: str, old: str, new: str) -> Path:
    ws = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", ws, ignore=shutil.ignore_patterns("*.parquet"))
    f = ws / rel
    text = f.read_text()
    assert old in text, old
    f.write_text(text.replace(old, new, 1))
    return ws


def validate(
    ws: Path, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch
) -> tuple[int, str]:
    from slm.cli import main

    mp.setattr(sys, "argv", ["slm", "validate", str(ws)])
    mp.setenv("COLUMNS", "250")
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_examples_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = validate(workspace(tmp_path, CHECKOUT, "", ""), capsys, monkeypatch)
    assert code == 0, output


@pytest.mark.parametrize(
    ("rel", "old", "new", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_validate_locates_what_failed_later(
    rel: str,
    old: str,
    new: str,
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = workspace(tmp_path, rel, old, new)
    code, output = validate(ws, capsys, monkeypatch)
    assert code == 1, output
    assert f"{ws / rel}:{expected}" in output, output
    assert "internal error" not in output and "Traceback" not in output


def test_a_file_source_that_is_a_directory_or_a_symlink_loop_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = tmp_path / "loop.parquet"
    loop.symlink_to(tmp_path / "loop2.parquet")
    (tmp_path / "loop2.parquet").symlink_to(loop)
    for target, why in (
        (tmp_path, "is a directory"),
        (loop, "a symlink loop"),
        (Path("/dev/zero"), "not a regular file"),
    ):
        ws = workspace(
            tmp_path / f"ws-{target.name}",
            "shop/services.yaml",
            "../data/shop.parquet",
            str(target),
        )
        code, output = validate(ws, capsys, monkeypatch)
        assert code == 1, output
        assert "DataSource/shop-metrics: spec.connectionDetails.path:" in output, output
        assert why in output, output
