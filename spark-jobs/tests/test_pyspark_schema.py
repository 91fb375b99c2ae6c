"""check_schema against a real Spark DataFrame schema. Needs pyspark (and Java); skipped, visibly,
where pyspark is not installed."""

from typing import Any

import pytest

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed: run scripts/test-python.sh, which installs it")

from pyspark.sql import SparkSession, functions as F, types as T  # noqa: E402

from shopsight_jobs import contract  # noqa: E402

SPARK_TYPES = {
    "string": lambda t: T.StringType(),
    "int": lambda t: T.IntegerType(),
    "bigint": lambda t: T.LongType(),
    "double": lambda t: T.DoubleType(),
    "decimal": lambda t: T.DecimalType(t.precision, t.scale),
    "date": lambda t: T.DateType(),
    "timestamp": lambda t: T.TimestampType(),
    "boolean": lambda t: T.BooleanType(),
}


def contract_struct(table_name: str, include_run_id: bool = False) -> Any:
    columns = contract.output_table(table_name).output_columns(include_run_id)
    return T.StructType([T.StructField(c.name, SPARK_TYPES[c.type.kind](c.type), c.nullable) for c in columns])


@pytest.fixture(scope="module")
def spark():
    session = (
        SparkSession.builder.master("local[1]")
        .appName("shopsight-contract-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.mark.parametrize("table", [t.name for t in contract.OUTPUT_TABLES])
def test_a_dataframe_with_the_contract_schema_passes(spark, table: str) -> None:
    df = spark.createDataFrame([], contract_struct(table, include_run_id=True))
    assert contract.check_schema(table, df, include_run_id=True) == []
    assert contract.schema_fields(df.schema) == contract.expected_fields(table, include_run_id=True)


def test_a_computed_dataframe_is_caught(spark) -> None:
    df = spark.createDataFrame([], contract_struct("c_date"))
    changed = (
        df.withColumn("cart_users", F.col("cart_users").cast("int"))
        .withColumn("extra", F.lit(1))
        .select("cart_events", "event_date", "cart_users", "extra")
    )
    problems = contract.check_schema("c_date", changed)
    assert "extra column extra (int): not in the contract" in problems
    assert "column cart_users: type int, the contract says bigint" in problems
    assert any(p.startswith("columns out of order") for p in problems)
    with pytest.raises(contract.SchemaMismatchError):
        contract.require_schema("c_date", changed)
