"""shopsight_jobs.sql: the shared SQL files load, with the same {{name}} placeholder rule as the local engine.

The rule's cases are in sql_placeholder_cases.json, which test/local/insights-sql.test.ts runs
against the TypeScript twin (local/engine/sql.ts), so the two languages cannot drift apart.
Standard library and pytest only.
"""

import json
import math
import re
import sys
import zipfile
from pathlib import Path

import pytest

from support import CASES_DIR, SPARK_JOBS_DIR, SQL_DIR, run_python
from shopsight_jobs import contract
from shopsight_jobs.sql import SqlFileError, SqlParameterError, js_number, load_sql, substitute_sql

CASES = json.loads((CASES_DIR / "sql_placeholder_cases.json").read_text(encoding="utf-8"))["cases"]
SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

#: Parameters of every parameterised file, as the jobs pass them.
WEIGHTS = {"view_weight": 1, "cart_weight": 4, "purchase_weight": 10}
PARAMS = {
    "recommendations/interactions.sql": dict(WEIGHTS, before=None),
    "recommendations/popular_products.sql": WEIGHTS,
    "spend-forecast/spend_features.sql": {"cutoff_day": 18170, "horizon_days": 30},
}


def decode(value):
    if isinstance(value, dict) and set(value) == {"$number"}:
        return SPECIAL[value["$number"]]
    return value


