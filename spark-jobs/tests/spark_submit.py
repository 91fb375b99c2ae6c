"""Run a ShopSight Spark job exactly as the state machine starts it, on ``local[2]`` instead of EMR.

What EMR Serverless receives for a job (lib/orchestration/pipeline-state-machine.ts and
lib/processing/spark-processing.ts) is::

    EntryPoint            s3://<artifacts>/spark-jobs/<entryPoint>
    EntryPointArguments   --run-id <id> --dataset <d> --input <uri> --curated <uri> --exports <uri>
                          --params <$.run.parametersJson>
    SparkSubmitParameters --conf <key>=<value> for each of the job's sparkConf,
                          --conf spark.submit.pyFiles=s3://<artifacts>/spark-jobs/shopsight_jobs.zip

Here that becomes::

    spark-submit --master local[2] --conf … --py-files <build>/shopsight_jobs.zip <build>/<entryPoint> <the same arguments>

with ``<build>`` the output of scripts/build-spark-archive.py (what the CDK app uploads), the job
list and each job's ``sparkConf`` read from the ``sparkJobs`` section of contract.json (generated
from core/config/spark-jobs.ts, so nothing is copied by hand), and ``--params`` the JSON the
validate-input Lambda puts in ``$.run.parametersJson``: the *resolved* pipeline parameters
(defaults with the execution's overrides merged in, ``JSON.stringify`` of the whole object).

Standard library only: the harness starts Spark as a child process and never imports pyspark.
"""

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from support import SPARK_JOBS_DIR  # noqa: F401  (puts spark-jobs/ on sys.path for shopsight_jobs)
from shopsight_jobs import args as job_args
from shopsight_jobs import contract

MASTER = "local[2]"

#: Keys of a job's sparkConf that size the EMR Serverless workers (driver and executor cores and
#: memory, memory overhead, dynamic allocation). They mean nothing on local[2], where the driver is
#: the only JVM and its size is that of this machine, so they are left out; every other key (e.g.
#: spark.sql.shuffle.partitions) is passed exactly as EMR gets it.
CLUSTER_SIZING_KEY = re.compile(
    r"^spark\.(driver|executor)\.(cores|memory|memoryOverhead|memoryOverheadFactor)$|^spark\.dynamicAllocation\."
)

#: Settings of the harness itself, not of any job: no web UI (parallel runs would race for port
#: 4040) and no progress bars in the kept stderr. Neither changes what a job computes or writes.
HARNESS_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}

#: Log4j lines Spark prints at INFO on stderr; left out of failure messages (kept in the log file).
_LOG_NOISE = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (INFO|DEBUG) ")


@dataclass(frozen=True)
class SparkJob:
    id: str
    stage: str
    entry_point: str
    #: The job's sparkConf from core/config/spark-jobs.ts, unchanged.
    spark_conf: Mapping[str, str]

    def local_conf(self) -> Dict[str, str]:
        """The job's Spark settings without the cluster sizing keys (see CLUSTER_SIZING_KEY)."""
        return {k: v for k, v in self.spark_conf.items() if not CLUSTER_SIZING_KEY.search(k)}


def spark_jobs() -> List[SparkJob]:
    """Every Spark job in pipeline order (prepare first), from contract.json's ``sparkJobs``."""
    document = contract.document()
    if "sparkJobs" not in document:
        raise contract.ContractError("contract.json has no sparkJobs section: run npm run contract:json")
    return [
        SparkJob(id=j["id"], stage=j["stage"], entry_point=j["entryPoint"], spark_conf=dict(j["sparkConf"]))
        for j in document["sparkJobs"]
    ]


def spark_job(job_id: str) -> SparkJob:
    for job in spark_jobs():
        if job.id == job_id:
            return job
    raise KeyError("no Spark job {!r}; known: {}".format(job_id, ", ".join(j.id for j in spark_jobs())))


def parameters_json(overrides: Optional[Mapping[str, Any]] = None) -> str:
    """What validate-input passes as ``--params``: ``JSON.stringify`` of the resolved parameters.

    ``overrides`` is the execution input's ``parameters`` (camelCase, partial); the merge and its
    checks are those of ``resolvePipelineParameters`` (shopsight_jobs.args mirrors them).
    """
    resolved = job_args.resolve_pipeline_parameters(dict(overrides) if overrides else None)
    return json.dumps(resolved, separators=(",", ":"), ensure_ascii=False)


def spark_submit_command() -> str:
    """``spark-submit`` of the environment running the tests (.venv-spark/bin), else the one on PATH."""
    beside = Path(sys.executable).parent / "spark-submit"
    return str(beside) if beside.exists() else "spark-submit"


