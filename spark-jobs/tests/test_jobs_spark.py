"""Every job on a local SparkSession, on small inputs: the analytics jobs' tables, their contract and
their exports. Needs pyspark and Java (scripts/test-python.sh installs pyspark into .venv-spark;
under CI a skip is a failure). The readers are tested in test_prepare_spark.py, the jobs through
spark-submit against the local engine in test_parity.py."""

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed: run scripts/test-python.sh, which installs it")

from pyspark.sql import Row, functions as F  # noqa: E402

from support import rees46_line, write_text  # noqa: E402
from shopsight_jobs import (  # noqa: E402
    args,
    association_rules,
    contract,
    lines,
    outputs,
    prepare,
    purchase_intent,
    readers,
    recommendations,
    runtime,
    segments,
    spend_forecast,
    summary,
)

REES46_HEADER = ",".join(lines.REES46_HEADER)


@pytest.fixture(scope="module")
def spark(built_archive: Path):
    session = runtime.spark_session("shopsight-job-tests", master="local[2]")
    session.conf.set("spark.sql.shuffle.partitions", "4")
    session.sparkContext.setLogLevel("ERROR")
    # The executors' Python workers import the package from the archive, as --py-files gives it on EMR.
    session.sparkContext.addPyFile(str(built_archive))
    yield session
    session.stop()


def params(**overrides: Any) -> Dict[str, Any]:
    return args.resolve_pipeline_parameters(overrides or None)


# ---------------------------------------------------------------------------------------------
# Contract conformance and the CSV rule
# ---------------------------------------------------------------------------------------------


def test_conform_fixes_nullability_and_reports_real_problems(spark) -> None:
    df = spark.createDataFrame([(dt.date(2019, 10, 1), 3, 2)], "event_date date, cart_events bigint, cart_users bigint")
    summed = df.groupBy("event_date").agg(F.sum("cart_events").alias("cart_events"), F.max("cart_users").alias("cart_users"))
    assert any("nullable" in p for p in contract.check_schema("c_date", summed))
    conformed = outputs.conform(summed, "c_date")
    assert contract.check_schema("c_date", conformed) == []
    assert conformed.collect() == [Row(event_date=dt.date(2019, 10, 1), cart_events=3, cart_users=2)]
    with pytest.raises(contract.SchemaMismatchError, match="type int"):
        outputs.conform(summed.withColumn("cart_users", F.col("cart_users").cast("int")), "c_date")


def test_conform_fails_when_a_never_null_column_holds_a_null(spark) -> None:
    df = spark.createDataFrame([(dt.date(2019, 10, 1), None, 2)], "event_date date, cart_events bigint, cart_users bigint")
    with pytest.raises(Exception, match="c_date.cart_events is null"):
        outputs.conform(df, "c_date").collect()


def test_the_spark_csv_line_is_the_python_rule(spark) -> None:
    texts = [None, "", "plain", "a,b", 'say "hi"', "\\N", "back\\slash", "two\nlines\r", "NULL", "tab\tok"]
    df = spark.createDataFrame([(t, i, float(i) / 4, i % 2 == 0) for i, t in enumerate(texts)], "t string, i bigint, d double, b boolean")
    got = [r[0] for r in df.select(outputs.csv_line_column(df, ["t", "i", "d", "b"])).collect()]
    expected = [outputs.csv_line([t, i, float(i) / 4, i % 2 == 0]) for i, t in enumerate(texts)]
    assert got == expected
    bad = spark.createDataFrame([(float("nan"),)], "d double")
    with pytest.raises(Exception, match="NaN or an infinity"):
        bad.select(outputs.csv_line_column(bad, ["d"])).collect()


def test_split_bucket_column_is_the_python_split(spark) -> None:
    ids = ["", "a", "1-1", "ünï", "00000000-0000-4000-8000-000000000001"] + ["s{}".format(i) for i in range(200)]
    df = spark.createDataFrame([(s,) for s in ids], "session_id string")
    got = [r[0] for r in df.select(purchase_intent.split_bucket_column(42)).collect()]
    assert got == [purchase_intent.split_bucket(42, s) for s in ids]
    split = purchase_intent.with_split(df, 42, 0.8).collect()
    assert [r["split"] for r in split] == [purchase_intent.split_of(42, s, 0.8) for s in ids]


