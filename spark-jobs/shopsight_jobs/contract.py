"""The table contract, as the Spark jobs see it.

The contract is defined once, in TypeScript (``core/contract``). ``contract.json`` beside this file
is generated from it by ``npm run contract:json`` and must not be edited by hand; a jest test fails
when it is stale. This module reads it with ``pkgutil.get_data``, which also works when the package
is imported from ``shopsight_jobs.zip`` passed with ``--py-files``.

A job checks its DataFrame against the contract just before writing it::

    from shopsight_jobs import contract
    contract.require_schema("c_date", df)          # raises SchemaMismatchError listing every problem

``check_schema`` returns the problems instead of raising. Both accept a pyspark ``DataFrame`` or
``StructType``, or a list of ``(column_name, spark_type_string, nullable)`` tuples, where the type
string is ``DataType.simpleString()`` (``"bigint"``, ``"decimal(12,2)"``).

Standard library only, importable on Python 3.9 without pyspark.
"""

import copy
import json
import pkgutil
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

PACKAGE = "shopsight_jobs"
RESOURCE = "contract.json"

#: One DataFrame field as the schema check sees it: (column name, Spark SQL type string, nullable).
Field = Tuple[str, str, bool]


class ContractError(Exception):
    """contract.json is missing or not in the form this module understands."""


class UnknownTableError(LookupError):
    """No table of that name in the contract."""


class SchemaMismatchError(ValueError):
    """A DataFrame does not match its table's contract; ``problems`` lists every difference."""

    def __init__(self, table_name: str, problems: Sequence[str]) -> None:
        self.table_name = table_name
        self.problems = list(problems)
        lines = "\n".join("  - " + p for p in self.problems)
        super().__init__(
            "DataFrame for table {} does not match the contract ({} problem{}):\n{}".format(
                table_name, len(self.problems), "" if len(self.problems) == 1 else "s", lines
            )
        )


# ---------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------


def _load_document() -> Dict[str, Any]:
    try:
        data = pkgutil.get_data(PACKAGE, RESOURCE)
    except (OSError, ImportError) as error:
        raise ContractError("cannot read {}/{}: {}".format(PACKAGE, RESOURCE, error)) from error
    if data is None:
        raise ContractError("cannot read {}/{}: its loader does not provide data files".format(PACKAGE, RESOURCE))
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError as error:
        raise ContractError("{}/{} is not valid JSON: {}".format(PACKAGE, RESOURCE, error)) from error
    expected = ["eventTypes", "layout", "missingLabel", "outputTables", "pipelineParameters", "rawTables", "runIdPartition"]
    missing = [key for key in expected if key not in document]
    if missing:
        raise ContractError("{}/{} lacks {}: run npm run contract:json".format(PACKAGE, RESOURCE, ", ".join(missing)))
    return document


_DOCUMENT = _load_document()


def document() -> Dict[str, Any]:
    """A copy of the whole parsed contract.json (camelCase keys, as in TypeScript)."""
    return copy.deepcopy(_DOCUMENT)


# ---------------------------------------------------------------------------------------------
# Types and tables
# ---------------------------------------------------------------------------------------------

TYPE_KINDS = ("string", "int", "bigint", "double", "decimal", "date", "timestamp", "boolean")


@dataclass(frozen=True)
class ColumnType:
    kind: str
    #: Strings only: the longest value Aurora stores (Spark itself has no length limit).
    max_length: Optional[int] = None
    #: Decimals only.
    precision: Optional[int] = None
    scale: Optional[int] = None

    @property
    def spark_type(self) -> str:
        return spark_type(self)


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool
    description: str

    @property
    def spark_type(self) -> str:
        return spark_type(self.type)


@dataclass(frozen=True)
class RawTable:
    name: str
    layer: str
    dataset: str
    raw_folder: str
    description: str
    header: Tuple[str, ...]
    optional_trailing_columns: Tuple[str, ...]
    columns: Tuple[Column, ...]


