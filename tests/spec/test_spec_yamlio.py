"""Documents are split with their text and every field keeps its line."""

from __future__ import annotations

import pytest

from slm.spec.yamlio import parse_file, split_documents

TEXT = """# leading comment
a: 1
---
b:
  c: [1, 2]
  d:
    - e: x
---
# only a comment
...
"""


def test_split_keeps_first_lines_and_drops_empty_documents() -> None:
    assert split_documents(TEXT) == [
        (0, "# leading comment\na: 1\n"),
        (3, "b:\n  c: [1, 2]\n  d:\n    - e: x\n"),
    ]


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ((), 4),
        (("b",), 4),
        (("b", "c"), 5),
        (("b", "c", 1), 5),
        (("b", "d"), 6),
        (("b", "d", 0), 7),
        (("b", "d", 0, "e"), 7),
        (("b", "missing", "deep"), 4),
    ],
    ids=str,
)
def test_field_lines(path: tuple[str | int, ...], line: int) -> None:
    docs, errors = parse_file("f.yaml", TEXT)
    assert errors == []
    assert docs[1].line_of(path) == line


def test_syntax_error_has_a_line_and_other_documents_still_parse() -> None:
    docs, errors = parse_file("f.yaml", "a: 1\n---\nb: [1,\n---\nc: 3\n")
    assert [d.data for d in docs] == [{"a": 1}, {"c": 3}]
    assert [e.line for e in errors] == [4]
