"""Where and how the jobs write: curated Parquet, serving CSV exports with their manifests, JSON.

Idempotence per run id. Every write goes to a path that belongs to the run alone and replaces it:
``<curated>/<table>/run_id=<id>/`` (``model_metrics``: ``…/run_id=<id>/stage=<stage>/``, since four
jobs share that table) and ``<exports>/runs/<id>/<table>/``, with ``mode("overwrite")`` on that exact
path. A retried job therefore replaces its own run's output and cannot touch another run's (no
table-level overwrite, so ``partitionOverwriteMode`` is irrelevant).

Contract check. ``conform`` runs ``check_schema`` on the DataFrame as computed (names, order and
types must already be right: the shared SQL casts every column); only nullability, which Spark
cannot infer through aggregates and joins, is then enforced at run time: a null in a column the
contract says is never null fails the job with the table and column named, and the schema is
re-declared non-nullable on the JVM side (no Python round trip).

Serving CSV: ``SERVING_CSV_FORMAT`` of core/serving/loader-sql.ts, which the LOAD statements read with
``FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' LINES TERMINATED BY '\\n'``:
UTF-8, headerless, ``servingColumns`` order (columns, then partition keys); NULL is the bare word
``NULL``; every string is enclosed in double quotes with inner quotes doubled (so ``"NULL"``, ``""``,
commas and line breaks are safe, and a backslash is just a backslash); numbers unquoted (decimals
plain, doubles as Java prints them), booleans 1/0, dates ``YYYY-MM-DD``, timestamps
``YYYY-MM-DD HH:MM:SS[.ffffff]`` in UTC. A NaN or infinite double has no MySQL form: the job fails.
``csv_field`` is that rule in Python (tests, documentation); ``csv_line_column`` the same in Spark.

Manifests. The loader reads ``runs/<id>/manifest.json`` (``ServingManifest``) and LOADs every object
under ``runs/<id>/<table>/``, so nothing but CSV may lie there. Each job writes one fragment per
table it exports (model_metrics: per stage, in ``…/model_metrics/stage=<stage>/``) to
``runs/<id>/_manifests/<table>[.<stage>].json``, then ``publish_run_manifest`` lists the fragments
and writes the run's manifest.json only when every served table (and every model_metrics stage) has
one. The jobs run in parallel, but S3 is strongly consistent and each job lists after writing its
own fragments, so the last job to finish always sees all of them; two jobs that both see all write
the same tables. A retried job rewrites its fragments and, the run being complete, the manifest.
"""

import datetime as _dt
import json
import math
from decimal import Decimal
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from . import contract, layout

MANIFESTS_FOLDER = "_manifests/"
NULL = "NULL"


# ---------------------------------------------------------------------------------------------
# Pure Python: CSV rule, manifests, keys
# ---------------------------------------------------------------------------------------------


