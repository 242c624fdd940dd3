"""``.slmignore``: folders and globs left out of a directory search, not of named paths."""

from __future__ import annotations

from pathlib import Path

from slm.spec.loader import load_workspace

ROOT = Path(__file__).resolve().parents[2]

SERVICE = """\
apiVersion: openslo/v1
kind: Service
metadata:
  name: {name}
spec:
  description: test
"""


def _names(*paths: Path) -> set[str]:
    return set(load_workspace(list(paths)).services)


def test_ignored_folders_and_globs_are_left_out_of_a_search(tmp_path: Path) -> None:
    for rel, name in [("a.yaml", "a"), ("skip/b.yaml", "b"), ("deep/c.yaml", "c"),
                      ("deep/d.draft.yaml", "d"), ("deep/inner/e.yaml", "e")]:  # fmt: skip
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(SERVICE.format(name=name))
    (tmp_path / ".slmignore").write_text("# comment\nskip/\n\n")
    (tmp_path / "deep" / ".slmignore").write_text("*.draft.yaml\ninner/\n")
    assert _names(tmp_path) == {"a", "c"}
    assert _names(tmp_path / "skip") == {"b"}  # a named folder is read as usual
    assert _names(tmp_path / "deep" / "d.draft.yaml") == {"d"}


def test_the_examples_keep_their_extra_workspaces_apart() -> None:
    ws = load_workspace([ROOT / "examples"])
    assert "shop-availability" not in ws.slos  # examples/prometheus/
    assert not any(name.startswith("shop-checkout") for name in ws.slos)  # examples/sloth/
    assert len(load_workspace([ROOT / "examples" / "sloth"]).slos) == 2
