"""The shared transformation SQL (``core/sql/**.sql``), as the Spark jobs read it.

The same files run on DuckDB in the local engine (``local/engine/sql.ts``, ``readSql``) and on
Spark here::

    from shopsight_jobs.sql import load_sql
    spark.sql(load_sql("prepare/insights/daily_kpis.sql")).write...
    spark.sql(load_sql("recommendations/interactions.sql",
                       {"view_weight": 1, "cart_weight": 4, "purchase_weight": 10,
                        "before": "2019-10-25 00:00:00"}))

``load_sql`` returns the file's SELECT (comments kept, surrounding whitespace and a trailing
semicolon dropped) with its ``{{name}}`` placeholders filled. The rule, identical to the
TypeScript one (``core/cases/sql_placeholder_cases.json`` is run by both test suites):

- a placeholder is ``{{name}}`` with name ``[A-Za-z_][A-Za-z0-9_]*``, anywhere in the text
  (comments too); any other ``{{`` or ``}}`` is an error;
- a number is written as JavaScript's ``String(n)`` writes it (shortest round-trip digits:
  ``1``, ``0.5``, ``1e+21``, ``1e-7``) and must be finite; ``bool`` is not a number;
- a string is only allowed as a timestamp text ``YYYY-MM-DD HH:MM:SS`` and is written
  ``TIMESTAMP 'YYYY-MM-DD HH:MM:SS'``;
- ``None`` is written ``NULL``;
- every placeholder needs a value and every value a placeholder: all such problems are reported in
  one ``SqlParameterError``, sorted by name.

Where the files are found: first inside the package (``shopsight_jobs/sql/<path>``, through
``pkgutil.get_data``, which also reads from ``shopsight_jobs.zip`` given with ``--py-files``), then
in the source checkout (``core/sql/<path>``, two folders up from the package).

Standard library only, importable on Python 3.9 without pyspark.
"""

import json
import math
import pkgutil
import re
from pathlib import Path
from typing import Any, Mapping, Optional, Union

PACKAGE = "shopsight_jobs"
#: Folder of the SQL inside the package (when bundled); in the source tree it is core/sql.
SQL_FOLDER = "sql"
SOURCE_SQL_DIR = Path(__file__).resolve().parent.parent.parent / "core" / SQL_FOLDER

#: A parameter value: a finite number, a timestamp text 'YYYY-MM-DD HH:MM:SS', or None.
SqlParam = Union[int, float, str, None]

PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
TIMESTAMP_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
RELATIVE_SQL_PATH = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*\.sql")


class SqlFileError(LookupError):
    """The path is not a relative .sql path, or no such file is shipped."""


class SqlParameterError(ValueError):
    """The parameters do not fit the file's placeholders, or a value is not allowed."""


def _json(value: Any) -> str:
    """JSON.stringify's rendering, for error messages."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)


def js_number(value: float) -> str:
    """``String(value)`` of JavaScript for a finite double: shortest round-trip digits, JS layout."""
    if value == 0:
        return "0"  # -0 too, as in JavaScript
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(float(value))).partition("e")
    integer, _, fraction = mantissa.partition(".")
    digits = integer + fraction
    point = len(integer) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        text = (digits if k == 1 else digits[0] + "." + digits[1:]) + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + text


def _literal(source: str, name: str, value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        as_float = float(value) if not isinstance(value, int) or abs(value) < 2 ** 1023 else math.inf
        if not math.isfinite(as_float):
            shown = "NaN" if math.isnan(as_float) else ("-Infinity" if as_float < 0 else "Infinity")
            raise SqlParameterError("{}: parameter {} must be a finite number, got {}".format(source, name, shown))
        if isinstance(value, int) and as_float != value:
            raise SqlParameterError(
                "{}: parameter {} must be a finite number, got {} (not exactly a double)".format(source, name, value)
            )
        return js_number(as_float)
    if isinstance(value, str):
        if not TIMESTAMP_TEXT.fullmatch(value):
            raise SqlParameterError(
                "{}: parameter {} must be a timestamp text 'YYYY-MM-DD HH:MM:SS', got {}".format(source, name, _json(value))
            )
        return "TIMESTAMP '{}'".format(value)
    raise SqlParameterError(
        "{}: parameter {} must be a number, a timestamp text or null, got {}".format(source, name, _json(value))
    )


def substitute_sql(text: str, params: Mapping[str, SqlParam], source: str) -> str:
    """Fill the ``{{name}}`` placeholders of SQL text; ``source`` names the text in errors."""
    used = {m.group(1) for m in PLACEHOLDER.finditer(text)}
    stray = PLACEHOLDER.sub("", text)
    if "{{" in stray or "}}" in stray:
        raise SqlParameterError(
            "{}: malformed placeholder: only {{{{name}}}} with name [A-Za-z_][A-Za-z0-9_]* is allowed".format(source)
        )
    given = list(params.keys())
    problems = []
    for name in sorted(used | set(given)):
        if name not in given:
            problems.append("placeholder {{{{{}}}}} has no value".format(name))
        elif name not in used:
            problems.append("parameter {} has no placeholder".format(name))
    if problems:
        raise SqlParameterError("{}: {}".format(source, "; ".join(problems)))
    literals = {name: _literal(source, name, params[name]) for name in given}
    return PLACEHOLDER.sub(lambda m: literals[m.group(1)], text)


def _read(relative_path: str) -> Optional[bytes]:
    try:
        data = pkgutil.get_data(PACKAGE, SQL_FOLDER + "/" + relative_path)
    except OSError:
        data = None
    if data is not None:
        return data
    candidate = SOURCE_SQL_DIR.joinpath(*relative_path.split("/"))
    return candidate.read_bytes() if candidate.is_file() else None


def load_sql(relative_path: str, params: Optional[Mapping[str, SqlParam]] = None) -> str:
    """The SELECT of ``core/sql/<relative_path>`` with its placeholders filled from params."""
    if not isinstance(relative_path, str) or not RELATIVE_SQL_PATH.fullmatch(relative_path):
        raise SqlFileError(
            'SQL file path must be relative to core/sql, like "prepare/insights/daily_kpis.sql": got {}'.format(
                _json(relative_path)
            )
        )
    data = _read(relative_path)
    if data is None:
        raise SqlFileError("{}: no such SQL file under core/sql".format(relative_path))
    text = re.sub(r";\s*\Z", "", data.decode("utf-8").strip())
    return substitute_sql(text, params or {}, relative_path)
