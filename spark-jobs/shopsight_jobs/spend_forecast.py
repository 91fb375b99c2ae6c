"""The spend-forecast job: each customer's expected spend in the horizon after the run, and the
run's daily revenue for the days after it (the twin of local/engine/stages/spend-forecast.ts).

docs/spend-forecast.md is the method, written for both engines; this note says how Spark does it.

Customer spend: a two-part model (purchase probability × spend given a purchase) on the columns of
spend-forecast/spend_features.sql at three cutoffs c1 < c2 < c3 (``spend_windows``: h = min(forecastHorizonDays,
⌊span / 4⌋)). Features: SPEND_FEATURES (core/contract/analytics-tables.ts: shares of the history and
rates per horizon), SPEND_LOG_FEATURES as ln(1 + x), each standardised with the
training population's mean and sample standard deviation (Spark's avg and stddev_samp; a constant
feature, or one training row, gives 0). Part 1 is MLlib ``GeneralizedLinearRegression`` family
binomial, link logit; part 2 family gamma, link log, on the training rows with spend > 0; both with
solver irls, fitIntercept, regParam, maxIter and tol 1e-6: IRLS (Green 1984) whose every step
solves min (1/2Σw) Σ w (z − η)² + regParam/2 ‖β‖² (MLlib's WeightedLeastSquares with neither
features nor label standardised, so the penalty is on our standardised coefficients). A feature
constant within the rows of a fit is left out of that fit (coefficient 0): MLlib would give it 0
too, but only after its Cholesky solve fails on the zero column and it falls back to L-BFGS.
Complexity O(maxIter · customers · features²) per fit, four fits (evaluated and served model).

The time holdout scores the c1 model on the c2 population against past_spend_rate and
overall_mean (MAE, RMSE, Spearman, spender_auc). spender_auc is the exact ROC AUC of MLlib's
``BinaryClassificationEvaluator`` with numBins 0 (``purchase_intent.exact_auc``: ties count ½) for
target_spend > 0. Spearman is MLlib's ``Correlation`` "spearman" (ties get
their average rank; the ranking is a distributed sort, so nothing the size of the population
reaches the driver); null when either side is constant, which is tested on the values first
because a rank variance computed as 0 can come out as a rounding error instead.

Daily revenue: ordinary least squares on intercept, trend and ISO weekday indicators with a 90%
prediction interval, and its backtest, in numpy on the driver. The series is one point per date
with events (a year is 365 rows), so a distributed solver would only add jobs; numpy also gives
(XᵀX)⁻¹ for the interval, which MLlib's LinearRegression does not expose.
"""

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import contract, metrics, purchase_intent
from .args import JobArguments
from .outputs import FileStore, publish_run_manifest, write_table
from .runtime import read_events, register_events, shared_sql

STAGE = "spend-forecast"
SPEND_MODEL = "two_part_glm"
RATE_BASELINE = "past_spend_rate"
MEAN_MODEL = "overall_mean"
REVENUE_MODEL = "ols_trend_weekday"
REVENUE_BASELINE = "seasonal_naive"

#: SPEND_FEATURES of core/contract/analytics-tables.ts, in model order.
SPEND_FEATURES: Tuple[str, ...] = (
    "recency_share",
    "purchase_recency_share",
    "tenure_share",
    "spend_rate",
    "recent_monetary",
    "purchase_rate",
    "view_rate",
    "cart_rate",
    "session_rate",
    "categories",
    "recent_events",
)
#: SPEND_LOG_FEATURES: enter the model as ln(1 + x).
SPEND_LOG_FEATURES = frozenset(
    ("spend_rate", "recent_monetary", "purchase_rate", "view_rate", "cart_rate", "session_rate", "categories", "recent_events")
)

GLM_TOL = 1e-6
#: REVENUE_INTERVAL_Z of the contract: the normal quantile of 0.95, for a two-sided 90% interval.
REVENUE_INTERVAL_Z = 1.6448536269514722
#: The backtest needs at least this many points before its holdout.
BACKTEST_MIN_POINTS = 7
EPOCH = dt.date(1970, 1, 1)

CUSTOMER_SCHEMA = (
    "user_id bigint, purchase_probability double, spend_if_purchase double, predicted_spend double, "
    "baseline_spend double, horizon_days int, forecast_start date"
)
REVENUE_SCHEMA = "forecast_date date, day_of_week int, predicted_revenue double, lower double, upper double"


