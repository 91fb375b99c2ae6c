"""The recommendations job: ALS with implicit feedback, evaluated on a time-based holdout against
popularity, then refitted on the whole run (the twin of local/engine/stages/recommendations.ts).

Method: implicit-feedback matrix factorisation (Hu, Koren, Volinsky 2008, "Collaborative
Filtering for Implicit Feedback Datasets"): preference p_ui = 1 if r_ui > 0, confidence
c_ui = 1 + alpha·r_ui, minimise Σ c_ui (p_ui − x_u·y_i)² + regParam·(Σ‖x_u‖² + Σ‖y_i‖²) by
alternating least squares (Spark MLlib ``ALS(implicitPrefs=True)``, blocked normal equations).
r_ui = view_weight·views + cart_weight·carts + purchase_weight·purchases of the pair
(recommendations/interactions.sql). Parameters: recommendations.rank, regParam, alpha, maxIter, seed,
topN, excludePurchased, holdoutDays, evaluationK, similarProductsPerProduct, minUserProducts,
candidateProducts. Complexity per ALS iteration: O(nnz·rank² + (users + items)·rank³).

Scoring. Only the ``candidateProducts`` most popular products of the fit (Σ r_ui descending, then
product id) are recommended and get similar products; only users with at least ``minUserProducts``
distinct products get recommendations (the API serves popular_products to the others). Scores are
computed exactly on the executors with numpy: a block of user (or item) factors against the
broadcast candidate factors, top n kept per row, ties to the lower product id; products the user
bought are left out when ``excludePurchased``. O(users·candidates·rank) flops.
Similar products: cosine of the item factors among the candidates, self and zero vectors excluded.

Evaluation. cutoff = the last event date − (holdoutDays − 1), at 00:00 UTC; evaluated only when
holdoutDays > 0 and the cutoff is after the first event date. ALS is fitted on the interactions
strictly before the cutoff. A user's relevant set: the products they viewed, carted or bought on or
after the cutoff that the fit knows and that they had not touched before it; evaluated users: those
with a non-empty relevant set and at least minUserProducts training products. ALS and the baseline
(the same candidates in popularity order) each recommend k = evaluationK products, purchases before
the cutoff left out when excludePurchased. precision@k, recall@k, MAP@k, NDCG@k (metrics.py) and
catalogue_coverage (distinct recommended / products of the fit) go to model_metrics (stage
recommendations, model als, baseline popularity). Nothing evaluable: no rows.
"""

import datetime as _dt
from typing import Any, Dict, List, Optional, Tuple

from . import contract, metrics
from .args import JobArguments
from .outputs import FileStore, publish_run_manifest, write_table
from .runtime import read_events, register_events, shared_sql, weight_params

STAGE = "recommendations"
MODEL = "als"
BASELINE = "popularity"


def holdout_cutoff(last_event_date: _dt.date, holdout_days: int) -> Optional[_dt.datetime]:
    """Start (00:00 UTC) of the first held-out date, or None when nothing is held out."""
    if holdout_days <= 0:
        return None
    start = last_event_date - _dt.timedelta(days=holdout_days - 1)
    return _dt.datetime(start.year, start.month, start.day)


def timestamp_text(moment: Optional[_dt.datetime]) -> Optional[str]:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def timestamp_literal(moment: _dt.datetime) -> Any:
    """A TIMESTAMP literal read in the session time zone (UTC): never Python's local time."""
    from pyspark.sql import functions as F

    return F.expr("TIMESTAMP '{}'".format(timestamp_text(moment)))


def interactions(spark: Any, events: Any, params: Dict[str, Any], before: Optional[_dt.datetime]) -> Any:
    """recommendations/interactions.sql over ``events`` (only events before ``before`` when given)."""
    register_events(events)
    return shared_sql(spark, "recommendations/interactions.sql", dict(weight_params(params), before=timestamp_text(before)))


def popular_products(spark: Any, events: Any, params: Dict[str, Any]) -> Any:
    register_events(events)
    return shared_sql(spark, contract.table_sql("popular_products"), weight_params(params))


def dense_ids(spark: Any, ids: Any, column: str, index_column: str) -> Any:
    """Distinct ``column`` values → (column, index_column int 0…n−1 in id order): ALS wants int ids,
    and REES46's ids are bigint."""
    from pyspark.sql import types as T

    distinct = ids.select(column).distinct().orderBy(column)
    indexed = distinct.rdd.map(lambda r: r[0]).zipWithIndex()
    schema = T.StructType([T.StructField(column, T.LongType(), False), T.StructField(index_column, T.IntegerType(), False)])
    return spark.createDataFrame(indexed.map(lambda p: (p[0], int(p[1]))), schema)


