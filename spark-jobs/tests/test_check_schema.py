"""check_schema / require_schema: what a job runs on its DataFrame's schema before writing."""

from typing import List

import pytest

from shopsight_jobs import contract
from shopsight_jobs.contract import Field, check_schema, expected_fields, require_schema


def exact(table: str, include_run_id: bool = False) -> List[Field]:
    return expected_fields(table, include_run_id=include_run_id)


def replace(fields: List[Field], name: str, type_string: str = None, nullable: bool = None) -> List[Field]:
    return [
        (n, type_string if n == name and type_string is not None else t, nullable if n == name and nullable is not None else nl)
        for n, t, nl in fields
    ]


@pytest.mark.parametrize("table", [t.name for t in contract.OUTPUT_TABLES])
def test_the_exact_schema_passes(table: str) -> None:
    assert check_schema(table, exact(table)) == []
    assert check_schema(table, exact(table, include_run_id=True), include_run_id=True) == []
    require_schema(table, exact(table))


def test_expected_fields_are_columns_then_run_id_then_partition_keys() -> None:
    names = [f[0] for f in exact("events", include_run_id=True)]
    assert names[0] == "event_time"
    assert names[-2:] == ["run_id", "event_date"]
    assert [f[0] for f in exact("events")][-1] == "event_date"
    assert ("event_date", "date", False) in exact("events")
    assert ("price", "decimal(12,2)", True) in exact("events")


def test_missing_column() -> None:
    fields = [f for f in exact("c_date") if f[0] != "cart_users"]
    assert check_schema("c_date", fields) == ["missing column cart_users (bigint not null)"]


def test_missing_partition_column_and_run_id() -> None:
    without_date = [f for f in exact("events") if f[0] != "event_date"]
    assert check_schema("events", without_date) == ["missing column event_date (date not null)"]
    assert check_schema("events", exact("events"), include_run_id=True) == ["missing column run_id (string not null)"]


def test_extra_column() -> None:
    fields = exact("c_date") + [("note", "string", True)]
    assert check_schema("c_date", fields) == ["extra column note (string): not in the contract"]
    # run_id is extra unless the job says it writes it.
    assert check_schema("c_date", exact("c_date", include_run_id=True)) == [
        "extra column run_id (string): not in the contract"
    ]


def test_repeated_column() -> None:
    fields = exact("c_date") + [("cart_events", "bigint", False)]
    assert check_schema("c_date", fields) == ["column cart_events appears 2 times"]


def test_wrong_order() -> None:
    a, b, c = exact("c_date")
    problems = check_schema("c_date", [a, c, b])
    assert problems == [
        "columns out of order: the contract's order is event_date, cart_events, cart_users; "
        "the DataFrame has event_date, cart_users, cart_events"
    ]


def test_order_is_judged_on_the_columns_both_have() -> None:
    a, b, c = exact("c_date")
    # A missing column alone is not also reported as an order problem.
    assert check_schema("c_date", [a, c]) == ["missing column cart_events (bigint not null)"]


@pytest.mark.parametrize(
    "column, wrong, right",
    [
        ("price", "double", "decimal(12,2)"),
        ("price", "decimal(10,2)", "decimal(12,2)"),
        ("user_id", "int", "bigint"),
        ("event_hour", "bigint", "int"),
        ("event_time", "timestamp_ntz", "timestamp"),
        ("event_date", "timestamp", "date"),
        ("product_id", "string", "bigint"),
    ],
)
def test_wrong_type(column: str, wrong: str, right: str) -> None:
    problems = check_schema("events", replace(exact("events"), column, type_string=wrong))
    assert problems == ["column {}: type {}, the contract says {}".format(column, wrong, right)]


def test_type_spellings_spark_also_uses_are_accepted() -> None:
    fields = replace(exact("events"), "user_id", type_string="long")
    fields = replace(fields, "event_hour", type_string="integer")
    fields = replace(fields, "price", type_string="Decimal(12, 2)")
    assert check_schema("events", fields) == []