# ---------------------------------------------------------------------------------------------
# Windows and days
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    """h and the three cutoffs (day numbers) of docs/spend-forecast.md, "Windows"."""

    h: int
    c1: int
    c2: int
    c3: int


def spend_windows(first_day: int, last_day: int, forecast_horizon_days: int) -> Optional[Windows]:
    """The windows of a run spanning day numbers first_day..last_day; None when h < 1."""
    span = last_day - first_day + 1
    h = min(int(forecast_horizon_days), span // 4)
    if h < 1:
        return None
    return Windows(h, last_day + 1 - 2 * h, last_day + 1 - h, last_day + 1)


def date_of(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=day)


def day_of(date: dt.date) -> int:
    return (date - EPOCH).days


def iso_weekday(day: int) -> int:
    """ISO day of week of a day number: 1970-01-01 (day 0) was a Thursday (4)."""
    return (day + 3) % 7 + 1


# ---------------------------------------------------------------------------------------------
# Customer spend: features, the two GLMs, predictions
# ---------------------------------------------------------------------------------------------


def _x(name: str) -> str:
    return "x_" + name


def _z(name: str) -> str:
    return "z_" + name


def population(spark: Any, cutoff: int, h: int) -> Any:
    """spend_features.sql at ``cutoff``: user_id, the model inputs x_<feature> (ln(1 + x) where
    listed), target_spend, target_purchases and past_rate (the SQL's spend_rate: monetary /
    history_days × h, the past_spend_rate baseline)."""
    from pyspark.sql import functions as F

    raw = shared_sql(spark, "spend-forecast/spend_features.sql", {"cutoff_day": cutoff, "horizon_days": h})
    inputs = []
    for name in SPEND_FEATURES:
        value = F.col(name).cast("double")
        inputs.append((F.log1p(value) if name in SPEND_LOG_FEATURES else value).alias(_x(name)))
    return raw.select(
        "user_id",
        *inputs,
        F.col("target_spend").cast("double").alias("target_spend"),
        "target_purchases",
        F.col("spend_rate").cast("double").alias("past_rate"),
    )


@dataclass(frozen=True)
class Standardisation:
    means: Tuple[float, ...]
    #: Sample standard deviations; 0 for a constant feature or a single row.
    stds: Tuple[float, ...]


def standardisation(train: Any) -> Standardisation:
    from pyspark.sql import functions as F

    aggregates = []
    for name in SPEND_FEATURES:
        aggregates += [F.avg(_x(name)), F.stddev_samp(_x(name))]
    row = train.agg(*aggregates).first()
    means, stds = [], []
    for i in range(len(SPEND_FEATURES)):
        mean, std = row[2 * i], row[2 * i + 1]
        means.append(0.0 if mean is None else float(mean))
        stds.append(float(std) if std is not None and math.isfinite(std) and std > 0 else 0.0)
    return Standardisation(tuple(means), tuple(stds))


def standardised(df: Any, scale: Standardisation) -> Any:
    """``df`` with z_<feature> = (x − mean) / std, or 0 where std is 0."""
    from pyspark.sql import functions as F

    columns = []
    for name, mean, std in zip(SPEND_FEATURES, scale.means, scale.stds):
        z = (F.col(_x(name)) - F.lit(mean)) / F.lit(std) if std > 0 else F.lit(0.0)
        columns.append(z.alias(_z(name)))
    return df.select("*", *columns)


@dataclass(frozen=True)
class Part:
    """One part of the model: a GLM on the standardised features, or a constant for everybody
    (the fallbacks of the method)."""

    intercept: float = 0.0
    coefficients: Tuple[float, ...] = (0.0,) * len(SPEND_FEATURES)
    constant: Optional[float] = None
    iterations: int = 0


@dataclass(frozen=True)
class TwoPartModel:
    purchase: Part
    spend: Part


def _link(family: str, mean: float) -> float:
    return math.log(mean / (1.0 - mean)) if family == "binomial" else math.log(mean)


def fit_glm(rows: Any, label: str, family: str, reg_param: float, max_iter: int) -> Part:
    """MLlib's GLM (binomial/logit or gamma/log, IRLS) on the z_ columns of ``rows`` (at least one
    row, labels valid for the family). Features constant within ``rows`` are left out (coefficient
    0); with none left, the intercept is the family's link of the mean label, which is where IRLS
    converges for an intercept alone."""
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.regression import GeneralizedLinearRegression
    from pyspark.sql import functions as F

    aggregates = [F.avg(F.col(label).cast("double"))]
    for name in SPEND_FEATURES:
        aggregates += [F.min(_z(name)), F.max(_z(name))]
    row = rows.agg(*aggregates).first()
    varying = [i for i in range(len(SPEND_FEATURES)) if row[1 + 2 * i] != row[2 + 2 * i]]
    if not varying:
        return Part(intercept=_link(family, float(row[0])))
    inputs = [_z(SPEND_FEATURES[i]) for i in varying]
    assembled = (
        VectorAssembler(inputCols=inputs, outputCol="features")
        .transform(rows.select(*inputs, F.col(label).cast("double").alias("label")))
        .select("features", "label")
        .cache()
    )
    try:
        model = GeneralizedLinearRegression(
            family=family,
            link="logit" if family == "binomial" else "log",
            solver="irls",
            fitIntercept=True,
            regParam=float(reg_param),
            maxIter=int(max_iter),
            tol=GLM_TOL,
            featuresCol="features",
            labelCol="label",
        ).fit(assembled)
        coefficients = [0.0] * len(SPEND_FEATURES)
        for i, value in zip(varying, model.coefficients.toArray()):
            coefficients[i] = float(value)
        return Part(float(model.intercept), tuple(coefficients), None, int(model.summary.numIterations))
    finally:
        assembled.unpersist()


def fit_two_part(train: Any, reg_param: float, max_iter: int) -> TwoPartModel:
    """Both parts on a standardised training population, with the method's fallbacks: a part-1
    population of one class gets its share of positives (0 or 1); part 2 with fewer than 2 rows
    of spend > 0 gets their mean spend, or 0."""
    from pyspark.sql import functions as F

    counts = train.agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.when(F.col("target_purchases") > 0, 1).otherwise(0)).alias("buyers"),
        F.sum(F.when(F.col("target_spend") > 0, 1).otherwise(0)).alias("spenders"),
        F.avg(F.when(F.col("target_spend") > 0, F.col("target_spend"))).alias("mean_spend"),
    ).first()
    n, buyers, spenders = int(counts["n"]), int(counts["buyers"] or 0), int(counts["spenders"] or 0)
    if n == 0:
        return TwoPartModel(Part(constant=0.0), Part(constant=0.0))
    if buyers in (0, n):
        purchase = Part(constant=buyers / n)
    else:
        labelled = train.withColumn("bought", F.when(F.col("target_purchases") > 0, 1.0).otherwise(0.0))
        purchase = fit_glm(labelled, "bought", "binomial", reg_param, max_iter)
    if spenders < 2:
        spend = Part(constant=float(counts["mean_spend"]) if spenders == 1 else 0.0)
    else:
        spend = fit_glm(train.where(F.col("target_spend") > 0), "target_spend", "gamma", reg_param, max_iter)
    return TwoPartModel(purchase, spend)


