"""The prepare job's readers on a local SparkSession: line numbers, parsing, rejects, duplicates and
the per-file accounting, identical to the local engine's readers (local/engine/*-reader.ts)."""

import datetime as dt
import json
from pathlib import Path
from typing import Any, Dict

import pytest

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed: run scripts/test-python.sh, which installs it")

from shopsight_jobs import contract, lines, outputs, readers, runtime, summary  # noqa: E402
from support import CASES_DIR, rees46_line, write_text  # noqa: E402

REES46_HEADER = ",".join(lines.REES46_HEADER)


@pytest.fixture(scope="module")
def spark():
    session = runtime.spark_session("shopsight-prepare-tests", master="local[2]")
    session.conf.set("spark.sql.shuffle.partitions", "4")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# ---------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------


def test_rees46_reader_lines_rejects_duplicates_and_counts(spark, tmp_path: Path) -> None:
    first = [
        REES46_HEADER,
        rees46_line("2019-10-01 00:00:00", "view", 1, 10, "s1"),
        rees46_line("2019-10-01 00:00:00", "view", 1, 10, "s1"),  # duplicate of line 2
        "",  # blank: not a row
        rees46_line("2019-10-01 00:00:00", "view", 1, 10, "s1", price="-1.00"),
        "2019-10-01 00:00:00 UTC,view,1",
        rees46_line("2019-10-06 23:30:00", "purchase", 2, 11, "s2", code="", brand=""),
    ]
    second = [REES46_HEADER, rees46_line("2019-10-01 00:00:00", "view", 1, 10, "s1"), rees46_line("2019-10-02 01:00:00", "cart", 3, 10, "s3")]
    write_text(tmp_path / "in" / "a.csv", "\n".join(first) + "\n")
    write_text(tmp_path / "in" / "b.csv.gz", "\r\n".join(second) + "\r\n", gz=True)
    files = readers.list_input_files(spark, str(tmp_path / "in"))
    assert [Path(f.replace("file:", "")).name for f in files] == ["a.csv", "b.csv.gz"]
    result = readers.read_rees46(spark, files)
    # source_file as the local engine writes it: the plain path, not Hadoop's file: URI.
    assert result.files == [str(tmp_path / "in" / "a.csv"), str(tmp_path / "in" / "b.csv.gz")]
    assert {r[0] for r in result.events.select("source_file").distinct().collect()} == set(result.files)
    events = result.events.orderBy("file_idx", "source_line").collect()
    assert [(e["file_idx"], e["source_line"]) for e in events] == [(0, 2), (0, 7), (1, 3)]
    assert events[1]["category"] is None and events[1]["brand"] is None and events[1]["day_of_week"] == 7
    # collect() renders timestamps in the Python process's local zone: compare instants.
    utc = dt.datetime(2019, 10, 6, 23, 30, tzinfo=dt.timezone.utc)
    assert events[1]["event_time"] == dt.datetime.fromtimestamp(utc.timestamp())
    assert events[1]["event_date"] == dt.date(2019, 10, 6) and events[1]["event_hour"] == 23
    assert events[0]["category"] == "a" and events[0]["sub_category"] == "b"
    rejects = result.rejects.orderBy("source_line").collect()
    assert [(r["source_line"], r["reason"]) for r in rejects] == [(5, "negative_price"), (6, "wrong_column_count")]
    counts = summary.count_per_file(result.typed, result.events, result.rejects, result.files)
    assert [(c["rowsRead"], c["accepted"], c["rejected"], c["duplicatesRemoved"]) for c in counts] == [(5, 2, 2, 1), (2, 1, 0, 1)]
    doc = summary.build_run_summary("t", "rees46", counts, [])
    assert summary.reconcile_run_summary(doc) == []
    conformed = outputs.conform(result.events.drop("file_idx"), "events")
    assert conformed.count() == 3


def test_line_numbers_are_exact_across_partitions_of_a_plain_file(spark, tmp_path: Path) -> None:
    body = [REES46_HEADER] + [rees46_line("2019-10-01 00:00:00", "view", i, i, "s{}".format(i)) for i in range(1, 5001)]
    path = write_text(tmp_path / "big.csv", "\n".join(body) + "\n")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "20000")
    try:
        assert spark.read.text(path).rdd.getNumPartitions() >= 10
        numbered = readers.read_numbered_lines(spark, [path, path], partitions=1).collect()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    for idx in (0, 1):
        rows = sorted((r["source_line"], r["raw_line"]) for r in numbered if r["file_idx"] == idx)
        assert [n for n, _ in rows] == list(range(1, 5002))
        assert all(line.split(",")[2] == str(n - 1) for n, line in rows[1:])
    assert {r["source_file"] for r in numbered} == {path}


