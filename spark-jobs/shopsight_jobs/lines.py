"""Parsing one raw CSV line of REES46 or RetailRocket into a typed row or a reject, in pure Python.

The Spark readers (``readers.py``) map every physical line through these functions, so the rules
run the same on an executor and in a test without Spark. They mirror the local engine's readers
(local/engine/rees46-reader.ts; the RetailRocket one follows the same pattern):

- A line is split into fields by one anchored RFC 4180 pattern: a field is either quoted (doubled
  quotes inside) or unquoted without commas or quotes. A line that does not match is
  ``unterminated_quote`` when its quote count is odd, else ``wrong_column_count``.
- Field values are unquoted and doubled quotes undone; an empty field is missing (None).
- Typing checks run in column order and the first failing one is the reason (REES46:
  bad_timestamp, unknown_event_type, bad_product_id, bad_category_id, bad_price, negative_price,
  bad_user_id, missing_session). The reject detail is ``column: "value"`` or ``column: (empty)``.
- Blank lines are not rows (neither read nor rejected); a trailing CR is dropped.

Standard library only, Python 3.9.
"""

import calendar
import datetime as _dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, List, Optional, Sequence, Tuple

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

_FIELD = r'("(?:[^"]|"")*"|[^,"]*)'
_ID = re.compile(r"[0-9]{1,19}")
_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)? UTC")
_PRICE = re.compile(r"-?[0-9]+(\.[0-9]{1,2})?")
_TRANSACTION = re.compile(r"([0-9]{1,19})(\.0+)?")
_MAX_BIGINT = 2 ** 63 - 1
_MAX_PRICE = Decimal("9999999999.99")  # decimal(12,2)


def line_pattern(columns: int) -> "re.Pattern[str]":
    return re.compile("^" + ",".join([_FIELD] * columns) + "$")


_PATTERNS = {}  # type: dict


def _pattern(columns: int) -> "re.Pattern[str]":
    pattern = _PATTERNS.get(columns)
    if pattern is None:
        pattern = _PATTERNS[columns] = line_pattern(columns)
    return pattern


def unquote(field: str) -> Optional[str]:
    """A field's value: quotes removed and doubled quotes undone; empty → None (a missing value)."""
    if field.startswith('"'):
        field = field[1:-1].replace('""', '"')
    return field if field != "" else None


def split_line(line: str, columns: int) -> Optional[List[Optional[str]]]:
    """The ``columns`` values of a well-formed line, or None when the line does not have that shape."""
    match = _pattern(columns).match(line)
    if match is None:
        return None
    return [unquote(f) for f in match.groups()]


def count_fields(line: str) -> int:
    """Fields of a line whose quoted parts are balanced: commas outside quotes + 1."""
    return re.sub(r'"(?:[^"]|"")*"', "", line).count(",") + 1


def shape_reject(line: str, header: Sequence[str]) -> Tuple[str, str]:
    """Reason and detail of a line that does not split into the header's fields."""
    if line.count('"') % 2 == 1:
        return "unterminated_quote", "a quoted field is not closed on its line"
    return "wrong_column_count", "expected {} fields ({}), found {}".format(len(header), ",".join(header), count_fields(line))


def detail(column: str, value: Optional[str]) -> str:
    return '{}: {}'.format(column, "(empty)" if value is None else '"{}"'.format(value))


def parse_id(value: Optional[str]) -> Optional[int]:
    if value is None or _ID.fullmatch(value) is None:
        return None
    number = int(value)
    return number if number <= _MAX_BIGINT else None


def parse_rees46_time(value: Optional[str]) -> Optional[_dt.datetime]:
    """``2019-10-01 00:00:00 UTC`` (fraction allowed) → an aware UTC datetime, or None."""
    if value is None:
        return None
    match = _TIME.fullmatch(value)
    if match is None:
        return None
    fraction = match.group(7)
    micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
    try:
        return _dt.datetime(*(int(match.group(i)) for i in range(1, 7)), micros, tzinfo=_dt.timezone.utc)  # type: ignore[misc]
    except ValueError:
        return None


def parse_price(value: Optional[str]) -> Optional[Decimal]:
    if value is None or _PRICE.fullmatch(value) is None:
        return None
    try:
        price = Decimal(value).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    return price if abs(price) <= _MAX_PRICE else None