def _linear_predictor(part: Part) -> Any:
    from pyspark.sql import functions as F

    eta = F.lit(part.intercept)
    for name, coefficient in zip(SPEND_FEATURES, part.coefficients):
        if coefficient != 0.0:
            eta = eta + F.lit(coefficient) * F.col(_z(name))
    return eta


def predicted(scored: Any, model: TwoPartModel) -> Any:
    """A standardised population with purchase_probability, spend_if_purchase and predicted_spend:
    the inverse links as Spark expressions (the formula of the method, no UDF)."""
    from pyspark.sql import functions as F

    def column(part: Part, inverse: Any) -> Any:
        return F.lit(float(part.constant)) if part.constant is not None else inverse(_linear_predictor(part))

    probability = column(model.purchase, lambda eta: F.lit(1.0) / (F.lit(1.0) + F.exp(-eta)))
    spend = column(model.spend, F.exp)
    return (
        scored.withColumn("purchase_probability", probability)
        .withColumn("spend_if_purchase", spend)
        .withColumn("predicted_spend", F.col("purchase_probability") * F.col("spend_if_purchase"))
    )


def fit_and_predict(train: Any, target: Any, reg_param: float, max_iter: int) -> Tuple[Any, Standardisation, TwoPartModel]:
    """Standardise with ``train``, fit on it, predict ``target`` (its own rows, same scaling)."""
    scale = standardisation(train)
    train_z = standardised(train, scale).cache()
    try:
        model = fit_two_part(train_z, reg_param, max_iter)
    finally:
        train_z.unpersist()
    return predicted(standardised(target, scale), model), scale, model