def test_retailrocket_sessions_categories_and_paths(spark, tmp_path: Path) -> None:
    base = 1433193132000
    minute = 60000
    events = [
        "timestamp,visitorid,event,itemid,transactionid",
        "{},1,view,100,".format(base),
        "{},1,view,100,".format(base + 30 * minute),  # gap exactly 30 min: same session
        "{},1,addtocart,200,".format(base + 61 * minute),  # gap 31 min: new session
        "{},1,transaction,200,8693.0".format(base + 62 * minute),
        "{},2,view,100,".format(base - 10 * minute),  # before item 100's first property
        "{},2,view,999,".format(base),
        "{},2,click,999,".format(base),
    ]
    write_text(tmp_path / "rr" / "events.csv", "\n".join(events) + "\n")
    write_text(tmp_path / "rr" / "category_tree.csv", "categoryid,parentid\n1016,213\n213,\n1017,213\n")
    write_text(
        tmp_path / "rr" / "item_properties_part1.csv",
        "timestamp,itemid,property,value\n{},100,categoryid,1016\n{},100,categoryid,1017\n{},100,available,1\n{},200,categoryid,5\n".format(
            base, base + 45 * minute, base, base
        ),
    )
    files = readers.list_input_files(spark, str(tmp_path / "rr"))
    inputs = readers.recognise_inputs(spark, "retailrocket", files)
    assert len(inputs.events) == 1 and len(inputs.category_tree) == 1 and len(inputs.item_properties) == 1
    result = readers.read_retailrocket(spark, inputs, 30)
    rows = result.events.orderBy("source_line").collect()
    assert [r["session_id"] for r in rows] == ["1-1", "1-1", "1-2", "1-2", "2-1", "2-1"]
    assert [r["event_type"] for r in rows] == ["view", "view", "cart", "purchase", "view", "view"]
    assert [r["category_id"] for r in rows] == [1016, 1016, 5, 5, 1016, None]
    assert [r["category_code"] for r in rows] == ["213.1016", "213.1016", "5", "5", "213.1016", None]
    assert [r["sub_category"] for r in rows] == ["1016", "1016", None, None, "1016", None]
    assert rows[3]["transaction_id"] == 8693 and rows[0]["price"] is None and rows[0]["brand"] is None
    assert [r["reason"] for r in result.rejects.collect()] == ["unknown_event_type"]
    assert contract.check_schema("events", outputs.conform(result.events.drop("file_idx"), "events")) == []




SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="the real samples (../shared/data) are not there")


@needs_samples
def test_the_real_rees46_samples_read_as_their_readme_says(spark) -> None:
    from pyspark.sql import functions as F

    files = readers.list_input_files(spark, str(SAMPLES / "rees46"))
    inputs = readers.recognise_inputs(spark, "rees46", files)
    assert [Path(f).name for f in inputs.events] == ["2019-Nov_head_683rows.csv.gz", "2019-Oct_head_17434rows.csv.gz"]
    numbered = readers.read_numbered_lines(spark, inputs.events)
    assert numbered.rdd.getNumPartitions() > 1  # two .gz files, one partition each, parsed in parallel
    result = readers.read_rees46(spark, inputs.events)
    counts = summary.count_per_file(result.typed, result.events, result.rejects, result.files)
    assert result.files == [str(SAMPLES / "rees46" / n) for n in ("2019-Nov_head_683rows.csv.gz", "2019-Oct_head_17434rows.csv.gz")]
    assert [(c["rowsRead"], c["rejected"]) for c in counts] == [(683, 0), (17434, 0)]
    assert counts[1]["duplicatesRemoved"] == 5
    october = result.typed.where(F.col("file_idx") == 1)
    assert {r[0]: r[1] for r in october.groupBy("event_type").count().collect()} == {"view": 17055, "cart": 165, "purchase": 214}
    distinct = october.agg(*[F.countDistinct(c).alias(c) for c in ("user_id", "session_id", "product_id")]).first()
    assert (distinct["user_id"], distinct["session_id"], distinct["product_id"]) == (4504, 5066, 6493)
    assert october.where(F.col("category_code").isNull()).count() == 5746
    assert october.where(F.col("brand").isNull()).count() == 2477
    assert result.events.where(F.col("source_line") == 1).count() == 0
    result.release()
    assert not any(df.is_cached for df in result.cached)


