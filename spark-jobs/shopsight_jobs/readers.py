"""Raw input → the canonical ``events`` DataFrame and the ``rejects`` DataFrame, on Spark, with the
same rules, reasons, details, line numbers and accounting as the local engine's readers
(local/engine/rees46-reader.ts, local/engine/retailrocket-reader.ts). No per-row Python runs: every
step is a JVM DataFrame expression.

Lines (the local readers' rule). Each file is read with ``spark.read.option("lineSep", "\\n")
.text(file)``: only ``\\n`` ends a line, so a bare CR inside a line is content; one CR at the end of
a line is dropped (a CRLF file reads like an LF file). The header may start with a UTF-8 BOM.
Blank lines are not rows, but they count in the line numbers.

Line numbers (header = line 1), without ``zipWithIndex``. Per file, every line gets
``monotonically_increasing_id()`` (partition index << 33 | row within the partition) and
``input_file_block_start()`` (the byte offset of the split it was read from; Hadoop's line reader
gives a line that straddles a split to the split where it starts). One small aggregate pass,
``groupBy(file, block) → count, min(id)``, comes to the driver, which orders each file's blocks by
their offset (Spark packs splits into partitions by size, not offset, so partition order is not file
order) and gives every block its first line number; a broadcast join then yields
``source_line = first_line_of_block + (id - min_id_of_block)``. The ids are recomputed by the second
pass over the same scan: a file's splits and the rows in each are deterministic.

Fields. A line without ``"`` is split on ``,`` (fast path); a line with quotes is matched by the
local reader's anchored RFC 4180 pattern (a field is quoted with doubled quotes inside, or unquoted
without commas or quotes), written unrolled (``"[^"]*(?:""[^"]*)*"``: Java's regex engine recurses
once per character on ``(?:[^"]|"")*`` and overflows its stack on long fields) and anchored with
``\\z`` (Java's ``$`` also matches before a final line terminator such as U+2028 or U+0085).
Values are typed behind strict patterns and the first failing check is the reject reason, in the
local reader's order, with its detail text. Before any of them, a line holding one of
``lines.CONTROL_CHARACTERS`` is a ``control_character`` reject; a REES46 value longer than the events
column it feeds allows (``contract.max_length_of``, in code points: Spark's ``length``) is
``field_too_long`` at its column's place in the order. Detail and raw_line are cut to the rejects
table's maxLength.

Exact duplicates (all raw fields equal, across files too) keep the first by (file order, line): one
aggregation ``min(struct(file_idx, source_line, row))`` per raw key, which Spark pre-aggregates
map-side (cheaper than a window over 400 M rows).

``source_file`` is a local file's plain path (``/tmp/x.csv``, as the local engine records it, not
Hadoop's ``file:/tmp/x.csv``) and an object store file's URI (``s3://bucket/key``).

Everything apart from listing files and reading headers is a DataFrame → DataFrame function.
pyspark is imported inside the functions (the package loads without it).
"""

from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import contract, lines
from .args import InputNotFoundError, InputUnusableError


@dataclass
class RecognisedInputs:
    dataset: str
    #: Event files in read order (key order): this order decides which copy of a duplicate stays.
    events: List[str] = field(default_factory=list)
    category_tree: List[str] = field(default_factory=list)
    item_properties: List[str] = field(default_factory=list)
    #: Files that are not part of the dataset (reported, not read).
    ignored: List[str] = field(default_factory=list)


#: Spark setting: partitions of the parsed lines when the files give fewer (a .gz is one partition).
#: Default: twice the default parallelism.
READ_PARTITIONS_SETTING = "spark.shopsight.readPartitions"

# ---------------------------------------------------------------------------------------------
# Patterns (Java regex), the local readers' rules
# ---------------------------------------------------------------------------------------------

#: A quoted CSV field, doubled quotes inside, as the local reader's ``"(?:[^"]|"")*"`` (RE2,
#: leftmost-first) finds it in ``regexp_replace``: unrolled, because Java's backtracking engine
#: recurses once per repetition of a group, and ``(?:[^"]|"")*`` overflows the stack on a field of
#: a few thousand characters; this form recurses once per doubled quote only.
QUOTED_FIELD = '"[^"]*+(?:""[^"]*+)*"'
#: A field of an anchored line: possessive, so no recursion at all (a line with thousands of doubled
#: quotes matches). Equivalent there: a field is followed by "," or the end of the line, never by a
#: quote, so giving back a character or a doubled quote can never lead to a match.
FIELD = '("[^"]*+(?:""[^"]*+)*+"|[^,"]*+)'