def sql_files():
    return sorted(p.relative_to(SQL_DIR).as_posix() for p in SQL_DIR.rglob("*.sql"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_shared_placeholder_cases(case) -> None:
    params = {name: decode(value) for name, value in case["params"].items()}
    if "error" in case:
        with pytest.raises(SqlParameterError) as raised:
            substitute_sql(case["sql"], params, "case.sql")
        assert str(raised.value) == case["error"]
    else:
        assert substitute_sql(case["sql"], params, "case.sql") == case["expected"]


def test_the_shared_cases_cover_every_kind_of_value_and_error() -> None:
    kinds = {type(decode(v)).__name__ for c in CASES for v in c["params"].values()}
    assert {"int", "float", "str", "NoneType", "bool", "list", "dict"} <= kinds
    errors = " ".join(c.get("error", "") for c in CASES)
    for text in ("has no value", "has no placeholder", "finite number", "timestamp text", "malformed placeholder"):
        assert text in errors


@pytest.mark.parametrize(
    "value, text",
    [(1.0, "1"), (123.456, "123.456"), (1e20, "100000000000000000000"), (1e21, "1e+21"), (1e-6, "0.000001"),
     (1e-7, "1e-7"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (-0.0, "0"), (2.5e-5, "0.000025")],
)
def test_js_number_writes_doubles_as_javascript_string_does(value: float, text: str) -> None:
    assert js_number(value) == text


def test_every_sql_file_loads_with_its_parameters() -> None:
    files = sql_files()
    assert len(files) >= 7 + 9 + 6
    for relative in files:
        text = load_sql(relative, PARAMS.get(relative))
        assert "{{" not in text and "}}" not in text, relative
        assert not text.endswith(";"), relative
        name = relative.rsplit("/", 1)[1][: -len(".sql")]
        assert text.startswith("-- {}:".format(name)), relative
        body = re.sub(r"--[^\n]*\n", "", text)
        assert ";" not in body, relative
        # Constructs one of the two engines lacks or reads differently.
        for pattern in (r"\bQUALIFY\b", r"::", r"\bLIMIT\b", r"\bmax_by\b", r"\bmin_by\b", r"\bepoch\b", r"\bdatediff\b",
                        r"\bdate_diff\b", r"\bisodow\b", r"\bstrftime\b", r"\bdate_format\b", r"\bVARCHAR\b", r"\[\d",
                        r"\bNULLS\s+(FIRST|LAST)\b"):
            assert not re.search(pattern, body, re.IGNORECASE), "{}: {}".format(relative, pattern)


def test_the_insight_files_are_the_contracts_insight_tables() -> None:
    insight_tables = sorted(t.name for t in contract.OUTPUT_TABLES if t.layer == "insight")
    folder = "prepare/insights/"
    assert sorted(p[len(folder): -len(".sql")] for p in sql_files() if p.startswith(folder)) == insight_tables


def test_every_contract_sql_is_a_file_and_every_file_is_named_by_a_table_or_used_by_its_stage() -> None:
    named = {t.sql: t.name for t in contract.OUTPUT_TABLES if t.sql is not None}
    for path, table in sorted(named.items()):
        assert (SQL_DIR / path).is_file(), "{}: its contract sql {} is not a file under core/sql".format(table, path)
    orphans = []
    for path in sql_files():
        if path in named:
            continue
        # Not a table's SELECT: an input of the stage whose folder holds it, which its module
        # (shopsight_jobs/<stage in snake_case>.py, the one-name rule) names literally.
        module = SPARK_JOBS_DIR / "shopsight_jobs" / (path.split("/")[0].replace("-", "_") + ".py")
        if not module.is_file() or '"{}"'.format(path) not in module.read_text(encoding="utf-8"):
            orphans.append("{} (not in shopsight_jobs/{})".format(path, module.name))
    assert orphans == [], "core/sql files named by no contract table and used by no stage: " + ", ".join(orphans)


def test_schema_files_load_unchanged_apart_from_the_trailing_whitespace() -> None:
    for path in sorted((SQL_DIR / "prepare" / "schemas").glob("*.sql")):
        assert load_sql("prepare/schemas/" + path.name) == path.read_text(encoding="utf-8").strip()


def test_parameters_are_written_into_interactions() -> None:
    text = load_sql("recommendations/interactions.sql", dict(WEIGHTS, before="2019-10-01 02:00:00"))
    assert "event_time < TIMESTAMP '2019-10-01 02:00:00')" in text
    assert "CAST(4 AS DOUBLE) * CAST(carts AS DOUBLE)" in text
    assert "CAST(NULL AS DOUBLE)" not in text
    assert "(NULL IS NULL OR event_time < NULL)" in load_sql("recommendations/interactions.sql", dict(WEIGHTS, before=None))


def test_missing_and_extra_parameters_name_the_file_and_the_parameter() -> None:
    with pytest.raises(SqlParameterError) as raised:
        load_sql("recommendations/interactions.sql")
    assert str(raised.value) == (
        "recommendations/interactions.sql: placeholder {{before}} has no value; placeholder {{cart_weight}} has no value; "
        "placeholder {{purchase_weight}} has no value; placeholder {{view_weight}} has no value"
    )
    with pytest.raises(SqlParameterError) as raised:
        load_sql("prepare/insights/daily_kpis.sql", {"before": None})
    assert str(raised.value) == "prepare/insights/daily_kpis.sql: parameter before has no placeholder"


@pytest.mark.parametrize("path", ["../sql/schemas/c_date.sql", "/etc/passwd.sql", "schemas\\c_date.sql", "schemas/c_date", "", "schemas//c_date.sql"])
def test_paths_must_be_relative_sql_paths(path: str) -> None:
    with pytest.raises(SqlFileError) as raised:
        load_sql(path)
    assert str(raised.value) == 'SQL file path must be relative to core/sql, like "prepare/insights/daily_kpis.sql": got {}'.format(
        json.dumps(path)
    )


def test_an_unknown_file_is_named() -> None:
    with pytest.raises(SqlFileError) as raised:
        load_sql("prepare/insights/nope.sql")
    assert str(raised.value) == "prepare/insights/nope.sql: no such SQL file under core/sql"


def test_load_sql_from_the_archive_when_the_build_bundles_the_sql(built_archive: Path) -> None:
    """A job on EMR only has shopsight_jobs.zip: load_sql must find the SQL inside it."""
    with zipfile.ZipFile(str(built_archive)) as zf:
        bundled = [n for n in zf.namelist() if n.startswith("shopsight_jobs/sql/")]
    if not bundled:
        pytest.skip(
            "scripts/build-spark-archive.py does not put core/sql into shopsight_jobs.zip (only beside it in "
            "dist/spark-jobs/sql/): load_sql cannot find the SQL from the archive alone"
        )
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from shopsight_jobs.sql import load_sql;"
        "assert load_sql('prepare/insights/daily_kpis.sql').startswith('-- daily_kpis:');"
        "print('ok')"
    )
    completed = run_python(sys.executable, code, str(built_archive), cwd=built_archive.parent)
    assert completed.stdout.strip() == "ok", completed.stdout
