"""The jobs' pure-Python parts, without Spark: line parsing and reject reasons (the local readers'
rules, on the real samples too), the train/test split hash, rule formatting, the serving CSV rule,
manifests, the run summary, segment naming, coefficient conversion and the metrics."""

import ast
import datetime as dt
import gzip
import hashlib
import math
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List

import pytest

from support import REPO_ROOT, SPARK_JOBS_DIR, SQL_DIR, run_python
from shopsight_jobs import (
    association_rules,
    contract,
    lines,
    metrics,
    outputs,
    prepare,
    purchase_intent,
    recommendations,
    segments,
    spend_forecast,
    summary,
)

SAMPLES = REPO_ROOT.parent / "shared" / "data"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/data (the real samples) is not on this machine")

PACKAGE_DIR = SPARK_JOBS_DIR / "shopsight_jobs"
#: Every Spark job's stage; by the one-name rule its entry script (spark-jobs/<name>.py) and its
#: module (shopsight_jobs/<name>.py) are the stage's name in snake_case.
JOB_STAGES = ("prepare", "association-rules", "recommendations", "purchase-intent", "segments", "spend-forecast")


def snake(stage: str) -> str:
    return stage.replace("-", "_")


# ---------------------------------------------------------------------------------------------
# Package hygiene
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_module_imports_pyspark_or_numpy_at_module_level(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), feature_version=(3, 9))
    for node in tree.body:
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            assert not name.startswith(("pyspark", "numpy")), "{} imports {} at module level".format(path.name, name)


def test_every_module_imports_from_the_archive_without_spark(built_archive: Path, tmp_path: Path) -> None:
    modules = sorted(p.stem for p in PACKAGE_DIR.glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "for name in sys.argv[2:]:\n"
        "    module = importlib.import_module('shopsight_jobs.' + name)\n"
        "    assert module.__file__.startswith(sys.argv[1]), module.__file__\n"
        "assert 'pyspark' not in sys.modules and 'numpy' not in sys.modules\n"
        "from shopsight_jobs.sql import load_sql\n"
        "assert 'FROM events' in load_sql('prepare/schemas/c_date.sql')\n"
        "print('ok')\n"
    )
    completed = run_python(sys.executable, code, str(built_archive), *modules, cwd=tmp_path)
    assert completed.returncode == 0 and "ok" in completed.stdout, completed.stdout


@pytest.mark.parametrize(
    "script", ["prepare.py", "association_rules.py", "recommendations.py", "purchase_intent.py", "segments.py", "spend_forecast.py"]
)
def test_entry_scripts_are_thin_and_call_runtime_main(script: str) -> None:
    source = (SPARK_JOBS_DIR / script).read_text(encoding="utf-8")
    tree = ast.parse(source, feature_version=(3, 9))
    assert ast.get_docstring(tree)
    assert "runtime.main(" in source and 'if __name__ == "__main__":' in source


def test_entry_points_match_core_config_spark_jobs() -> None:
    source = (REPO_ROOT / "core" / "config" / "spark-jobs.ts").read_text(encoding="utf-8")
    for job in JOB_STAGES:
        entry = snake(job) + ".py"
        assert "entryPoint: '{}'".format(entry) in source, entry
        assert (SPARK_JOBS_DIR / entry).is_file()
        assert (PACKAGE_DIR / entry).is_file(), "shopsight_jobs/" + entry
        assert "runtime.main(\"{}\", {}.run)".format(job, snake(job)) in (SPARK_JOBS_DIR / entry).read_text(encoding="utf-8")


def test_prepare_writes_exactly_the_contract_tables_of_the_prepare_stage() -> None:
    expected = {t.name for t in contract.OUTPUT_TABLES if "prepare" in t.produced_by}
    assert set(prepare.produced_tables()) == expected
    for table, path in prepare.sql_tables():
        assert (SQL_DIR / path).is_file(), path