def full(pattern: str) -> str:
    """``pattern`` matching the whole string (Java: ``rlike`` finds; ``$`` would allow a final line terminator)."""
    return "^(?:" + pattern + r")\z"


def line_pattern(columns: int) -> str:
    """The anchored line of ``columns`` fields: group 1 = the whole line, groups 2.. = the fields."""
    return "^(" + ",".join([FIELD] * columns) + r")\z"


ID_PATTERN = full("[0-9]{1,19}")
PRICE_PATTERN = full(r"-?[0-9]+(\.[0-9]{1,2})?")
TRANSACTION_PATTERN = full(r"[0-9]{1,19}(\.0+)?")
TIME_PATTERN = r"^([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)? UTC\z"
MICROS_PER_DAY = 86400 * 1000000
MS_PER_DAY = 86400 * 1000


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
    """Every data file under ``uri`` (a prefix, folder or one file), recursively, in key order, as
    Hadoop URIs (``file:/…`` for a local file: see ``source_name``)."""
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


def source_name(uri: str) -> str:
    """``source_file`` of a file: a local file's plain path (as the local engine writes it), else its URI."""
    if uri.startswith("file://"):
        return uri[len("file://"):]
    if uri.startswith("file:"):
        return uri[len("file:"):]
    return uri


def first_line(spark: Any, file_uri: str) -> str:
    """The first line of a file: its text up to the first ``\\n``, any CR kept (``lines.recognise_header``
    drops a CRLF's CR and a BOM: core/cases/header_cases.json). A .gz is decompressed (by its suffix,
    as Spark's text reader does). "" for an empty file. Read on the driver through Hadoop's own line
    reader: no Spark job."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    fs, path = _hadoop_fs(spark, file_uri)
    codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(conf).getCodec(path)
    stream = fs.open(path)
    try:
        source = codec.createInputStream(stream) if codec is not None else stream
        reader = jvm.org.apache.hadoop.util.LineReader(source, conf, bytearray(b"\n"))
        text = jvm.org.apache.hadoop.io.Text()
        reader.readLine(text, 1 << 20, 1 << 20)
        return text.toString()
    except Exception as error:  # an empty .gz has no gzip header
        if "EOF" in type(error).__name__ or "EOF" in str(error):
            return ""
        raise
    finally:
        stream.close()


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


def _header_check(spark: Any, kind: str, file_uri: str) -> str:
    header = first_line(spark, file_uri)
    if lines.recognise_header(header) != kind:
        raise InputUnusableError(
            "{}: header is {!r}, not the header of a {} file".format(source_name(file_uri), lines.strip_bom(header), kind)
        )
    return header


def _text(spark: Any, file_uri: str) -> Any:
    """A file's physical lines (``value``): only ``\\n`` ends a line."""
    return spark.read.option("lineSep", "\n").text(file_uri)


def _strip_trailing_cr(column: Any) -> Any:
    """One trailing CR dropped (the CR of a CRLF), as the local readers do; any other CR is content."""
    from pyspark.sql import functions as F

    return F.regexp_replace(column, "\r\\z", "")


def local_dataframe(spark: Any, rows: Sequence[Tuple[Any, ...]], columns: Sequence[Tuple[str, str]]) -> Any:
    """A small DataFrame of driver-side rows built as JVM literals (``inline`` of an array of
    structs): unlike ``createDataFrame`` of a Python list, it needs no Python worker."""
    from pyspark.sql import functions as F

    if not rows:
        return spark.range(0).select(*[F.lit(None).cast(t).alias(n) for n, t in columns])
    structs = [F.struct(*[F.lit(v).cast(t).alias(n) for v, (n, t) in zip(row, columns)]) for row in rows]
    return spark.range(1).select(F.inline(F.array(*structs)))


def block_first_lines(blocks: Sequence[Tuple[int, int, int, int]]) -> List[Tuple[int, int, int]]:
    """(file_idx, block_start, offset) from (file_idx, block_start, lines, min_id) of every block:
    a line's number is its id + the offset of its block. Blocks of a file in byte order; line 1 is
    the first line of the file's first block."""
    out = []
    by_file: Dict[int, List[Tuple[int, int, int]]] = {}
    for file_idx, start, count, min_id in blocks:
        by_file.setdefault(file_idx, []).append((start, count, min_id))
    for file_idx in sorted(by_file):
        line = 1
        for start, count, min_id in sorted(by_file[file_idx]):
            out.append((file_idx, start, line - min_id))
            line += count
    return out