class Fitted:
    """An ALS fit with its id maps and what scoring needs about the training pairs."""

    def __init__(self, model: Any, users: Any, items: Any, pairs: Any) -> None:
        self.model = model
        #: (user_id, uix)
        self.users = users
        #: (product_id, iix)
        self.items = items
        #: The interactions the model was fitted on.
        self.pairs = pairs


def fit_als(spark: Any, pairs: Any, rec_params: Dict[str, Any]) -> Fitted:
    """ALS on (user_id, product_id, rating)."""
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as F

    users = dense_ids(spark, pairs, "user_id", "uix").cache()
    items = dense_ids(spark, pairs, "product_id", "iix").cache()
    data = pairs.join(users, "user_id").join(items, "product_id").select("uix", "iix", F.col("rating").cast("float"))
    als = ALS(
        rank=int(rec_params["rank"]),
        maxIter=int(rec_params["maxIter"]),
        regParam=float(rec_params["regParam"]),
        alpha=float(rec_params["alpha"]),
        implicitPrefs=True,
        seed=int(rec_params["seed"]),
        userCol="uix",
        itemCol="iix",
        ratingCol="rating",
        nonnegative=False,
        coldStartStrategy="drop",
    )
    return Fitted(als.fit(data), users, items, pairs)


def candidate_products(pairs: Any, limit: int) -> List[int]:
    """The ``limit`` most popular products of the pairs: Σ rating descending, then product id."""
    from pyspark.sql import functions as F

    ranked = pairs.groupBy("product_id").agg(F.sum("rating").alias("score")).orderBy(F.desc("score"), F.asc("product_id"))
    return [int(r[0]) for r in ranked.limit(limit).collect()]


def eligible_users(pairs: Any, min_products: int) -> Any:
    """(user_id) of users with at least ``min_products`` distinct products in the pairs."""
    from pyspark.sql import functions as F

    return pairs.groupBy("user_id").agg(F.countDistinct("product_id").alias("n")).where(F.col("n") >= min_products).select("user_id")


def purchased_lists(pairs: Any) -> Any:
    """(user_id, bought: array<bigint>) of the products each user bought in the pairs."""
    from pyspark.sql import functions as F

    return pairs.where(F.col("purchases") > 0).groupBy("user_id").agg(F.collect_set("product_id").alias("bought"))


def _factor_table(fitted: Fitted, products: List[int]) -> Tuple[Any, Any]:
    """(ids, matrix) of the item factors of ``products`` that the model has, in product id order."""
    import numpy as np
    from pyspark.sql import functions as F

    rows = (
        fitted.model.itemFactors.join(fitted.items.withColumnRenamed("iix", "id"), "id")
        .where(F.col("product_id").isin(products))
        .select("product_id", "features")
        .collect()
    )
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, fitted.model.rank), dtype=np.float64)
    rows.sort(key=lambda r: r[0])
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    matrix = np.array([list(r[1]) for r in rows], dtype=np.float64)
    return ids, matrix


def top_n_rows(ids: Any, scores: Any, n: int, exclude: Any) -> List[Tuple[int, int, float]]:
    """(rank, id, score) of the n best scores (ties: lower id; ``ids`` ascending), ``exclude`` ids left out."""
    import numpy as np

    keep = np.ones(len(ids), dtype=bool)
    if exclude:
        keep &= ~np.isin(ids, np.array(sorted(exclude), dtype=np.int64))
    keep &= np.isfinite(scores)
    positions = np.nonzero(keep)[0]
    order = positions[np.lexsort((ids[positions], -scores[positions]))][:n]
    return [(rank, int(ids[p]), float(scores[p])) for rank, p in enumerate(order, start=1)]


def recommend(spark: Any, fitted: Fitted, users: Any, candidates: List[int], how_many: int, purchased: Optional[Any]) -> Any:
    """(user_id, rank, product_id, score): top ``how_many`` candidates per user of ``users``
    (user_id), the user's bought products (``purchased``) left out."""
    from pyspark.sql import functions as F, types as T

    schema = T.StructType(
        [
            T.StructField("user_id", T.LongType(), False),
            T.StructField("rank", T.IntegerType(), False),
            T.StructField("product_id", T.LongType(), False),
            T.StructField("score", T.DoubleType(), False),
        ]
    )
    ids, matrix = _factor_table(fitted, candidates)
    if len(ids) == 0:
        return spark.createDataFrame([], schema)
    shared = spark.sparkContext.broadcast((ids, matrix))
    queries = (
        users.join(fitted.users, "user_id")
        .join(fitted.model.userFactors.withColumnRenamed("id", "uix"), "uix")
        .select("user_id", "features")
    )
    if purchased is not None:
        queries = queries.join(purchased, "user_id", "left")
    else:
        queries = queries.withColumn("bought", F.lit(None).cast("array<bigint>"))

    def score_partition(rows: Any) -> Any:
        import numpy as np

        pool_ids, pool = shared.value
        block: List[Any] = []

        def flush() -> Any:
            factors = np.array([list(r[1]) for r in block], dtype=np.float64)
            scores = factors @ pool.T
            for row, user_scores in zip(block, scores):
                for rank, product, value in top_n_rows(pool_ids, user_scores, how_many, row[2]):
                    yield (int(row[0]), rank, product, value)

        for row in rows:
            block.append(row)
            if len(block) == 512:
                for out in flush():
                    yield out
                block = []
        if block:
            for out in flush():
                yield out

    return spark.createDataFrame(queries.select("user_id", "features", "bought").rdd.mapPartitions(score_partition), schema)