@pytest.mark.parametrize(
    "stage, module, names",
    [
        ("association-rules", association_rules, ["association_rules", "bought_together"]),
        ("recommendations", recommendations, ["model_metrics", "user_recommendations", "similar_products", "popular_products"]),
        ("purchase-intent", purchase_intent, ["session_features", "intent_predictions", "intent_coefficients", "model_metrics"]),
        ("segments", segments, ["customer_segments", "segment_profiles", "model_metrics"]),
        ("spend-forecast", spend_forecast, ["customer_spend_forecast", "revenue_forecast", "model_metrics"]),
    ],
)
def test_each_analytics_job_writes_the_contract_tables_of_its_stage(stage: str, module: Any, names: List[str]) -> None:
    assert set(names) == {t.name for t in contract.OUTPUT_TABLES if stage in t.produced_by}
    source = Path(module.__file__).read_text(encoding="utf-8")
    for name in names:
        assert '"{}"'.format(name) in source


def test_intent_features_are_the_session_features_columns() -> None:
    columns = [c.name for c in contract.output_table("session_features").columns]
    assert list(purchase_intent.FEATURES) == [c for c in columns if c not in ("session_id", "user_id", "session_start", "label")]


# ---------------------------------------------------------------------------------------------
# Header recognition (the events lines are parsed on Spark: test_prepare_spark.py)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "header, kind",
    [
        ("\ufeffevent_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\r", "rees46_events"),
        ("timestamp,visitorid,event,itemid,transactionid", "retailrocket_events"),
        ("timestamp,visitorid,event,itemid,transactionid,datetime", "retailrocket_events"),
        ("categoryid,parentid", "category_tree"),
        ("timestamp,itemid,property,value", "item_properties"),
        ("a,b,c", None),
        ("timestamp,visitorid,event,itemid,transactionid,other", None),
    ],
)
def test_headers_are_recognised(header: str, kind: Any) -> None:
    assert lines.recognise_header(header) == kind


# ---------------------------------------------------------------------------------------------
# The category tree
# ---------------------------------------------------------------------------------------------


def test_category_paths_from_the_root_down() -> None:
    rows = lines.category_tree_rows(["1016,213", "213,", "809,169", "169,1", "1,", "1016,999", "x,1", '"5",1', ""])
    assert rows == [(1016, 213), (213, None), (809, 169), (169, 1), (1, None)]
    assert lines.category_paths(rows) == {1016: "213.1016", 213: "213", 809: "1.169.809", 169: "1.169", 1: "1"}


def test_category_paths_unknown_parent_and_cycle() -> None:
    assert lines.category_paths([(5, 4)]) == {5: "4.5"}
    paths = lines.category_paths([(1, 2), (2, 1)])
    assert len(paths[1].split(".")) == lines.MAX_CATEGORY_DEPTH


@needs_samples
def test_the_real_category_tree_parses() -> None:
    with gzip.open(str(SAMPLES / "retailrocket" / "category_tree.csv.gz"), "rt", encoding="utf-8") as f:
        next(f)
        paths = lines.category_paths(lines.category_tree_rows([l.rstrip("\n") for l in f]))
    assert len(paths) == 1669
    assert sum(1 for p in paths.values() if "." not in p) == 25  # the roots
    assert paths[1016] == "1532.1299.213.1016"


# ---------------------------------------------------------------------------------------------
# The train/test split
# ---------------------------------------------------------------------------------------------


def test_split_bucket_is_md5_of_seed_colon_session() -> None:
    expected = int(hashlib.md5(b"42:s-0001").hexdigest()[:8], 16) % 10000
    assert purchase_intent.split_bucket(42, "s-0001") == expected


@pytest.mark.parametrize(
    "seed, session, bucket",
    [
        (42, "", 631),
        (42, "a", 3661),
        (42, "1-1", 5526),
        (42, "ünï", 1418),
        (42, "00000000-0000-4000-8000-000000000001", 3373),
        (7, "00000000-0000-4000-8000-000000000001", 8499),
    ],
)
def test_split_bucket_fixed_vectors(seed: int, session: str, bucket: int) -> None:
    """Fixed vectors the TypeScript trainSplitSql must also give (UTF-8 bytes, first 8 hex digits)."""
    assert purchase_intent.split_bucket(seed, session) == bucket


