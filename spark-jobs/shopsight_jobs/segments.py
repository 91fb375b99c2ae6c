"""The segments job: customers grouped by behaviour with k-means, and the groups named (the twin of
local/engine/stages/segments.ts: same features, same naming rule).

Method: k-means (Lloyd's algorithm with k-means|| initialisation, Bahmani et al. 2012; Spark MLlib
``KMeans``, Euclidean distance) on the customer features of segments/customer_features.sql.
Clustering features, in order: recency_days, then ln(1 + x) of frequency, monetary, views, carts,
purchases and sessions (heavy-tailed counts would otherwise let a few bot-like users own whole
clusters), then cart_to_view_rate and purchase_to_cart_rate (null → 0); each standardised to
z-scores (mean and sample standard deviation; a constant feature becomes 0). k = min(segments.k,
customers); maxIter, seed. Complexity O(maxIter·users·k·features). Quality: within-cluster sum of
squared distances (wssse, on the standardised features) and the silhouette (ClusteringEvaluator,
squared Euclidean; null with fewer than two clusters), to model_metrics stage segments, model
kmeans, no baseline. No customers: empty tables and no metric rows.

Names (``name_segments``, the local ``nameSegments``), from each segment's averages in original units:
- buyers are segments whose customers average at least 0.5 purchase sessions (frequency); the buyer
  segment with the highest average (ties: lower id) is ``frequent_buyers`` when that average is
  ≥ 1.5, else ``regular_buyers``; every other buyer segment is ``regular_buyers``;
- of the rest: ``cart_abandoners`` when they average ≥ 0.5 cart events; else ``lapsed_visitors``
  when their average recency is at least half of the run's span in days (first to last event);
  else ``one_time_visitors`` when they average under 1.5 sessions; else ``window_shoppers``;
- a name given twice gets _2, _3 … in segment id order.
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import metrics
from .args import JobArguments
from .outputs import FileStore, publish_run_manifest, write_table
from .runtime import read_events, register_events, shared_sql

STAGE = "segments"
MODEL = "kmeans"

#: customer_features columns the clustering uses, in order, and whether each enters as ln(1 + x).
FEATURES: Tuple[Tuple[str, bool], ...] = (
    ("recency_days", False),
    ("frequency", True),
    ("monetary", True),
    ("views", True),
    ("carts", True),
    ("purchases", True),
    ("sessions", True),
    ("cart_to_view_rate", False),
    ("purchase_to_cart_rate", False),
)

BUYER_FREQUENCY = 0.5
FREQUENT_FREQUENCY = 1.5
ABANDONER_CARTS = 0.5
ONE_TIME_SESSIONS = 1.5


def _value(profile: Mapping[str, Any], key: str) -> float:
    value = profile.get(key)
    return 0.0 if value is None else float(value)


def name_segments(profiles: Sequence[Mapping[str, Any]], run_span_days: float) -> List[str]:
    """Names of the segments, in the order given (segment id order), from their averages in original
    units (keys frequency, carts, sessions, recency_days; a missing key counts as 0) and the run's
    span in days. Pure: see the module note for the rule."""
    top: Optional[int] = None
    for i, p in enumerate(profiles):
        if _value(p, "frequency") >= BUYER_FREQUENCY and (top is None or _value(p, "frequency") > _value(profiles[top], "frequency")):
            top = i
    base: List[str] = []
    for i, p in enumerate(profiles):
        if _value(p, "frequency") >= BUYER_FREQUENCY:
            base.append("frequent_buyers" if i == top and _value(p, "frequency") >= FREQUENT_FREQUENCY else "regular_buyers")
        elif _value(p, "carts") >= ABANDONER_CARTS:
            base.append("cart_abandoners")
        elif _value(p, "recency_days") >= run_span_days / 2:
            base.append("lapsed_visitors")
        elif _value(p, "sessions") < ONE_TIME_SESSIONS:
            base.append("one_time_visitors")
        else:
            base.append("window_shoppers")
    seen: Dict[str, int] = {}
    names = []
    for name in base:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else "{}_{}".format(name, seen[name]))
    return names


def standardise(customers: Any) -> Tuple[Any, Any]:
    """(customers with ``features``: the z-scored vector, fitted scaler model)."""
    from pyspark.ml.feature import StandardScaler, VectorAssembler
    from pyspark.sql import functions as F

    def feature(name: str, log: bool) -> Any:
        value = F.col(name).cast("double")
        return (F.log1p(value) if log else F.coalesce(value, F.lit(0.0))).alias("_f_" + name)

    filled = customers.select("*", *[feature(name, log) for name, log in FEATURES])
    inputs = ["_f_" + name for name, _ in FEATURES]
    assembled = VectorAssembler(inputCols=inputs, outputCol="raw_features").transform(filled)
    scaler = StandardScaler(inputCol="raw_features", outputCol="features", withMean=True, withStd=True).fit(assembled)
    scaled = scaler.transform(assembled).drop("raw_features", *inputs)
    return scaled, scaler


def segment_tables(spark: Any, events: Any, params: Dict[str, Any]) -> Dict[str, Any]:
    """DataFrame → DataFrames: customer_segments, segment_profiles, model_metrics (stage segments)."""
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.evaluation import ClusteringEvaluator
    from pyspark.sql import functions as F

    seg = params["segments"]
    register_events(events)
    customers = shared_sql(spark, "segments/customer_features.sql").cache()
    users = customers.count()
    if users == 0:
        return empty_tables(spark)
    scaled, _ = standardise(customers)
    scaled = scaled.cache()
    wssse: Optional[float] = None
    silhouette: Optional[float] = None
    k = min(int(seg["k"]), users)
    if k >= 2:
        model = KMeans(k=k, maxIter=int(seg["maxIter"]), seed=int(seg["seed"]), featuresCol="features", predictionCol="segment_id").fit(scaled)
        assigned = model.transform(scaled).withColumn("segment_id", F.col("segment_id").cast("int"))
        wssse = float(model.summary.trainingCost)
        clusters = assigned.select("segment_id").distinct().count()
        if clusters >= 2:
            silhouette = float(ClusteringEvaluator(featuresCol="features", predictionCol="segment_id").evaluate(assigned))
    else:
        # One customer: one segment, at its own centroid.
        assigned = scaled.withColumn("segment_id", F.lit(0).cast("int"))
        wssse = 0.0
    assigned = assigned.drop("features").cache()

    averages = [F.avg(F.col(c).cast("double")).alias(c) for c in ("recency_days", "frequency", "monetary", "views", "carts", "purchases", "sessions")]
    profile_rows = (
        assigned.groupBy("segment_id")
        .agg(F.count(F.lit(1)).alias("customers"), F.sum("monetary").cast("double").alias("segment_monetary"), *averages)
        .orderBy("segment_id")
        .collect()
    )
    span = events.agg(F.expr("(unix_micros(max(event_time)) - unix_micros(min(event_time))) / 86400e6")).first()[0]
    names = name_segments([r.asDict() for r in profile_rows], float(span or 0.0))
    total_monetary = sum(float(r["segment_monetary"] or 0.0) for r in profile_rows)
    name_rows = [(int(r["segment_id"]), names[i]) for i, r in enumerate(profile_rows)]
    name_df = spark.createDataFrame(name_rows, "segment_id int, segment_name string")
    profiles = spark.createDataFrame(
        [
            (
                int(r["segment_id"]),
                names[i],
                int(r["customers"]),
                float(r["customers"]) / users if users else 0.0,
                float(r["recency_days"]),
                float(r["frequency"]),
                float(r["monetary"]),
                float(r["views"]),
                float(r["carts"]),
                float(r["purchases"]),
                float(r["sessions"]),
                float(r["segment_monetary"] or 0.0) / total_monetary if total_monetary > 0 else 0.0,
            )
            for i, r in enumerate(profile_rows)
        ],
        "segment_id int, segment_name string, customers bigint, share double, avg_recency_days double, "
        "avg_frequency double, avg_monetary double, avg_views double, avg_carts double, avg_purchases double, "
        "avg_sessions double, revenue_share double",
    )
    segments = assigned.join(F.broadcast(name_df), "segment_id").select(
        "user_id",
        "segment_id",
        "segment_name",
        "recency_days",
        "frequency",
        "monetary",
        "views",
        "carts",
        "purchases",
        "sessions",
        "cart_to_view_rate",
        "purchase_to_cart_rate",
    )
    metric_rows = [
        metrics.metric_row(STAGE, MODEL, "wssse", wssse, users),
        metrics.metric_row(STAGE, MODEL, "silhouette", silhouette, users),
    ]
    return {
        "customer_segments": segments,
        "segment_profiles": profiles,
        "model_metrics": metrics.metrics_dataframe(spark, metric_rows),
    }


def empty_tables(spark: Any) -> Dict[str, Any]:
    segments = spark.createDataFrame(
        [],
        "user_id bigint, segment_id int, segment_name string, recency_days double, frequency bigint, "
        "monetary decimal(18,2), views bigint, carts bigint, purchases bigint, sessions bigint, "
        "cart_to_view_rate double, purchase_to_cart_rate double",
    )
    profiles = spark.createDataFrame(
        [],
        "segment_id int, segment_name string, customers bigint, share double, avg_recency_days double, "
        "avg_frequency double, avg_monetary double, avg_views double, avg_carts double, avg_purchases double, "
        "avg_sessions double, revenue_share double",
    )
    return {"customer_segments": segments, "segment_profiles": profiles, "model_metrics": metrics.metrics_dataframe(spark, [])}


def run(spark: Any, arguments: JobArguments, store: FileStore) -> None:
    events = read_events(spark, arguments)
    for table, df in segment_tables(spark, events, arguments.params).items():
        stage = STAGE if table == "model_metrics" else None
        write_table(store, df, table, arguments.run_id, arguments.curated, arguments.exports, stage=stage)
    # The last job of the run to get here writes the run's serving manifest.json (outputs.py).
    publish_run_manifest(store, arguments.exports, arguments.run_id)
