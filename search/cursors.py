"""Deep-paging cursors: opaque to clients, bound to the sort they were issued for; search_after values, or (a
grouped search, which pages collapsed results by offset) an offset."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from search.query import SORTS


class BadCursor(ValueError):
    """The cursor is not one this API issued for this sort."""


Cursor = tuple[Any, ...] | int
"""Where the next page starts: search_after values, or (a grouped search) an offset."""


def encode_cursor(sort: str, values: Sequence[Any] | int) -> str:
    raw = json.dumps([sort, values if isinstance(values, int) else list(values)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> Cursor:
    """The search_after values (or offset) of a cursor; BadCursor unless this API issued it for this sort."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("not a cursor this API issued") from exc
    expected = len(SORTS.get(sort, []))
    offset = (isinstance(decoded, list) and len(decoded) == 2 and isinstance(decoded[1], int)
              and not isinstance(decoded[1], bool) and decoded[1] > 0)
    valid = offset or (isinstance(decoded, list) and len(decoded) == 2 and isinstance(decoded[1], list)
                       and len(decoded[1]) == expected
                       and all(isinstance(v, str | int | float | bool) or v is None for v in decoded[1]))
    if not valid:
        raise BadCursor("not a cursor this API issued")
    if decoded[0] != sort:
        raise BadCursor(f"this cursor belongs to sort={decoded[0]!r}; keep the sort while paging")
    return int(decoded[1]) if offset else tuple(decoded[1])
