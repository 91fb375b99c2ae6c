"""Benchmark (not a test): ShopSight's ALS and FP-Growth next to their PyPI peers, the `implicit`
library's AlternatingLeastSquares and mlxtend's fpgrowth, on the same ratings and baskets, in the
same session (issue 12, "peer comparison").

    PY=$(bash bench/peers-env.sh) && "$PY" bench/peers.py [--sizes 1000000] [--runs 3] [--threads 1,2]

For each size:
1. inputs, made by ShopSight itself and cached under bench/.data (git-ignored): `shopsight generate
   --dataset rees46 --seed 42`, then `shopsight run` (its `events` table is Parquet, partitioned by
   event_date);
2. export (DuckDB here, over an `events` view of that Parquet): the recommendations stage's
   evaluation inputs, built with the shared SQL (core/sql/recommendations/interactions.sql, filled by
   spark-jobs' load_sql) exactly as local/engine/stages/recommendations.ts builds them: the holdout
   cutoff (the last holdoutDays dates), the training ratings with their user / item indices, the
   relevant holdout items, the evaluated users, the candidate products, and the baskets of the
   association-rules stage (product and sub-category baskets, core/sql/association-rules/) indexed
   as local/engine/stages/association-rules.ts indexes them. Files: raw little-endian arrays and a
   meta.json that both sides read;
3. --runs times: bench/peers-shopsight.ts in a fresh Node process (trainImplicitAls per thread
   count, its evaluation with recommendForUsers and RankingAccumulator, fpGrowth on both basket
   kinds) and, in this process, implicit's ALS (per thread count) with the same evaluation
   re-implemented here, and mlxtend's fpgrowth on the same baskets; the order of the two sides
   alternates between runs. Each run also times two fixed baselines (a 1-thread float32 matrix
   product in numpy, and a scalar multiply-add loop in Node) to show how loaded the machine was.

Results: bench/results/peers.json (every run kept, medians, the itemset comparison, the load
average, versions). The README's "Peers" section says how the two ALS models differ.
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

# One BLAS thread: implicit parallelises over users itself (OpenMP) and warns when BLAS threads too.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "spark-jobs"))
from shopsight_jobs.sql import load_sql  # noqa: E402

DATA = ROOT / "bench" / ".data"
RESULTS = ROOT / "bench" / "results" / "peers.json"
BIN = ROOT / "local" / "cli" / "bin.js"
TS_SIDE = ROOT / "bench" / "peers-shopsight.ts"
TS_NODE = ROOT / "node_modules" / ".bin" / "ts-node"


def pipeline_params() -> Dict[str, Any]:
    """DEFAULT_PIPELINE_PARAMETERS, read from the TypeScript definition (never copied by hand)."""
    out = subprocess.run(
        [str(TS_NODE), "--transpile-only", "-e",
         "console.log(JSON.stringify(require('./core/config/pipeline-params').DEFAULT_PIPELINE_PARAMETERS))"],
        cwd=str(ROOT), check=True, stdout=subprocess.PIPE, universal_newlines=True)
    return json.loads(out.stdout)


# ---------------------------------------------------------------------------------------------
# Inputs: generated file and shopsight run, cached.

def node(args: List[str]) -> None:
    done = subprocess.run(["node", str(BIN)] + args, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True, env={**os.environ, "CI": "1"})
    if done.returncode != 0:
        raise RuntimeError("shopsight {} failed ({}):\n{}".format(args[0], done.returncode, done.stderr[-3000:]))


def shopsight_run(events: int) -> Path:
    source = DATA / "rees46-{}.csv.gz".format(events)
    if not source.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        node(["generate", "--dataset", "rees46", "--events", str(events), "--seed", "42", "--out", str(source)])
    run = DATA / "peers-run-{}".format(events)
    if not (run / "run-summary.json").exists():
        node(["run", "--input", str(source), "--out", str(run), "--no-report"])
    return run


# ---------------------------------------------------------------------------------------------
# Export: the stages' inputs, built as the stages build them.

def write(folder: Path, name: str, array: np.ndarray, dtype: str) -> None:
    np.ascontiguousarray(array, dtype=dtype).tofile(str(folder / "{}.{}".format(name, dtype)))


def column(con: duckdb.DuckDBPyConnection, sql: str, dtype: str) -> np.ndarray:
    rows = con.execute(sql).fetchnumpy()
    return np.asarray(next(iter(rows.values())), dtype=dtype)


def export(run: Path, folder: Path, params: Dict[str, Any]) -> Dict[str, Any]:
    """Writes the ratings, evaluation lists and baskets into `folder`; returns meta.json's content."""
    meta_file = folder / "meta.json"
    if meta_file.exists():
        return json.loads(meta_file.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    r = params["recommendations"]
    weights = {"view_weight": params["eventWeights"]["view"], "cart_weight": params["eventWeights"]["cart"],
               "purchase_weight": params["eventWeights"]["purchase"]}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # The run writes event_time as UTC TIMESTAMPTZ (outputs.ts); the engine's events table holds a UTC TIMESTAMP.
    con.execute("""CREATE VIEW events AS SELECT * REPLACE (timezone('UTC', event_time) AS event_time)
                   FROM read_parquet('{}/events/*/*.parquet', hive_partitioning = true, hive_types = {{'event_date': 'DATE'}})""".format(run))
    events = con.execute("SELECT count(*) FROM events").fetchone()[0]

    # Holdout cutoff, as runRecommendations: the last holdoutDays dates.
    first, cutoff_date = con.execute(
        "SELECT CAST(min(event_date) AS VARCHAR), CAST(CAST(max(event_date) - INTERVAL {} DAY AS DATE) AS VARCHAR) FROM events".format(r["holdoutDays"] - 1)).fetchone()
    if not (r["holdoutDays"] > 0 and cutoff_date > first):
        raise RuntimeError("no holdout: the run must cover more than holdoutDays dates")
    cutoff = "{} 00:00:00".format(cutoff_date)
    con.execute("CREATE TABLE _inter_eval AS " + load_sql("recommendations/interactions.sql", {**weights, "before": cutoff}))
    con.execute("""CREATE TABLE _u_eval AS SELECT user_id, CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) AS u
                   FROM (SELECT DISTINCT user_id FROM _inter_eval)""")
    con.execute("""CREATE TABLE _i_eval AS SELECT product_id, CAST(row_number() OVER (ORDER BY product_id) - 1 AS INTEGER) AS i, score
                   FROM (SELECT product_id, SUM(rating) AS score FROM _inter_eval GROUP BY product_id)""")
    users = con.execute("SELECT count(*) FROM _u_eval").fetchone()[0]
    items = con.execute("SELECT count(*) FROM _i_eval").fetchone()[0]
    ratings = con.execute("""SELECT u, i, CAST(rating AS FLOAT) AS r, CAST(purchases AS INTEGER) AS p
                             FROM _inter_eval JOIN _u_eval USING (user_id) JOIN _i_eval USING (product_id) ORDER BY u, i""").fetchnumpy()
    write(folder, "ratings_u", ratings["u"], "int32")
    write(folder, "ratings_i", ratings["i"], "int32")
    write(folder, "ratings_r", ratings["r"], "float32")
    write(folder, "ratings_p", ratings["p"], "int32")
    # Relevant: products a training user touched in the holdout and not before it.
    relevant = con.execute("""SELECT u.u, i.i FROM (SELECT DISTINCT user_id, product_id FROM events
                                WHERE event_time >= TIMESTAMP '{}' AND event_type IN ('view', 'cart', 'purchase')) h
                              JOIN _u_eval u USING (user_id) JOIN _i_eval i USING (product_id)
                              ANTI JOIN _inter_eval t ON t.user_id = h.user_id AND t.product_id = h.product_id
                              ORDER BY u.u, i.i""".format(cutoff)).fetchnumpy()
    write(folder, "relevant_u", relevant["u"], "int32")
    write(folder, "relevant_i", relevant["i"], "int32")
    candidates = column(con, "SELECT i FROM (SELECT i FROM _i_eval ORDER BY score DESC, product_id LIMIT {}) ORDER BY i".format(r["candidateProducts"]), "int32")
    popular = column(con, "SELECT i FROM _i_eval ORDER BY score DESC, product_id LIMIT {}".format(r["candidateProducts"]), "int32")
    write(folder, "candidates", candidates, "int32")
    write(folder, "popular", popular, "int32")
    # Evaluated: users with a relevant item and at least minUserProducts distinct products in training.
    user_products = np.bincount(ratings["u"], minlength=users)
    eval_users = np.unique(relevant["u"])
    eval_users = eval_users[user_products[eval_users] >= r["minUserProducts"]].astype("int32")
    write(folder, "eval_users", eval_users, "int32")

    baskets: Dict[str, Any] = {}
    for kind, sql in (("product", "association-rules/product_baskets.sql"), ("sub_category", "association-rules/sub_category_baskets.sql")):
        # As runAssociationRules: distinct text pairs, items and baskets numbered in text order.
        con.execute("CREATE OR REPLACE TABLE _baskets AS SELECT DISTINCT CAST(basket_id AS VARCHAR) AS basket_id, CAST(item AS VARCHAR) AS item FROM ({})".format(load_sql(sql)))
        con.execute("CREATE OR REPLACE TABLE _basket_items AS SELECT item, CAST(row_number() OVER (ORDER BY item) - 1 AS INTEGER) AS idx FROM (SELECT DISTINCT item FROM _baskets)")
        con.execute("CREATE OR REPLACE TABLE _basket_ids AS SELECT basket_id, CAST(row_number() OVER (ORDER BY basket_id) - 1 AS INTEGER) AS idx FROM (SELECT DISTINCT basket_id FROM _baskets)")
        pairs = con.execute("SELECT b.idx AS b, i.idx AS i FROM _baskets JOIN _basket_ids b USING (basket_id) JOIN _basket_items i USING (item) ORDER BY b.idx, i.idx").fetchnumpy()
        write(folder, "baskets_{}_b".format(kind), pairs["b"], "int32")
        write(folder, "baskets_{}_i".format(kind), pairs["i"], "int32")
        texts = [row[0] for row in con.execute("SELECT item FROM _basket_items ORDER BY idx").fetchall()]
        (folder / "baskets_{}_items.json".format(kind)).write_text(json.dumps(texts))
        count = con.execute("SELECT count(*) FROM _basket_ids").fetchone()[0]
        support = params["associationRules"]["minSupportProduct" if kind == "product" else "minSupportSubCategory"]
        baskets[kind] = {"baskets": count, "items": len(texts), "pairs": int(len(pairs["b"])), "minSupport": support}
    # The stage's own metrics in this run: the TS side must reproduce them from the exported files.
    stage = {row[0]: row[1] for row in con.execute(
        "SELECT metric, value FROM read_parquet('{}/model_metrics/stage=recommendations/*.parquet') WHERE model = 'als'".format(run)).fetchall()}
    meta = {
        "events": events, "cutoff": cutoff, "users": users, "items": items, "ratings": int(len(ratings["u"])),
        "relevantPairs": int(len(relevant["u"])), "evaluatedUsers": int(len(eval_users)), "candidates": int(len(candidates)),
        "baskets": baskets, "stageMetrics": stage,
    }
    meta_file.write_text(json.dumps(meta, indent=2))
    return meta


def read(folder: Path, name: str, dtype: str) -> np.ndarray:
    return np.fromfile(str(folder / "{}.{}".format(name, dtype)), dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Ranking metrics: local/ml/metrics.ts (MLlib RankingMetrics, binary relevance), re-implemented.

class Ranking:
    def __init__(self, k: int) -> None:
        self.k = k
        self.sums = [0.0, 0.0, 0.0, 0.0]
        self.users = 0

    def add(self, rec: List[int], rel: set) -> None:
        if not rel:
            return
        k = self.k
        n = min(len(rec), k)
        hits = 0
        ap = 0.0
        for j in range(n):
            if rec[j] in rel:
                hits += 1
                ap += hits / (j + 1)
        dcg = idcg = 0.0
        for j in range(min(max(len(rec), len(rel)), k)):
            gain = 1 / math.log(j + 2)
            if j < len(rec) and rec[j] in rel:
                dcg += gain
            if j < len(rel):
                idcg += gain
        for s, v in enumerate((hits / k, hits / len(rel), ap / min(len(rel), k), dcg / idcg)):
            self.sums[s] += v
        self.users += 1

    def result(self) -> Dict[str, Optional[float]]:
        names = ("precisionAtK", "recallAtK", "mapAtK", "ndcgAtK")
        return {n: (s / self.users if self.users else None) for n, s in zip(names, self.sums)}


class EvalData:
    def __init__(self, folder: Path, meta: Dict[str, Any]) -> None:
        self.u = read(folder, "ratings_u", "int32")
        self.i = read(folder, "ratings_i", "int32")
        self.r = read(folder, "ratings_r", "float32")
        self.p = read(folder, "ratings_p", "int32")
        self.users, self.items = meta["users"], meta["items"]
        self.eval_users = read(folder, "eval_users", "int32")
        self.candidates = read(folder, "candidates", "int32")
        self.popular = read(folder, "popular", "int32")
        rel_u, rel_i = read(folder, "relevant_u", "int32"), read(folder, "relevant_i", "int32")
        self.relevant: Dict[int, set] = {}
        for a, b in zip(rel_u.tolist(), rel_i.tolist()):
            self.relevant.setdefault(a, set()).add(b)
        bought = self.p > 0
        self.purchased = sp.csr_matrix((np.ones(int(bought.sum()), dtype=np.float32), (self.u[bought], self.i[bought])), shape=(self.users, self.items))

    def exclusions(self, u: int) -> np.ndarray:
        return self.purchased.indices[self.purchased.indptr[u]:self.purchased.indptr[u + 1]]


def top_n(X: np.ndarray, Y: np.ndarray, data: EvalData, users: np.ndarray, n: int) -> List[List[int]]:
    """Top n candidates per user by x_u . y_i (float32), the user's purchased items excluded, ties by lower item."""
    cand = data.candidates
    Yc = np.ascontiguousarray(Y[cand], dtype=np.float32)
    out: List[List[int]] = []
    position = {int(c): j for j, c in enumerate(cand.tolist())}
    for start in range(0, len(users), 2048):
        block = users[start:start + 2048]
        S = X[block].astype(np.float32) @ Yc.T
        for row, u in enumerate(block.tolist()):
            for item in data.exclusions(u).tolist():
                j = position.get(item)
                if j is not None:
                    S[row, j] = -np.inf
        for row in range(len(block)):
            s = S[row]
            m = min(n, int(np.isfinite(s).sum()))
            if m == 0:
                out.append([])
                continue
            part = np.argpartition(-s, m - 1)[:m] if m < len(s) else np.arange(len(s))
            # argpartition may cut inside a tie at the n-th score: take every column tied with it.
            threshold = s[part].min()
            tied = np.nonzero(s >= threshold)[0]
            order = sorted(tied.tolist(), key=lambda j: (-float(s[j]), int(cand[j])))[:m]
            out.append([int(cand[j]) for j in order])
    return out


def evaluate(X: np.ndarray, Y: np.ndarray, data: EvalData, k: int) -> Dict[str, Any]:
    ranking = Ranking(k)
    recs = top_n(X, Y, data, data.eval_users, k)
    recommended = set()
    for u, rec in zip(data.eval_users.tolist(), recs):
        ranking.add(rec, data.relevant[u])
        recommended.update(rec)
    return {**ranking.result(), "users": ranking.users, "catalogueCoverage": len(recommended) / data.items}


def popularity(data: EvalData, k: int) -> Dict[str, Any]:
    ranking = Ranking(k)
    for u in data.eval_users.tolist():
        skip = set(data.exclusions(u).tolist())
        rec: List[int] = []
        for item in data.popular.tolist():
            if item not in skip:
                rec.append(item)
                if len(rec) == k:
                    break
        ranking.add(rec, data.relevant[u])
    return ranking.result()


def metrics_of_lists(folder: Path, data: EvalData, k: int) -> Dict[str, Optional[float]]:
    """This file's metrics over the TS side's own top-k lists: checks the re-implementation."""
    lists = read(folder, "shopsight_recs", "int32").reshape(-1, k)
    ranking = Ranking(k)
    for u, row in zip(data.eval_users.tolist(), lists.tolist()):
        ranking.add([i for i in row if i >= 0], data.relevant[u])
    return ranking.result()


def objectives(X: np.ndarray, Y: np.ndarray, data: EvalData, r: Dict[str, Any]) -> Dict[str, float]:
    """The implicit-feedback objective of a factor pair, in double, with both regularisations:
    sum over all (u, i) of c_ui (p_ui - x_u.y_i)^2 (c = 1 + alpha r on the ratings, 1 elsewhere) plus
    lambda (sum_u n_u |x_u|^2 + sum_i n_i |y_i|^2) (ShopSight's, Spark's ALS-WR weighting) or plus
    lambda (sum_u |x_u|^2 + sum_i |y_i|^2) (implicit's constant lambda)."""
    X = X.astype(np.float64)
    Y = Y.astype(np.float64)
    dots = np.einsum("ij,ij->i", X[data.u], Y[data.i])
    c = 1 + r["alpha"] * data.r.astype(np.float64)
    fit = float(np.sum((X.T @ X) * (Y.T @ Y)) - np.sum(dots ** 2) + np.sum(c * (1 - dots) ** 2))
    nu = np.bincount(data.u, minlength=data.users)
    ni = np.bincount(data.i, minlength=data.items)
    lam = r["regParam"]
    return {"shopsightObjective": fit + lam * float(nu @ np.sum(X ** 2, axis=1) + ni @ np.sum(Y ** 2, axis=1)),
            "constantLambdaObjective": fit + lam * float(np.sum(X ** 2) + np.sum(Y ** 2))}


# ---------------------------------------------------------------------------------------------
# The peers.

def implicit_fit(data: EvalData, r: Dict[str, Any], threads: int, init: Optional[Tuple[np.ndarray, np.ndarray]], loss: bool) -> Dict[str, Any]:
    from implicit.cpu.als import AlternatingLeastSquares

    # implicit reads the matrix as the confidence itself (C = value, preference = value > 0, unobserved
    # C = 1, and multiplies by its own alpha first): values 1 + alpha * r with its alpha = 1 give
    # ShopSight's c = 1 + alpha * r exactly.
    C = sp.csr_matrix(((1 + r["alpha"] * data.r.astype(np.float64)).astype(np.float32), (data.u, data.i)), shape=(data.users, data.items))
    model = AlternatingLeastSquares(factors=r["rank"], regularization=r["regParam"], alpha=1.0, iterations=r["maxIter"],
                                    calculate_training_loss=loss, num_threads=threads, random_state=r["seed"], dtype=np.float32)
    if init is not None:
        model.user_factors = init[0].copy()
        model.item_factors = init[1].copy()
    per_iteration: List[float] = []
    losses: List[Optional[float]] = []

    def callback(_iteration: int, elapsed: float, value: Optional[float]) -> None:
        per_iteration.append(elapsed)
        losses.append(value)

    with threadpool_limits(limits=1, user_api="blas"):
        started = time.perf_counter()
        model.fit(C, show_progress=False, callback=callback)
        seconds = time.perf_counter() - started
    return {"model": model, "threads": threads, "fitSeconds": seconds, "iterationSeconds": per_iteration,
            "perIterationMedian": statistics.median(per_iteration), "loss": losses[-1]}


def mlxtend_fp(folder: Path, kind: str, meta: Dict[str, Any]) -> Dict[str, Any]:
    """mlxtend's fpgrowth at the stage's minSupport on the one-hot baskets, as a sparse DataFrame (what
    mlxtend's docs suggest for many items) and as a dense bool one; encoding timed apart."""
    from mlxtend.frequent_patterns import fpgrowth

    info = meta["baskets"][kind]
    b, i = read(folder, "baskets_{}_b".format(kind), "int32"), read(folder, "baskets_{}_i".format(kind), "int32")
    texts = json.loads((folder / "baskets_{}_items.json".format(kind)).read_text())
    n = info["baskets"]
    out: Dict[str, Any] = {}
    for layout in ("sparse", "dense"):
        started = time.perf_counter()
        onehot = sp.csr_matrix((np.ones(len(b), dtype=bool), (b, i)), shape=(n, info["items"]))
        frame = pd.DataFrame.sparse.from_spmatrix(onehot, columns=texts) if layout == "sparse" else pd.DataFrame(onehot.toarray(), columns=texts)
        encode = time.perf_counter() - started
        started = time.perf_counter()
        found = fpgrowth(frame, min_support=info["minSupport"], use_colnames=True)
        seconds = time.perf_counter() - started
        itemsets = {tuple(sorted(s)): int(round(sup * n)) for s, sup in zip(found["itemsets"], found["support"])}
        out[layout] = {"encodeSeconds": encode, "seconds": seconds, "itemsets": itemsets}
        del frame
    if out["sparse"]["itemsets"] != out["dense"]["itemsets"]:
        raise RuntimeError("mlxtend found different itemsets on the sparse and the dense frame ({})".format(kind))
    return out


def compare_itemsets(ours: Dict[Tuple[str, ...], int], theirs: Dict[Tuple[str, ...], int]) -> Dict[str, Any]:
    only_ours = sorted(set(ours) - set(theirs))
    only_theirs = sorted(set(theirs) - set(ours))
    count_diff = sorted(s for s in set(ours) & set(theirs) if ours[s] != theirs[s])
    def show(keys: List[Tuple[str, ...]], source: Dict[Tuple[str, ...], int]) -> List[Any]:
        return [{"items": list(k), "count": source[k]} for k in keys[:20]]
    return {
        "shopsight": len(ours), "mlxtend": len(theirs), "identical": not only_ours and not only_theirs and not count_diff,
        "onlyShopSight": show(only_ours, ours), "onlyMlxtend": show(only_theirs, theirs),
        "countDifferences": [{"items": list(k), "shopsight": ours[k], "mlxtend": theirs[k]} for k in count_diff[:20]],
        "byLength": {str(n): sum(1 for s in ours if len(s) == n) for n in sorted({len(s) for s in ours})},
    }


# ---------------------------------------------------------------------------------------------
# Baselines and the TS side.

def numpy_baseline() -> float:
    """Median of 3 one-thread float32 1024^3 matrix products: how fast a core is right now."""
    rng = np.random.default_rng(0)
    a = rng.random((1024, 1024), dtype=np.float32)
    times = []
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(3):
            started = time.perf_counter()
            a @ a
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def shopsight_side(folder: Path, threads: List[int], write_init: bool) -> Dict[str, Any]:
    out = folder / "shopsight-result.json"
    argv = [str(TS_NODE), "--transpile-only", str(TS_SIDE), "--data", str(folder), "--threads", ",".join(map(str, threads)), "--out", str(out)]
    if write_init:
        argv.append("--write-init")
    started = time.perf_counter()
    subprocess.run(argv, cwd=str(ROOT), check=True, env={**os.environ, "CI": "1"})
    result = json.loads(out.read_text())
    result["processSeconds"] = time.perf_counter() - started
    return result


def read_itemsets(folder: Path, kind: str) -> Dict[Tuple[str, ...], int]:
    rows = json.loads((folder / "shopsight_itemsets_{}.json".format(kind)).read_text())
    return {tuple(row["items"]): row["count"] for row in rows}


def version(cmd: List[str]) -> str:
    return subprocess.run(cmd, stdout=subprocess.PIPE, universal_newlines=True, cwd=str(ROOT)).stdout.strip()


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def median(values: List[float]) -> float:
    return statistics.median(values)


def bench_size(events: int, runs: int, threads: List[int], params: Dict[str, Any]) -> Dict[str, Any]:
    r = params["recommendations"]
    k = r["evaluationK"]
    run = shopsight_run(events)
    folder = DATA / "peers-{}".format(events)
    meta = export(run, folder, params)
    print("[{} events] {} users x {} items, {} ratings; {} evaluated users; product baskets {}".format(
        events, meta["users"], meta["items"], meta["ratings"], meta["evaluatedUsers"], meta["baskets"]["product"]["baskets"]), flush=True)
    data = EvalData(folder, meta)
    per_run: List[Dict[str, Any]] = []
    quality: Dict[str, Any] = {"objectives": {}}
    itemsets: Dict[str, Any] = {}
    for n in range(runs):
        load_before = os.getloadavg()
        record: Dict[str, Any] = {"run": n + 1, "loadAverageBefore": load_before, "numpyMatmulSeconds": numpy_baseline()}
        peers: Dict[str, Any] = {}

        def run_peers() -> None:
            init = (read(folder, "init_user", "float32").reshape(data.users, r["rank"]), read(folder, "init_item", "float32").reshape(data.items, r["rank"]))
            fits = {}
            for t in threads:
                fit = implicit_fit(data, r, t, init, loss=True)
                fit_noloss = implicit_fit(data, r, t, init, loss=False)
                fits[str(t)] = {key: v for key, v in fit.items() if key != "model"}
                fits[str(t)]["withoutLoss"] = {key: v for key, v in fit_noloss.items() if key != "model"}
                if n == 0 and t == threads[0]:
                    quality["implicit"] = evaluate(fit["model"].user_factors, fit["model"].item_factors, data, k)
                    quality["implicitLoss"] = fit["loss"]
                    quality["objectives"]["implicit"] = objectives(fit["model"].user_factors, fit["model"].item_factors, data, r)
                    own = implicit_fit(data, r, t, None, loss=False)["model"]
                    quality["implicitOwnInit"] = evaluate(own.user_factors, own.item_factors, data, k)
                    quality["objectives"]["implicitOwnInit"] = objectives(own.user_factors, own.item_factors, data, r)
            peers["implicit"] = fits
            peers["mlxtend"] = {}
            for kind in meta["baskets"]:
                fp = mlxtend_fp(folder, kind, meta)
                peers["mlxtend"][kind] = {layout: {"encodeSeconds": v["encodeSeconds"], "seconds": v["seconds"], "itemsets": len(v["itemsets"])} for layout, v in fp.items()}
                if n == 0:
                    itemsets[kind] = fp["sparse"]["itemsets"]

        def run_ours() -> None:
            peers["shopsight"] = shopsight_side(folder, threads, write_init=(n == 0))

        order = (run_ours, run_peers) if n % 2 == 0 else (run_peers, run_ours)
        for step in order:
            step()
        record.update(peers)
        record["loadAverageAfter"] = os.getloadavg()
        per_run.append(record)
        ours = peers["shopsight"]
        print("  run {}: ShopSight ALS/iter {} s, implicit ALS/iter {} s; FP-Growth product ShopSight {:.3f} s, mlxtend {:.3f} s; load {:.2f}".format(
            n + 1, {t: round(ours["als"][str(t)]["perIterationMedian"], 3) for t in threads},
            {t: round(peers["implicit"][str(t)]["perIterationMedian"], 4) for t in threads},
            ours["fpGrowth"]["product"]["seconds"][0], peers["mlxtend"]["product"]["sparse"]["seconds"], record["loadAverageAfter"][0]), flush=True)
        if n == 0:
            quality["shopsight"] = ours["evaluation"]
            quality["shopsightLoss"] = ours["als"][str(threads[0])]["loss"]
            quality["pythonMetricsOnShopSightLists"] = metrics_of_lists(folder, data, k)
            quality["popularity"] = popularity(data, k)
            quality["stageMetrics"] = meta["stageMetrics"]
            quality["objectives"]["shopsight"] = objectives(read(folder, "final_user", "float32").reshape(data.users, -1),
                                                            read(folder, "final_item", "float32").reshape(data.items, -1), data, r)
            for kind in meta["baskets"]:
                itemsets[kind] = compare_itemsets(read_itemsets(folder, kind), itemsets[kind])

    def med(path: List[str]) -> float:
        values = []
        for rec in per_run:
            v: Any = rec
            for key in path:
                v = v[key]
            values.append(v)
        return median(values)

    medians: Dict[str, Any] = {"numpyMatmulSeconds": med(["numpyMatmulSeconds"]), "nodeLoopSeconds": med(["shopsight", "baselineLoopSeconds"]), "als": {}, "fpGrowth": {}}
    for t in threads:
        s = str(t)
        medians["als"][s] = {
            "shopsightPerIteration": med(["shopsight", "als", s, "perIterationMedian"]),
            "shopsightFit": med(["shopsight", "als", s, "fitSeconds"]),
            "implicitPerIteration": med(["implicit", s, "perIterationMedian"]),
            "implicitFit": med(["implicit", s, "fitSeconds"]),
            "implicitPerIterationWithoutLoss": med(["implicit", s, "withoutLoss", "perIterationMedian"]),
            "implicitFitWithoutLoss": med(["implicit", s, "withoutLoss", "fitSeconds"]),
        }
        medians["als"][s]["ratio"] = medians["als"][s]["shopsightPerIteration"] / medians["als"][s]["implicitPerIteration"]
    for kind in meta["baskets"]:
        medians["fpGrowth"][kind] = {
            "shopsightFirstCall": med(["shopsight", "fpGrowth", kind, "firstCall"]),
            "shopsightWarm": med(["shopsight", "fpGrowth", kind, "warm"]),
            "mlxtendSparse": med(["mlxtend", kind, "sparse", "seconds"]),
            "mlxtendSparseEncode": med(["mlxtend", kind, "sparse", "encodeSeconds"]),
            "mlxtendDense": med(["mlxtend", kind, "dense", "seconds"]),
            "mlxtendDenseEncode": med(["mlxtend", kind, "dense", "encodeSeconds"]),
        }
    return {"events": events, "inputs": meta, "quality": quality, "itemsets": itemsets, "medians": medians, "runs": per_run}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    params = pipeline_params()
    threads = [int(t) for t in args.threads.split(",")]
    started_load = os.getloadavg()
    import implicit
    import mlxtend
    results = [bench_size(int(s), args.runs, threads, params) for s in args.sizes.split(",")]
    out = {
        "benchmark": "peers: implicit ALS and mlxtend FP-Growth next to ShopSight's (bench/peers.py)",
        "measuredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "cpuModel": cpu_model(), "memoryGiB": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3),
                    "loadAverageStart": started_load, "loadAverageEnd": os.getloadavg()},
        "versions": {"python": platform.python_version(), "implicit": implicit.__version__, "mlxtend": mlxtend.__version__,
                     "duckdbPython": duckdb.__version__, "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__,
                     "node": version(["node", "--version"]),
                     "duckdbNode": json.loads((ROOT / "node_modules" / "@duckdb" / "node-api" / "package.json").read_text())["version"],
                     "blas": [{k: v for k, v in lib.items() if k in ("internal_api", "version", "num_threads", "architecture")} for lib in threadpool_info()]},
        "parameters": {"recommendations": params["recommendations"], "eventWeights": params["eventWeights"], "associationRules": params["associationRules"]},
        "threads": threads,
        "results": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print("wrote", RESULTS.relative_to(ROOT))


if __name__ == "__main__":
    main()