@dataclass
class SparkSubmitResult:
    job: SparkJob
    argv: List[str]
    returncode: int
    seconds: float
    stderr: str
    stdout: str
    log_file: Path
    env: Dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_lines(self) -> List[str]:
        """The job's own last words: the ``shopsight <job>: error:`` lines (one per failure)."""
        return [line for line in self.stderr.splitlines() if line.startswith("shopsight {}: error:".format(self.job.id))]

    def stderr_tail(self, lines: int = 40) -> str:
        """Last lines of stderr without Spark's INFO logging (the whole stderr is in ``log_file``)."""
        kept = [line for line in self.stderr.splitlines() if line.strip() and not _LOG_NOISE.match(line)]
        return "\n".join(kept[-lines:])

    def describe(self) -> str:
        """For an assertion message: what ran, how it ended, and why."""
        head = "spark-submit {} exited {} after {:.1f}s".format(self.job.entry_point, self.returncode, self.seconds)
        errors = self.error_lines()
        return "{}\n  command: {}\n  full stderr: {}\n  error: {}\n  stderr (last lines, INFO left out):\n{}".format(
            head,
            " ".join(_quote(a) for a in self.argv),
            self.log_file,
            errors[-1][:2000] if errors else "(no 'shopsight {}: error:' line)".format(self.job.id),
            _indent(self.stderr_tail()),
        )


def run_spark_job(
    job_id: str,
    *,
    build_dir: Path,
    run_id: str,
    dataset: str,
    input_uri: str,
    curated: str,
    exports: str,
    params_json: str,
    work_dir: Path,
    master: str = MASTER,
    extra_conf: Optional[Mapping[str, str]] = None,
    timeout_seconds: float = 900,
) -> SparkSubmitResult:
    """One job through ``spark-submit``, as the state machine starts it (module docstring).

    ``build_dir`` holds what scripts/build-spark-archive.py wrote (shopsight_jobs.zip and the entry
    scripts). ``work_dir`` gets the job's private ``spark.local.dir`` and its stderr log.
    ``extra_conf`` is set after the job's own settings (and wins over them): the caller names what it
    changes and why (e.g. fewer shuffle partitions on a 2-core machine). Never raises
    for a failed job: the result carries the exit code and stderr for the caller's assertion.
    """
    job = spark_job(job_id)
    archive = build_dir / "shopsight_jobs.zip"
    entry = build_dir / job.entry_point
    for path in (archive, entry):
        if not path.is_file():
            raise FileNotFoundError("{} is missing: build it with scripts/build-spark-archive.py --out {}".format(path, build_dir))
    local_dir = work_dir / "spark-local" / job.id
    local_dir.mkdir(parents=True, exist_ok=True)
    conf = dict(job.local_conf())
    conf.update(HARNESS_CONF)
    conf.update(extra_conf or {})
    conf["spark.local.dir"] = str(local_dir)

    argv = [spark_submit_command(), "--master", master]
    for key, value in conf.items():
        argv += ["--conf", "{}={}".format(key, value)]
    argv += ["--py-files", str(archive), str(entry)]
    # EntryPointArguments of the state machine, in its order.
    argv += [
        "--run-id", run_id,
        "--dataset", dataset,
        "--input", input_uri,
        "--curated", curated,
        "--exports", exports,
        "--params", params_json,
    ]  # fmt: skip

    env = dict(os.environ)
    # The driver and the executors' Python workers must be this interpreter (pyspark, numpy).
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    # Temporary files of the JVM (and Spark's own /tmp/spark-* folders) under the test's folder too.
    env["_JAVA_OPTIONS"] = "-Djava.io.tmpdir={}".format(local_dir)
    env.pop("PYTHONPATH", None)  # the job must import shopsight_jobs from the archive, not the source tree

    started = time.monotonic()
    try:
        completed = subprocess.run(
            argv,
            cwd=str(work_dir),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            timeout=timeout_seconds,
        )
        returncode, stdout, stderr = completed.returncode, completed.stdout, completed.stderr
    except subprocess.TimeoutExpired as expired:
        returncode = -1
        stdout = _text(expired.stdout)
        stderr = _text(expired.stderr) + "\nshopsight {}: error: timed out after {}s (harness)".format(job.id, timeout_seconds)
    seconds = time.monotonic() - started
    log_file = work_dir / "{}.stderr.log".format(job.id)
    log_file.write_text(stderr, encoding="utf-8")
    return SparkSubmitResult(job, argv, returncode, seconds, stderr, stdout, log_file, env)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _quote(arg: str) -> str:
    return arg if re.match(r"^[\w@%+=:,./\[\]-]+$", arg) else "'" + arg.replace("'", "'\\''") + "'"


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


__all__: Sequence[str] = [
    "CLUSTER_SIZING_KEY",
    "MASTER",
    "SparkJob",
    "SparkSubmitResult",
    "parameters_json",
    "run_spark_job",
    "spark_job",
    "spark_jobs",
]
