"""The spend-forecast job (shopsight_jobs/spend_forecast.py, docs/spend-forecast.md): its pure parts
against hand-worked numbers, MLlib's GLM against the shared cases (cases/glm_cases.json, also run by
jest against local/ml/glm.ts), the fallbacks on a local SparkSession, and the job through
spark-submit as the state machine starts it on hand-built events (every window, baseline and
revenue number worked out below by hand or in closed form) and on generated data with planted
spend trends (the model must beat its baselines there).

Kept small for CI: one SparkSession for the module, the prepare job in it, and the two
spark-submit runs of spend-forecast side by side.
"""

import datetime as dt
import json
import math
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import pytest

from support import CASES_DIR, REPO_ROOT, SQL_DIR, rees46_line, write_text
from shopsight_jobs import contract, lines, spend_forecast

REES46_HEADER = ",".join(lines.REES46_HEADER)
ANALYTICS_TABLES_TS = REPO_ROOT / "core" / "contract" / "analytics-tables.ts"
OCT = [dt.date(2019, 10, d) for d in range(1, 32)]


def day(date: dt.date) -> int:
    return (date - dt.date(1970, 1, 1)).days


# ---------------------------------------------------------------------------------------------
# Pure parts (no Spark)
# ---------------------------------------------------------------------------------------------


def _ts_string_list(name: str) -> List[str]:
    source = ANALYTICS_TABLES_TS.read_text(encoding="utf-8")
    match = re.search(r"export const {}\b[^=]*= \[(.*?)\]".format(name), source, re.S)
    assert match, "{} not found in {}".format(name, ANALYTICS_TABLES_TS)
    return re.findall(r"'([a-z_]+)'", match.group(1))


def test_features_and_interval_are_the_contracts() -> None:
    assert list(spend_forecast.SPEND_FEATURES) == _ts_string_list("SPEND_FEATURES")
    assert sorted(spend_forecast.SPEND_LOG_FEATURES) == sorted(_ts_string_list("SPEND_LOG_FEATURES"))
    z = re.search(r"REVENUE_INTERVAL_Z = ([0-9.]+);", ANALYTICS_TABLES_TS.read_text(encoding="utf-8"))
    assert z and float(z.group(1)) == spend_forecast.REVENUE_INTERVAL_Z


def test_every_feature_is_a_column_of_the_shared_sql() -> None:
    sql = (SQL_DIR / "spend-forecast" / "spend_features.sql").read_text(encoding="utf-8")
    for name in spend_forecast.SPEND_FEATURES + ("target_spend", "target_purchases", "history_days"):
        assert " AS {}".format(name) in sql, name
    assert "monetary / history_days * {{horizon_days}} AS spend_rate" in sql  # the past_spend_rate baseline


@pytest.mark.parametrize(
    "first, last, horizon, expected",
    [
        # 9 days: a quarter is 2, below the parameter.
        (100, 108, 30, spend_forecast.Windows(2, 105, 107, 109)),
        # 61 days: the parameter (7) is below a quarter (15).
        (100, 160, 7, spend_forecast.Windows(7, 147, 154, 161)),
        # 4 days: h = 1; the windows are the last two days.
        (100, 103, 30, spend_forecast.Windows(1, 102, 103, 104)),
        # 3 days, 1 day: no horizon.
        (100, 102, 30, None),
        (100, 100, 30, None),
    ],
)
def test_spend_windows(first: int, last: int, horizon: int, expected: Any) -> None:
    assert spend_forecast.spend_windows(first, last, horizon) == expected


def test_iso_weekday_and_days() -> None:
    assert spend_forecast.iso_weekday(0) == 4  # 1970-01-01, a Thursday
    assert [spend_forecast.iso_weekday(day(d)) for d in OCT[:7]] == [d.isoweekday() for d in OCT[:7]]
    assert spend_forecast.date_of(day(OCT[9])) == OCT[9]