def read_numbered_lines(spark: Any, files: Sequence[str], partitions: Optional[int] = None) -> Any:
    """DataFrame (file_idx int, source_file string, source_line bigint, raw_line string) of every
    physical line of the files (header and blank lines included), one trailing CR dropped.

    Two passes over each file: the block counts (one small aggregate, collected), then the lines.
    The result is repartitioned when the files give fewer than ``partitions`` (default: the
    ``spark.shopsight.readPartitions`` setting, else twice the default parallelism) partitions,
    so that a .gz (one partition) is parsed in parallel."""
    from pyspark.sql import functions as F

    scans = []
    scan_partitions = 0
    for idx, file_uri in enumerate(files):
        text = _text(spark, file_uri)
        scan_partitions += text.rdd.getNumPartitions()
        scans.append(
            text.select(
                F.lit(idx).alias("file_idx"),
                F.monotonically_increasing_id().alias("_id"),
                F.expr("input_file_block_start()").alias("_block"),
                "value",
            )
        )
    numbered = reduce(lambda a, b: a.unionByName(b), scans)
    blocks = numbered.groupBy("file_idx", "_block").agg(F.count(F.lit(1)).alias("n"), F.min("_id").alias("min_id")).collect()
    offsets = local_dataframe(
        spark,
        block_first_lines([(int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in blocks]),
        [("file_idx", "int"), ("_block", "bigint"), ("_offset", "bigint")],
    )
    names = F.create_map(*[x for idx, f in enumerate(files) for x in (F.lit(idx), F.lit(source_name(f)))])
    out = numbered.join(F.broadcast(offsets), ["file_idx", "_block"]).select(
        "file_idx",
        names[F.col("file_idx")].alias("source_file"),
        (F.col("_id") + F.col("_offset")).alias("source_line"),
        _strip_trailing_cr("value").alias("raw_line"),
    )
    if partitions is None:
        configured = spark.conf.get(READ_PARTITIONS_SETTING, None)
        partitions = int(configured) if configured else spark.sparkContext.defaultParallelism * 2
    if scan_partitions < partitions:
        out = out.repartition(partitions)
    return out


def data_lines(numbered: Any) -> Any:
    """The rows of numbered lines: header (line 1) and blank lines dropped."""
    from pyspark.sql import functions as F

    return numbered.where((F.col("source_line") > 1) & (F.col("raw_line") != ""))


# ---------------------------------------------------------------------------------------------
# Fields (DataFrame expressions)
# ---------------------------------------------------------------------------------------------


def _unquote(field: Any) -> Any:
    """A matched field's value: quotes removed, doubled quotes undone; empty → null."""
    from pyspark.sql import functions as F

    inner = F.regexp_replace(field.substr(F.lit(2), F.length(field) - 2), '""', '"')
    value = F.when(field.startswith('"'), inner).otherwise(field)
    return F.when(value != "", value)


def split_fields(raw: Any, columns: int, wide: Optional[Any] = None, wide_columns: int = 0) -> Tuple[Any, List[Any]]:
    """(well_formed, the ``columns`` field values) of a line: quotes undone, empty → null; the
    values are meaningless when the line is not well formed. With ``wide`` (a boolean column), the
    line must have ``wide_columns`` fields where it is true (the first ``columns`` are returned)."""
    from pyspark.sql import functions as F

    has_quote = F.instr(raw, '"') > 0
    parts = F.split(raw, ",", -1)

    def slow(group: int, n: int) -> Any:
        return F.regexp_extract(raw, line_pattern(n), group)

    def pick(group: int) -> Any:
        if wide is None:
            return slow(group, columns)
        return F.when(wide, slow(group, wide_columns)).otherwise(slow(group, columns))

    width = F.lit(columns) if wide is None else F.when(wide, F.lit(wide_columns)).otherwise(F.lit(columns))
    well_formed = F.when(has_quote, pick(1) != "").otherwise(F.size(parts) == width)
    values = []
    for i in range(columns):
        plain = parts.getItem(i)
        values.append(F.when(has_quote, _unquote(pick(i + 2))).otherwise(F.when(plain != "", plain)))
    return well_formed, values


def shape_reason(raw: Any) -> Any:
    """The reason of a line that does not have the file's shape: an odd number of quotes is an unterminated quote."""
    from pyspark.sql import functions as F

    quotes = F.length(raw) - F.length(F.regexp_replace(raw, '"', ""))
    return F.when(quotes % 2 == 1, F.lit("unterminated_quote")).otherwise(F.lit("wrong_column_count"))


def found_fields(raw: Any) -> Any:
    """Fields of a line for wrong_column_count's "found N": commas outside the quoted parts + 1."""
    from pyspark.sql import functions as F

    stripped = F.regexp_replace(raw, QUOTED_FIELD, "")
    return (F.length(stripped) - F.length(F.regexp_replace(stripped, ",", "")) + 1).cast("string")


def shape_detail(reason: Any, raw: Any, header: Sequence[str]) -> Any:
    from pyspark.sql import functions as F

    return F.when(reason == "unterminated_quote", F.lit("a quoted field is not closed on its line")).otherwise(
        F.concat(F.lit("expected {} fields ({}), found ".format(len(header), ",".join(header))), found_fields(raw))
    )


def value_detail(column: str, value: Any) -> Any:
    """``column: "value"`` or ``column: (empty)``."""
    from pyspark.sql import functions as F

    return F.concat(F.lit(column + ": "), F.when(value.isNull(), F.lit("(empty)")).otherwise(F.concat(F.lit('"'), value, F.lit('"'))))


def parse_id(value: Any) -> Any:
    """Digits that fit a bigint, else null."""
    from pyspark.sql import functions as F

    return F.when(value.rlike(ID_PATTERN), value.cast("bigint"))


def has_control_character(raw: Any) -> Any:
    """The line holds a character of ``lines.CONTROL_CHARACTERS``."""
    return raw.rlike(lines.CONTROL_CHARACTERS)


def control_detail(raw: Any) -> Any:
    """``U+XXXX at character N``: the line's first control character and its position in code
    points (1-based), as the local readers write it."""
    from pyspark.sql import functions as F

    first = F.regexp_extract(raw, lines.CONTROL_CHARACTERS, 0)
    # Every control character is ASCII, so ``ascii`` (the first byte) is its code point.
    before = F.regexp_extract(raw, "^" + lines.CONTROL_CHARACTERS.replace("[", "[^", 1) + "*", 0)
    return F.format_string("U+%04X at character %d", F.ascii(first), F.length(before) + 1)


def too_long(column: str, value: Any, what: str) -> Tuple[Any, str, Any]:
    """A field_too_long check of ``value`` (characters: code points) against the events column it
    feeds; ``what`` opens the detail (``brand:``)."""
    from pyspark.sql import functions as F

    limit = contract.max_length_of("events", column)
    text = F.concat(F.lit(what + " "), F.length(value).cast("string"), F.lit(" characters, events.{} allows {}".format(column, limit)))
    return (F.length(value) > limit, "field_too_long", text)


def reject_text(detail: Any, raw: Any) -> Tuple[Any, Any]:
    """A reject's detail and raw_line cut to the contract's maxLength (code points), as the local readers."""
    from pyspark.sql import functions as F

    return (
        F.substring(detail, 1, contract.max_length_of("rejects", "detail")),
        F.substring(raw, 1, contract.max_length_of("rejects", "raw_line")),
    )


def first_failing(checks: Sequence[Tuple[Any, Optional[str], Any]], shape: Tuple[Any, Any]) -> Tuple[Any, Any]:
    """(reason, detail) of a parsed line: control_character when the line holds one (of
    ``raw_line``), else the shape's when the line is not well formed (``_ok`` false), else the
    first (failed, reason, detail) check that fails; null when none does."""
    from pyspark.sql import functions as F

    raw = F.col("raw_line")
    not_ok = ~F.col("_ok")
    control = has_control_character(raw)
    reason = F.when(control, F.lit("control_character")).when(not_ok, shape[0])
    detail = F.when(control, control_detail(raw)).when(not_ok, shape[1])
    for failed, name, text in checks:
        if name is None:
            continue
        reason = reason.when(failed, F.lit(name))
        detail = detail.when(failed, text)
    return reason, detail


# ---------------------------------------------------------------------------------------------
# Parsing: lines → one DataFrame of typed rows and rejects (``reason`` null on a typed row)
# ---------------------------------------------------------------------------------------------

_LINE_COLUMNS = ("file_idx", "source_file", "source_line")
_REJECT_COLUMNS = _LINE_COLUMNS + ("reason", "detail", "raw_line")
_REES46_TYPED = _LINE_COLUMNS + (
    "raw_key", "event_time_us", "event_date", "event_hour", "day_of_week", "event_type", "product_id", "category_id",
    "category_code", "category", "sub_category", "brand", "price", "user_id", "session_id",
)
_RETAILROCKET_TYPED = _LINE_COLUMNS + (
    "raw_key", "event_time_us", "event_date", "event_hour", "day_of_week", "event_type", "product_id", "user_id", "transaction_id",
)


#: Event years both readers accept (as the local engine): the range of the Glue event_date projection.
MIN_YEAR = 2000
MAX_YEAR = 2100


def rees46_time_micros(value: Any) -> Any:
    """``YYYY-MM-DD HH:MM:SS[.fraction] UTC`` → epoch microseconds, or null. Every field must be in
    range (hour 0..23: ``24:00:00`` is not a time; second 0..59; a real calendar day of year
    MIN_YEAR..MAX_YEAR, the Glue event_date projection's range); a fraction
    beyond microseconds is truncated, as DuckDB's TRY_CAST does. Arithmetic on the parts: no time
    zone is involved."""
    from pyspark.sql import functions as F

    def part(i: int) -> Any:
        return F.regexp_extract(value, TIME_PATTERN, i).cast("int")

    date = F.make_date(part(1), part(2), part(3))
    hour, minute, second = part(4), part(5), part(6)
    fraction = F.regexp_extract(value, TIME_PATTERN, 7)
    micros = F.when(fraction == "", F.lit(0)).otherwise(F.rpad(F.substring(fraction, 2, 6), 6, "0").cast("bigint"))
    days = F.datediff(date, F.lit("1970-01-01").cast("date")).cast("bigint")
    valid = value.rlike(TIME_PATTERN) & (part(1) >= MIN_YEAR) & (part(1) <= MAX_YEAR) & date.isNotNull() & (hour <= 23) & (minute <= 59) & (second <= 59)
    return F.when(
        valid,
        days * MICROS_PER_DAY + hour.cast("bigint") * 3600000000 + minute.cast("bigint") * 60000000 + second.cast("bigint") * 1000000 + micros,
    )


def time_columns(micros: Any) -> List[Any]:
    """event_date, event_hour and ISO day_of_week (1 = Monday) of epoch microseconds, in UTC."""
    from pyspark.sql import functions as F

    days = F.floor(micros / MICROS_PER_DAY)
    return [
        F.date_add(F.lit("1970-01-01").cast("date"), days.cast("int")).alias("event_date"),
        F.floor(F.pmod(micros, F.lit(MICROS_PER_DAY)) / 3600000000).cast("int").alias("event_hour"),
        (F.pmod(days + 3, F.lit(7)) + 1).cast("int").alias("day_of_week"),
    ]


def parse_rees46(data: Any) -> Any:
    """REES46 data lines → one DataFrame: every _REES46_TYPED column, then reason, detail and
    raw_line (raw_line and reason only on a reject; the typed columns only on a typed row)."""
    from pyspark.sql import functions as F

    raw = F.col("raw_line")
    header = lines.REES46_HEADER
    well_formed, values = split_fields(raw, len(header))
    fields = data.select(*_LINE_COLUMNS, "raw_line", well_formed.alias("_ok"), *[v.alias(h) for v, h in zip(values, header)])
    c = F.col
    typed = fields.select(
        "*",
        rees46_time_micros(c("event_time")).alias("_time"),
        parse_id(c("product_id")).alias("_product_id"),
        parse_id(c("category_id")).alias("_category_id"),
        parse_id(c("user_id")).alias("_user_id"),
        F.when(c("price").rlike(PRICE_PATTERN), c("price").cast("decimal(12,2)")).alias("_price"),
    )
    shape = shape_reason(raw)
    reason, detail = first_failing(
        [
            (c("_time").isNull(), "bad_timestamp", value_detail("event_time", c("event_time"))),
            (c("event_type").isNull() | ~c("event_type").isin(*lines.EVENT_TYPES), "unknown_event_type", value_detail("event_type", c("event_type"))),
            (c("_product_id").isNull(), "bad_product_id", value_detail("product_id", c("product_id"))),
            (c("category_id").isNotNull() & c("_category_id").isNull(), "bad_category_id", value_detail("category_id", c("category_id"))),
            too_long("category_code", c("category_code"), "category_code:"),
            too_long("category", F.substring_index(c("category_code"), ".", 1), "category_code: its first segment has"),
            too_long("brand", c("brand"), "brand:"),
            (c("_price").isNull(), "bad_price", value_detail("price", c("price"))),
            (c("_price") < 0, "negative_price", value_detail("price", c("price"))),
            (c("_user_id").isNull(), "bad_user_id", value_detail("user_id", c("user_id"))),
            (c("user_session").isNull(), "missing_session", value_detail("user_session", c("user_session"))),
            too_long("session_id", c("user_session"), "user_session:"),
        ],
        shape=(shape, shape_detail(shape, raw, header)),
    )
    code = c("category_code")
    dot = F.instr(code, ".")
    checked = typed.select("*", reason.alias("reason"), detail.alias("detail"))
    ok = c("reason").isNull()
    return checked.select(
        *_LINE_COLUMNS,
        F.when(ok, F.array(*[c(h) for h in header])).alias("raw_key"),
        c("_time").alias("event_time_us"),
        *time_columns(c("_time")),
        "event_type",
        c("_product_id").alias("product_id"),
        c("_category_id").alias("category_id"),
        "category_code",
        F.when(code.isNotNull(), F.when(F.substring_index(code, ".", 1) != "", F.substring_index(code, ".", 1))).alias("category"),
        F.when(dot > 0, F.when(code.substr(dot + 1, F.length(code)) != "", code.substr(dot + 1, F.length(code)))).alias("sub_category"),
        "brand",
        c("_price").alias("price"),
        c("_user_id").alias("user_id"),
        c("user_session").alias("session_id"),
        "reason",
        reject_text(c("detail"), raw)[0].alias("detail"),
        F.when(~ok, reject_text(c("detail"), raw)[1]).alias("raw_line"),
    )


#: RetailRocket timestamps must fall in years 2000..2100 (epoch milliseconds), as the local reader.
MIN_EPOCH_MS = 946684800000  # 2000-01-01T00:00:00Z
MAX_EPOCH_MS = 4133980800000  # 2101-01-01T00:00:00Z (excluded)


def parse_retailrocket(data: Any, wide_files: Sequence[int]) -> Any:
    """RetailRocket events lines → one DataFrame: _RETAILROCKET_TYPED, then reason, detail and
    raw_line. ``wide_files``: the file_idx of the files whose header has the trailing ``datetime``
    (their lines have 6 fields; its value is ignored)."""
    from pyspark.sql import functions as F

    raw = F.col("raw_line")
    base = lines.RETAILROCKET_HEADER
    wide_header = base + lines.RETAILROCKET_OPTIONAL
    wide = F.col("file_idx").isin(*[int(i) for i in wide_files]) if wide_files else F.lit(False)
    well_formed, values = split_fields(raw, len(base), wide, len(wide_header))
    fields = data.select(
        *_LINE_COLUMNS, "raw_line", wide.alias("_wide"), well_formed.alias("_ok"), *[v.alias(h) for v, h in zip(values, base)]
    )
    c = F.col
    events = F.create_map(*[x for k, v in sorted(lines.RETAILROCKET_EVENTS.items()) for x in (F.lit(k), F.lit(v))])
    typed = fields.select(
        "*",
        F.when(c("timestamp").rlike(ID_PATTERN), c("timestamp").cast("bigint")).alias("_ms"),
        parse_id(c("visitorid")).alias("_user_id"),
        parse_id(c("itemid")).alias("_product_id"),
        F.when(c("transactionid").rlike(TRANSACTION_PATTERN), F.substring_index(c("transactionid"), ".", 1).cast("bigint")).alias("_tx"),
        events[c("event")].alias("_event"),
    )
    shape = shape_reason(raw)
    shape_text = F.when(c("_wide"), shape_detail(shape, raw, wide_header)).otherwise(shape_detail(shape, raw, base))
    reason, detail = first_failing(
        [
            (
                c("_ms").isNull() | (c("_ms") < MIN_EPOCH_MS) | (c("_ms") >= MAX_EPOCH_MS),
                "bad_timestamp",
                F.concat(value_detail("timestamp", c("timestamp")), F.lit(" (epoch milliseconds, years 2000..2100)")),
            ),
            (c("_event").isNull(), "unknown_event_type", value_detail("event", c("event"))),
            (c("_product_id").isNull(), "bad_product_id", value_detail("itemid", c("itemid"))),
            (c("_user_id").isNull(), "bad_user_id", value_detail("visitorid", c("visitorid"))),
            (c("transactionid").isNotNull() & c("_tx").isNull(), "bad_transaction_id", value_detail("transactionid", c("transactionid"))),
        ],
        shape=(shape, shape_text),
    )
    checked = typed.select("*", reason.alias("reason"), detail.alias("detail"))
    ok = c("reason").isNull()
    micros = c("_ms") * 1000
    return checked.select(
        *_LINE_COLUMNS,
        F.when(ok, F.array(*[c(h) for h in base])).alias("raw_key"),
        micros.alias("event_time_us"),
        *time_columns(micros),
        c("_event").alias("event_type"),
        c("_product_id").alias("product_id"),
        c("_user_id").alias("user_id"),
        c("_tx").alias("transaction_id"),
        "reason",
        reject_text(c("detail"), raw)[0].alias("detail"),
        F.when(~ok, reject_text(c("detail"), raw)[1]).alias("raw_line"),
    )


def split_parsed(parsed: Any, typed_columns: Sequence[str]) -> Tuple[Any, Any]:
    """(typed rows, rejects) of a parsed DataFrame."""
    from pyspark.sql import functions as F

    typed = parsed.where(F.col("reason").isNull()).select(*typed_columns)
    rejected = parsed.where(F.col("reason").isNotNull()).select(*_REJECT_COLUMNS)
    return typed, rejected


# ---------------------------------------------------------------------------------------------
# DataFrame → DataFrame
# ---------------------------------------------------------------------------------------------


def remove_exact_duplicates(rows: Any, within: Sequence[str] = ()) -> Any:
    """Keep, per ``raw_key``, the row first by (file_idx, source_line). Adds nothing, drops nothing
    else. ``within``: columns that separate independent inputs (the shared reader cases read many
    inputs in one pass; a job passes none)."""
    from pyspark.sql import functions as F

    keys = list(within) + ["raw_key"]
    others = [c for c in rows.columns if c not in keys + ["file_idx", "source_line"]]
    first = F.min(F.struct(*(["file_idx", "source_line"] + others))).alias("first")
    return rows.groupBy(*keys).agg(first).select(*[k for k in keys if k != "file_idx"], "first.*")


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


def sessionize(events: Any, gap_minutes: int, within: Sequence[str] = ()) -> Any:
    """``session_id`` = "<user_id>-<n>", n = 1, 2, … per user in time order; a new session starts when
    the gap to the user's previous event is strictly greater than ``gap_minutes`` (ties in time are
    ordered by file and line, so the numbering is deterministic)."""
    from pyspark.sql import Window, functions as F

    order = Window.partitionBy(*(list(within) + ["user_id"])).orderBy("event_time_us", "file_idx", "source_line")
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

    ``item_properties``: (timestamp_ms bigint, product_id bigint, category_id bigint) rows, or None:
    compared in milliseconds (RetailRocket event times are whole milliseconds), since a property
    timestamp of up to 19 digits would overflow a bigint in microseconds.
    The as-of join is a union of events and property changes per item, ordered by time (a change at
    the event's own millisecond counts), with ``last(ignorenulls)`` carrying the value forward.
    """
    from pyspark.sql import Window, functions as F

    if item_properties is None:
        return events.withColumn("category_id", F.lit(None).cast("bigint"))
    # (file_idx, source_line) identifies an event row (a deterministic key, unlike monotonically_increasing_id).
    changes = item_properties.select(
        F.col("product_id"), F.col("timestamp_ms").alias("_t"), F.lit(0).alias("_kind"), F.col("category_id").alias("_value"),
        F.lit(None).cast("int").alias("_file"), F.lit(None).cast("bigint").alias("_line"),
    )
    points = events.select(
        F.col("product_id"), F.floor(F.col("event_time_us") / 1000).cast("bigint").alias("_t"), F.lit(1).alias("_kind"), F.lit(None).cast("bigint").alias("_value"),
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
        F.min(F.struct("timestamp_ms", "category_id")).getField("category_id").alias("_first")
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


def retailrocket_events(typed: Any, gap_minutes: int, item_properties: Optional[Any], paths: Any, within: Sequence[str] = ()) -> Any:
    """Deduplicated typed RetailRocket rows → the contract's events columns (in order) + file_idx."""
    from pyspark.sql import functions as F

    sessions = sessionize(typed, gap_minutes, within)
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
    """(timestamp_ms, product_id, category_id) of the ``categoryid`` rows of item_properties, by the
    local reader's rule (retailrocket-reader.ts step 7), on text lines: trailing CRs dropped; blank
    lines and every line equal to the header (leading BOMs ignored) skipped; a line split by the
    4-field RFC 4180 pattern; a line that does not split, or a ``categoryid`` row whose timestamp,
    itemid or value is not digits that fit a bigint, is skipped; one value per (item, time), the
    larger id when two differ."""
    from pyspark.sql import functions as F

    header = lines.ITEM_PROPERTIES_HEADER
    text = reduce(lambda a, b: a.unionByName(b), [_text(spark, f) for f in files])
    line = text.select(_strip_trailing_cr("value").alias("l"))
    kept = line.where((F.col("l") != "") & (F.regexp_replace("l", "^\ufeff+", "") != ",".join(header)))
    well_formed, values = split_fields(F.col("l"), len(header))
    fields = kept.select(well_formed.alias("ok"), *[v.alias(h) for v, h in zip(values, header)])
    rows = fields.where(F.col("ok") & (F.col("property") == "categoryid")).select(
        F.when(F.col("timestamp").rlike(ID_PATTERN), F.col("timestamp").cast("bigint")).alias("timestamp_ms"),
        parse_id(F.col("itemid")).alias("product_id"),
        parse_id(F.col("value")).alias("category_id"),
    )
    clean = rows.where(F.col("timestamp_ms").isNotNull() & F.col("product_id").isNotNull() & F.col("category_id").isNotNull())
    return clean.groupBy("product_id", "timestamp_ms").agg(F.max("category_id").alias("category_id"))


def category_path_rows(spark: Any, files: Sequence[str]) -> List[Tuple[int, str]]:
    """(categoryid, path) of the category tree, read on the driver (it is small), in file and line
    order (a category listed twice keeps its first line)."""
    if not files:
        return []
    numbered = data_lines(read_numbered_lines(spark, files, partitions=1))
    tree_lines = [r[0] for r in numbered.orderBy("file_idx", "source_line").select("raw_line").collect()]
    return sorted(lines.category_paths(lines.category_tree_rows(tree_lines)).items())


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
    #: Per file (by file_idx): its source_file.
    files: List[str]
    #: DataFrames this read cached; ``release`` unpersists them (once events and rejects are
    #: materialised or cached on their own, or the input is read again).
    cached: List[Any] = field(default_factory=list)

    def release(self) -> None:
        for df in self.cached:
            df.unpersist()
        self.cached = []


def _read(spark: Any, files: Sequence[str], parse: Callable[[Any], Any], typed_columns: Sequence[str]) -> Tuple[Any, Any, Any]:
    """(parsed and cached, typed, rejected): the input is parsed once, into Spark's columnar cache."""
    parsed = parse(data_lines(read_numbered_lines(spark, files))).persist()
    typed, rejected = split_parsed(parsed, typed_columns)
    return parsed, typed, rejected


def read_rees46(spark: Any, files: Sequence[str]) -> ReadResult:
    for f in files:
        _header_check(spark, "rees46_events", f)
    parsed, typed, rejected = _read(spark, files, parse_rees46, _REES46_TYPED)
    events = rees46_events(remove_exact_duplicates(typed))
    return ReadResult(
        events=events, rejects=rejects_table(rejected), typed=typed, files=[source_name(f) for f in files], cached=[parsed]
    )


def read_retailrocket(spark: Any, inputs: RecognisedInputs, gap_minutes: int) -> ReadResult:
    widths = [len(lines.header_fields(_header_check(spark, "retailrocket_events", f))) for f in inputs.events]
    wide = [i for i, w in enumerate(widths) if w > len(lines.RETAILROCKET_HEADER)]
    parsed, typed, rejected = _read(spark, inputs.events, lambda data: parse_retailrocket(data, wide), _RETAILROCKET_TYPED)
    deduplicated = remove_exact_duplicates(typed)
    paths = local_dataframe(spark, category_path_rows(spark, inputs.category_tree), [("category_id", "bigint"), ("_path", "string")])
    properties = item_category_rows(spark, inputs.item_properties) if inputs.item_properties else None
    events = retailrocket_events(deduplicated, gap_minutes, properties, paths)
    return ReadResult(
        events=events, rejects=rejects_table(rejected), typed=typed, files=[source_name(f) for f in inputs.events], cached=[parsed]
    )
