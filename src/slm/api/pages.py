"""Pages of long lists (docs/api.md, "Pages"): ``limit`` (default 100, at most 1000) and
an opaque ``cursor`` naming the last item of the page before; the answer's ``next`` is
the path of the next page (also in a ``Link: <...>; rel="next"`` header), ``null`` on the
last page. Cursors are keys, not offsets: a page does not shift when items are added."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated

from fastapi import Query, Request, Response
from pydantic import AfterValidator

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Key = tuple[datetime, str]
"""Where an item sorts: ``(opened_at, id)`` of an incident."""


def encode(key: Key) -> str:
    text = json.dumps([key[0].isoformat(), key[1]], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str) -> Key:
    """The key of ``cursor``; ``ValueError`` when it is not one this server made."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, iid = json.loads(raw)
        key = (datetime.fromisoformat(at), str(iid))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, OverflowError):
        raise ValueError("not a cursor of this list: start again without one") from None
    if key[0].tzinfo is None:
        raise ValueError("not a cursor of this list: start again without one")
    return key


def _checked(cursor: str | None) -> str | None:
    if cursor is not None:
        decode(cursor)
    return cursor


Limit = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"items per page (at most {MAX_LIMIT})"),
]
Cursor = Annotated[
    str | None,
    Query(description="the `next` of the page before (opaque)"),
    AfterValidator(_checked),
]


def next_page(request: Request, response: Response, last: Key | None) -> str | None:
    """The path of the page after the one ending at ``last`` (``None``: no more), also
    set as the ``Link`` header of ``response``."""
    if last is None:
        return None
    url = request.url.include_query_params(cursor=encode(last))
    path = f"{url.path}?{url.query}"
    response.headers["Link"] = f'<{path}>; rel="next"'
    return path