@dataclass(frozen=True)
class OutputTable:
    name: str
    layer: str
    description: str
    #: Stages that write the table (several when each writes its own partition, as model_metrics).
    produced_by: Tuple[str, ...]
    #: The SELECT that computes the table, relative to core/sql (``load_sql``'s path); None when the
    #: stage's code computes it (events, rejects, the models' outputs). See ``table_sql``.
    sql: Optional[str]
    #: Columns in output order, partition columns excluded.
    columns: Tuple[Column, ...]
    #: Partition columns inside one run (every table is partitioned by run_id first).
    partition_keys: Tuple[Column, ...]
    primary_key: Tuple[str, ...]
    served: bool
    excludes: str

    def output_columns(self, include_run_id: bool = False) -> Tuple[Column, ...]:
        """What the DataFrame written for this table holds, in order: its columns, then ``run_id``
        when asked for, then its partition keys (the Hive folder order, as in the Glue table)."""
        run_id = (RUN_ID_PARTITION,) if include_run_id else ()
        return self.columns + run_id + self.partition_keys


def spark_type(column_type: Union[ColumnType, Mapping[str, Any]]) -> str:
    """Spark SQL type string of a contract type (``DataType.simpleString()`` form).

    Accepts a ``ColumnType`` or the JSON form ``{"kind": "decimal", "precision": 12, "scale": 2}``.
    """
    if isinstance(column_type, ColumnType):
        kind, precision, scale = column_type.kind, column_type.precision, column_type.scale
    elif isinstance(column_type, Mapping):
        kind, precision, scale = column_type.get("kind"), column_type.get("precision"), column_type.get("scale")
    else:
        raise TypeError("expected a ColumnType or a mapping, got {!r}".format(column_type))
    if kind == "decimal":
        if not isinstance(precision, int) or not isinstance(scale, int):
            raise ValueError("decimal type needs integer precision and scale, got {!r}".format(column_type))
        return "decimal({},{})".format(precision, scale)
    if kind in TYPE_KINDS:
        # The remaining contract kinds are spelled as Spark spells them.
        return str(kind)
    raise ValueError("unknown contract type kind {!r}; known: {}".format(kind, ", ".join(TYPE_KINDS)))


def _column_type(raw: Mapping[str, Any]) -> ColumnType:
    column_type = ColumnType(
        kind=raw["kind"],
        max_length=raw.get("maxLength"),
        precision=raw.get("precision"),
        scale=raw.get("scale"),
    )
    spark_type(column_type)  # rejects unknown kinds when the contract is loaded, not when a job writes
    return column_type


def _column(raw: Mapping[str, Any]) -> Column:
    return Column(
        name=raw["name"],
        type=_column_type(raw["type"]),
        nullable=bool(raw["nullable"]),
        description=raw["description"],
    )


def _raw_table(raw: Mapping[str, Any]) -> RawTable:
    return RawTable(
        name=raw["name"],
        layer=raw["layer"],
        dataset=raw["dataset"],
        raw_folder=raw["rawFolder"],
        description=raw["description"],
        header=tuple(raw["header"]),
        optional_trailing_columns=tuple(raw.get("optionalTrailingColumns", ())),
        columns=tuple(_column(c) for c in raw["columns"]),
    )


def _output_table(raw: Mapping[str, Any]) -> OutputTable:
    return OutputTable(
        name=raw["name"],
        layer=raw["layer"],
        description=raw["description"],
        produced_by=tuple(raw["producedBy"]) if isinstance(raw["producedBy"], list) else (raw["producedBy"],),
        sql=raw["sql"],
        columns=tuple(_column(c) for c in raw["columns"]),
        partition_keys=tuple(_column(c) for c in raw["partitionKeys"]),
        primary_key=tuple(raw["primaryKey"]),
        served=bool(raw["served"]),
        excludes=raw["excludes"],
    )


try:
    #: Label aggregates use for a missing category, sub-category or brand.
    MISSING_LABEL: str = _DOCUMENT["missingLabel"]
    #: Event types of the canonical events view.
    EVENT_TYPES: Tuple[str, ...] = tuple(_DOCUMENT["eventTypes"])
    #: The partition every curated table has first.
    RUN_ID_PARTITION: Column = _column(_DOCUMENT["runIdPartition"])
    RAW_TABLES: Tuple[RawTable, ...] = tuple(_raw_table(t) for t in _DOCUMENT["rawTables"])
    OUTPUT_TABLES: Tuple[OutputTable, ...] = tuple(_output_table(t) for t in _DOCUMENT["outputTables"])