def test_split_threshold_rounds_half_up_like_javascript() -> None:
    assert purchase_intent.split_threshold(0.8) == 8000
    assert purchase_intent.split_threshold(0.00005) == 1  # 0.5 → 1 (Python's round would give 0)
    assert purchase_intent.split_threshold(1) == 10000


def test_split_fraction_is_about_right_and_seeded() -> None:
    sessions = ["s{}".format(i) for i in range(20000)]
    train = sum(1 for s in sessions if purchase_intent.split_of(42, s, 0.8) == "train")
    assert 0.78 < train / len(sessions) < 0.82
    assert [purchase_intent.split_of(42, s, 0.8) for s in sessions[:50]] != [purchase_intent.split_of(7, s, 0.8) for s in sessions[:50]]
    assert all(purchase_intent.split_of(42, s, 1.0) == "train" for s in sessions[:100])


# ---------------------------------------------------------------------------------------------
# Association rules
# ---------------------------------------------------------------------------------------------


def test_antecedent_items_are_sorted_as_text() -> None:
    assert association_rules.format_antecedent(["b", "a"]) == "a & b"
    assert association_rules.format_antecedent([10, 9, 100]) == "10 & 100 & 9"
    assert association_rules.format_antecedent(["kitchen.kettle"]) == "kitchen.kettle"


# ---------------------------------------------------------------------------------------------
# Serving CSV and manifests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (None, "NULL"),
        ("", '""'),
        ("plain", '"plain"'),
        ("a,b", '"a,b"'),
        ('say "hi"', '"say ""hi"""'),
        ("NULL", '"NULL"'),
        ("\\N", '"\\N"'),
        ("back\\slash", '"back\\slash"'),
        ("two\nlines\r", '"two\nlines\r"'),
        (True, "1"),
        (False, "0"),
        (3, "3"),
        (Decimal("12.50"), "12.50"),
        (0.25, "0.25"),
        (dt.date(2019, 10, 1), "2019-10-01"),
        (dt.datetime(2019, 10, 1, 2, 3, 4), "2019-10-01 02:03:04"),
        (dt.datetime(2019, 10, 1, 2, 3, 4, 500000), "2019-10-01 02:03:04.5"),
    ],
)
def test_csv_field_is_the_loaders_serving_csv_format(value: Any, text: str) -> None:
    assert outputs.csv_field(value) == text


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_doubles_have_no_csv_form(value: float) -> None:
    with pytest.raises(ValueError, match="no MySQL representation"):
        outputs.csv_field(value)


def test_the_format_is_the_one_lib_serving_loader_sql_declares() -> None:
    loader = REPO_ROOT / "core" / "serving" / "loader-sql.ts"
    if not loader.is_file():
        pytest.skip("core/serving/loader-sql.ts is not in this checkout")
    source = loader.read_text(encoding="utf-8")
    assert "nullToken: 'NULL'" in source
    assert "OPTIONALLY ENCLOSED BY '\"' ESCAPED BY ''" in source


def test_csv_line() -> None:
    assert outputs.csv_line(["a", None, 1, "x,y"]) == '"a",NULL,1,"x,y"'


def test_served_columns_add_partition_keys_as_servingColumns_does() -> None:
    assert outputs.served_columns("c_date") == ["event_date", "cart_events", "cart_users"]
    assert outputs.served_columns("model_metrics")[-1] == "stage"


def test_object_keys_and_uris() -> None:
    assert outputs.object_key("s3://exports", "runs/x/c_date/part-0") == "runs/x/c_date/part-0"
    assert outputs.object_key("s3://exports/team/", "runs/x/c_date/part-0") == "team/runs/x/c_date/part-0"
    assert outputs.object_key("/tmp/out", "runs/x/a") == "runs/x/a"
    assert outputs.curated_uri("s3://c", "events", "oct") == "s3://c/events/run_id=oct/"
    assert outputs.curated_uri("s3://c/", "model_metrics", "oct", "segments") == "s3://c/model_metrics/run_id=oct/stage=segments/"
    assert outputs.export_uri("s3://e", "oct", "c_date") == "s3://e/runs/oct/c_date/"
    assert outputs.export_uri("s3://e", "oct", "model_metrics", "segments") == "s3://e/runs/oct/model_metrics/stage=segments/"