# ---------------------------------------------------------------------------------------------
# Jobs, end to end on the filesystem
# ---------------------------------------------------------------------------------------------


def synthetic_rees46(path: Path, users: int = 60, days: int = 6, seed: int = 5) -> str:
    rng = random.Random(seed)
    out = [REES46_HEADER]
    codes = ["electronics.smartphone", "electronics.audio.headphone", "appliances.kitchen.kettle", "apparel.shoes", ""]
    for user in range(1, users + 1):
        for day in range(days):
            if rng.random() < 0.5:
                continue
            session = "u{}d{}".format(user, day)
            basket = rng.sample(range(1, 30), rng.randint(1, 5))
            for n, product in enumerate(basket):
                t = "2019-10-{:02d} {:02d}:{:02d}:00".format(day + 1, 8 + n, rng.randint(0, 59))
                code = codes[product % len(codes)]
                out.append(rees46_line(t, "view", product, user, session, price="{}.99".format(product), code=code))
                if rng.random() < 0.4:
                    out.append(rees46_line(t, "cart", product, user, session, price="{}.99".format(product), code=code))
                    if rng.random() < 0.6:
                        out.append(rees46_line(t, "purchase", product, user, session, price="{}.99".format(product), code=code))
    return write_text(path, "\n".join(out) + "\n")


@pytest.fixture(scope="module")
def prepared_run(spark, tmp_path_factory: pytest.TempPathFactory) -> Tuple[args.JobArguments, Path]:
    root = tmp_path_factory.mktemp("run")
    synthetic_rees46(root / "raw" / "2019-Oct.csv")
    argv = [
        "--run-id", "test-run", "--dataset", "rees46", "--input", str(root / "raw"),
        "--curated", str(root / "curated"), "--exports", str(root / "exports"),
        "--params", json.dumps(contract.default_pipeline_parameters()),
    ]
    assert runtime.run_job("prepare", prepare.run, argv, master="local[2]") == 0
    return args.parse_job_arguments("prepare", argv), root


def test_prepare_writes_every_table_export_and_the_summary(spark, prepared_run) -> None:
    arguments, root = prepared_run
    doc = json.loads((root / "curated" / "_runs" / "test-run" / "run-summary.json").read_text())
    assert summary.reconcile_run_summary(doc) == []
    assert doc["engine"] == "spark" and doc["dataset"] == "rees46"
    for table in prepare.produced_tables():
        folder = root / "curated" / table / "run_id=test-run"
        assert folder.is_dir(), table
        df = spark.read.parquet(str(folder))
        assert df.count() == doc["tableRows"][table], table
    days = [p for p in (root / "curated" / "events" / "run_id=test-run").iterdir() if p.name.startswith("event_date=")]
    assert days
    # One Parquet file per day (4 shuffle partitions here): not one per task that held rows of the day.
    assert {p.name: len(list(p.glob("*.parquet"))) for p in days} == {p.name: 1 for p in days}
    fragments = root / "exports" / "runs" / "test-run" / "_manifests"
    for table in contract.served_tables():
        if "prepare" not in table.produced_by:
            continue
        manifest = json.loads((fragments / outputs.fragment_name(table.name)).read_text())
        assert manifest["columns"] == outputs.served_columns(table.name)
        assert manifest["rowCount"] == doc["tableRows"][table.name]
        assert all(key.startswith("runs/test-run/{}/part-".format(table.name)) for key in manifest["files"])
        lines_ = sum(len((root / "exports" / key).read_text().splitlines()) for key in manifest["files"])
        assert lines_ == manifest["rowCount"]
    # Only CSV parts (and Spark's empty markers) in a table's folder: the loader LOADs the whole prefix.
    for path in (root / "exports" / "runs" / "test-run" / "c_date").iterdir():
        assert path.name.startswith(("part-", "_SUCCESS", ".")), path
    # The analytics jobs have not run: no run manifest yet.
    assert not (root / "exports" / "runs" / "test-run" / "manifest.json").exists()