except (KeyError, TypeError, ValueError) as _error:
    raise ContractError("{}/{} is not in the expected form ({!r}): run npm run contract:json".format(PACKAGE, RESOURCE, _error))


def output_table(name: str) -> OutputTable:
    for table in OUTPUT_TABLES:
        if table.name == name:
            return table
    raise UnknownTableError(
        'No table "{}" in the contract; known: {}'.format(name, ", ".join(t.name for t in OUTPUT_TABLES))
    )


def raw_table(name: str) -> RawTable:
    for table in RAW_TABLES:
        if table.name == name:
            return table
    raise UnknownTableError(
        'No raw table "{}" in the contract; known: {}'.format(name, ", ".join(t.name for t in RAW_TABLES))
    )


def table_sql(name: str) -> str:
    """The shared SQL file (relative to core/sql) that computes a table, from its contract ``sql``;
    raises ``ContractError`` for a table that its stage's code computes (``sql`` is null)."""
    sql = output_table(name).sql
    if sql is None:
        raise ContractError('Table "{}" is computed by its stage\'s code: it has no SQL file (its contract sql is null)'.format(name))
    return sql


def served_tables() -> Tuple[OutputTable, ...]:
    """The tables loaded into Aurora MySQL."""
    return tuple(t for t in OUTPUT_TABLES if t.served)


def default_pipeline_parameters() -> Dict[str, Any]:
    """A copy of DEFAULT_PIPELINE_PARAMETERS (core/config/pipeline-params.ts), camelCase keys."""
    return copy.deepcopy(_DOCUMENT["pipelineParameters"])


# ---------------------------------------------------------------------------------------------
# The output schema check
# ---------------------------------------------------------------------------------------------

#: Names Spark also uses for the contract's types (``DataType.typeName()``, DDL synonyms).
_TYPE_ALIASES = {"integer": "int", "long": "bigint", "bool": "boolean"}


def _normalise_type(type_string: str) -> str:
    compact = re.sub(r"\s+", "", type_string).lower()
    return _TYPE_ALIASES.get(compact, compact)


def schema_fields(schema: Any) -> List[Field]:
    """``(name, simpleString, nullable)`` of each field of a pyspark ``StructType`` or ``DataFrame``.

    Duck-typed, so this module never imports pyspark.
    """
    struct = schema.schema if not hasattr(schema, "fields") and hasattr(schema, "schema") else schema
    return [(f.name, f.dataType.simpleString(), bool(f.nullable)) for f in struct.fields]


def _as_fields(fields: Any) -> List[Field]:
    if hasattr(fields, "fields") or hasattr(fields, "schema"):
        return schema_fields(fields)
    result = []
    for index, field in enumerate(fields):
        if (
            not isinstance(field, (tuple, list))
            or len(field) != 3
            or not isinstance(field[0], str)
            or not isinstance(field[1], str)
            or not isinstance(field[2], bool)
        ):
            raise TypeError(
                "field {} must be a (column_name, spark_type_string, nullable) tuple, got {!r}".format(index, field)
            )
        result.append((field[0], field[1], field[2]))
    return result


def expected_fields(table_name: str, include_run_id: bool = False) -> List[Field]:
    """The fields the contract asks of the table's DataFrame, in order (see ``OutputTable.output_columns``)."""
    return [(c.name, c.spark_type, c.nullable) for c in output_table(table_name).output_columns(include_run_id)]


def _describe(column: Column) -> str:
    return "{}{}".format(column.spark_type, "" if column.nullable else " not null")