def fragments(run_id: str = "oct") -> List[Dict[str, Any]]:
    out = []
    for table in contract.served_tables():
        if table.name == "model_metrics":
            for stage in ("recommendations", "purchase-intent", "segments"):
                out.append(outputs.table_manifest(run_id, table.name, 2, ["runs/{}/model_metrics/stage={}/part-0".format(run_id, stage)], "t", stage))
        else:
            out.append(outputs.table_manifest(run_id, table.name, 3, ["runs/{}/{}/part-1".format(run_id, table.name), "runs/{}/{}/part-0".format(run_id, table.name)], "t"))
    return out


def test_merged_manifest_is_a_serving_manifest() -> None:
    manifest = outputs.merge_table_manifests("oct", fragments(), "2026-01-01T00:00:00.000Z")
    assert manifest["runId"] == "oct" and manifest["createdAt"] == "2026-01-01T00:00:00.000Z"
    assert set(manifest["tables"]) == {t.name for t in contract.served_tables()}
    assert manifest["tables"]["c_date"] == {
        "columns": ["event_date", "cart_events", "cart_users"],
        "rowCount": 3,
        "files": ["runs/oct/c_date/part-0", "runs/oct/c_date/part-1"],
    }
    assert manifest["tables"]["model_metrics"]["rowCount"] == 6
    assert len(manifest["tables"]["model_metrics"]["files"]) == 3


def test_manifest_merge_refuses_wrong_run_duplicates_and_gaps() -> None:
    with pytest.raises(ValueError, match="is for run other"):
        outputs.merge_table_manifests("oct", fragments("other"), "t")
    with pytest.raises(ValueError, match="has two manifests"):
        outputs.merge_table_manifests("oct", fragments() + fragments()[:1], "t")
    with pytest.raises(ValueError, match="no export of served table"):
        outputs.merge_table_manifests("oct", fragments()[1:], "t")


def test_expected_fragments_and_where_they_live() -> None:
    names = outputs.expected_fragments()
    assert "c_date.json" in names and "model_metrics.json" not in names
    assert [n for n in names if n.startswith("model_metrics.")] == [
        "model_metrics.purchase-intent.json", "model_metrics.recommendations.json", "model_metrics.segments.json",
        "model_metrics.spend-forecast.json",
    ]
    assert len(names) == len(contract.served_tables()) + 3
    # Outside every table's folder, which the loader LOADs whole.
    assert outputs.manifests_uri("s3://e", "oct") == "s3://e/runs/oct/_manifests/"
    assert not any(t.name.startswith("_") for t in contract.OUTPUT_TABLES)


# ---------------------------------------------------------------------------------------------
# Run summary
# ---------------------------------------------------------------------------------------------


def test_file_counts_and_summary_reconcile() -> None:
    a = summary.file_counts("s3://raw/a.csv", typed_rows=10, accepted=8, rejected_by_reason={"bad_price": 2, "bad_timestamp": 1})
    b = summary.file_counts("s3://raw/b.csv.gz", typed_rows=5, accepted=5, rejected_by_reason={})
    assert a == {
        "source": "s3://raw/a.csv",
        "rowsRead": 13,
        "accepted": 8,
        "rejected": 3,
        "rejectedByReason": {"bad_price": 2, "bad_timestamp": 1},
        "duplicatesRemoved": 2,
    }
    doc = summary.build_run_summary("oct", "rees46", [a, b], [{"name": "read", "seconds": 1, "rows": 18}], "t", {"events": 13})
    assert doc["totals"] == {
        "rowsRead": 18,
        "accepted": 13,
        "rejected": 3,
        "rejectedByReason": {"bad_price": 2, "bad_timestamp": 1},
        "duplicatesRemoved": 2,
    }
    assert doc["engine"] == "spark" and doc["createdAt"] == "t" and doc["tableRows"] == {"events": 13}
    assert doc["stages"] == [{"name": "read", "seconds": 1.0, "rows": 18}]
    assert summary.reconcile_run_summary(doc) == []