def csv_field(value: Any) -> str:
    """One value as the serving CSV writes it (see the module note)."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("CSV: {} has no MySQL representation".format(value))
        return repr(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + (".{:06d}".format(value.microsecond).rstrip("0") if value.microsecond else "")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return '"' + str(value).replace('"', '""') + '"'


def csv_line(values: Sequence[Any]) -> str:
    return ",".join(csv_field(v) for v in values)


def served_columns(table_name: str) -> List[str]:
    """Column order of a served table's CSV: its columns, then its partition keys (``servingColumns``
    in core/contract/tables.ts; only model_metrics has one, ``stage``)."""
    table = contract.output_table(table_name)
    return [c.name for c in table.columns + table.partition_keys]


def object_key(root: str, relative: str) -> str:
    """Key inside the bucket of ``root``/``relative`` (``s3://b/x`` + ``runs/…`` → ``x/runs/…``);
    for a local root, the path relative to that root."""
    for scheme in ("s3://", "s3a://", "s3n://"):
        if root.startswith(scheme):
            rest = root[len(scheme):]
            prefix = rest.split("/", 1)[1] if "/" in rest else ""
            prefix = prefix.strip("/")
            return (prefix + "/" + relative) if prefix else relative
    return relative


def table_manifest(
    run_id: str, table: str, row_count: int, files: Sequence[str], created_at: str, stage: Optional[str] = None
) -> Dict[str, Any]:
    """The fragment a job writes for one exported table (model_metrics: one per stage)."""
    return {
        "runId": run_id,
        "table": table,
        "stage": stage,
        "createdAt": created_at,
        "columns": served_columns(table),
        "rowCount": int(row_count),
        "files": sorted(files),
    }


def fragment_name(table: str, stage: Optional[str] = None) -> str:
    return "{}.json".format(table) if stage is None else "{}.{}.json".format(table, stage)


def expected_fragments() -> List[str]:
    """Every fragment a complete run has: one per served table, one per stage for model_metrics."""
    names = []
    for table in contract.served_tables():
        if table.partition_keys and [c.name for c in table.partition_keys] == ["stage"]:
            names.extend(fragment_name(table.name, stage) for stage in table.produced_by)
        else:
            names.append(fragment_name(table.name))
    return sorted(names)


def merge_table_manifests(run_id: str, fragments: Iterable[Mapping[str, Any]], created_at: str) -> Dict[str, Any]:
    """``ServingManifest`` (core/contract/run-artifacts.ts) from the tables' fragments (model_metrics'
    stage fragments are added up). Raises ValueError when a fragment is of another run, a table (or
    table and stage) comes twice, or a served table is missing."""
    tables: Dict[str, Any] = {}
    seen = set()
    for fragment in fragments:
        if fragment.get("runId") != run_id:
            raise ValueError("manifest of table {} is for run {}, not {}".format(fragment.get("table"), fragment.get("runId"), run_id))
        name = fragment["table"]
        key = (name, fragment.get("stage"))
        if key in seen:
            raise ValueError("table {}{} has two manifests".format(name, "" if key[1] is None else " stage " + key[1]))
        seen.add(key)
        entry = tables.setdefault(name, {"columns": list(fragment["columns"]), "rowCount": 0, "files": []})
        if entry["columns"] != list(fragment["columns"]):
            raise ValueError("table {}: fragments disagree on the columns".format(name))
        entry["rowCount"] += int(fragment["rowCount"])
        entry["files"] = sorted(entry["files"] + list(fragment["files"]))
    missing = [t.name for t in contract.served_tables() if t.name not in tables]
    if missing:
        raise ValueError("no export of served table(s) {}".format(", ".join(missing)))
    return {"runId": run_id, "createdAt": created_at, "tables": {k: tables[k] for k in sorted(tables)}}


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def curated_uri(curated_root: str, table: str, run_id: str, stage: Optional[str] = None) -> str:
    uri = curated_root.rstrip("/") + "/" + layout.curated_run_prefix(table, run_id)
    return uri + "stage={}/".format(stage) if stage is not None else uri


def export_uri(exports_root: str, run_id: str, table: str, stage: Optional[str] = None) -> str:
    uri = exports_root.rstrip("/") + "/" + layout.export_table_prefix(run_id, table)
    return uri + "stage={}/".format(stage) if stage is not None else uri


# ---------------------------------------------------------------------------------------------
# Spark: contract conformance
# ---------------------------------------------------------------------------------------------

_NULLABILITY = ": nullable, the contract says it is never null"


def conform(df: Any, table_name: str, include_run_id: bool = False) -> Any:
    """``df`` checked against the contract and re-declared with its nullability.

    Raises ``SchemaMismatchError`` for any problem other than nullability (a bug in the job or the
    SQL: the message lists every problem). Nulls in never-null columns fail the job when it runs.
    """
    from pyspark.sql import DataFrame, functions as F, types as T

    problems = contract.check_schema(table_name, df, include_run_id=include_run_id)
    real = [p for p in problems if not p.endswith(_NULLABILITY)]
    if real:
        raise contract.SchemaMismatchError(table_name, real)
    columns = contract.output_table(table_name).output_columns(include_run_id)
    guarded = df.select(
        *[
            F.col(c.name)
            if c.nullable
            else F.when(
                F.col(c.name).isNull(),
                F.raise_error(F.lit("{}.{} is null, but the contract says it is never null".format(table_name, c.name))),
            ).otherwise(F.col(c.name)).alias(c.name)
            for c in columns
        ]
    )
    # when(raise_error) keeps the type; the schema below states the nullability. Re-declaring it
    # goes through the JVM's Row objects (no Python), the one way Spark offers to narrow nullability.
    fields = []
    for c, field in zip(columns, guarded.schema.fields):
        fields.append(T.StructField(c.name, field.dataType, c.nullable))
    schema = T.StructType(fields)
    spark = df.sparkSession
    jschema = spark._jsparkSession.parseDataType(schema.json())
    jdf = spark._jsparkSession.createDataFrame(guarded._jdf.rdd(), jschema)
    result = DataFrame(jdf, spark)
    contract.require_schema(table_name, result, include_run_id=include_run_id)
    return result


def require_lengths(df: Any, table_name: str) -> None:
    """The contract's string maxLength, checked with one aggregate over ``df`` (cache it first: the
    write reads it again). Raises ``SchemaMismatchError`` naming each bounded string column whose
    longest value (characters: code points, Spark's ``length``, as MySQL counts utf8mb4 VARCHAR)
    exceeds the contract's limit, with the longest found and the limit."""
    from pyspark.sql import functions as F

    bounded = [c.name for c in contract.bounded_string_columns(table_name, include_run_id=True) if c.name in df.columns]
    if not bounded:
        return
    row = df.agg(*[F.max(F.length(F.col(name))).alias(name) for name in bounded]).collect()[0]
    problems = contract.length_problems(table_name, {name: row[name] for name in bounded})
    if problems:
        raise contract.SchemaMismatchError(table_name, problems)


# ---------------------------------------------------------------------------------------------
# Spark: writing
# ---------------------------------------------------------------------------------------------


def write_curated(df: Any, curated_root: str, table_name: str, run_id: str, stage: Optional[str] = None) -> str:
    """Parquet of one table of one run, replacing only that run's (or run and stage's) folder.

    ``df`` must already be conformed (``conform``). For ``model_metrics`` pass ``stage``: the
    ``stage`` column is then checked equal to it and left out of the files (it is the folder).
    """
    from pyspark.sql import functions as F

    table = contract.output_table(table_name)
    target = curated_uri(curated_root, table_name, run_id, stage)
    writer_df = df
    partitions = [c.name for c in table.partition_keys]
    if stage is not None:
        if partitions != ["stage"]:
            raise ValueError("{} is not partitioned by stage".format(table_name))
        writer_df = df.where(F.col("stage") == F.lit(stage)).drop("stage")
        partitions = []
    if partitions:
        # All rows of one partition value in one task, so one file per folder (per event_date of
        # events): without it every task writes a file into every folder it holds rows of
        # (spark.sql.shuffle.partitions files per day), which Athena, the analytics jobs and the
        # S3 request bill pay for on every read.
        writer_df = writer_df.repartition(*partitions)
    writer = writer_df.write.mode("overwrite").option("compression", "snappy")
    if partitions:
        writer = writer.partitionBy(*partitions)
    writer.parquet(target)
    return target


def csv_line_column(df: Any, columns: Sequence[str]) -> Any:
    """A Column holding each row as one serving CSV line (``csv_field`` rule, in Spark SQL)."""
    from pyspark.sql import functions as F, types as T

    types = {f.name: f.dataType for f in df.schema.fields}
    parts = []
    for name in columns:
        col = F.col(name)
        data_type = types[name]
        if isinstance(data_type, T.StringType):
            value = F.concat(F.lit('"'), F.regexp_replace(col, '"', '""'), F.lit('"'))
        elif isinstance(data_type, T.BooleanType):
            value = F.when(col, F.lit("1")).otherwise(F.lit("0"))
        elif isinstance(data_type, (T.DoubleType, T.FloatType)):
            bad = F.isnan(col) | (col == F.lit(float("inf"))) | (col == F.lit(float("-inf")))
            message = F.lit("CSV: {} holds NaN or an infinity, which MySQL cannot store".format(name))
            value = F.when(bad, F.raise_error(message).cast("string")).otherwise(col.cast("string"))
        else:
            value = col.cast("string")
        parts.append(F.when(col.isNull(), F.lit(NULL)).otherwise(value))
    return F.concat_ws(",", *parts)


class FileStore:
    """Small files and listings through Hadoop's FileSystem (S3 on EMR, the local disk in tests)."""

    def __init__(self, spark: Any) -> None:
        self._spark = spark
        self._jvm = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs(self, uri: str) -> Any:
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path.getFileSystem(self._conf), path

    def write_text(self, uri: str, text: str) -> None:
        fs, path = self._fs(uri)
        stream = fs.create(path, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def read_text(self, uri: str) -> Optional[str]:
        fs, path = self._fs(uri)
        if not fs.exists(path):
            return None
        return "\n".join(self._spark.sparkContext.textFile(uri).collect())

    def exists(self, uri: str) -> bool:
        fs, path = self._fs(uri)
        return bool(fs.exists(path))

    def list_names(self, uri: str) -> List[str]:
        fs, path = self._fs(uri)
        if not fs.exists(path):
            return []
        return sorted(status.getPath().getName() for status in fs.listStatus(path))


def write_json(store: FileStore, uri: str, document: Any) -> None:
    store.write_text(uri, json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def manifests_uri(exports_root: str, run_id: str) -> str:
    return exports_root.rstrip("/") + "/" + layout.export_run_prefix(run_id) + MANIFESTS_FOLDER


def publish_run_manifest(store: FileStore, exports_root: str, run_id: str) -> bool:
    """Write ``runs/<id>/manifest.json`` when every fragment of the run is there; True when written."""
    folder = manifests_uri(exports_root, run_id)
    present = [name for name in store.list_names(folder) if name.endswith(".json")]
    if sorted(set(present) & set(expected_fragments())) != expected_fragments():
        return False
    fragments = []
    for name in expected_fragments():
        text = store.read_text(folder + name)
        if text is None:
            return False
        fragments.append(json.loads(text))
    manifest = merge_table_manifests(run_id, fragments, utc_now())
    write_json(store, exports_root.rstrip("/") + "/" + layout.export_manifest_key(run_id), manifest)
    return True


def export_served(
    store: FileStore,
    df: Any,
    exports_root: str,
    table_name: str,
    run_id: str,
    created_at: Optional[str] = None,
    stage: Optional[str] = None,
) -> Dict[str, Any]:
    """Headerless serving CSV of one table of one run, replacing that folder, then its manifest.

    ``df`` must be conformed. model_metrics is written by three jobs at once, so each writes its own
    ``stage=<stage>/`` subfolder (the CSV still carries the stage column). Returns the fragment.
    """
    table = contract.output_table(table_name)
    if not table.served:
        raise ValueError("{} is not a served table".format(table_name))
    target = export_uri(exports_root, run_id, table_name, stage)
    columns = served_columns(table_name)
    lines_df = df.select(csv_line_column(df, columns).alias("value")).cache()
    try:
        row_count = lines_df.count()
        lines_df.write.mode("overwrite").option("compression", "none").option("lineSep", "\n").text(target)
    finally:
        lines_df.unpersist()
    relative = layout.export_table_prefix(run_id, table_name) + ("stage={}/".format(stage) if stage is not None else "")
    files = [object_key(exports_root, relative + name) for name in store.list_names(target) if name.startswith("part-")]
    fragment = table_manifest(run_id, table_name, row_count, files, created_at or utc_now(), stage)
    write_json(store, manifests_uri(exports_root, run_id) + fragment_name(table_name, stage), fragment)
    return fragment


def write_table(
    store: FileStore,
    df: Any,
    table_name: str,
    run_id: str,
    curated_root: str,
    exports_root: str,
    stage: Optional[str] = None,
) -> Any:
    """Check against the contract, write the Parquet and, for a served table, the CSV export.

    Returns the conformed DataFrame (cached: it is written twice).
    """
    conformed = conform(df, table_name).cache()
    require_lengths(conformed, table_name)
    write_curated(conformed, curated_root, table_name, run_id, stage)
    if contract.output_table(table_name).served:
        export_served(store, conformed, exports_root, table_name, run_id, stage=stage)
    return conformed
