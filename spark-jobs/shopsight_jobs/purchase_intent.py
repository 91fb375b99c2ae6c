"""The purchase-intent job: will a session buy, from what happened in it before its first purchase?

Method: binary logistic regression (Spark MLlib ``LogisticRegression``, L-BFGS, elasticNetParam 0
= pure L2 penalty regParam, standardization=True, fitIntercept, maxIter) on the session features of
purchase-intent/session_features.sql (computed only from events strictly before the session's first
purchase: no label leakage); label = the session has a purchase. Parameters: purchaseIntent.
trainFraction, regParam, maxIter, threshold, seed. Complexity O(maxIter·sessions·features).

Split (the local engine's rule, local/engine/stages/purchase-intent.ts ``trainSplitSql``): a
session is in ``train`` when int(first 8 hex digits of md5("<seed>:<session_id>"), 16) mod 10000 <
round(trainFraction × 10000) (JavaScript's Math.round: halves up), else in ``test``. md5 is built
into Spark SQL, DuckDB and every language, unlike Spark's xxhash64/hash; the split is stable across
runs and engines and independent of partitioning (``randomSplit`` is not). ``split_bucket`` is the
reference in Python; ``split_bucket_column`` the same as a Spark SQL expression (no UDF).

Coefficients. MLlib standardises internally but reports coefficients for the ORIGINAL feature
scale (w_orig, b_orig). intent_coefficients stores them on the standardised scale with the
training means and (sample, n − 1) standard deviations, so the serving side computes
p = 1 / (1 + exp(−(b0 + Σ w_j·(x_j − mean_j)/std_j))). Since w_orig·x = w_std·(x − mean)/std +
w_orig·mean: w_std_j = w_orig_j·std_j and b0 = b_orig + Σ_j w_orig_j·mean_j. A feature with std 0
has w_orig 0 in MLlib, so it contributes nothing. When the training sessions are all of one class
MLlib's intercept is infinite; then, as the local engine does, the coefficients are 0 and
b0 = logit((n₁ + ½)/(n + 1)).

Metrics (test split, model_metrics stage purchase-intent, model logistic_regression, baseline
majority_class): AUC (exact: BinaryClassificationEvaluator with numBins 0; null with one class),
accuracy, precision, recall, predicting 1 when probability ≥ threshold.
"""

import hashlib
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import contract, metrics
from .args import JobArguments
from .outputs import FileStore, publish_run_manifest, write_table
from .runtime import read_events, register_events, shared_sql

STAGE = "purchase-intent"
MODEL = "logistic_regression"
BASELINE = "majority_class"
INTERCEPT = "(intercept)"

#: The model's inputs: every session_features column but the keys, the start time and the label.
FEATURES: Tuple[str, ...] = (
    "views",
    "carts",
    "remove_from_carts",
    "distinct_products",
    "distinct_categories",
    "duration_seconds",
    "start_hour",
    "day_of_week",
    "avg_view_price",
    "max_view_price",
    "min_view_price",
    "cart_value",
)

SPLIT_BUCKETS = 10000