def similar_products(spark: Any, fitted: Fitted, candidates: List[int], per_product: int) -> Any:
    """(product_id, rank, similar_product_id, similarity): the most cosine-similar candidates of each
    candidate, self and zero factor vectors excluded, ties by similar_product_id."""
    import numpy as np
    from pyspark.sql import types as T

    schema = T.StructType(
        [
            T.StructField("product_id", T.LongType(), False),
            T.StructField("rank", T.IntegerType(), False),
            T.StructField("similar_product_id", T.LongType(), False),
            T.StructField("similarity", T.DoubleType(), False),
        ]
    )
    ids, matrix = _factor_table(fitted, candidates)
    norms = np.linalg.norm(matrix, axis=1)
    nonzero = norms > 0
    if int(nonzero.sum()) < 2:
        return spark.createDataFrame([], schema)
    ids, unit = ids[nonzero], matrix[nonzero] / norms[nonzero][:, None]
    shared = spark.sparkContext.broadcast((ids, unit))

    def top_similar(positions: Any) -> Any:
        all_ids, all_unit = shared.value
        block = list(positions)
        # 64 rows × the candidates of doubles at a time (5 MB at the default 10 000 candidates).
        for start in range(0, len(block), 64):
            rows = np.array(block[start:start + 64], dtype=np.int64)
            sims = all_unit[rows] @ all_unit.T
            for row_no, position in enumerate(rows):
                sim = np.clip(sims[row_no], -1.0, 1.0)
                for rank, other, value in top_n_rows(all_ids, sim, per_product, {int(all_ids[position])}):
                    yield (int(all_ids[position]), rank, other, value)

    slices = max(1, min(len(ids) // 1000, 1000))
    return spark.createDataFrame(spark.sparkContext.parallelize(range(len(ids)), slices).mapPartitions(top_similar), schema)


def evaluation_rows(spark: Any, events: Any, params: Dict[str, Any]) -> List[Tuple[Any, ...]]:
    """model_metrics rows of ALS against popularity on the time-based holdout (none when nothing is evaluable)."""
    from pyspark.sql import functions as F

    rec = params["recommendations"]
    k = int(rec["evaluationK"])
    holdout_days = int(rec["holdoutDays"])
    bounds = events.agg(F.min("event_date"), F.max("event_date")).first()
    if holdout_days <= 0 or bounds[0] is None:
        return []
    cutoff = holdout_cutoff(bounds[1], holdout_days)
    if cutoff is None or cutoff.date() <= bounds[0]:
        return []
    train = interactions(spark, events, params, cutoff).cache()
    if train.limit(1).count() == 0:
        return []
    fitted = fit_als(spark, train, rec)
    touched = (
        events.where((F.col("event_time") >= timestamp_literal(cutoff)) & F.col("event_type").isin("view", "cart", "purchase"))
        .select("user_id", "product_id")
        .distinct()
        .join(fitted.users.select("user_id"), "user_id")
        .join(fitted.items.select("product_id"), "product_id")
        .join(train.select("user_id", "product_id"), ["user_id", "product_id"], "left_anti")
    )
    relevant = (
        touched.join(eligible_users(train, int(rec["minUserProducts"])), "user_id")
        .groupBy("user_id")
        .agg(F.collect_set("product_id").alias("relevant"))
        .cache()
    )
    if relevant.limit(1).count() == 0:
        return []
    candidates = candidate_products(train, int(rec["candidateProducts"]))
    purchased = purchased_lists(train) if rec["excludePurchased"] else None
    als_lists = recommend(spark, fitted, relevant.select("user_id"), candidates, k, purchased)
    base_lists = popularity_lists(spark, relevant.select("user_id"), candidates, k, purchased)
    catalogue = fitted.items.count()
    als_values, users, als_distinct = evaluate_lists(als_lists, relevant, k)
    base_values, _, base_distinct = evaluate_lists(base_lists, relevant, k)
    names = ("precision_at_k", "recall_at_k", "map_at_k", "ndcg_at_k")
    rows = [metrics.metric_row(STAGE, MODEL, n, als_values[n], users, k, BASELINE, base_values[n]) for n in names]
    rows.append(
        metrics.metric_row(
            STAGE, MODEL, "catalogue_coverage", metrics.coverage(als_distinct, catalogue), users, k, BASELINE,
            metrics.coverage(base_distinct, catalogue),
        )
    )
    return rows


def popularity_lists(spark: Any, users: Any, candidates: List[int], k: int, purchased: Optional[Any]) -> Any:
    """(user_id, rank, product_id): the candidates in popularity order, the user's purchases left
    out, first k."""
    from pyspark.sql import Window, functions as F

    extra = 0
    if purchased is not None:
        most = purchased.agg(F.max(F.size("bought"))).first()[0]
        extra = int(most or 0)
    top = spark.createDataFrame(
        [(i + 1, p) for i, p in enumerate(candidates[: k + extra])], "popularity_rank int, product_id bigint"
    )
    pairs = users.crossJoin(F.broadcast(top))
    if purchased is not None:
        bought = purchased.select("user_id", F.explode("bought").alias("product_id"))
        pairs = pairs.join(bought, ["user_id", "product_id"], "left_anti")
    order = Window.partitionBy("user_id").orderBy("popularity_rank")
    return pairs.withColumn("rank", F.row_number().over(order).cast("int")).where(F.col("rank") <= k).select(
        "user_id", "rank", "product_id"
    )


def evaluate_lists(recommended: Any, relevant: Any, k: int) -> Tuple[Dict[str, Optional[float]], int, int]:
    """Ranking means over the users of ``relevant`` (user_id, relevant), their number, and the
    distinct products recommended to them."""
    from pyspark.sql import functions as F

    lists = recommended.groupBy("user_id").agg(F.sort_array(F.collect_list(F.struct("rank", "product_id"))).alias("l")).select(
        "user_id", F.col("l.product_id").alias("recommended")
    )
    joined = relevant.join(lists, "user_id", "left")
    sums = (
        joined.select("recommended", "relevant")
        .rdd.mapPartitions(lambda rows: [metrics.ranking_sums(((r[0] or [], r[1]) for r in rows), k)])
        .fold((0.0, 0.0, 0.0, 0.0, 0), lambda a, b: tuple(x + y for x, y in zip(a, b)))
    )
    distinct = recommended.join(relevant.select("user_id"), "user_id").select("product_id").distinct().count()
    return metrics.ranking_means(sums), int(sums[4]), int(distinct)


def recommendation_tables(spark: Any, events: Any, params: Dict[str, Any]) -> Dict[str, Any]:
    """DataFrame → DataFrames: model_metrics (stage recommendations), user_recommendations,
    similar_products, popular_products."""
    rec = params["recommendations"]
    metric_rows = evaluation_rows(spark, events, params)
    popular = popular_products(spark, events, params)
    pairs = interactions(spark, events, params, None).cache()
    if pairs.limit(1).count() == 0:
        return {
            "model_metrics": metrics.metrics_dataframe(spark, metric_rows),
            "user_recommendations": spark.createDataFrame([], "user_id bigint, rank int, product_id bigint, score double"),
            "similar_products": spark.createDataFrame([], "product_id bigint, rank int, similar_product_id bigint, similarity double"),
            "popular_products": popular,
        }
    fitted = fit_als(spark, pairs, rec)
    candidates = candidate_products(pairs, int(rec["candidateProducts"]))
    purchased = purchased_lists(pairs) if rec["excludePurchased"] else None
    users = eligible_users(pairs, int(rec["minUserProducts"]))
    return {
        "model_metrics": metrics.metrics_dataframe(spark, metric_rows),
        "user_recommendations": recommend(spark, fitted, users, candidates, int(rec["topN"]), purchased),
        "similar_products": similar_products(spark, fitted, candidates, int(rec["similarProductsPerProduct"])),
        "popular_products": popular,
    }


def run(spark: Any, arguments: JobArguments, store: FileStore) -> None:
    events = read_events(spark, arguments).cache()
    for table, df in recommendation_tables(spark, events, arguments.params).items():
        stage = STAGE if table == "model_metrics" else None
        write_table(store, df, table, arguments.run_id, arguments.curated, arguments.exports, stage=stage)
    # The last job of the run to get here writes the run's serving manifest.json (outputs.py).
    publish_run_manifest(store, arguments.exports, arguments.run_id)