@needs_samples
def test_the_real_retailrocket_sample_and_tree_read(spark) -> None:
    from pyspark.sql import functions as F

    inputs = readers.recognise_inputs(spark, "retailrocket", readers.list_input_files(spark, str(SAMPLES / "retailrocket")))
    assert len(inputs.events) == 1 and len(inputs.category_tree) == 1
    result = readers.read_retailrocket(spark, inputs, 30)
    counts = summary.count_per_file(result.typed, result.events, result.rejects, result.files)
    # As the local reader: 3 exact duplicates in the sample; 6,229 sessions of 30 minutes.
    assert [(c["rowsRead"], c["accepted"], c["rejected"], c["duplicatesRemoved"]) for c in counts] == [(9385, 9382, 0, 3)]
    assert result.events.select("session_id").distinct().count() == 6229
    assert {r[0]: r[1] for r in result.typed.groupBy("event_type").count().collect()} == {"view": 9076, "cart": 263, "purchase": 46}
    distinct = result.typed.agg(F.countDistinct("user_id").alias("u"), F.countDistinct("product_id").alias("p")).first()
    assert (distinct["u"], distinct["p"]) == (5000, 6610)
    paths = dict(readers.category_path_rows(spark, inputs.category_tree))
    assert len(paths) == 1669 and sum(1 for p in paths.values() if "." not in p) == 25
    assert paths[1016] == "1532.1299.213.1016"
    result.release()


def test_a_1_mib_brand_is_field_too_long_and_the_reject_fits_the_contract(spark, tmp_path: Path) -> None:
    huge = "b" * (1 << 20)
    good = rees46_line("2019-10-01 00:00:00", "view", 1001, 500000001, "s-1", brand="acme")
    bad = rees46_line("2019-10-01 00:00:00", "view", 1001, 500000002, "s-1", brand=huge)
    path = write_text(tmp_path / "huge.csv", REES46_HEADER + "\n" + good + "\n" + bad + "\n")
    result = readers.read_rees46(spark, [str(path)])
    rejects = result.rejects.collect()
    assert [(r["source_line"], r["reason"], r["detail"], len(r["raw_line"])) for r in rejects] == [
        (3, "field_too_long", "brand: {} characters, events.brand allows 128".format(1 << 20), 65535)
    ]
    assert rejects[0]["raw_line"] == bad[:65535]
    assert [r["brand"] for r in result.events.collect()] == ["acme"]
    outputs.require_lengths(result.rejects, "rejects")
    outputs.require_lengths(result.events, "events")
    result.release()


def test_require_lengths_fails_on_a_value_longer_than_the_contract_allows(spark) -> None:
    from pyspark.sql.functions import expr as F_expr

    at_bound = spark.range(1).select(F_expr("repeat('ü', 128)").alias("brand"), F_expr("repeat('s', 64)").alias("session_id"))
    outputs.require_lengths(at_bound, "events")
    over = spark.range(2).select(
        F_expr("CASE WHEN id = 0 THEN repeat('x', 200) ELSE 'acme' END").alias("brand"), F_expr("repeat('s', 65)").alias("session_id")
    )
    with pytest.raises(contract.SchemaMismatchError) as raised:
        outputs.require_lengths(over, "events")
    assert raised.value.problems == [
        "events.brand: longest value has 200 characters, the contract allows 128",
        "events.session_id: longest value has 65 characters, the contract allows 64",
    ]


# ---------------------------------------------------------------------------------------------
# The shared reader cases (core/cases/reader_cases.json, also run by jest through the local readers)
# ---------------------------------------------------------------------------------------------

CASES_FILE = CASES_DIR / "reader_cases.json"
CASES = json.loads(CASES_FILE.read_text(encoding="utf-8")) if CASES_FILE.exists() else []


def case_view(row: Dict[str, Any], column: str) -> Any:
    """A value as the case file writes it: ids beyond 2^53 as digits, price with 2 decimals,
    event_time ISO 8601 UTC (6 fraction digits when not whole seconds), dates as YYYY-MM-DD."""
    value = row[column]
    if value is None:
        return None
    if column == "event_time":
        us = row["_us"]
        seconds, micros = divmod(us, 1000000)
        t = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
        text = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}".format(t.year, t.month, t.day, t.hour, t.minute, t.second)
        return text + (".{:06d}".format(micros) if micros else "") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@pytest.fixture(scope="module")