# ---------------------------------------------------------------------------------------------
# Customer metrics
# ---------------------------------------------------------------------------------------------


def spearman_pair(scored: Any, actual: str, forecasts: Sequence[str]) -> List[Optional[float]]:
    """Spearman correlation (average ranks for ties) of each forecast column with ``actual``;
    None where either side is constant or there are fewer than two rows."""
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.stat import Correlation
    from pyspark.sql import functions as F

    columns = [actual] + list(forecasts)
    aggregates = [F.count(F.lit(1))]
    for c in columns:
        aggregates += [F.min(c), F.max(c)]
    row = scored.agg(*aggregates).first()
    n = int(row[0])
    varies = [n >= 2 and row[1 + 2 * i] != row[2 + 2 * i] for i in range(len(columns))]
    if not varies[0] or not any(varies[1:]):
        return [None] * len(forecasts)
    vectors = VectorAssembler(inputCols=columns, outputCol="v").transform(scored.select(*columns)).select("v")
    matrix = Correlation.corr(vectors, "v", "spearman").first()[0].toArray()
    result: List[Optional[float]] = []
    for i in range(1, len(columns)):
        value = float(matrix[0][i])
        result.append(value if varies[i] and math.isfinite(value) else None)
    return result


def customer_metric_rows(scored: Any, overall_mean: float) -> List[Tuple[Any, ...]]:
    """model_metrics rows of the holdout: ``scored`` is the c2 population with predicted_spend,
    past_rate and target_spend; ``overall_mean`` the c1 population's mean target_spend."""
    from pyspark.sql import functions as F

    actual = F.col("target_spend")
    forecasts = {"model": F.col("predicted_spend"), "rate": F.col("past_rate"), "mean": F.lit(float(overall_mean))}
    aggregates = [F.count(F.lit(1)).alias("n")]
    for key, forecast in forecasts.items():
        aggregates += [F.avg(F.abs(forecast - actual)).alias(key + "_mae"), F.avg((forecast - actual) * (forecast - actual)).alias(key + "_mse")]
    row = scored.agg(*aggregates).first()
    n = int(row["n"])
    if n == 0:
        return []
    value = {key: {"mae": float(row[key + "_mae"]), "rmse": math.sqrt(float(row[key + "_mse"]))} for key in forecasts}
    model_rho, rate_rho = spearman_pair(scored, "target_spend", ["predicted_spend", "past_rate"])
    value["model"]["spearman"], value["rate"]["spearman"] = model_rho, rate_rho
    spent = (F.col("target_spend") > 0).cast("int").alias("label")
    for key, column in (("model", "predicted_spend"), ("rate", "past_rate")):
        value[key]["spender_auc"] = purchase_intent.exact_auc(scored.select(F.col(column).alias("probability"), spent))
    rows = [
        metrics.metric_row(STAGE, SPEND_MODEL, name, value["model"][name], n, None, RATE_BASELINE, value["rate"][name])
        for name in ("mae", "rmse", "spearman", "spender_auc")
    ]
    rows += [metrics.metric_row(STAGE, MEAN_MODEL, name, value["mean"][name], n) for name in ("mae", "rmse")]
    return rows