def check_schema(table_name: str, fields: Any, *, include_run_id: bool = False) -> List[str]:
    """Every way the DataFrame schema ``fields`` differs from the contract of ``table_name``.

    The contract's fields are the table's columns in order, then ``run_id`` when
    ``include_run_id`` (a job that writes the whole table folder partitioned by run_id), then the
    table's partition keys. Reports missing, extra and repeated columns, columns out of order,
    wrong types, and nullable columns the contract says are never null (a non-nullable column
    where the contract allows nulls is fine). Empty when the schema matches.
    """
    expected = output_table(table_name).output_columns(include_run_id)
    actual = _as_fields(fields)
    problems: List[str] = []

    expected_names = [c.name for c in expected]
    actual_names = [f[0] for f in actual]
    first_actual: Dict[str, Field] = {}
    for field in actual:
        first_actual.setdefault(field[0], field)

    for name in first_actual:
        count = actual_names.count(name)
        if count > 1:
            problems.append("column {} appears {} times".format(name, count))
    for column in expected:
        if column.name not in first_actual:
            problems.append("missing column {} ({})".format(column.name, _describe(column)))
    for name, field in first_actual.items():
        if name not in expected_names:
            problems.append("extra column {} ({}): not in the contract".format(name, field[1]))

    in_actual_order = [n for n in first_actual if n in expected_names]
    in_contract_order = [n for n in expected_names if n in first_actual]
    if in_actual_order != in_contract_order:
        problems.append(
            "columns out of order: the contract's order is {}; the DataFrame has {}".format(
                ", ".join(in_contract_order), ", ".join(in_actual_order)
            )
        )

    for column in expected:
        field = first_actual.get(column.name)
        if field is None:
            continue
        _, type_string, nullable = field
        if _normalise_type(type_string) != column.spark_type:
            problems.append("column {}: type {}, the contract says {}".format(column.name, type_string, column.spark_type))
        if nullable and not column.nullable:
            problems.append("column {}: nullable, the contract says it is never null".format(column.name))
    return problems


def max_length_of(table_name: str, column_name: str) -> int:
    """The contract's maxLength of a bounded string column, in characters (code points, as MySQL
    counts utf8mb4 VARCHAR); raises ContractError when the column is not a bounded string."""
    for column in output_table(table_name).output_columns(include_run_id=True):
        if column.name == column_name and column.type.kind == "string" and column.type.max_length is not None:
            return column.type.max_length
    raise ContractError("{}.{} is not a bounded string column".format(table_name, column_name))


def bounded_string_columns(table_name: str, include_run_id: bool = False) -> List[Column]:
    """The table's string columns that have a maxLength, in output order."""
    return [
        c for c in output_table(table_name).output_columns(include_run_id) if c.type.kind == "string" and c.type.max_length is not None
    ]


def length_problems(table_name: str, longest: Mapping[str, Optional[int]]) -> List[str]:
    """The bounded string columns whose longest value (``longest``: column → characters, None for
    no value) exceeds the contract's maxLength, each named with the longest found and the limit."""
    problems = []
    for column in bounded_string_columns(table_name, include_run_id=True):
        found = longest.get(column.name)
        if found is not None and found > column.type.max_length:
            problems.append(
                "{}.{}: longest value has {} characters, the contract allows {}".format(table_name, column.name, found, column.type.max_length)
            )
    return problems


def require_schema(table_name: str, fields: Any, *, include_run_id: bool = False) -> None:
    """``check_schema``, raising ``SchemaMismatchError`` (every problem in its message) on any problem."""
    problems = check_schema(table_name, fields, include_run_id=include_run_id)
    if problems:
        raise SchemaMismatchError(table_name, problems)


__all__ = [
    "Column",
    "ColumnType",
    "ContractError",
    "EVENT_TYPES",
    "Field",
    "MISSING_LABEL",
    "OUTPUT_TABLES",
    "OutputTable",
    "RAW_TABLES",
    "RUN_ID_PARTITION",
    "RawTable",
    "SchemaMismatchError",
    "TYPE_KINDS",
    "UnknownTableError",
    "bounded_string_columns",
    "check_schema",
    "default_pipeline_parameters",
    "document",
    "expected_fields",
    "length_problems",
    "max_length_of",
    "output_table",
    "raw_table",
    "require_schema",
    "schema_fields",
    "served_tables",
    "spark_type",
]