def test_reconcile_reports_every_broken_count() -> None:
    doc = summary.build_run_summary("oct", "rees46", [summary.file_counts("f", 4, 4, {"bad_price": 1})], [])
    doc["files"][0]["accepted"] = 3
    doc["totals"]["rejectedByReason"] = {}
    assert summary.reconcile_run_summary(doc) == [
        "run totals: rejected 1 ≠ sum of rejected by reason 0",
        "f: rows read 5 ≠ accepted 3 + rejected 1 + duplicates removed 0",
        "run totals: accepted 4 ≠ sum over files 3",
    ]


def test_stage_timer_records_in_order() -> None:
    timer = summary.StageTimer()
    with timer.stage("a") as stage:
        stage["rows"] = 3
    with timer.stage("b"):
        pass
    assert [s["name"] for s in timer.stages] == ["a", "b"]
    assert timer.stages[0]["rows"] == 3 and timer.stages[1]["seconds"] >= 0


# ---------------------------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------------------------


def profile(frequency: float = 0.0, carts: float = 0.0, sessions: float = 1.0, recency_days: float = 0.0) -> Dict[str, float]:
    return {"frequency": frequency, "carts": carts, "sessions": sessions, "recency_days": recency_days}


def test_segment_names_follow_the_local_rule() -> None:
    names = segments.name_segments(
        [
            profile(frequency=2.0),  # top buyer ≥ 1.5
            profile(frequency=0.6),  # another buyer
            profile(carts=1.2),  # carts, no purchases
            profile(recency_days=20),  # span 30: ≥ 15
            profile(sessions=1.0, recency_days=2),
            profile(sessions=3.0, recency_days=2),
        ],
        run_span_days=30,
    )
    assert names == ["frequent_buyers", "regular_buyers", "cart_abandoners", "lapsed_visitors", "one_time_visitors", "window_shoppers"]


def test_top_buyer_below_one_and_a_half_is_regular_and_duplicates_are_suffixed() -> None:
    names = segments.name_segments([profile(frequency=1.0), profile(frequency=0.7), profile(), profile()], 30)
    assert names == ["regular_buyers", "regular_buyers_2", "one_time_visitors", "one_time_visitors_2"]


def test_buyer_ties_go_to_the_lower_segment_id() -> None:
    assert segments.name_segments([profile(frequency=2.0), profile(frequency=2.0)], 1) == ["frequent_buyers", "regular_buyers"]


def test_every_base_name_is_in_the_contract() -> None:
    description = [c for c in contract.output_table("customer_segments").columns if c.name == "segment_name"][0].description
    for name in ("frequent_buyers", "regular_buyers", "cart_abandoners", "window_shoppers", "lapsed_visitors", "one_time_visitors"):
        assert name in description
    assert segments.name_segments([], 1) == []


# ---------------------------------------------------------------------------------------------
# Purchase intent coefficients
# ---------------------------------------------------------------------------------------------


def test_coefficients_on_the_standardised_scale_score_as_the_original_model() -> None:
    rng = random.Random(3)
    d = len(purchase_intent.FEATURES)
    w_orig = [rng.uniform(-1, 1) for _ in range(d)]
    b_orig = rng.uniform(-2, 2)
    means = [rng.uniform(0, 10) for _ in range(d)]
    stds = [rng.uniform(0.5, 3) for _ in range(d)]
    stds[3] = 0.0  # a constant feature: MLlib gives it weight 0
    w_orig[3] = 0.0
    w_std, b0 = purchase_intent.standardised_coefficients(w_orig, b_orig, means, stds)
    rows = purchase_intent.coefficient_rows(w_std, b0, means, stds)
    assert rows[0] == ("(intercept)", 0, b0, 0.0, 1.0)
    assert [r[0] for r in rows[1:]] == list(purchase_intent.FEATURES)
    for _ in range(20):
        x = [rng.uniform(0, 20) for _ in range(d)]
        original = 1 / (1 + math.exp(-(b_orig + sum(w * v for w, v in zip(w_orig, x)))))
        assert purchase_intent.score(x, rows) == pytest.approx(original, rel=1e-12, abs=1e-15)