def test_prepare_again_replaces_only_its_run(spark, prepared_run) -> None:
    arguments, root = prepared_run
    other = root / "curated" / "c_date" / "run_id=other-run"
    other.mkdir(parents=True)
    (other / "keep.parquet").write_text("x")
    argv = [
        "--run-id", "test-run", "--dataset", "rees46", "--input", str(root / "raw"),
        "--curated", str(root / "curated"), "--exports", str(root / "exports"),
    ]
    assert runtime.run_job("prepare", prepare.run, argv, master="local[2]") == 0
    assert (other / "keep.parquet").exists()


def test_a_missing_input_exits_3(spark, tmp_path: Path) -> None:
    argv = ["--run-id", "x", "--dataset", "rees46", "--input", str(tmp_path / "nothing"), "--curated", str(tmp_path / "c"), "--exports", str(tmp_path / "e")]
    assert runtime.run_job("prepare", prepare.run, argv, master="local[2]") == args.EXIT_INPUT_NOT_FOUND


def test_an_analytics_job_without_prepare_exits_6(spark, tmp_path: Path) -> None:
    argv = ["--run-id", "x", "--dataset", "rees46", "--input", str(tmp_path), "--curated", str(tmp_path / "c"), "--exports", str(tmp_path / "e")]
    assert runtime.run_job("segments", segments.run, argv, master="local[2]") == args.EXIT_MISSING_UPSTREAM


def brute_force_rules(baskets: List[set], min_support: float, min_confidence: float) -> Dict[Tuple[str, str], float]:
    from itertools import combinations

    n = len(baskets)
    items = sorted({i for b in baskets for i in b})
    support = {}
    for size in range(1, 4):
        for combo in combinations(items, size):
            count = sum(1 for b in baskets if set(combo) <= b)
            if count and count >= min_support * n:
                support[frozenset(combo)] = count
    out = {}
    for itemset, count in support.items():
        if len(itemset) < 2:
            continue
        for consequent in itemset:
            antecedent = itemset - {consequent}
            confidence = count / support[antecedent]
            if confidence >= min_confidence:
                out[(association_rules.format_antecedent(antecedent), consequent)] = confidence
    return out


def test_association_rules_match_brute_force(spark, prepared_run) -> None:
    arguments, _ = prepared_run
    events = runtime.read_events(spark, arguments)
    p = params(associationRules={"minSupportSubCategory": 0.05, "minSupportProduct": 0.05, "minConfidence": 0.2})
    tables = association_rules.association_tables(spark, events, p)
    got = {(r["antecedent"], r["consequent"]): r["confidence"] for r in tables["association_rules"].where("basket_kind = 'product'").collect()}
    sessions: Dict[str, set] = {}
    for r in events.where("event_type = 'purchase'").select("session_id", "product_id").collect():
        sessions.setdefault(r[0], set()).add(str(r[1]))
    expected = brute_force_rules(list(sessions.values()), 0.05, 0.2)
    assert got.keys() == expected.keys()
    for key, confidence in expected.items():
        assert got[key] == pytest.approx(confidence)
    together = tables["bought_together"].collect()
    assert all(r["rank"] >= 1 for r in together)
    for table, df in tables.items():
        assert contract.check_schema(table, outputs.conform(df, table)) == []


def test_recommendations_tables(spark, prepared_run) -> None:
    arguments, _ = prepared_run
    events = runtime.read_events(spark, arguments).cache()
    p = params(recommendations={"rank": 4, "maxIter": 5, "topN": 5, "holdoutDays": 2, "evaluationK": 3, "minUserProducts": 2})
    tables = recommendations.recommendation_tables(spark, events, p)
    for table, df in tables.items():
        assert contract.check_schema(table, outputs.conform(df, table)) == [], table
    recommended = tables["user_recommendations"].collect()
    bought = {(r[0], r[1]) for r in events.where("event_type = 'purchase'").select("user_id", "product_id").collect()}
    assert recommended and not any((r["user_id"], r["product_id"]) in bought for r in recommended)
    by_user: Dict[int, List[Any]] = {}
    for r in recommended:
        by_user.setdefault(r["user_id"], []).append(r)
    for rows in by_user.values():
        rows.sort(key=lambda r: r["rank"])
        assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1)) and len(rows) <= 5
        assert all(a["score"] >= b["score"] for a, b in zip(rows, rows[1:]))
    similar = tables["similar_products"].collect()
    assert similar and all(r["product_id"] != r["similar_product_id"] and -1 <= r["similarity"] <= 1 for r in similar)
    metric_rows = tables["model_metrics"].collect()
    assert [r["metric"] for r in metric_rows] == ["precision_at_k", "recall_at_k", "map_at_k", "ndcg_at_k", "catalogue_coverage"]
    assert all(r["stage"] == "recommendations" and r["k"] == 3 and r["evaluated_on"] > 0 for r in metric_rows)