def simple_regression(points: Sequence[Tuple[int, float]]) -> Tuple[float, float, float, float, float]:
    """(intercept, slope, s, mean t, Sxx) of y on t = day − first day, in closed form."""
    first = min(d for d, _ in points)
    ts = [float(d - first) for d, _ in points]
    ys = [y for _, y in points]
    n = len(ts)
    mt, my = sum(ts) / n, sum(ys) / n
    sxx = sum((t - mt) ** 2 for t in ts)
    slope = sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / sxx
    intercept = my - slope * mt
    rss = sum((y - intercept - slope * t) ** 2 for t, y in zip(ts, ys))
    return intercept, slope, math.sqrt(rss / (n - 2)), mt, sxx


def closed_form_forecast(points: Sequence[Tuple[int, float]], target_day: int) -> Tuple[float, float, float]:
    """The trend-only fit's (prediction, lower, upper) at a day: x(XᵀX)⁻¹xᵀ = 1/n + (t − t̄)²/Sxx."""
    intercept, slope, s, mt, sxx = simple_regression(points)
    t = target_day - min(d for d, _ in points)
    mean = intercept + slope * t
    half = spend_forecast.REVENUE_INTERVAL_Z * s * math.sqrt(1 + 1 / len(points) + (t - mt) ** 2 / sxx)
    return max(mean, 0.0), max(mean - half, 0.0), max(mean + half, 0.0)


def test_revenue_weekday_effects_and_trend_are_recovered_exactly() -> None:
    # 28 days of 100 + 2t, +30 on Saturdays and −20 on Mondays: no noise, so s = 0 and the interval is the point.
    points = [(day(OCT[0]) + t, 100.0 + 2 * t + {6: 30.0, 1: -20.0}.get(spend_forecast.iso_weekday(day(OCT[0]) + t), 0.0)) for t in range(28)]
    fit = spend_forecast.fit_revenue(points)
    assert fit is not None and fit.trend and fit.weekdays == (2, 3, 4, 5, 6, 7)  # Monday (1) is the reference
    assert fit.s == pytest.approx(0.0, abs=1e-9)
    for t in range(28, 35):
        d = day(OCT[0]) + t
        expected = 100.0 + 2 * t + {6: 30.0, 1: -20.0}.get(spend_forecast.iso_weekday(d), 0.0)
        assert spend_forecast.predict_revenue(fit, d) == pytest.approx((expected, expected, expected), abs=1e-6)


def test_revenue_column_rules_missing_weekdays_and_floors() -> None:
    # Only Tuesdays and Wednesdays, 6 points: p = 3 columns, n ≥ p + 2, so the Wednesday indicator stays;
    # a Friday has no indicator and gets the reference's (Tuesday's) effect.
    tue_wed = [(day(OCT[i]), y) for i, y in ((0, 10.0), (1, 40.0), (7, 12.0), (8, 42.0), (14, 14.0), (15, 44.0))]
    fit = spend_forecast.fit_revenue(tue_wed)
    assert fit is not None and fit.weekdays == (3,) and fit.trend
    friday = day(OCT[17])
    tuesday_like = 10.0 + 2.0 / 7 * (friday - day(OCT[0]))  # Tuesday line: 10 + (2 per 7 days)·t
    assert spend_forecast.predict_revenue(fit, friday)[0] == pytest.approx(tuesday_like, abs=1e-9)
    # 5 points with 5 weekdays: p would be 6, n < p + 2, so no indicators; trend only.
    five = [(day(OCT[i]), 10.0 * i) for i in range(5)]
    fit = spend_forecast.fit_revenue(five)
    assert fit is not None and fit.weekdays == () and fit.trend
    # 3 points: intercept only (the mean), s from n − 1.
    three = [(day(OCT[0]), 3.0), (day(OCT[1]), 6.0), (day(OCT[5]), 9.0)]
    fit = spend_forecast.fit_revenue(three)
    assert fit is not None and not fit.trend and fit.weekdays == () and fit.beta == pytest.approx((6.0,))
    assert fit.s == pytest.approx(3.0)  # sqrt(((−3)² + 0 + 3²) / 2)
    half = spend_forecast.REVENUE_INTERVAL_Z * 3.0 * math.sqrt(1 + 1 / 3)
    assert spend_forecast.predict_revenue(fit, day(OCT[9])) == pytest.approx((6.0, max(6.0 - half, 0.0), 6.0 + half))
    # One point: s = 0 (n = p). A falling trend is floored at 0, bounds included.
    fit = spend_forecast.fit_revenue([(day(OCT[0]), 5.0)])
    assert fit is not None and fit.s == 0.0 and spend_forecast.predict_revenue(fit, day(OCT[3])) == (5.0, 5.0, 5.0)
    falling = [(day(OCT[i]), 100.0 - 30.0 * i) for i in range(4)]
    assert spend_forecast.predict_revenue(spend_forecast.fit_revenue(falling), day(OCT[10])) == (0.0, 0.0, 0.0)
    assert spend_forecast.fit_revenue([]) is None and spend_forecast.revenue_forecast_rows([], 14) == []


