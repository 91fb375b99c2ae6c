"""What every job's ``__main__`` shares: arguments, the SparkSession, the shared SQL over the
``events`` view, reading the prepare job's outputs, and the exit codes.

An entry script is three lines::

    from shopsight_jobs import runtime, prepare
    if __name__ == "__main__":
        runtime.main("prepare", prepare.run)

``main`` parses the arguments before Spark starts (a bad ``--params`` costs no cluster time),
runs the job, and exits 0, or with the code of ``args`` and one clear line on stderr
(``shopsight <job>: error: …``); anything unexpected also prints its traceback and exits 1.
"""

import sys
import traceback
from typing import Any, Callable, Dict, Optional, Sequence

from . import contract
from .args import (
    EXIT_CONTRACT,
    EXIT_FAILURE,
    EXIT_OK,
    JobArgumentError,
    JobArguments,
    MissingUpstreamError,
    parse_job_arguments,
)
from .outputs import FileStore, curated_uri

#: What the jobs set on every session: UTC so dates, hours and CSV timestamps never depend on the
#: machine. Overwrite is static on purpose: every write targets the run's own folder, which must be
#: replaced whole (dynamic mode would keep a stale event_date partition of an earlier attempt).
SPARK_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "static",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.ansi.enabled": "false",
    # Lossless Instant/LocalDate when conform() re-declares a schema through the JVM's Row objects.
    "spark.sql.datetime.java8API.enabled": "true",
    # Dates and times as written (proleptic Gregorian, as DuckDB and the local engine): the default,
    # EXCEPTION, fails the whole write on an accepted event before 1582 (years 0001..1581 are valid).
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInRead": "CORRECTED",
}

JobFunction = Callable[[Any, JobArguments, FileStore], None]


def spark_session(app_name: str, master: Optional[str] = None) -> Any:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in SPARK_SETTINGS.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def exit_code_of(error: BaseException) -> int:
    if isinstance(error, contract.SchemaMismatchError):
        return EXIT_CONTRACT
    return int(getattr(error, "exit_code", EXIT_FAILURE))


def main(job: str, run: JobFunction, argv: Optional[Sequence[str]] = None, master: Optional[str] = None) -> None:
    """Parse, run, exit (never returns)."""
    sys.exit(run_job(job, run, sys.argv[1:] if argv is None else argv, master))


def run_job(job: str, run: JobFunction, argv: Sequence[str], master: Optional[str] = None) -> int:
    """The job's exit code; messages on stderr. Separate from ``main`` so tests can call it."""
    try:
        arguments = parse_job_arguments(job, argv)
    except JobArgumentError as error:
        print("shopsight {}: error: {}".format(job, error), file=sys.stderr)
        return error.exit_code
    spark = None
    try:
        spark = spark_session("shopsight-{}-{}".format(job, arguments.run_id), master)
        run(spark, arguments, FileStore(spark))
        return EXIT_OK
    except Exception as error:  # noqa: BLE001 - the job's last word, with its code
        code = exit_code_of(error)
        if code == EXIT_FAILURE:
            traceback.print_exc()
        print("shopsight {}: error: {}".format(job, error), file=sys.stderr)
        return code


# ---------------------------------------------------------------------------------------------
# Shared SQL and the prepare job's outputs
# ---------------------------------------------------------------------------------------------


def shared_sql(spark: Any, relative_path: str, params: Optional[Dict[str, Any]] = None) -> Any:
    """``spark.sql`` of one shared .sql file (``shopsight_jobs.sql.load_sql``) over the temp views."""
    from .sql import load_sql

    return spark.sql(load_sql(relative_path, params))


def weight_params(params: Dict[str, Any]) -> Dict[str, Any]:
    weights = params["eventWeights"]
    return {"view_weight": weights["view"], "cart_weight": weights["cart"], "purchase_weight": weights["purchase"]}


def register_events(events: Any) -> None:
    """The shared SQL's input: the canonical ``events`` view (contract columns + event_date)."""
    events.createOrReplaceTempView("events")


def read_events(spark: Any, arguments: JobArguments) -> Any:
    """The prepare job's curated events of this run, in the contract's column order."""
    from pyspark.sql import functions as F

    uri = curated_uri(arguments.curated, "events", arguments.run_id)
    if not FileStore(spark).exists(uri):
        raise MissingUpstreamError(
            "no curated events at {}: run the prepare job for run {} first".format(uri, arguments.run_id)
        )
    table = contract.output_table("events")
    df = spark.read.option("basePath", uri).parquet(uri)
    columns = []
    for column in table.output_columns():
        columns.append(F.col(column.name).cast(column.spark_type).alias(column.name))
    return df.select(*columns)