def test_purchase_intent_tables(spark, prepared_run) -> None:
    arguments, _ = prepared_run
    events = runtime.read_events(spark, arguments)
    tables = purchase_intent.intent_tables(spark, events, params())
    for table, df in tables.items():
        assert contract.check_schema(table, outputs.conform(df, table)) == [], table
    coefficients = [tuple(r) for r in tables["intent_coefficients"].orderBy("position").collect()]
    assert coefficients[0][0] == "(intercept)" and [c[0] for c in coefficients[1:]] == list(purchase_intent.FEATURES)
    features = {r["session_id"]: [float(r[c]) for c in purchase_intent.FEATURES] for r in tables["session_features"].collect()}
    predictions = tables["intent_predictions"].collect()
    assert len(predictions) == len(features)
    for r in predictions[:50]:
        assert r["probability"] == pytest.approx(purchase_intent.score(features[r["session_id"]], coefficients), rel=1e-9)
        assert r["split"] == purchase_intent.split_of(42, r["session_id"], 0.8)
        assert r["predicted"] == (1 if r["probability"] >= 0.5 else 0)
    metric_rows = tables["model_metrics"].collect()
    assert [r["metric"] for r in metric_rows] == ["auc", "accuracy", "precision", "recall"]
    assert all(r["baseline"] == "majority_class" for r in metric_rows)


def test_segment_tables(spark, prepared_run) -> None:
    arguments, _ = prepared_run
    events = runtime.read_events(spark, arguments)
    tables = segments.segment_tables(spark, events, params(segments={"k": 3}))
    for table, df in tables.items():
        assert contract.check_schema(table, outputs.conform(df, table)) == [], table
    profiles = tables["segment_profiles"].collect()
    customers = tables["customer_segments"].count()
    assert sum(r["customers"] for r in profiles) == customers
    assert sum(r["share"] for r in profiles) == pytest.approx(1.0)
    assert [r["metric"] for r in tables["model_metrics"].collect()] == ["wssse", "silhouette"]


def test_analytics_jobs_write_their_stage_of_model_metrics(spark, prepared_run) -> None:
    arguments, root = prepared_run
    argv = [
        "--run-id", "test-run", "--dataset", "rees46", "--input", str(root / "raw"),
        "--curated", str(root / "curated"), "--exports", str(root / "exports"),
        "--params", json.dumps(params(recommendations={"rank": 4, "maxIter": 3}, segments={"k": 3})),
    ]
    jobs = (
        ("association-rules", association_rules),
        ("recommendations", recommendations),
        ("purchase-intent", purchase_intent),
        ("segments", segments),
        ("spend-forecast", spend_forecast),
    )
    for job, module in jobs:
        assert runtime.run_job(job, module.run, argv, master="local[2]") == 0, job
    stages = sorted(p.name for p in (root / "curated" / "model_metrics" / "run_id=test-run").iterdir() if p.name.startswith("stage="))
    assert stages == ["stage=purchase-intent", "stage=recommendations", "stage=segments", "stage=spend-forecast"]
    manifest = json.loads((root / "exports" / "runs" / "test-run" / "manifest.json").read_text())
    assert manifest["runId"] == "test-run"
    assert set(manifest["tables"]) == {t.name for t in contract.served_tables()}
    metrics_files = manifest["tables"]["model_metrics"]["files"]
    assert {key.split("/")[3] for key in metrics_files} == {"stage=recommendations", "stage=purchase-intent", "stage=segments", "stage=spend-forecast"}
