"""Raw input → the canonical ``events`` DataFrame and the ``rejects`` DataFrame, on Spark.

Line numbers. Every event and reject carries its exact source line (header = line 1). Each input
file is read on its own with ``sc.textFile(file).zipWithIndex()``: ``textFile`` yields a file's
lines in order (Hadoop's LineRecordReader hands a line that straddles a split to the split where it
starts, so no line is lost or doubled), and ``zipWithIndex`` numbers them across partitions by first
counting every partition (one extra pass), so index + 1 is the physical line number. A gzip file is
not splittable and is one partition anyway; a plain file may be many. The DataFrame route
(``spark.read.text`` + ``monotonically_increasing_id``) is not usable: those ids are
``partition_id << 33 | row_in_partition``, with gaps between partitions, so they are unique but
not line numbers; ``input_file_name()`` gives the file but not the line.

Parsing is pure Python (``lines.py``), the same rules as the local readers, so the rejects' reasons
and their order are identical. Exact duplicates (all raw fields equal, across files too) keep the
first by (file order, line): one aggregation ``min(struct(file_idx, source_line, row))`` per raw
key, which Spark pre-aggregates map-side (cheaper than a window over 400 M rows).

Everything apart from listing and reading files is a DataFrame → DataFrame function.
pyspark is imported inside the functions (the package loads without it).
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import lines
from .args import InputNotFoundError, InputUnusableError

#: Physical line tuples: (file_idx, source_file, source_line, line).
_LINE_FIELDS = ("file_idx", "source_file", "source_line", "raw_line")


@dataclass
class RecognisedInputs:
    dataset: str
    #: Event files in read order (key order): this order decides which copy of a duplicate stays.
    events: List[str] = field(default_factory=list)
    category_tree: List[str] = field(default_factory=list)
    item_properties: List[str] = field(default_factory=list)
    #: Files that are not part of the dataset (reported, not read).
    ignored: List[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Files (I/O)
# ---------------------------------------------------------------------------------------------


def _hadoop_fs(spark: Any, uri: str) -> Tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def is_ignored_name(name: str) -> bool:
    """As the validate-input Lambda: names starting with "_" or "." (markers, Spark's _SUCCESS) are not input."""
    return name.startswith("_") or name.startswith(".")


def list_input_files(spark: Any, uri: str) -> List[str]:
    """Every data file under ``uri`` (a prefix, folder or one file), recursively, in key order."""
    fs, path = _hadoop_fs(spark, uri)
    if not fs.exists(path):
        raise InputNotFoundError("--input {} does not exist".format(uri))
    found = []
    iterator = fs.listFiles(path, True)
    while iterator.hasNext():
        status = iterator.next()
        file_path = status.getPath()
        if is_ignored_name(file_path.getName()):
            continue
        found.append(file_path.toString())
    if not found:
        raise InputNotFoundError("no input files under {}".format(uri))
    return sorted(found)


def first_line(spark: Any, file_uri: str) -> str:
    """The header line of a file (gzip is decompressed by its .gz suffix)."""
    rows = spark.sparkContext.textFile(file_uri).take(1)
    return rows[0] if rows else ""


def recognise_inputs(spark: Any, dataset: str, files: Sequence[str]) -> RecognisedInputs:
    """Sort the files by their header into the dataset's parts; fail clearly on a mismatch."""
    found = RecognisedInputs(dataset=dataset)
    wanted = {
        "rees46": {"rees46_events": found.events},
        "retailrocket": {
            "retailrocket_events": found.events,
            "category_tree": found.category_tree,
            "item_properties": found.item_properties,
        },
    }[dataset]
    for file_uri in files:
        kind = lines.recognise_header(first_line(spark, file_uri))
        if kind in wanted:
            wanted[kind].append(file_uri)
        elif kind is None and not file_uri.lower().endswith((".csv", ".csv.gz")):
            found.ignored.append(file_uri)
        else:
            raise InputUnusableError(
                "{}: not a {} input file (header recognised as {})".format(file_uri, dataset, kind or "nothing known")
            )
    if not found.events:
        raise InputUnusableError("no {} events file among the {} input files".format(dataset, len(files)))
    return found


def read_lines(spark: Any, files: Sequence[str]) -> Any:
    """RDD of (file_idx, source_file, source_line, line) over the files, header lines included."""
    sc = spark.sparkContext
    rdds = []
    for idx, file_uri in enumerate(files):
        numbered = sc.textFile(file_uri).zipWithIndex()
        rdds.append(numbered.map(lambda pair, i=idx, f=file_uri: (i, f, pair[1] + 1, pair[0].rstrip("\r"))))
    return rdds[0] if len(rdds) == 1 else sc.union(rdds)


def read_data_lines(spark: Any, files: Sequence[str]) -> List[str]:
    """The data lines (header dropped) of small files (the category tree), collected to the driver."""
    out: List[str] = []
    for file_uri in files:
        out.extend(spark.sparkContext.textFile(file_uri).collect()[1:])
    return out


# ---------------------------------------------------------------------------------------------
# Parsing (DataFrame builders over the line RDD)
# ---------------------------------------------------------------------------------------------


def _schemas() -> Dict[str, Any]:
    from pyspark.sql import types as T

    rejects = T.StructType(
        [
            T.StructField("file_idx", T.IntegerType(), False),
            T.StructField("source_file", T.StringType(), False),
            T.StructField("source_line", T.LongType(), False),
            T.StructField("reason", T.StringType(), False),
            T.StructField("detail", T.StringType(), False),
            T.StructField("raw_line", T.StringType(), False),
        ]
    )
    rees46 = T.StructType(
        [
            T.StructField("file_idx", T.IntegerType(), False),
            T.StructField("source_file", T.StringType(), False),
            T.StructField("source_line", T.LongType(), False),
            T.StructField("raw_key", T.ArrayType(T.StringType(), True), False),
            T.StructField("event_time_us", T.LongType(), False),
            T.StructField("event_date", T.DateType(), False),
            T.StructField("event_hour", T.IntegerType(), False),
            T.StructField("day_of_week", T.IntegerType(), False),
            T.StructField("event_type", T.StringType(), False),
            T.StructField("product_id", T.LongType(), False),
            T.StructField("category_id", T.LongType(), True),
            T.StructField("category_code", T.StringType(), True),
            T.StructField("category", T.StringType(), True),
            T.StructField("sub_category", T.StringType(), True),
            T.StructField("brand", T.StringType(), True),
            T.StructField("price", T.DecimalType(12, 2), True),
            T.StructField("user_id", T.LongType(), False),
            T.StructField("session_id", T.StringType(), False),
        ]
    )
    retailrocket = T.StructType(
        [
            T.StructField("file_idx", T.IntegerType(), False),
            T.StructField("source_file", T.StringType(), False),
            T.StructField("source_line", T.LongType(), False),
            T.StructField("raw_key", T.ArrayType(T.StringType(), True), False),
            T.StructField("event_time_us", T.LongType(), False),
            T.StructField("event_date", T.DateType(), False),
            T.StructField("event_hour", T.IntegerType(), False),
            T.StructField("day_of_week", T.IntegerType(), False),
            T.StructField("event_type", T.StringType(), False),
            T.StructField("product_id", T.LongType(), False),
            T.StructField("user_id", T.LongType(), False),
            T.StructField("transaction_id", T.LongType(), True),
        ]
    )
    return {"rejects": rejects, "rees46": rees46, "retailrocket": retailrocket}


def _header_check(kind: str, header_line: str, source: str) -> None:
    if lines.recognise_header(header_line) != kind:
        raise InputUnusableError(
            "{}: header is {!r}, not the header of a {} file".format(source, header_line.lstrip("\ufeff"), kind)
        )


def parse_rees46(line_rdd: Any) -> Any:
    """RDD of ("ok", row) / ("reject", row) for REES46 lines; headers and blank lines dropped."""

    def parse(record: Tuple[int, str, int, str]) -> List[Tuple[str, tuple]]:
        file_idx, source_file, source_line, line = record
        if source_line == 1:
            _header_check("rees46_events", line, source_file)
            return []
        if line == "":
            return []
        kind, a, b = lines.parse_rees46_line(line)
        if kind == "reject":
            return [("reject", (file_idx, source_file, source_line, a, b, line))]
        moment = b[0]
        event_date, hour, dow = lines.time_parts(moment)
        return [("ok", (file_idx, source_file, source_line, list(a), lines.epoch_micros(moment), event_date, hour, dow) + tuple(b[1:]))]

    return line_rdd.flatMap(parse)


def parse_retailrocket(line_rdd: Any, widths: Dict[int, int]) -> Any:
    """RDD of ("ok", row) / ("reject", row) for RetailRocket events lines. ``widths``: each file's
    header width by file_idx (5, or 6 with the trailing ``datetime``), read on the driver because a
    plain file's later partitions do not see its header."""

    def parse(record: Tuple[int, str, int, str]) -> List[Tuple[str, tuple]]:
        file_idx, source_file, source_line, line = record
        if source_line == 1:
            _header_check("retailrocket_events", line, source_file)
            return []
        if line == "":
            return []
        kind, a, b = lines.parse_retailrocket_line(line, widths[file_idx])
        if kind == "reject":
            return [("reject", (file_idx, source_file, source_line, a, b, line))]
        moment = b[0]
        event_date, hour, dow = lines.time_parts(moment)
        return [("ok", (file_idx, source_file, source_line, list(a), lines.epoch_micros(moment), event_date, hour, dow) + tuple(b[1:]))]

    return line_rdd.flatMap(parse)


def _split(spark: Any, parsed: Any, ok_schema: Any) -> Tuple[Any, Any]:
    """(typed rows, rejects) as DataFrames from the parsed RDD.

    Both come from one DataFrame (a ``_kind`` column, the typed fields, then reason, detail and
    raw_line; what does not apply is null), cached once: the input is parsed once, and the cache is
    Spark's compressed columnar one (memory and disk) rather than pickled Python tuples.
    Nullability is restored by ``outputs.conform`` before anything is written.
    """
    from pyspark.sql import functions as F, types as T

    reject_fields = [f for f in _schemas()["rejects"].fields if f.name in ("reason", "detail", "raw_line")]
    fields = [T.StructField("_kind", T.StringType(), False)]
    fields += [T.StructField(f.name, f.dataType, f.name in ("file_idx", "source_file", "source_line") and not f.nullable) for f in ok_schema.fields]
    fields += [T.StructField(f.name, f.dataType, True) for f in reject_fields]
    combined_schema = T.StructType(fields)
    typed_width = len(ok_schema.fields)

    def combine(record: Tuple[str, tuple]) -> tuple:
        kind, row = record
        if kind == "ok":
            return (kind,) + tuple(row) + (None, None, None)
        return (kind,) + tuple(row[:3]) + (None,) * (typed_width - 3) + tuple(row[3:])

    combined = spark.createDataFrame(parsed.map(combine), combined_schema).cache()
    ok = combined.where(F.col("_kind") == "ok").select(*[f.name for f in ok_schema.fields])
    rejected = combined.where(F.col("_kind") == "reject").select("file_idx", "source_file", "source_line", "reason", "detail", "raw_line")
    return ok, rejected


# ---------------------------------------------------------------------------------------------
# DataFrame → DataFrame
# ---------------------------------------------------------------------------------------------


def remove_exact_duplicates(rows: Any) -> Any:
    """Keep, per ``raw_key``, the row first by (file_idx, source_line). Adds nothing, drops nothing else."""
    from pyspark.sql import functions as F

    others = [c for c in rows.columns if c not in ("raw_key", "file_idx", "source_line")]
    first = F.min(F.struct(*(["file_idx", "source_line"] + others))).alias("first")
    return rows.groupBy("raw_key").agg(first).select("raw_key", "first.*")


def rees46_events(typed: Any) -> Any:
    """Deduplicated typed REES46 rows → the contract's events columns (in order) + file_idx."""
    from pyspark.sql import functions as F

    return typed.select(
        "file_idx",
        F.expr("timestamp_micros(event_time_us)").alias("event_time"),
        "event_hour",
        "day_of_week",
        "event_type",
        "product_id",
        "category_id",
        "category_code",
        "category",
        "sub_category",
        "brand",
        "price",
        "user_id",
        "session_id",
        F.lit(None).cast("bigint").alias("transaction_id"),
        "source_file",
        "source_line",
        "event_date",
    )


def sessionize(events: Any, gap_minutes: int) -> Any:
    """``session_id`` = "<user_id>-<n>", n = 1, 2, … per user in time order; a new session starts when
    the gap to the user's previous event is strictly greater than ``gap_minutes`` (ties in time are
    ordered by file and line, so the numbering is deterministic)."""
    from pyspark.sql import Window, functions as F

    order = Window.partitionBy("user_id").orderBy("event_time_us", "file_idx", "source_line")
    previous = F.lag("event_time_us").over(order)
    starts = F.when(previous.isNull() | ((F.col("event_time_us") - previous) > F.lit(gap_minutes * 60 * 1000000)), 1).otherwise(0)
    running = order.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    with_start = events.withColumn("_start", starts)
    return with_start.withColumn(
        "session_id", F.concat(F.col("user_id").cast("string"), F.lit("-"), F.sum("_start").over(running).cast("string"))
    ).drop("_start")


def item_categories_at_event_time(events: Any, item_properties: Optional[Any]) -> Any:
    """``category_id`` per event: the item's ``categoryid`` property valid at the event time (the
    latest value set at or before it: an as-of join), else the item's first value, else null.

    ``item_properties``: (timestamp_us bigint, product_id bigint, category_id bigint) rows, or None.
    The as-of join is a union of events and property changes per item, ordered by time (a change at
    the event's own millisecond counts), with ``last(ignorenulls)`` carrying the value forward.
    """
    from pyspark.sql import Window, functions as F

    if item_properties is None:
        return events.withColumn("category_id", F.lit(None).cast("bigint"))
    # (file_idx, source_line) identifies an event row (a deterministic key, unlike monotonically_increasing_id).
    changes = item_properties.select(
        F.col("product_id"), F.col("timestamp_us").alias("_t"), F.lit(0).alias("_kind"), F.col("category_id").alias("_value"),
        F.lit(None).cast("int").alias("_file"), F.lit(None).cast("bigint").alias("_line"),
    )
    points = events.select(
        F.col("product_id"), F.col("event_time_us").alias("_t"), F.lit(1).alias("_kind"), F.lit(None).cast("bigint").alias("_value"),
        F.col("file_idx").alias("_file"), F.col("source_line").alias("_line"),
    )
    order = (
        Window.partitionBy("product_id").orderBy("_t", "_kind", "_value").rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    asof = (
        changes.unionByName(points)
        .withColumn("_asof", F.last("_value", ignorenulls=True).over(order))
        .where(F.col("_kind") == 1)
        .select(F.col("_file").alias("file_idx"), F.col("_line").alias("source_line"), "_asof")
    )
    first_value = item_properties.groupBy("product_id").agg(
        F.min(F.struct("timestamp_us", "category_id")).getField("category_id").alias("_first")
    )
    return (
        events.join(asof, ["file_idx", "source_line"], "left")
        .join(first_value, "product_id", "left")
        .withColumn("category_id", F.coalesce("_asof", "_first"))
        .drop("_asof", "_first")
    )


def attach_category_paths(events: Any, paths: Any) -> Any:
    """category_code = the tree path of category_id (ids joined by dots, root first); category =
    its first segment; sub_category = the rest (null for a root). A category_id missing from the
    tree gives a one-segment path of its own id."""
    from pyspark.sql import functions as F

    joined = events.join(F.broadcast(paths), "category_id", "left")
    code = F.when(F.col("category_id").isNull(), F.lit(None).cast("string")).otherwise(
        F.coalesce(F.col("_path"), F.col("category_id").cast("string"))
    )
    dot = F.instr(code, ".")
    return (
        joined.withColumn("category_code", code)
        .withColumn("category", F.when(dot > 0, F.expr("substring_index(category_code, '.', 1)")).otherwise(F.col("category_code")))
        .withColumn("sub_category", F.when(dot > 0, F.expr("substring(category_code, instr(category_code, '.') + 1)")))
        .drop("_path")
    )


def retailrocket_events(typed: Any, gap_minutes: int, item_properties: Optional[Any], paths: Any) -> Any:
    """Deduplicated typed RetailRocket rows → the contract's events columns (in order) + file_idx."""
    from pyspark.sql import functions as F

    sessions = sessionize(typed, gap_minutes)
    categorised = attach_category_paths(item_categories_at_event_time(sessions, item_properties), paths)
    return categorised.select(
        "file_idx",
        F.expr("timestamp_micros(event_time_us)").alias("event_time"),
        "event_hour",
        "day_of_week",
        "event_type",
        "product_id",
        "category_id",
        "category_code",
        "category",
        "sub_category",
        F.lit(None).cast("string").alias("brand"),
        F.lit(None).cast("decimal(12,2)").alias("price"),
        "user_id",
        "session_id",
        "transaction_id",
        "source_file",
        "source_line",
        "event_date",
    )


def item_category_rows(spark: Any, files: Sequence[str]) -> Any:
    """(timestamp_us, product_id, category_id) of the ``categoryid`` rows of item_properties: the
    same strict digits rules as the local reader (a row that does not parse is skipped), and one
    value per (item, time), the larger id when two differ."""
    from pyspark.sql import functions as F

    digits = "^[0-9]{1,19}$"
    raw = spark.read.option("header", "true").option("mode", "PERMISSIVE").csv(list(files))
    valid = raw.where(
        (F.col("property") == "categoryid")
        & F.col("timestamp").rlike(digits)
        & F.col("itemid").rlike(digits)
        & F.col("value").rlike(digits)
    ).select(
        (F.col("timestamp").cast("bigint") * 1000).alias("timestamp_us"),
        F.col("itemid").cast("bigint").alias("product_id"),
        F.col("value").cast("bigint").alias("category_id"),
    )
    clean = valid.where(F.col("timestamp_us").isNotNull() & F.col("product_id").isNotNull() & F.col("category_id").isNotNull())
    return clean.groupBy("product_id", "timestamp_us").agg(F.max("category_id").alias("category_id"))


def rejects_table(rejected: Any) -> Any:
    """Reject rows in the contract's column order (file_idx kept for the accounting, dropped on write)."""
    return rejected.select("file_idx", "source_file", "source_line", "reason", "detail", "raw_line")


# ---------------------------------------------------------------------------------------------
# The whole read
# ---------------------------------------------------------------------------------------------


@dataclass
class ReadResult:
    #: Contract events columns (+ file_idx first).
    events: Any
    #: Contract rejects columns (+ file_idx first).
    rejects: Any
    #: Typed rows before duplicate removal (+ file_idx), for the accounting.
    typed: Any
    #: Per file: rows read (data lines, blank excluded).
    files: List[str]


def read_rees46(spark: Any, files: Sequence[str]) -> ReadResult:
    parsed = parse_rees46(read_lines(spark, files))
    typed, rejected = _split(spark, parsed, _schemas()["rees46"])
    events = rees46_events(remove_exact_duplicates(typed))
    return ReadResult(events=events, rejects=rejects_table(rejected), typed=typed, files=list(files))


def read_retailrocket(spark: Any, inputs: RecognisedInputs, gap_minutes: int) -> ReadResult:
    from pyspark.sql import types as T

    widths = {i: len(lines.header_fields(first_line(spark, f))) for i, f in enumerate(inputs.events)}
    parsed = parse_retailrocket(read_lines(spark, inputs.events), widths)
    typed, rejected = _split(spark, parsed, _schemas()["retailrocket"])
    deduplicated = remove_exact_duplicates(typed)

    tree = lines.category_tree_rows(read_data_lines(spark, inputs.category_tree))
    path_rows = sorted(lines.category_paths(tree).items())
    paths = spark.createDataFrame(
        path_rows,
        T.StructType([T.StructField("category_id", T.LongType(), False), T.StructField("_path", T.StringType(), False)]),
    )
    properties = item_category_rows(spark, inputs.item_properties) if inputs.item_properties else None
    events = retailrocket_events(deduplicated, gap_minutes, properties, paths)
    return ReadResult(events=events, rejects=rejects_table(rejected), typed=typed, files=list(inputs.events))