def case_results(spark, tmp_path_factory: pytest.TempPathFactory) -> Dict[int, Dict[str, Any]]:
    """Every case through the Spark reader, one read per dataset (each case its own file; duplicates
    and sessions kept within a case's file): {case index: events, rejects, counts}."""
    from pyspark.sql import functions as F

    folder = tmp_path_factory.mktemp("reader-cases")
    out: Dict[int, Dict[str, Any]] = {}
    for dataset in ("rees46", "retailrocket"):
        indexed = [(i, c) for i, c in enumerate(CASES) if c["dataset"] == dataset]
        if not indexed:
            continue
        files = []
        for i, case in indexed:
            default = lines.REES46_HEADER if dataset == "rees46" else lines.RETAILROCKET_HEADER
            header = case.get("header", ",".join(default))
            path = folder / "case-{}.csv".format(i)
            path.write_bytes("".join(l + "\n" for l in [header] + case["lines"]).encode("utf-8"))
            files.append(str(path))
        numbered = readers.data_lines(readers.read_numbered_lines(spark, files))
        if dataset == "rees46":
            parsed = readers.parse_rees46(numbered).cache()
            typed, rejected = readers.split_parsed(parsed, readers._REES46_TYPED)
            events = readers.rees46_events(readers.remove_exact_duplicates(typed, within=["file_idx"]))
        else:
            wide = [n for n, f in enumerate(files) if len(lines.header_fields(readers.first_line(spark, f))) == 6]
            parsed = readers.parse_retailrocket(numbered, wide).cache()
            typed, rejected = readers.split_parsed(parsed, readers._RETAILROCKET_TYPED)
            paths = readers.local_dataframe(spark, [], [("category_id", "bigint"), ("_path", "string")])
            deduplicated = readers.remove_exact_duplicates(typed, within=["file_idx"])
            events = readers.retailrocket_events(deduplicated, 30, None, paths, within=["file_idx"])
        # Python's datetime cannot hold every instant Spark can (year 1 in a local zone): compare as text.
        event_rows = (
            events.withColumn("_us", F.expr("unix_micros(event_time)"))
            .withColumn("event_time", F.lit(""))
            .withColumn("event_date", F.col("event_date").cast("string"))
            .collect()
        )
        reject_rows = rejected.collect()
        counts = summary.count_per_file(typed, events, rejected, files)
        parsed.unpersist()
        for n, (i, _) in enumerate(indexed):
            out[i] = {
                "events": sorted((r.asDict() for r in event_rows if r["file_idx"] == n), key=lambda r: r["source_line"]),
                "rejects": sorted((r.asDict() for r in reject_rows if r["file_idx"] == n), key=lambda r: r["source_line"]),
                "counts": counts[n],
            }
    return out


@pytest.mark.skipif(not CASES, reason="core/cases/reader_cases.json is not there yet")
@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["name"][:80] for c in CASES])
def test_reader_case(case_results, index: int) -> None:
    case = CASES[index]
    got = case_results[index]
    want_rejects = [(e["line"], e["reason"], e["detail"]) for e in case["expect"] if "reason" in e]
    assert [(r["source_line"], r["reason"], r["detail"]) for r in got["rejects"]] == want_rejects
    for r in got["rejects"]:
        raw = case["lines"][r["source_line"] - 2]
        assert r["raw_line"] == (raw[:-1] if raw.endswith("\r") else raw)
    want_accepted = [e for e in case["expect"] if "accepted" in e]
    assert [e["source_line"] for e in got["events"]] == [e["line"] for e in want_accepted]
    for want, row in zip(want_accepted, got["events"]):
        view = {c: case_view(row, c) for c in want["accepted"]}
        expected = {c: (None if v is None else str(v)) for c, v in want["accepted"].items()}
        assert {"line": want["line"], **view} == {"line": want["line"], **expected}
    counts = got["counts"]
    assert counts["accepted"] == len(want_accepted) and counts["rejected"] == len(want_rejects)
    assert counts["duplicatesRemoved"] == sum(1 for e in case["expect"] if e.get("duplicate"))
    assert counts["rowsRead"] == sum(1 for l in case["lines"] if (l[:-1] if l.endswith("\r") else l) != "")
