"""Model-quality metrics in pure Python, defined as Spark MLlib defines them and as the local engine
computes them (local/ml/metrics.ts), and the model_metrics rows.

Ranking (``org.apache.spark.mllib.evaluation.RankingMetrics``, binary relevance), per user with
recommendation list ``rec`` (best first) and relevant set ``rel`` (non-empty; users with an empty
set are not evaluated), n = min(|rec|, k):

- precision@k = |{i < n : rec[i] ∈ rel}| / k (divided by k even when fewer were recommended)
- recall@k    = |{i < n : rec[i] ∈ rel}| / |rel|
- AP@k        = Σ_{i < n, rec[i] ∈ rel} hits_so_far / (i + 1), divided by min(|rel|, k); MAP@k is the mean
- NDCG@k      = DCG / IDCG with DCG = Σ_{i < n, rec[i] ∈ rel} 1 / ln(i + 2), IDCG = Σ_{i < min(|rel|, k)} 1 / ln(i + 2)

Coverage = distinct products in the evaluated top-k lists / products in the training catalogue.
The recommendations job evaluates per user on the executors with these functions (an RDD of
(recommended, relevant) pairs) rather than with RankingMetrics, to get all four numbers from one
pass and to keep the definitions testable here.

Standard library only.
"""

import math
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple


def _check_k(k: int) -> None:
    if not (isinstance(k, int) and k > 0):
        raise ValueError("k must be a positive integer, got {!r}".format(k))


def _hits(recommended: Sequence[Any], relevant: Set[Any], k: int) -> int:
    return sum(1 for item in recommended[:k] if item in relevant)


def precision_at_k(recommended: Sequence[Any], relevant: Set[Any], k: int) -> float:
    _check_k(k)
    return 0.0 if not relevant else _hits(recommended, relevant, k) / k


def recall_at_k(recommended: Sequence[Any], relevant: Set[Any], k: int) -> float:
    _check_k(k)
    return 0.0 if not relevant else _hits(recommended, relevant, k) / len(relevant)


def average_precision_at_k(recommended: Sequence[Any], relevant: Set[Any], k: int) -> float:
    _check_k(k)
    if not relevant:
        return 0.0
    hits = 0
    total = 0.0
    for i, item in enumerate(recommended[:k]):
        if item in relevant:
            hits += 1
            total += hits / (i + 1)
    return total / min(len(relevant), k)


def ndcg_at_k(recommended: Sequence[Any], relevant: Set[Any], k: int) -> float:
    _check_k(k)
    if not relevant:
        return 0.0
    n = min(max(len(recommended), len(relevant)), k)
    dcg = 0.0
    idcg = 0.0
    for i in range(n):
        gain = 1.0 / math.log(i + 2)
        if i < len(recommended) and recommended[i] in relevant:
            dcg += gain
        if i < len(relevant):
            idcg += gain
    return dcg / idcg


def ranking_sums(pairs: Iterable[Tuple[Sequence[Any], Iterable[Any]]], k: int) -> Tuple[float, float, float, float, int]:
    """(Σ precision, Σ recall, Σ AP, Σ NDCG, users) over (recommended, relevant) pairs with a
    non-empty relevant set; partial sums add up, so executors can each sum a partition."""
    sums = [0.0, 0.0, 0.0, 0.0]
    users = 0
    for recommended, relevant_items in pairs:
        relevant = set(relevant_items)
        if not relevant:
            continue
        recommended = list(recommended)
        sums[0] += precision_at_k(recommended, relevant, k)
        sums[1] += recall_at_k(recommended, relevant, k)
        sums[2] += average_precision_at_k(recommended, relevant, k)
        sums[3] += ndcg_at_k(recommended, relevant, k)
        users += 1
    return sums[0], sums[1], sums[2], sums[3], users


def ranking_means(sums: Tuple[float, float, float, float, int]) -> Dict[str, Optional[float]]:
    users = sums[4]
    names = ("precision_at_k", "recall_at_k", "map_at_k", "ndcg_at_k")
    return {name: (sums[i] / users if users else None) for i, name in enumerate(names)}


def coverage(distinct_recommended: int, catalogue_size: int) -> Optional[float]:
    return distinct_recommended / catalogue_size if catalogue_size else None


# ---------------------------------------------------------------------------------------------
# Binary classification
# ---------------------------------------------------------------------------------------------


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> Optional[float]:
    """Exact ROC AUC (Mann-Whitney, ties count ½); None when a class is absent."""
    positives = sorted(s for s, y in zip(scores, labels) if y == 1)
    negatives = sorted(s for s, y in zip(scores, labels) if y == 0)
    if not positives or not negatives:
        return None
    total = 0.0
    lower = equal_end = 0
    for p in positives:
        while lower < len(negatives) and negatives[lower] < p:
            lower += 1
        equal_end = max(equal_end, lower)
        while equal_end < len(negatives) and negatives[equal_end] == p:
            equal_end += 1
        total += lower + 0.5 * (equal_end - lower)
    return total / (len(positives) * len(negatives))


def confusion_metrics(tp: int, fp: int, tn: int, fn: int) -> Dict[str, Optional[float]]:
    """accuracy, precision (None without a positive prediction), recall (None without a positive)."""
    n = tp + fp + tn + fn
    return {
        "accuracy": (tp + tn) / n if n else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
    }


def majority_class_baseline(train_positives: int, train_total: int, test_positives: int, test_total: int) -> Dict[str, Optional[float]]:
    """The majority class of the training labels predicted for every test session (ties → 0, the
    negative class). Its AUC is 0.5 (one score for all) when the test set has both classes."""
    majority = 1 if train_positives * 2 > train_total else 0
    if majority == 1:
        tp, fp, tn, fn = test_positives, test_total - test_positives, 0, 0
    else:
        tp, fp, tn, fn = 0, 0, test_total - test_positives, test_positives
    result = confusion_metrics(tp, fp, tn, fn)
    both = 0 < test_positives < test_total
    result["auc"] = 0.5 if both else None
    return result


# ---------------------------------------------------------------------------------------------
# model_metrics rows
# ---------------------------------------------------------------------------------------------

#: model_metrics columns in the contract's order (stage, the partition key, last).
METRIC_COLUMNS = ("model", "metric", "k", "value", "baseline", "baseline_value", "evaluated_on", "stage")


def metric_row(
    stage: str,
    model: str,
    metric: str,
    value: Optional[float],
    evaluated_on: int,
    k: Optional[int] = None,
    baseline: Optional[str] = None,
    baseline_value: Optional[float] = None,
) -> Tuple[Any, ...]:
    def clean(x: Optional[float]) -> Optional[float]:
        return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)

    return (model, metric, k, clean(value), baseline, clean(baseline_value), int(evaluated_on), stage)


def metrics_dataframe(spark: Any, rows: List[Tuple[Any, ...]]) -> Any:
    from pyspark.sql import types as T

    schema = T.StructType(
        [
            T.StructField("model", T.StringType(), False),
            T.StructField("metric", T.StringType(), False),
            T.StructField("k", T.IntegerType(), True),
            T.StructField("value", T.DoubleType(), True),
            T.StructField("baseline", T.StringType(), True),
            T.StructField("baseline_value", T.DoubleType(), True),
            T.StructField("evaluated_on", T.LongType(), False),
            T.StructField("stage", T.StringType(), False),
        ]
    )
    return spark.createDataFrame(rows, schema)