def test_revenue_backtest_scores_only_dates_with_a_seasonal_naive_value() -> None:
    # Points on Oct 1–5 and 7–10, 12, 13 (no Sunday Oct 6). revenueHorizonDays 4: the holdout is
    # Oct 10 (Thu), 12 (Sat), 13 (Sun); the 8 points before it have no Sunday, so Oct 13 is not scored.
    revenue = {1: 10.0, 2: 20.0, 3: 15.0, 4: 25.0, 5: 30.0, 7: 18.0, 8: 22.0, 9: 28.0, 10: 26.0, 12: 35.0, 13: 21.0}
    points = [(day(OCT[d - 1]), y) for d, y in revenue.items()]
    rows = spend_forecast.revenue_backtest_rows(points, 4)
    fitted = [p for p in points if p[0] <= day(OCT[8])]
    # 8 points, 6 weekdays: p would be 7 and n < p + 2, so the fit is the trend line.
    naive = {10: revenue[3], 12: revenue[5]}  # the latest fitted Thursday and Saturday
    model = {d: closed_form_forecast(fitted, day(OCT[d - 1])) for d in naive}
    errors = [model[d][0] - revenue[d] for d in naive]
    naive_errors = [naive[d] - revenue[d] for d in naive]
    covered = sum(1 for d in naive if model[d][1] <= revenue[d] <= model[d][2])
    by_metric = {r[1]: r for r in rows}
    assert [r[0] for r in rows] == ["ols_trend_weekday"] * 3 and all(r[6] == 2 for r in rows)
    assert by_metric["mae"][3] == pytest.approx(sum(abs(e) for e in errors) / 2)
    assert by_metric["mae"][4:6] == ("seasonal_naive", pytest.approx(sum(abs(e) for e in naive_errors) / 2))
    assert by_metric["rmse"][3] == pytest.approx(math.sqrt(sum(e * e for e in errors) / 2))
    assert by_metric["rmse"][5] == pytest.approx(math.sqrt(sum(e * e for e in naive_errors) / 2))
    assert by_metric["interval_coverage"][3] == pytest.approx(covered / 2) and by_metric["interval_coverage"][4] is None
    # Fewer than 7 points before the holdout (revenueHorizonDays 6: Oct 1–5 and 7): no backtest.
    assert spend_forecast.revenue_backtest_rows(points, 6) == []
    # A holdout with no weekday of the fitted points: no rows either.
    sundays = [(day(OCT[d - 1]), 1.0) for d in (1, 2, 3, 4, 5, 7, 8)] + [(day(OCT[12]), 5.0)]
    assert spend_forecast.revenue_backtest_rows(sundays, 1) == []


# ---------------------------------------------------------------------------------------------
# Spark: MLlib's GLM on the shared cases, the fallbacks
# ---------------------------------------------------------------------------------------------

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed: run scripts/test-python.sh, which installs it")

from shopsight_jobs import args, outputs, prepare, runtime  # noqa: E402

