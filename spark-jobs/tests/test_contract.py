"""Loading contract.json and what shopsight_jobs.contract makes of it."""

import json
import sys
from pathlib import Path

import pytest

from support import ARCHIVE_SMOKE_TEST, SPARK_JOBS_DIR, run_python
from shopsight_jobs import contract

CONTRACT_JSON = SPARK_JOBS_DIR / "shopsight_jobs" / "contract.json"


def test_contract_json_is_the_generated_file() -> None:
    text = CONTRACT_JSON.read_text(encoding="utf-8")
    document = json.loads(text)
    assert list(document)[0] == "generatedBy"
    assert "core/contract" in document["generatedBy"] and "Do not edit by hand" in document["generatedBy"]
    assert text.endswith("}\n")


def test_loads_through_pkgutil_with_every_table() -> None:
    document = json.loads(CONTRACT_JSON.read_text(encoding="utf-8"))
    assert contract.document() == document
    assert [t.name for t in contract.OUTPUT_TABLES] == [t["name"] for t in document["outputTables"]]
    assert [t.name for t in contract.RAW_TABLES] == [t["name"] for t in document["rawTables"]]
    assert contract.MISSING_LABEL == document["missingLabel"]
    assert contract.EVENT_TYPES == tuple(document["eventTypes"])
    assert contract.RUN_ID_PARTITION.name == "run_id"


def test_document_returns_a_copy() -> None:
    contract.document()["outputTables"].clear()
    assert contract.document()["outputTables"]


def test_tables_keep_the_contract_column_order_and_fields() -> None:
    raw = {t["name"]: t for t in contract.document()["outputTables"]}
    for table in contract.OUTPUT_TABLES:
        source = raw[table.name]
        assert [c.name for c in table.columns] == [c["name"] for c in source["columns"]]
        assert [c.name for c in table.partition_keys] == [c["name"] for c in source["partitionKeys"]]
        assert [c.nullable for c in table.columns] == [c["nullable"] for c in source["columns"]]
        assert table.primary_key == tuple(source["primaryKey"])
        produced = source["producedBy"]
        assert table.produced_by == (tuple(produced) if isinstance(produced, list) else (produced,))
        assert table.served == source["served"]
        assert table.sql == source["sql"]


def test_table_sql_names_the_file_or_says_the_stage_code_computes_it() -> None:
    assert contract.table_sql("c_date") == "prepare/schemas/c_date.sql"
    assert contract.table_sql("popular_products") == "recommendations/popular_products.sql"
    with pytest.raises(contract.ContractError, match=r'Table "events" is computed by its stage\'s code: it has no SQL file'):
        contract.table_sql("events")


def test_output_table_and_its_error() -> None:
    assert contract.output_table("c_date").primary_key == ("event_date",)
    with pytest.raises(contract.UnknownTableError, match=r'No table "nope" in the contract; known: events, rejects'):
        contract.output_table("nope")
    with pytest.raises(contract.UnknownTableError, match="raw_rees46_events"):
        contract.raw_table("nope")
    assert all(t.served for t in contract.served_tables())
    assert "events" not in {t.name for t in contract.served_tables()}


def test_raw_tables() -> None:
    rees46 = contract.raw_table("raw_rees46_events")
    assert rees46.header[0] == "event_time" and rees46.raw_folder == "rees46/"
    assert contract.raw_table("raw_retailrocket_events").optional_trailing_columns == ("datetime",)
    assert contract.raw_table("raw_retailrocket_category_tree").optional_trailing_columns == ()


@pytest.mark.parametrize(
    "column_type, expected",
    [
        ({"kind": "string"}, "string"),
        ({"kind": "string", "maxLength": 64}, "string"),
        ({"kind": "int"}, "int"),
        ({"kind": "bigint"}, "bigint"),
        ({"kind": "double"}, "double"),
        ({"kind": "decimal", "precision": 12, "scale": 2}, "decimal(12,2)"),
        ({"kind": "decimal", "precision": 18, "scale": 0}, "decimal(18,0)"),
        ({"kind": "date"}, "date"),
        ({"kind": "timestamp"}, "timestamp"),
        ({"kind": "boolean"}, "boolean"),
        (contract.ColumnType("decimal", precision=5, scale=1), "decimal(5,1)"),
    ],
)
def test_spark_type(column_type, expected) -> None:
    assert contract.spark_type(column_type) == expected


def test_spark_type_rejects_unknown_and_incomplete_types() -> None:
    with pytest.raises(ValueError, match="unknown contract type kind 'varchar'"):
        contract.spark_type({"kind": "varchar"})
    with pytest.raises(ValueError, match="precision and scale"):
        contract.spark_type({"kind": "decimal"})


def test_every_contract_type_maps_to_spark() -> None:
    kinds = set()
    for table in contract.OUTPUT_TABLES:
        for column in table.output_columns(include_run_id=True):
            kinds.add(column.type.kind)
            assert column.spark_type == contract.spark_type(column.type)
    assert kinds <= set(contract.TYPE_KINDS)
    assert contract.output_table("events").columns[10].spark_type == "decimal(12,2)"


def test_default_pipeline_parameters_are_a_copy_of_the_typescript_defaults() -> None:
    params = contract.default_pipeline_parameters()
    assert params["sessionGapMinutes"] == 30
    assert params["recommendations"]["excludePurchased"] is True
    assert params["associationRules"]["minSupportProduct"] == pytest.approx(0.0005)
    params["segments"]["k"] = 999
    assert contract.default_pipeline_parameters()["segments"]["k"] != 999


def test_the_package_loads_from_the_py_files_archive(built_archive: Path, tmp_path: Path) -> None:
    """What EMR does with --py-files: the package, contract.json included, comes from the zip."""
    completed = run_python(sys.executable, ARCHIVE_SMOKE_TEST, str(built_archive), cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout
    assert completed.stdout.startswith("ok")


def test_import_needs_no_pyspark(tmp_path: Path, built_archive: Path) -> None:
    code = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import shopsight_jobs, shopsight_jobs.contract, shopsight_jobs.layout\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j'))\n"
        "print(loaded)\n"
    )
    completed = run_python(sys.executable, code, str(built_archive), cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout
    assert completed.stdout.strip() == "[]"
