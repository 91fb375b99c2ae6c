"""The rules of the readers that run on the driver, in pure Python: which raw file a header line
belongs to, and the RetailRocket category tree (a small file: its paths are computed on the driver
and broadcast). The per-row rules of the events files are DataFrame expressions in ``readers.py``.
They mirror the local engine's readers (local/engine/rees46-reader.ts, retailrocket-reader.ts).

Standard library only, Python 3.9.
"""

import re
from typing import List, Optional, Sequence, Tuple

from . import contract

REES46_HEADER: Tuple[str, ...] = contract.raw_table("raw_rees46_events").header
RETAILROCKET_HEADER: Tuple[str, ...] = contract.raw_table("raw_retailrocket_events").header
RETAILROCKET_OPTIONAL: Tuple[str, ...] = contract.raw_table("raw_retailrocket_events").optional_trailing_columns
CATEGORY_TREE_HEADER: Tuple[str, ...] = contract.raw_table("raw_retailrocket_category_tree").header
#: RetailRocket item_properties_part*.csv (not in the contract's raw tables: optional input).
ITEM_PROPERTIES_HEADER: Tuple[str, ...] = ("timestamp", "itemid", "property", "value")

EVENT_TYPES = tuple(contract.EVENT_TYPES)
#: RetailRocket event names → canonical event types.
RETAILROCKET_EVENTS = {"view": "view", "addtocart": "cart", "transaction": "purchase"}

#: Control characters a data line may not hold (a reject ``control_character``), as a regular
#: expression class (the same text in Java, Python and RE2): U+0000-U+0008, U+000B, U+000C,
#: U+000E-U+001F and U+007F. TAB is allowed; LF ends a line; CR is the CRLF line end (dropped) or
#: content. The local engine's copy: core/contract/rejects.ts CONTROL_CHARACTERS.
CONTROL_CHARACTERS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]"

_ID = re.compile(r"[0-9]{1,19}")
_MAX_BIGINT = 2 ** 63 - 1


def parse_id(value: Optional[str]) -> Optional[int]:
    """Digits that fit a bigint, else None."""
    if value is None or _ID.fullmatch(value) is None:
        return None
    number = int(value)
    return number if number <= _MAX_BIGINT else None


def strip_bom(line: str) -> str:
    """A first line without its UTF-8 byte order mark (one, as the local reader drops it)."""
    return line[1:] if line.startswith("\ufeff") else line


def header_fields(line: str) -> List[str]:
    """A header line's names: one BOM and one trailing CR (a CRLF's) dropped, as the readers' line
    rule (core/cases/header_cases.json); any other CR is content."""
    line = strip_bom(line)
    return (line[:-1] if line.endswith("\r") else line).split(",")


def recognise_header(line: str) -> Optional[str]:
    """Which raw file a header line belongs to: rees46_events, retailrocket_events,
    category_tree, item_properties, or None."""
    names = tuple(header_fields(line))
    if names == REES46_HEADER:
        return "rees46_events"
    if names[: len(RETAILROCKET_HEADER)] == RETAILROCKET_HEADER and names[len(RETAILROCKET_HEADER):] in (
        (),
        RETAILROCKET_OPTIONAL,
    ):
        return "retailrocket_events"
    if names == CATEGORY_TREE_HEADER:
        return "category_tree"
    if names == ITEM_PROPERTIES_HEADER:
        return "item_properties"
    return None


#: Longest category path walked up the tree (the local reader's MAX_CATEGORY_DEPTH): a cycle guard.
MAX_CATEGORY_DEPTH = 32
_TREE_LINE = re.compile(r"([0-9]{1,19}),([0-9]{0,19})")


def category_tree_rows(lines_: Sequence[str]) -> List[Tuple[int, Optional[int]]]:
    """(categoryid, parentid) of category_tree data lines, as the local reader takes them: a line
    must be ``digits,digits-or-empty`` (no quotes); a category listed twice keeps its first line."""
    rows: List[Tuple[int, Optional[int]]] = []
    seen = set()
    for line in lines_:
        match = _TREE_LINE.fullmatch(line)
        if match is None:
            continue
        child = parse_id(match.group(1))
        parent = parse_id(match.group(2)) if match.group(2) else None
        if child is None or (match.group(2) and parent is None) or child in seen:
            continue
        seen.add(child)
        rows.append((child, parent))
    return rows


def category_paths(rows: Sequence[Tuple[int, Optional[int]]]) -> dict:
    """{categoryid: "root.….categoryid"}: each category's ancestors from the root down, ids joined
    by dots. The walk stops after MAX_CATEGORY_DEPTH ids (a cycle or a too deep tree) and at a
    parent that is not in the tree (which is then the first id of the path)."""
    parent = dict(rows)
    paths = {}
    for start in parent:
        chain = [start]
        node = parent.get(start)
        while node is not None and len(chain) < MAX_CATEGORY_DEPTH:
            chain.append(node)
            node = parent.get(node)
        paths[start] = ".".join(str(c) for c in reversed(chain))
    return paths