def test_nullable_where_the_contract_says_never_null() -> None:
    problems = check_schema("events", replace(exact("events"), "user_id", nullable=True))
    assert problems == ["column user_id: nullable, the contract says it is never null"]


def test_not_null_where_the_contract_allows_null_is_fine() -> None:
    assert check_schema("events", replace(exact("events"), "brand", nullable=False)) == []


def test_every_problem_is_reported_at_once() -> None:
    a, b, c = exact("c_date")
    fields = [(a[0], "string", True), c, ("extra", "int", True)]
    problems = check_schema("c_date", fields)
    assert problems == [
        "missing column cart_events (bigint not null)",
        "extra column extra (int): not in the contract",
        "column event_date: type string, the contract says date",
        "column event_date: nullable, the contract says it is never null",
    ]


def test_require_schema_raises_with_every_problem_in_the_message() -> None:
    fields = replace(exact("c_date"), "cart_users", type_string="int", nullable=True)
    with pytest.raises(contract.SchemaMismatchError) as raised:
        require_schema("c_date", fields)
    message = str(raised.value)
    assert message.startswith("DataFrame for table c_date does not match the contract (2 problems):")
    assert "  - column cart_users: type int, the contract says bigint" in message
    assert "  - column cart_users: nullable, the contract says it is never null" in message
    assert raised.value.problems == check_schema("c_date", fields)
    assert isinstance(raised.value, ValueError)


def test_unknown_table() -> None:
    with pytest.raises(contract.UnknownTableError):
        check_schema("no_such_table", [])


@pytest.mark.parametrize("bad", [[("a", "int")], [("a", "int", "yes")], ["a"], [(1, "int", True)]])
def test_fields_must_be_name_type_nullable_tuples(bad) -> None:
    with pytest.raises(TypeError, match="must be a .column_name, spark_type_string, nullable. tuple"):
        check_schema("c_date", bad)


class _FakeType:
    def __init__(self, simple: str) -> None:
        self._simple = simple

    def simpleString(self) -> str:  # noqa: N802 (pyspark's name)
        return self._simple


class _FakeField:
    def __init__(self, name: str, simple: str, nullable: bool) -> None:
        self.name, self.dataType, self.nullable = name, _FakeType(simple), nullable


class _FakeStruct:
    def __init__(self, fields: List[Field]) -> None:
        self.fields = [_FakeField(*f) for f in fields]


class _FakeDataFrame:
    def __init__(self, fields: List[Field]) -> None:
        self.schema = _FakeStruct(fields)


def test_accepts_struct_type_and_dataframe_shapes_without_pyspark() -> None:
    assert contract.schema_fields(_FakeStruct(exact("c_date"))) == exact("c_date")
    assert check_schema("c_date", _FakeStruct(exact("c_date"))) == []
    assert check_schema("c_date", _FakeDataFrame(exact("c_date")[:2])) == ["missing column cart_users (bigint not null)"]


# ---------------------------------------------------------------------------------------------
# String lengths (the contract's maxLength; outputs.require_lengths aggregates, this judges)
# ---------------------------------------------------------------------------------------------


def test_max_length_of_reads_the_contract_and_refuses_unbounded_columns() -> None:
    assert contract.max_length_of("events", "brand") == 128
    assert contract.max_length_of("events", "session_id") == 64
    assert contract.max_length_of("rejects", "raw_line") == 65535
    with pytest.raises(contract.ContractError):
        contract.max_length_of("events", "product_id")


def test_length_problems_name_table_column_longest_and_limit() -> None:
    assert contract.length_problems("events", {"brand": 128, "session_id": 64, "category_code": None}) == []
    assert contract.length_problems("events", {"brand": 129, "session_id": 1000, "category": 128}) == [
        "events.brand: longest value has 129 characters, the contract allows 128",
        "events.session_id: longest value has 1000 characters, the contract allows 64",
    ]