def customer_tables(spark: Any, first_day: int, last_day: int, forecast: Dict[str, Any]) -> Tuple[Any, List[Tuple[Any, ...]]]:
    """(customer_spend_forecast, its model_metrics rows) for a run of days first_day..last_day."""
    from pyspark.sql import functions as F

    windows = spend_windows(first_day, last_day, int(forecast["forecastHorizonDays"]))
    if windows is None:
        return spark.createDataFrame([], CUSTOMER_SCHEMA), []
    reg_param, max_iter = float(forecast["regParam"]), int(forecast["maxIter"])
    h = windows.h
    at_c1 = population(spark, windows.c1, h).cache()
    at_c2 = population(spark, windows.c2, h).cache()
    rows: List[Tuple[Any, ...]] = []
    # The evaluated model: fitted at c1, scored on the c2 population.
    if at_c1.limit(1).count() > 0:
        scored, _, _ = fit_and_predict(at_c1, at_c2, reg_param, max_iter)
        overall = at_c1.agg(F.avg("target_spend")).first()[0]
        scored = scored.select("target_spend", "predicted_spend", "past_rate").cache()
        rows = customer_metric_rows(scored, float(overall))
        scored.unpersist()
    # The served model: fitted at c2, applied to the c3 population (every user of the run).
    at_c3 = population(spark, windows.c3, h)
    served, _, _ = fit_and_predict(at_c2, at_c3, reg_param, max_iter)
    table = served.select(
        "user_id",
        "purchase_probability",
        "spend_if_purchase",
        "predicted_spend",
        F.col("past_rate").alias("baseline_spend"),
        F.lit(h).cast("int").alias("horizon_days"),
        F.lit(date_of(windows.c3)).cast("date").alias("forecast_start"),
    )
    at_c1.unpersist()
    at_c2.unpersist()
    return table, rows


# ---------------------------------------------------------------------------------------------
# Daily revenue (numpy on the driver: one row per date)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevenueFit:
    first_day: int
    trend: bool
    #: ISO weekdays with an indicator column, in column order (the reference has none).
    weekdays: Tuple[int, ...]
    beta: Tuple[float, ...]
    #: (XᵀX)⁻¹, row by row.
    xtx_inverse: Tuple[Tuple[float, ...], ...]
    s: float


def _design_row(day: int, first_day: int, trend: bool, weekdays: Sequence[int]) -> List[float]:
    row = [1.0]
    if trend:
        row.append(float(day - first_day))
    weekday = iso_weekday(day)
    row.extend(1.0 if weekday == d else 0.0 for d in weekdays)
    return row


def fit_revenue(points: Sequence[Tuple[int, float]]) -> Optional[RevenueFit]:
    """Least squares on (day number, revenue) points, with the method's column rules; None
    without points."""
    import numpy as np

    n = len(points)
    if n == 0:
        return None
    first_day = min(day for day, _ in points)
    present = sorted({iso_weekday(day) for day, _ in points})
    weekdays: Tuple[int, ...] = tuple(present[1:])
    trend = True
    if n < 2 + len(weekdays) + 2:
        weekdays = ()
    if n < 4:
        trend = False
    x = np.array([_design_row(day, first_day, trend, weekdays) for day, _ in points], dtype=float)
    y = np.array([revenue for _, revenue in points], dtype=float)
    xtx = x.T @ x
    beta = np.linalg.solve(xtx, x.T @ y)
    p = x.shape[1]
    rss = float(np.sum((y - x @ beta) ** 2))
    s = math.sqrt(rss / (n - p)) if n > p else 0.0
    inverse = np.linalg.inv(xtx)
    return RevenueFit(
        first_day, trend, weekdays, tuple(float(b) for b in beta), tuple(tuple(float(v) for v in r) for r in inverse), s
    )


def predict_revenue(fit: RevenueFit, day: int) -> Tuple[float, float, float]:
    """(prediction, lower, upper) for a day, each floored at 0. A weekday without an indicator in
    the fit gets the reference's effect (its indicators are all 0)."""
    x = _design_row(day, fit.first_day, fit.trend, fit.weekdays)
    mean = sum(a * b for a, b in zip(x, fit.beta))
    leverage = sum(x[i] * fit.xtx_inverse[i][j] * x[j] for i in range(len(x)) for j in range(len(x)))
    half = REVENUE_INTERVAL_Z * fit.s * math.sqrt(1.0 + max(leverage, 0.0))
    return max(mean, 0.0), max(mean - half, 0.0), max(mean + half, 0.0)


def revenue_forecast_rows(points: Sequence[Tuple[int, float]], horizon_days: int) -> List[Tuple[Any, ...]]:
    """revenue_forecast rows: fitted on every point, for the horizon_days dates after the last."""
    fit = fit_revenue(points)
    if fit is None:
        return []
    last = max(day for day, _ in points)
    rows = []
    for day in range(last + 1, last + 1 + int(horizon_days)):
        prediction, lower, upper = predict_revenue(fit, day)
        rows.append((date_of(day), iso_weekday(day), prediction, lower, upper))
    return rows


