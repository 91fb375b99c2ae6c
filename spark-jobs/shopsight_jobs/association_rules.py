"""The association-rules job: FP-Growth over two kinds of purchase baskets.

Method: FP-Growth (Han, Pei, Yin 2000) as parallelised in Spark MLlib (PFP, Li et al. 2008,
``pyspark.ml.fpm.FPGrowth``), then MLlib's rule generation: every rule X → {y} of a frequent
itemset X ∪ {y} with confidence = support(X ∪ {y}) / support(X) ≥ minConfidence;
lift = confidence / support({y}). Support is relative to all baskets of the kind (baskets of one
item count in that denominator but cannot give a rule).

Basket kinds (shared SQL, features/*.sql): ``sub_category`` = the sub-categories one user bought on
one date (the original Apriori's basket), ``product`` = the products bought in one session.
Parameters: associationRules.minSupportSubCategory / minSupportProduct / minConfidence /
boughtTogetherPerProduct. Complexity: two passes over the baskets plus the conditional FP-trees,
exponential in the worst case in the basket width; purchase baskets are narrow.
"""

from typing import Any, Dict, Iterable, List, Tuple

from .args import JobArguments
from .outputs import FileStore, publish_run_manifest, write_table
from .runtime import read_events, register_events, shared_sql

ANTECEDENT_SEPARATOR = " & "

#: basket kind → (shared SQL, support parameter).
BASKET_KINDS: Dict[str, Tuple[str, str]] = {
    "sub_category": ("association-rules/sub_category_baskets.sql", "minSupportSubCategory"),
    "product": ("association-rules/product_baskets.sql", "minSupportProduct"),
}


def format_antecedent(items: Iterable[Any]) -> str:
    """The antecedent column: the items as text, sorted as text (code point order, which is also
    Spark's ``array_sort`` order on strings), joined by " & "."""
    return ANTECEDENT_SEPARATOR.join(sorted(str(i) for i in items))


def basket_items(baskets: Any) -> Any:
    """(basket_id, item) rows → one row per basket with the distinct items as text (``items``)."""
    from pyspark.sql import functions as F

    return baskets.groupBy("basket_id").agg(F.array_sort(F.collect_set(F.col("item").cast("string"))).alias("items"))


def mine_rules(spark: Any, baskets: Any, basket_kind: str, min_support: float, min_confidence: float) -> Any:
    """FP-Growth rules of one basket kind in the association_rules contract columns."""
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F

    grouped = basket_items(baskets).cache()
    total = grouped.count()
    columns = ["basket_kind", "antecedent", "antecedent_size", "consequent", "support", "confidence", "lift", "baskets"]
    if total == 0:
        return spark.createDataFrame(
            [], "basket_kind string, antecedent string, antecedent_size int, consequent string, "
            "support double, confidence double, lift double, baskets bigint"
        )
    model = FPGrowth(itemsCol="items", minSupport=float(min_support), minConfidence=float(min_confidence)).fit(grouped)
    frequent = model.freqItemsets.select(F.array_sort("items").alias("itemset"), F.col("freq").alias("baskets"))
    rules = model.associationRules.withColumn("itemset", F.array_sort(F.concat("antecedent", "consequent")))
    result = rules.join(frequent, "itemset", "inner").select(
        F.lit(basket_kind).alias("basket_kind"),
        F.concat_ws(ANTECEDENT_SEPARATOR, F.array_sort("antecedent")).alias("antecedent"),
        F.size("antecedent").cast("int").alias("antecedent_size"),
        F.element_at("consequent", 1).alias("consequent"),
        (F.col("baskets").cast("double") / F.lit(float(total))).alias("support"),
        F.col("confidence").cast("double").alias("confidence"),
        F.col("lift").cast("double").alias("lift"),
        F.col("baskets").cast("bigint").alias("baskets"),
    )
    return result.select(*columns)


def bought_together(product_rules: Any, per_product: int) -> Any:
    """Product rules with a one-item antecedent → the bought_together table (top ``per_product``
    per product by confidence, then lift, then the lowest other product id)."""
    from pyspark.sql import Window, functions as F

    single = product_rules.where((F.col("basket_kind") == "product") & (F.col("antecedent_size") == 1)).select(
        F.col("antecedent").cast("bigint").alias("product_id"),
        F.col("consequent").cast("bigint").alias("other_product_id"),
        "support",
        "confidence",
        "lift",
        "baskets",
    )
    order = Window.partitionBy("product_id").orderBy(F.desc("confidence"), F.desc("lift"), F.asc("other_product_id"))
    ranked = single.withColumn("rank", F.row_number().over(order).cast("int")).where(F.col("rank") <= per_product)
    return ranked.select("product_id", "rank", "other_product_id", "support", "confidence", "lift", "baskets")


def association_tables(spark: Any, events: Any, params: Dict[str, Any]) -> Dict[str, Any]:
    """DataFrame → DataFrames: association_rules (both kinds) and bought_together."""
    rule_params = params["associationRules"]
    register_events(events)
    per_kind: List[Any] = []
    for kind, (path, support_key) in BASKET_KINDS.items():
        baskets = shared_sql(spark, path)
        per_kind.append(mine_rules(spark, baskets, kind, rule_params[support_key], rule_params["minConfidence"]))
    rules = per_kind[0].unionByName(per_kind[1]).cache()
    return {
        "association_rules": rules,
        "bought_together": bought_together(rules, int(rule_params["boughtTogetherPerProduct"])),
    }


def run(spark: Any, arguments: JobArguments, store: FileStore) -> None:
    events = read_events(spark, arguments)
    for table, df in association_tables(spark, events, arguments.params).items():
        write_table(store, df, table, arguments.run_id, arguments.curated, arguments.exports)
    # The last job of the run to get here writes the run's serving manifest.json (outputs.py).
    publish_run_manifest(store, arguments.exports, arguments.run_id)
