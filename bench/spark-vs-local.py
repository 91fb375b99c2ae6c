"""Benchmark (not a test): the Spark jobs on local[2] next to the local engine, on the same
generated REES46 files, in the same session.

    .venv-spark/bin/python bench/spark-vs-local.py [--sizes 1000000,10000000] [--runs 3] [--chain-sizes 1000000]

For each size: the local engine end to end (`shopsight run`, a fresh process), the Spark prepare
job, and, for the sizes in --chain-sizes, the whole Spark job chain (prepare, then the four
analytics jobs one after another: on EMR they run in parallel, on two cores that would only
interleave them). Every Spark job runs through spark-submit exactly as the state machine starts
it (spark-jobs/tests/spark_submit.py). Peak RSS is /usr/bin/time's maximum resident set of the
process tree's largest process (the Spark driver JVM, or Node with DuckDB). Medians over --runs;
the baseline is a DuckDB single scan of the same file in the same session. Results:
bench/results/spark-vs-local.json (every run kept).

Spark runs with spark.driver.memory=6g (on local[2] the driver is the only JVM and does the
executors' work; its default of 1g is a cluster driver's size) and spark.sql.shuffle.partitions=8
(the jobs' 200 to 400 are sized for a cluster: on two cores they are thousands of near-empty tasks,
which the parity tests measured at 689 s against 58 s for one job).
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "spark-jobs" / "tests"))
import spark_submit  # noqa: E402  (the harness the parity tests use)
from support import run_build  # noqa: E402

DATA = ROOT / "bench" / ".data"
RESULTS = ROOT / "bench" / "results" / "spark-vs-local.json"
BIN = ROOT / "local" / "cli" / "bin.js"
TIME = "/usr/bin/time"
SPARK_CONF = {"spark.driver.memory": "6g", "spark.sql.shuffle.partitions": "8"}
REAL_SPARK_SUBMIT = spark_submit.spark_submit_command()

SCAN = """
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const r = await db.runAndReadAll("SELECT count(*) FROM read_csv('" + process.argv[1] + "', header = true, all_varchar = true)");
  console.log(String(r.getRows()[0][0]));
})();"""


def timed(argv: List[str], cwd: Path = ROOT) -> Dict[str, Any]:
    started = time.monotonic()
    done = subprocess.run([TIME, "-f", "%M"] + argv, cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env={**os.environ, "CI": "1"})
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError("{} failed ({}):\n{}".format(" ".join(argv[:3]), done.returncode, done.stderr[-3000:]))
    return {"seconds": seconds, "peakRssMiB": int(done.stderr.strip().splitlines()[-1]) / 1024, "stdout": done.stdout}


def generated(events: int) -> Path:
    path = DATA / "rees46-{}.csv.gz".format(events)
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        subprocess.run(["node", str(BIN), "generate", "--dataset", "rees46", "--events", str(events), "--seed", "42", "--out", str(path)], check=True, cwd=str(ROOT), stdout=subprocess.DEVNULL)
    return path


def spark_job(job: str, build: Path, work: Path, run_id: str, source: Path, params_json: str) -> Dict[str, Any]:
    # The harness starts spark_submit_command(); a wrapper script puts /usr/bin/time in front of it.
    rss_file = work / "{}.rss".format(job)
    wrapper = work / "timed-spark-submit"
    wrapper.write_text('#!/bin/sh\nexec {} -f %M -o "$SHOPSIGHT_RSS_FILE" {} "$@"\n'.format(TIME, REAL_SPARK_SUBMIT))
    wrapper.chmod(0o755)
    os.environ["SHOPSIGHT_RSS_FILE"] = str(rss_file)
    spark_submit.spark_submit_command = lambda: str(wrapper)
    result = spark_submit.run_spark_job(
        job, build_dir=build, run_id=run_id, dataset="rees46", input_uri=str(source.parent),
        curated=str(work / "curated"), exports=str(work / "exports"), params_json=params_json,
        work_dir=work, extra_conf=SPARK_CONF, timeout_seconds=4 * 3600,
    )  # fmt: skip
    if not result.ok:
        raise RuntimeError(result.describe())
    return {"seconds": result.seconds, "peakRssMiB": int(rss_file.read_text().strip().splitlines()[-1]) / 1024}


def median(values: List[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--chain-sizes", default="1000000")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    chain_sizes = {int(s) for s in options.chain_sizes.split(",") if s}
    previous = json.loads(RESULTS.read_text())["results"] if RESULTS.exists() else {}
    results: Dict[str, Any] = dict(previous)
    build = Path(tempfile.mkdtemp(prefix="shopsight-bench-build-")) / "spark-jobs"
    run_build(build)
    params_json = spark_submit.parameters_json()
    for events in sizes:
        source = generated(events)
        # Spark reads every file under --input: give each size a folder of its own.
        folder = DATA / "rees46-{}".format(events)
        folder.mkdir(exist_ok=True)
        if not (folder / source.name).exists():
            os.link(str(source), str(folder / source.name))
        runs: List[Dict[str, Any]] = []
        for run in range(options.runs):
            scan = timed(["node", "-e", SCAN, str(source)])
            assert int(scan["stdout"].strip()) == events, scan["stdout"]
            work = Path(tempfile.mkdtemp(prefix="shopsight-bench-"))
            local = timed(["node", str(BIN), "run", "--input", str(source), "--out", str(work / "local"), "--run-id", "bench"])
            jobs = ["prepare"] + (["association-rules", "recommendations", "purchase-intent", "segments"] if events in chain_sizes else [])
            spark = {job: spark_job(job, build, work, "bench", folder / source.name, params_json) for job in jobs}
            shutil.rmtree(str(work), ignore_errors=True)
            entry = {"scanSeconds": scan["seconds"], "local": {k: local[k] for k in ("seconds", "peakRssMiB")}, "spark": spark}
            runs.append(entry)
            print("{} events, run {}/{}: scan {:.1f}s, local {:.1f}s, spark {}".format(
                events, run + 1, options.runs, scan["seconds"], local["seconds"],
                ", ".join("{} {:.1f}s".format(j, m["seconds"]) for j, m in spark.items())), file=sys.stderr)
        scan_s = median([r["scanSeconds"] for r in runs])
        jobs = list(runs[0]["spark"])
        spark_median = {j: {"seconds": median([r["spark"][j]["seconds"] for r in runs]), "peakRssMiB": median([r["spark"][j]["peakRssMiB"] for r in runs])} for j in jobs}
        local_s = median([r["local"]["seconds"] for r in runs])
        results[str(events)] = {
            "events": events,
            "runs": options.runs,
            "medianScanSeconds": scan_s,
            "local": {"seconds": local_s, "peakRssMiB": median([r["local"]["peakRssMiB"] for r in runs]), "ratioToScan": local_s / scan_s, "rowsPerSecond": events / local_s},
            "sparkJobs": {j: dict(m, ratioToScan=m["seconds"] / scan_s, rowsPerSecond=events / m["seconds"]) for j, m in spark_median.items()},
            "sparkChainSeconds": sum(m["seconds"] for m in spark_median.values()) if len(jobs) == 5 else None,
            "all": runs,
        }
        save(results)
    print(RESULTS)


def save(results: Dict[str, Any]) -> None:
    """Written after every size, so an interrupted benchmark keeps what it measured."""
    doc = {
        "benchmark": "Spark jobs on local[2] (spark-submit, as the state machine starts them) vs the local engine, same generated REES46 file, same session",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "loadAverage": list(os.getloadavg())},
        "sparkConf": SPARK_CONF,
        "measuredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