def revenue_backtest_rows(points: Sequence[Tuple[int, float]], horizon_days: int) -> List[Tuple[Any, ...]]:
    """model_metrics rows of the backtest: the points of the last horizon_days days against a fit
    on the points before them (at least BACKTEST_MIN_POINTS), next to the seasonal-naive forecast;
    dates without a same-weekday point before the holdout are not scored."""
    if not points:
        return []
    last = max(day for day, _ in points)
    cut = last - int(horizon_days)
    fitted = sorted(p for p in points if p[0] <= cut)
    holdout = sorted(p for p in points if p[0] > cut)
    if len(fitted) < BACKTEST_MIN_POINTS:
        return []
    fit = fit_revenue(fitted)
    assert fit is not None
    latest: Dict[int, float] = {}
    for day, revenue in fitted:  # ascending: the latest point of each weekday wins
        latest[iso_weekday(day)] = revenue
    model_errors, naive_errors, covered = [], [], 0
    for day, revenue in holdout:
        naive = latest.get(iso_weekday(day))
        if naive is None:
            continue
        prediction, lower, upper = predict_revenue(fit, day)
        model_errors.append(prediction - revenue)
        naive_errors.append(naive - revenue)
        covered += 1 if lower <= revenue <= upper else 0
    n = len(model_errors)
    if n == 0:
        return []

    def mae(errors: List[float]) -> float:
        return sum(abs(e) for e in errors) / len(errors)

    def rmse(errors: List[float]) -> float:
        return math.sqrt(sum(e * e for e in errors) / len(errors))

    return [
        metrics.metric_row(STAGE, REVENUE_MODEL, "mae", mae(model_errors), n, None, REVENUE_BASELINE, mae(naive_errors)),
        metrics.metric_row(STAGE, REVENUE_MODEL, "rmse", rmse(model_errors), n, None, REVENUE_BASELINE, rmse(naive_errors)),
        metrics.metric_row(STAGE, REVENUE_MODEL, "interval_coverage", covered / n, n),
    ]


def revenue_points(spark: Any) -> List[Tuple[int, float]]:
    """(day number, revenue) per date with events, from prepare/insights/daily_kpis.sql, by date."""
    rows = shared_sql(spark, contract.table_sql("daily_kpis")).select("event_date", "revenue").collect()
    return sorted((day_of(r["event_date"]), float(r["revenue"])) for r in rows)


# ---------------------------------------------------------------------------------------------
# The job
# ---------------------------------------------------------------------------------------------


def forecast_tables(spark: Any, events: Any, params: Dict[str, Any]) -> Dict[str, Any]:
    """DataFrame → DataFrames: customer_spend_forecast, revenue_forecast, model_metrics (stage
    spend-forecast)."""
    from pyspark.sql import functions as F

    forecast = params["spendForecast"]
    register_events(events)
    span = events.agg(F.min("event_date").alias("first"), F.max("event_date").alias("last")).first()
    metric_rows: List[Tuple[Any, ...]] = []
    if span["first"] is None:
        customers = spark.createDataFrame([], CUSTOMER_SCHEMA)
        revenue_rows: List[Tuple[Any, ...]] = []
    else:
        customers, metric_rows = customer_tables(spark, day_of(span["first"]), day_of(span["last"]), forecast)
        points = revenue_points(spark)
        horizon = int(forecast["revenueHorizonDays"])
        revenue_rows = revenue_forecast_rows(points, horizon)
        metric_rows = metric_rows + revenue_backtest_rows(points, horizon)
    return {
        "customer_spend_forecast": customers,
        "revenue_forecast": spark.createDataFrame(revenue_rows, REVENUE_SCHEMA),
        "model_metrics": metrics.metrics_dataframe(spark, metric_rows),
    }


def run(spark: Any, arguments: JobArguments, store: FileStore) -> None:
    events = read_events(spark, arguments)
    for table, df in forecast_tables(spark, events, arguments.params).items():
        stage = STAGE if table == "model_metrics" else None
        write_table(store, df, table, arguments.run_id, arguments.curated, arguments.exports, stage=stage)
    # The last job of the run to get here writes the run's serving manifest.json (outputs.py).
    publish_run_manifest(store, arguments.exports, arguments.run_id)