GLM_CASES = json.loads((CASES_DIR / "glm_cases.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def spark(built_archive: Path):
    session = runtime.spark_session("shopsight-forecast-tests", master="local[2]")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.addPyFile(str(built_archive))
    yield session
    session.stop()


@pytest.mark.parametrize("case", GLM_CASES["cases"], ids=[c["name"] for c in GLM_CASES["cases"]])
def test_mllib_glm_gives_the_shared_cases_coefficients(spark, case: Dict[str, Any]) -> None:
    """What the job relies on: MLlib's IRLS is the GLM of docs/spend-forecast.md (the same cases
    pin local/ml/glm.ts). An empty feature row is fitted by spend_forecast.fit_glm's closed form, since
    MLlib's IRLS cannot take a vector of size 0."""
    from pyspark.ml.linalg import Vectors
    from pyspark.ml.regression import GeneralizedLinearRegression

    expected, tolerance = case["expected"], case["tolerance"]
    weights = case.get("weights") or [1.0] * len(case["y"])
    if not case["X"][0]:
        assert len(set(weights)) == 1
        mean = sum(case["y"]) / len(case["y"])
        intercept = math.log(mean / (1 - mean)) if case["family"] == "binomial" else math.log(mean)
        assert intercept == pytest.approx(expected["intercept"], abs=tolerance)
        return
    rows = [(Vectors.dense([float(v) for v in x]), float(y), float(w)) for x, y, w in zip(case["X"], case["y"], weights)]
    df = spark.createDataFrame(rows, ["features", "label", "weight"])
    glr = GeneralizedLinearRegression(
        family=case["family"], link=case["link"], solver="irls", fitIntercept=True, tol=spend_forecast.GLM_TOL,
        regParam=float(case["reg_param"]), maxIter=int(case["max_iter"]),
    )  # fmt: skip
    if "weights" in case:
        glr.setWeightCol("weight")
    model = glr.fit(df)
    assert model.intercept == pytest.approx(expected["intercept"], abs=tolerance)
    assert list(model.coefficients.toArray()) == pytest.approx(expected["coefficients"], abs=tolerance)


EVENT_COLUMNS = contract.output_table("events").output_columns()
EVENT_SCHEMA = ", ".join("{} {}".format(c.name, c.spark_type) for c in EVENT_COLUMNS)


def events_frame(spark: Any, rows: Sequence[Tuple[int, dt.date, str, Any]]) -> Any:
    """Curated events from (user, date, event_type, price or None); one session per user and day."""
    out = []
    for line, (user, date, kind, price) in enumerate(rows, start=2):
        t = dt.datetime(date.year, date.month, date.day, 12, tzinfo=dt.timezone.utc)
        out.append((
            t, 12, date.isoweekday(), kind, 7, None, "a.b", "a", "b", None,
            None if price is None else Decimal(price), user, "u{}-{}".format(user, date), None, "f.csv", line, date,
        ))  # fmt: skip
    return spark.createDataFrame(out, EVENT_SCHEMA)


def test_a_run_of_two_days_has_no_customer_forecast_but_a_revenue_forecast(spark) -> None:
    """Under four days: no horizon (h = ⌊2 / 4⌋ = 0)."""
    events = events_frame(spark, [(1, OCT[0], "purchase", "5.00"), (2, OCT[1], "view", None), (1, OCT[1], "purchase", "7.00")])
    tables = spend_forecast.forecast_tables(spark, events, args.resolve_pipeline_parameters({"spendForecast": {"revenueHorizonDays": 3}}))
    assert tables["customer_spend_forecast"].count() == 0
    assert tables["model_metrics"].count() == 0  # no customer metrics, and 2 points are too few to backtest
    revenue = [tuple(r) for r in tables["revenue_forecast"].collect()]
    # Two points (5, 7) → intercept only: 6 on every day, s = sqrt(2), interval ± z·s·sqrt(1 + 1/2).
    half = spend_forecast.REVENUE_INTERVAL_Z * math.sqrt(2) * math.sqrt(1.5)
    assert revenue == [(OCT[i], OCT[i].isoweekday(), pytest.approx(6.0), pytest.approx(max(6 - half, 0)), pytest.approx(6 + half)) for i in (2, 3, 4)]
    for table, df in tables.items():
        assert contract.check_schema(table, outputs.conform(df, table)) == [], table


def test_without_prices_spend_is_0_and_purchases_are_still_forecast(spark) -> None:
    """RetailRocket has no prices: part 2 has no rows (spend_if_purchase 0), part 1 still fits."""
    rows = []
    for user in range(1, 9):
        rows += [(user, OCT[0], "view", None), (user, OCT[1 + user % 3], "view", None)]
        if user % 2 == 0:
            rows += [(user, OCT[2], "purchase", None), (user, OCT[4], "purchase", None)]
        if user % 3 == 0:
            rows.append((user, OCT[3], "purchase", None))
    tables = spend_forecast.forecast_tables(spark, events_frame(spark, rows), args.resolve_pipeline_parameters(None))
    served = tables["customer_spend_forecast"].collect()
    assert len(served) == 8 and {r["horizon_days"] for r in served} == {1}  # 5 days: h = ⌊5 / 4⌋ = 1
    assert all(r["spend_if_purchase"] == 0.0 and r["predicted_spend"] == 0.0 and r["baseline_spend"] == 0.0 for r in served)
    assert len({round(r["purchase_probability"], 12) for r in served}) > 1  # a fitted model, not a constant
    assert all(0.0 < r["purchase_probability"] < 1.0 for r in served)
    by_key = {(r["model"], r["metric"]): r for r in tables["model_metrics"].collect()}
    assert by_key[("two_part_glm", "rmse")]["value"] == 0.0 and by_key[("overall_mean", "rmse")]["value"] == 0.0
    # Every actual is 0: Spearman and the spender AUC are undefined for the model and the baseline.
    for metric in ("spearman", "spender_auc"):
        assert by_key[("two_part_glm", metric)]["value"] is None and by_key[("two_part_glm", metric)]["baseline_value"] is None


# ---------------------------------------------------------------------------------------------
# The job through spark-submit: hand-built events and planted spend trends
# ---------------------------------------------------------------------------------------------

#: Hand-built REES46 events, Oct 1–9 2019 (S = 9, so h = min(30, ⌊9 / 4⌋) = 2: c1 = Oct 6, c2 = Oct 8,
#: c3 = Oct 10). (day of October, kind, user, price).
HAND_EVENTS = [
    (1, "purchase", 1, "10.00"), (1, "view", 3, "1.00"),
    (2, "view", 2, "1.00"), (2, "cart", 3, "1.00"),
    (3, "purchase", 2, "6.00"),
    (4, "view", 6, "1.00"),
    (5, "purchase", 1, "20.00"), (5, "view", 4, "1.00"),
    (6, "purchase", 4, "8.00"),
    (7, "view", 5, "1.00"),
    (8, "purchase", 1, "30.00"),
    (9, "purchase", 2, "12.00"), (9, "view", 5, "1.00"),
]  # fmt: skip
HAND_REVENUE = [10.0, 0.0, 6.0, 0.0, 20.0, 8.0, 0.0, 30.0, 12.0]  # Oct 1..9
HAND_PARAMS = {"spendForecast": {"revenueHorizonDays": 2}}

#: The local engine's planted-trend case (test/local/spend-forecast.test.ts): 300,000 events over 60
#: days, seed 42, forecastHorizonDays 10 (c1 has 40 days of history, so the recent window differs
#: from the whole history and the trend is learnable). Smaller inputs are too noisy to decide: at
#: 100,000 events the model wins for one seed and loses for another (measured on both engines).
TREND_EVENTS = 300000
TREND_DAYS = 60
TREND_PARAMS = {"spendForecast": {"forecastHorizonDays": 10}}


def _hand_csv(path: Path) -> str:
    out = [REES46_HEADER]
    for d, kind, user, price in HAND_EVENTS:
        out.append(rees46_line("2019-10-{:02d} 12:00:00".format(d), kind, 100 + user, user, "s{}-{}".format(user, d), price=price))
    return write_text(path, "\n".join(out) + "\n")


def _generate_trends(folder: Path) -> None:
    folder.mkdir(parents=True)
    completed = subprocess.run(
        ["node", str(REPO_ROOT / "local" / "cli" / "bin.js"), "generate", "--dataset", "rees46", "--spend-trends",
         "--events", str(TREND_EVENTS), "--days", str(TREND_DAYS), "--seed", "42", "--out", str(folder / "events.csv.gz")],
        cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    for truth in folder.glob("*.truth.json"):  # not an input file
        truth.rename(folder.parent / truth.name)


def _curated_events(spark, name: str, raw: Path, params_json: str) -> None:
    """The prepare job's reading and its curated ``events`` write, nothing else: all that
    spend-forecast reads (the other prepare tables would cost a minute at 300,000 events)."""
    from shopsight_jobs import outputs as out

    argv = ["--run-id", name, "--dataset", "rees46", "--input", str(raw) + "/", "--curated", str(raw.parent / "curated"),
            "--exports", str(raw.parent / "exports"), "--params", params_json]  # fmt: skip
    arguments = args.parse_job_arguments("prepare", argv)
    events = prepare.read_input(spark, arguments).events.drop("file_idx")
    out.write_table(out.FileStore(spark), events, "events", name, arguments.curated, arguments.exports)


@pytest.fixture(scope="module")
def submitted(spark, built_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """Both inputs' curated events written in this session, then spend-forecast through
    spark-submit (the state machine's arguments) on each, side by side."""
    import spark_submit

    root = tmp_path_factory.mktemp("forecast")
    inputs = {"hand": root / "hand" / "raw", "trends": root / "trends" / "raw"}
    params = {"hand": spark_submit.parameters_json(HAND_PARAMS), "trends": spark_submit.parameters_json(TREND_PARAMS)}
    _hand_csv(inputs["hand"] / "events.csv")
    _generate_trends(inputs["trends"])
    for name, raw in inputs.items():
        _curated_events(spark, name, raw, params[name])

    def submit(name: str) -> Any:
        raw = inputs[name]
        return spark_submit.run_spark_job(
            "spend-forecast", build_dir=built_archive.parent, run_id=name, dataset="rees46", input_uri=str(raw) + "/",
            curated=str(raw.parent / "curated"), exports=str(raw.parent / "exports"), params_json=params[name],
            work_dir=raw.parent, extra_conf={"spark.sql.shuffle.partitions": "2"},  # 2 cores: 200 would be empty tasks
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(inputs, pool.map(submit, inputs)))
    for name, result in results.items():
        print("\nspend-forecast via spark-submit on {}: {:.1f}s".format(name, result.seconds))
    return {"root": root, "results": results}


def _table(spark, submitted, name: str, table: str) -> Any:
    result = submitted["results"][name]
    assert result.ok, result.describe()
    folder = submitted["root"] / name / "curated" / table / "run_id={}".format(name)
    return spark.read.option("basePath", str(folder)).parquet(str(folder))


def _metrics(spark, submitted, name: str) -> Dict[Tuple[str, str], Any]:
    return {(r["model"], r["metric"]): r for r in _table(spark, submitted, name, "model_metrics").collect()}


@pytest.mark.parametrize("name", ["hand", "trends"])
def test_the_written_tables_have_the_contract_types_and_exports(spark, submitted, name: str) -> None:
    for table in ("customer_spend_forecast", "revenue_forecast", "model_metrics"):
        df = _table(spark, submitted, name, table)
        fields = [(f.name, f.dataType.simpleString(), False) for f in df.schema.fields]
        assert contract.check_schema(table, fields) == [], table
        fragment = "{}.json".format(table) if table != "model_metrics" else "model_metrics.spend-forecast.json"
        manifest = json.loads((submitted["root"] / name / "exports" / "runs" / name / "_manifests" / fragment).read_text())
        assert manifest["rowCount"] == df.count() and manifest["columns"] == outputs.served_columns(table)


def test_hand_built_windows_baselines_and_forecast_start(spark, submitted) -> None:
    served = {r["user_id"]: r for r in _table(spark, submitted, "hand", "customer_spend_forecast").collect()}
    # c3 population: everyone; baseline = spend so far / 9 days × 2.
    monetary = {1: 60.0, 2: 18.0, 3: 0.0, 4: 8.0, 5: 0.0, 6: 0.0}
    assert sorted(served) == sorted(monetary)
    for user, spent in monetary.items():
        r = served[user]
        assert r["baseline_spend"] == pytest.approx(spent / 9 * 2, rel=1e-12)
        assert (r["horizon_days"], r["forecast_start"]) == (2, dt.date(2019, 10, 10))
        # Six training rows, eleven features: part 1 may separate them, so a probability can reach 1.0 in doubles.
        assert 0.0 <= r["purchase_probability"] <= 1.0 and r["spend_if_purchase"] > 0.0
        assert r["predicted_spend"] == pytest.approx(r["purchase_probability"] * r["spend_if_purchase"], rel=1e-12)
    # Served model: part 1 fitted at c2 (users 1 and 2 bought), part 2 on their two spends: both GLMs.
    assert len({round(r["purchase_probability"], 9) for r in served.values()}) > 1
    assert len({round(r["spend_if_purchase"], 9) for r in served.values()}) > 1


def test_hand_built_holdout_metrics(spark, submitted) -> None:
    m = _metrics(spark, submitted, "hand")
    # c2 population (events before Oct 8): users 1–6; actual spend Oct 8–9: 30, 12, 0, 0, 0, 0.
    # Past rate at c2 (7 days so far, h = 2): spend so far × 2/7 = 60/7, 12/7, 0, 16/7, 0, 0.
    # c1 population (events before Oct 6: users 1, 2, 3, 4, 6) spent 0, 0, 0, 8, 0 on Oct 6–7: the
    # overall mean is 8/5, and part 2 of the evaluated model is the one spender's 8 (the fallback).
    assert all(r["evaluated_on"] == 6 for k, r in m.items() if k[0] != "ols_trend_weekday")
    assert m[("two_part_glm", "mae")]["baseline_value"] == pytest.approx((150 + 72 + 16) / 7 / 6)
    assert m[("two_part_glm", "rmse")]["baseline_value"] == pytest.approx(math.sqrt((150 ** 2 + 72 ** 2 + 16 ** 2) / 49 / 6))
    # Average ranks: actual (6, 5, 2.5, 2.5, 2.5, 2.5), rate (6, 4, 2, 5, 2, 2): Σd·d' = 10, Σd² = 12.5, Σd'² = 15.5.
    assert m[("two_part_glm", "spearman")]["baseline_value"] == pytest.approx(10 / math.sqrt(12.5 * 15.5))
    # Spenders 1 and 2 against the other four: the rate orders 7 of the 8 pairs right (user 4's 16/7 > 12/7).
    assert m[("two_part_glm", "spender_auc")]["baseline_value"] == pytest.approx(7 / 8)
    assert m[("overall_mean", "mae")]["value"] == pytest.approx((28.4 + 10.4 + 4 * 1.6) / 6)
    assert m[("overall_mean", "rmse")]["value"] == pytest.approx(math.sqrt((28.4 ** 2 + 10.4 ** 2 + 4 * 1.6 ** 2) / 6))
    assert m[("overall_mean", "mae")]["baseline"] is None and ("overall_mean", "spearman") not in m
    # The evaluated model forecasts p × 8 with 0 ≤ p ≤ 1: each error is at most the worse of 0 and 8.
    assert 0.0 <= m[("two_part_glm", "mae")]["value"] <= (30 + 12 + 4 * 8) / 6


def test_hand_built_revenue_forecast_and_backtest(spark, submitted) -> None:
    points = [(day(OCT[i]), y) for i, y in enumerate(HAND_REVENUE)]
    # 9 points with all 7 weekdays: p would be 8 and n < p + 2, so the fit is the trend line.
    got = [tuple(r) for r in _table(spark, submitted, "hand", "revenue_forecast").orderBy("forecast_date").collect()]
    expected = [(OCT[i], OCT[i].isoweekday()) + closed_form_forecast(points, day(OCT[i])) for i in (9, 10)]
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    for g, e in zip(got, expected):
        assert g[2:] == pytest.approx(e[2:], rel=1e-9, abs=1e-9)
    m = _metrics(spark, submitted, "hand")
    # Backtest: fitted Oct 1–7 (7 points, trend line), holdout Oct 8 (Tue) and 9 (Wed); seasonal naive
    # Oct 1 (10) and Oct 2 (0).
    fitted = points[:7]
    model = [closed_form_forecast(fitted, day(OCT[i])) for i in (7, 8)]
    actual = [30.0, 12.0]
    assert m[("ols_trend_weekday", "mae")]["value"] == pytest.approx(sum(abs(f[0] - a) for f, a in zip(model, actual)) / 2)
    assert m[("ols_trend_weekday", "mae")]["baseline_value"] == pytest.approx((20.0 + 12.0) / 2)
    assert m[("ols_trend_weekday", "rmse")]["baseline_value"] == pytest.approx(math.sqrt((400.0 + 144.0) / 2))
    covered = sum(1 for f, a in zip(model, actual) if f[1] <= a <= f[2])
    assert m[("ols_trend_weekday", "interval_coverage")]["value"] == pytest.approx(covered / 2)
    assert m[("ols_trend_weekday", "mae")]["evaluated_on"] == 2


def test_planted_spend_trends_the_model_beats_both_baselines(spark, submitted) -> None:
    """RMSE and MAE against both baselines, and the spender AUC against the past spend rate, as the
    local engine's test asserts on the same input. Not Spearman: with ~99% of the holdout spending
    0, the past spend rate ties every non-buyer at 0 as the actual does, which Spearman rewards over
    any continuous forecast (docs/spend-forecast.md, "How to read them"); it must be positive."""
    m = _metrics(spark, submitted, "trends")
    rmse, mae, spearman = m[("two_part_glm", "rmse")], m[("two_part_glm", "mae")], m[("two_part_glm", "spearman")]
    auc = m[("two_part_glm", "spender_auc")]
    print("\nplanted trends: rmse model {:.4f} / past rate {:.4f} / overall mean {:.4f}; mae {:.4f} / {:.4f} / {:.4f}; "
          "spender auc {:.4f} / {:.4f}; spearman model {:.4f} / past rate {:.4f}; evaluated on {}".format(
              rmse["value"], rmse["baseline_value"], m[("overall_mean", "rmse")]["value"], mae["value"], mae["baseline_value"],
              m[("overall_mean", "mae")]["value"], auc["value"], auc["baseline_value"], spearman["value"], spearman["baseline_value"], rmse["evaluated_on"]))  # fmt: skip
    assert rmse["value"] < rmse["baseline_value"] and rmse["value"] < m[("overall_mean", "rmse")]["value"]
    assert mae["value"] < mae["baseline_value"] and mae["value"] < m[("overall_mean", "mae")]["value"]
    assert auc["value"] > auc["baseline_value"]
    assert spearman["value"] > 0 and rmse["evaluated_on"] > 10000
    served = _table(spark, submitted, "trends", "customer_spend_forecast")
    events = spark.read.parquet(str(submitted["root"] / "trends" / "curated" / "events" / "run_id=trends"))
    assert served.count() == served.select("user_id").distinct().count() == events.select("user_id").distinct().count()
    assert {r[0] for r in served.select("horizon_days").distinct().collect()} == {10}