def split_category_code(code: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """(category, sub_category): the first dot-separated segment, and everything after the first dot.

    As the local reader: an empty segment is None ("a." → ("a", None); ".b" → (None, "b")).
    """
    if code is None:
        return None, None
    dot = code.find(".")
    if dot < 0:
        return (code or None), None
    return (code[:dot] or None), (code[dot + 1:] or None)


def epoch_micros(moment: _dt.datetime) -> int:
    return calendar.timegm(moment.utctimetuple()) * 1000000 + moment.microsecond


def time_parts(moment: _dt.datetime) -> Tuple[_dt.date, int, int]:
    """(event_date, event_hour, ISO day_of_week) of a UTC datetime."""
    return moment.date(), moment.hour, moment.isoweekday()


# ---------------------------------------------------------------------------------------------
# REES46
# ---------------------------------------------------------------------------------------------

#: A parsed REES46 line: ("ok", raw_fields, typed) or ("reject", reason, detail).
ParsedLine = Tuple[str, Any, Any]


def parse_rees46_line(line: str) -> ParsedLine:
    """One REES46 data line → ("ok", raw 9 values, typed tuple) or ("reject", reason, detail).

    typed = (event_time (aware UTC datetime), event_type, product_id, category_id, category_code,
    category, sub_category, brand, price (Decimal), user_id, session_id).
    """
    values = split_line(line, len(REES46_HEADER))
    if values is None:
        reason, text = shape_reject(line, REES46_HEADER)
        return ("reject", reason, text)
    event_time_s, event_type, product_s, category_id_s, category_code, brand, price_s, user_s, session = values
    event_time = parse_rees46_time(event_time_s)
    if event_time is None:
        return ("reject", "bad_timestamp", detail("event_time", event_time_s))
    if event_type is None or event_type not in EVENT_TYPES:
        return ("reject", "unknown_event_type", detail("event_type", event_type))
    product_id = parse_id(product_s)
    if product_id is None:
        return ("reject", "bad_product_id", detail("product_id", product_s))
    category_id = parse_id(category_id_s)
    if category_id_s is not None and category_id is None:
        return ("reject", "bad_category_id", detail("category_id", category_id_s))
    price = parse_price(price_s)
    if price is None:
        return ("reject", "bad_price", detail("price", price_s))
    if price < 0:
        return ("reject", "negative_price", detail("price", price_s))
    user_id = parse_id(user_s)
    if user_id is None:
        return ("reject", "bad_user_id", detail("user_id", user_s))
    if session is None:
        return ("reject", "missing_session", detail("user_session", session))
    category, sub_category = split_category_code(category_code)
    typed = (event_time, event_type, product_id, category_id, category_code, category, sub_category, brand, price, user_id, session)
    return ("ok", tuple(values), typed)


# ---------------------------------------------------------------------------------------------
# RetailRocket
# ---------------------------------------------------------------------------------------------


#: RetailRocket timestamps must fall in years 2000..2100 (epoch milliseconds), as the local reader.
MIN_EPOCH_MS = 946684800000  # 2000-01-01T00:00:00Z
MAX_EPOCH_MS = 4133980800000  # 2101-01-01T00:00:00Z (excluded)


def parse_epoch_ms(value: Optional[str]) -> Optional[_dt.datetime]:
    if value is None or _ID.fullmatch(value) is None:
        return None
    millis = int(value)
    if not MIN_EPOCH_MS <= millis < MAX_EPOCH_MS:
        return None
    return _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(milliseconds=millis)


def parse_transaction_id(value: Optional[str]) -> Tuple[bool, Optional[int]]:
    """(ok, id): empty is fine (None); "8693" and "8693.0" (some exports) are 8693; else not ok."""
    if value is None:
        return True, None
    match = _TRANSACTION.fullmatch(value)
    if match is None:
        return False, None
    number = int(match.group(1))
    return (number <= _MAX_BIGINT), (number if number <= _MAX_BIGINT else None)


def parse_retailrocket_line(line: str, columns: int) -> ParsedLine:
    """One RetailRocket events line → ("ok", raw values, typed) or ("reject", reason, detail).

    ``columns`` is the file's header width (5, or 6 with the optional trailing ``datetime``, whose
    value is ignored: it only renders ``timestamp``). Checks in the local reader's order:
    bad_timestamp (epoch ms, years 2000..2100), unknown_event_type, bad_product_id, bad_user_id,
    bad_transaction_id. typed = (event_time, event_type, product_id, user_id, transaction_id). The
    raw values used for exact-duplicate detection are the five header fields.
    """
    header = RETAILROCKET_HEADER + RETAILROCKET_OPTIONAL[: columns - len(RETAILROCKET_HEADER)]
    values = split_line(line, columns)
    if values is None:
        reason, text = shape_reject(line, header)
        return ("reject", reason, text)
    timestamp_s, visitor_s, event, item_s, transaction_s = values[:5]
    event_time = parse_epoch_ms(timestamp_s)
    if event_time is None:
        return ("reject", "bad_timestamp", detail("timestamp", timestamp_s) + " (epoch milliseconds, years 2000..2100)")
    event_type = RETAILROCKET_EVENTS.get(event or "")
    if event_type is None:
        return ("reject", "unknown_event_type", detail("event", event))
    product_id = parse_id(item_s)
    if product_id is None:
        return ("reject", "bad_product_id", detail("itemid", item_s))
    user_id = parse_id(visitor_s)
    if user_id is None:
        return ("reject", "bad_user_id", detail("visitorid", visitor_s))
    ok, transaction_id = parse_transaction_id(transaction_s)
    if not ok:
        return ("reject", "bad_transaction_id", detail("transactionid", transaction_s))
    return ("ok", tuple(values[:5]), (event_time, event_type, product_id, user_id, transaction_id))


def header_fields(line: str) -> List[str]:
    """A header line's names (BOM and CR dropped)."""
    return line.lstrip("\ufeff").rstrip("\r").split(",")


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
        match = _TREE_LINE.fullmatch(line.rstrip("\r"))
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