def split_bucket(seed: int, session_id: str) -> int:
    digest = hashlib.md5("{}:{}".format(int(seed), session_id).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % SPLIT_BUCKETS


def split_threshold(train_fraction: float) -> int:
    """round(trainFraction × 10000) as JavaScript's Math.round does it (halves up, not to even).
    Not floor(x + 0.5): for x just under a half that sum rounds up to 1.0 in binary."""
    x = train_fraction * SPLIT_BUCKETS
    whole = math.floor(x)
    return int(whole + 1 if x - whole >= 0.5 else whole)


def split_of(seed: int, session_id: str, train_fraction: float) -> str:
    return "train" if split_bucket(seed, session_id) < split_threshold(train_fraction) else "test"


def split_bucket_column(seed: int, session_column: str = "session_id") -> Any:
    """``split_bucket`` as a Spark Column (no Python UDF)."""
    from pyspark.sql import functions as F

    return F.expr(
        "CAST(conv(substr(md5(concat('{}:', {})), 1, 8), 16, 10) AS BIGINT) % {}".format(int(seed), session_column, SPLIT_BUCKETS)
    )


def standardised_coefficients(
    original: Sequence[float], intercept: float, means: Sequence[float], stds: Sequence[float]
) -> Tuple[List[float], float]:
    """(w_std, b0) from MLlib's original-scale (w_orig, b_orig) and the training means and stds."""
    w_std = [w * s if s > 0 else 0.0 for w, s in zip(original, stds)]
    b0 = intercept + sum(w * m for w, m, s in zip(original, means, stds) if s > 0)
    return w_std, b0


def score(features: Sequence[float], coefficients: Sequence[Tuple[str, int, float, float, float]]) -> float:
    """Probability from intent_coefficients rows (feature, position, coefficient, mean, stddev):
    what the serving side does without Spark."""
    logit = 0.0
    values = list(features)
    for _, position, coefficient, mean, stddev in coefficients:
        if position == 0:
            logit += coefficient
        elif stddev > 0:
            logit += coefficient * (values[position - 1] - mean) / stddev
    return 1.0 / (1.0 + math.exp(-logit))


def constant_logit(positives: int, total: int) -> float:
    rate = (positives + 0.5) / (total + 1)
    return math.log(rate / (1 - rate))


def coefficient_rows(w_std: Sequence[float], b0: float, means: Sequence[float], stds: Sequence[float]) -> List[Tuple[Any, ...]]:
    rows: List[Tuple[Any, ...]] = [(INTERCEPT, 0, float(b0), 0.0, 1.0)]
    for position, (name, w, m, s) in enumerate(zip(FEATURES, w_std, means, stds), start=1):
        rows.append((name, position, float(w), float(m), float(s)))
    return rows


def with_split(sessions: Any, seed: int, train_fraction: float) -> Any:
    from pyspark.sql import functions as F

    threshold = split_threshold(float(train_fraction))
    return sessions.withColumn(
        "split", F.when(split_bucket_column(seed) < F.lit(threshold), F.lit("train")).otherwise(F.lit("test"))
    )


def fit(spark: Any, train: Any, intent: Dict[str, Any]) -> Tuple[List[float], float, List[float], List[float]]:
    """(w_std, b0, means, stds) of the logistic regression on the training sessions."""
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.stat import Summarizer
    from pyspark.sql import functions as F

    assembled = VectorAssembler(inputCols=list(FEATURES), outputCol="features").transform(
        train.select(*[F.col(c).cast("double").alias(c) for c in FEATURES], F.col("label").cast("double").alias("label"))
    ).cache()
    counts = assembled.agg(F.count(F.lit(1)).alias("n"), F.sum("label").alias("p")).first()
    total, positives = int(counts["n"]), int(counts["p"] or 0)
    means, stds = [0.0] * len(FEATURES), [0.0] * len(FEATURES)
    if total:
        summary = assembled.select(Summarizer.metrics("mean", "std").summary(F.col("features")).alias("s")).first()["s"]
        means = [float(x) for x in summary["mean"]]
        # Sample standard deviation (n − 1), as MLlib's LogisticRegression uses; 0 for n = 1.
        stds = [float(x) if total > 1 and math.isfinite(float(x)) else 0.0 for x in summary["std"]]
    if total == 0 or positives in (0, total):
        return [0.0] * len(FEATURES), constant_logit(positives, total), means, stds
    model = LogisticRegression(
        featuresCol="features",
        labelCol="label",
        maxIter=int(intent["maxIter"]),
        regParam=float(intent["regParam"]),
        elasticNetParam=0.0,
        standardization=True,
        fitIntercept=True,
        family="binomial",
    ).fit(assembled)
    w_std, b0 = standardised_coefficients(list(model.coefficients.toArray()), float(model.intercept), means, stds)
    return w_std, b0, means, stds


def probability_column(coefficients: Sequence[Tuple[Any, ...]]) -> Any:
    """p = 1 / (1 + exp(−(b0 + Σ w·(x − mean)/std))) as a Column: the exact formula the serving
    side uses, so predictions and coefficients cannot disagree."""
    from pyspark.sql import functions as F

    logit = F.lit(0.0)
    for name, position, coefficient, mean, stddev in coefficients:
        if position == 0:
            logit = logit + F.lit(coefficient)
        elif stddev > 0:
            logit = logit + F.lit(coefficient) * (F.col(name).cast("double") - F.lit(mean)) / F.lit(stddev)
    return F.lit(1.0) / (F.lit(1.0) + F.exp(-logit))


def exact_auc(scored: Any) -> Optional[float]:
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.sql import functions as F

    classes = scored.agg(F.countDistinct("label")).first()[0]
    if classes < 2:
        return None
    evaluator = BinaryClassificationEvaluator(rawPredictionCol="probability", labelCol="label", metricName="areaUnderROC", numBins=0)
    return float(evaluator.evaluate(scored.select(F.col("probability"), F.col("label").cast("double").alias("label"))))


def intent_tables(spark: Any, events: Any, params: Dict[str, Any]) -> Dict[str, Any]:
    """DataFrame → DataFrames: session_features, intent_predictions, intent_coefficients,
    model_metrics (stage purchase-intent)."""
    from pyspark.sql import functions as F

    intent = params["purchaseIntent"]
    register_events(events)
    sessions = shared_sql(spark, contract.table_sql("session_features")).cache()
    split = with_split(sessions, int(intent["seed"]), float(intent["trainFraction"])).cache()
    train = split.where(F.col("split") == "train")
    coefficient_schema = "feature string, position int, coefficient double, mean double, stddev double"
    if train.limit(1).count() == 0:
        # As the local engine: no model without training sessions, so no coefficients, predictions or metrics.
        return {
            "session_features": sessions,
            "intent_predictions": spark.createDataFrame(
                [], "session_id string, user_id bigint, probability double, predicted int, label int, split string"
            ),
            "intent_coefficients": spark.createDataFrame([], coefficient_schema),
            "model_metrics": metrics.metrics_dataframe(spark, []),
        }
    w_std, b0, means, stds = fit(spark, train, intent)
    rows = coefficient_rows(w_std, b0, means, stds)
    threshold = float(intent["threshold"])
    predictions = split.select(
        "session_id",
        "user_id",
        probability_column(rows).alias("probability"),
        "label",
        "split",
    ).withColumn("predicted", F.when(F.col("probability") >= F.lit(threshold), 1).otherwise(0).cast("int"))
    predictions = predictions.select("session_id", "user_id", "probability", "predicted", "label", "split").cache()
    return {
        "session_features": sessions,
        "intent_predictions": predictions,
        "intent_coefficients": spark.createDataFrame(rows, coefficient_schema),
        "model_metrics": metrics.metrics_dataframe(spark, evaluation_rows(predictions, threshold)),
    }


def evaluation_rows(predictions: Any, threshold: float) -> List[Tuple[Any, ...]]:
    """model_metrics rows on the test split (none without test sessions), next to the majority
    class of the training labels."""
    from pyspark.sql import functions as F

    counts = predictions.groupBy("split").agg(
        F.count(F.lit(1)).alias("n"),
        F.sum("label").alias("positives"),
        F.sum(F.when((F.col("predicted") == 1) & (F.col("label") == 1), 1).otherwise(0)).alias("tp"),
        F.sum(F.when((F.col("predicted") == 1) & (F.col("label") == 0), 1).otherwise(0)).alias("fp"),
        F.sum(F.when((F.col("predicted") == 0) & (F.col("label") == 0), 1).otherwise(0)).alias("tn"),
    ).collect()
    by_split = {r["split"]: r for r in counts}
    train_row, test_row = by_split.get("train"), by_split.get("test")
    if test_row is None or train_row is None:
        return []
    test_n, test_pos = int(test_row["n"]), int(test_row["positives"] or 0)
    tp, fp, tn = int(test_row["tp"]), int(test_row["fp"]), int(test_row["tn"])
    model_values: Dict[str, Optional[float]] = dict(metrics.confusion_metrics(tp, fp, tn, test_pos - tp))
    model_values["auc"] = exact_auc(predictions.where(F.col("split") == "test"))
    base = metrics.majority_class_baseline(int(train_row["positives"] or 0), int(train_row["n"]), test_pos, test_n)
    return [
        metrics.metric_row(STAGE, MODEL, name, model_values[name], test_n, None, BASELINE, base[name])
        for name in ("auc", "accuracy", "precision", "recall")
    ]


def run(spark: Any, arguments: JobArguments, store: FileStore) -> None:
    events = read_events(spark, arguments)
    for table, df in intent_tables(spark, events, arguments.params).items():
        stage = STAGE if table == "model_metrics" else None
        write_table(store, df, table, arguments.run_id, arguments.curated, arguments.exports, stage=stage)
    # The last job of the run to get here writes the run's serving manifest.json (outputs.py).
    publish_run_manifest(store, arguments.exports, arguments.run_id)