def test_constant_logit_is_the_smoothed_rate() -> None:
    assert purchase_intent.constant_logit(0, 9) == pytest.approx(math.log(0.05 / 0.95))
    assert purchase_intent.constant_logit(9, 9) == pytest.approx(math.log(0.95 / 0.05))


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


def test_ranking_metrics_as_mllib_defines_them() -> None:
    rec = [1, 2, 3, 4, 5]
    rel = {1, 3, 6}
    assert metrics.precision_at_k(rec, rel, 5) == pytest.approx(2 / 5)
    assert metrics.precision_at_k(rec[:2], rel, 5) == pytest.approx(1 / 5)  # divided by k even when fewer
    assert metrics.recall_at_k(rec, rel, 5) == pytest.approx(2 / 3)
    assert metrics.average_precision_at_k(rec, rel, 5) == pytest.approx((1 / 1 + 2 / 3) / 3)
    dcg = 1 / math.log(2) + 1 / math.log(4)
    idcg = 1 / math.log(2) + 1 / math.log(3) + 1 / math.log(4)
    assert metrics.ndcg_at_k(rec, rel, 5) == pytest.approx(dcg / idcg)
    assert metrics.ndcg_at_k([], rel, 5) == 0.0
    with pytest.raises(ValueError):
        metrics.precision_at_k(rec, rel, 0)


def test_ranking_sums_skip_empty_relevant_sets_and_add_up() -> None:
    pairs = [([1, 2], [2]), ([3], []), ([], [1])]
    sums = metrics.ranking_sums(pairs, 2)
    assert sums[4] == 2
    means = metrics.ranking_means(sums)
    assert means["precision_at_k"] == pytest.approx(0.25)
    assert means["recall_at_k"] == pytest.approx(0.5)
    assert metrics.ranking_means((0.0, 0.0, 0.0, 0.0, 0))["map_at_k"] is None
    left, right = metrics.ranking_sums(pairs[:1], 2), metrics.ranking_sums(pairs[1:], 2)
    assert tuple(a + b for a, b in zip(left, right)) == pytest.approx(sums)


def test_auc_is_exact_with_ties() -> None:
    assert metrics.roc_auc([0.9, 0.8, 0.1], [1, 1, 0]) == 1.0
    assert metrics.roc_auc([0.5, 0.5], [1, 0]) == 0.5
    assert metrics.roc_auc([0.2, 0.5, 0.5, 0.9], [0, 1, 0, 1]) == pytest.approx((1 + 0.5 + 2) / 4)
    assert metrics.roc_auc([0.1], [1]) is None


def test_majority_baseline() -> None:
    assert metrics.majority_class_baseline(10, 100, 3, 10) == {"accuracy": 0.7, "precision": None, "recall": 0.0, "auc": 0.5}
    assert metrics.majority_class_baseline(60, 100, 3, 10) == {"accuracy": 0.3, "precision": 0.3, "recall": 1.0, "auc": 0.5}
    assert metrics.majority_class_baseline(50, 100, 0, 10)["auc"] is None


def test_metric_rows_follow_the_contract_columns() -> None:
    assert list(metrics.METRIC_COLUMNS) == [c.name for c in contract.output_table("model_metrics").output_columns()]
    row = metrics.metric_row("segments", "kmeans", "silhouette", float("nan"), 5)
    assert row == ("kmeans", "silhouette", None, None, None, None, 5, "segments")


def test_holdout_cutoff() -> None:
    assert recommendations.holdout_cutoff(dt.date(2019, 10, 31), 2) == dt.datetime(2019, 10, 30)
    assert recommendations.holdout_cutoff(dt.date(2019, 10, 31), 1) == dt.datetime(2019, 10, 31)
    assert recommendations.holdout_cutoff(dt.date(2019, 10, 31), 0) is None
    assert recommendations.timestamp_text(dt.datetime(2019, 10, 30)) == "2019-10-30 00:00:00"
