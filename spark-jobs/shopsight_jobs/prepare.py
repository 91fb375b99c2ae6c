"""The prepare job: raw input → curated ``events`` (by event_date) and ``rejects``, the seven
schemas of the original flow and the insight tables, each checked against the contract, written as
Parquet for this run and, when served, as serving CSV; then ``_runs/<id>/run-summary.json``.

Order matters for idempotence: the summary is written last, so a summary exists only for a run whose
tables were all written; a retried job rewrites every folder of its run.
"""

from typing import Any, Dict, List, Tuple

from . import contract, layout
from .args import InputUnusableError, JobArguments
from .outputs import FileStore, publish_run_manifest, utc_now, write_json, write_table
from .readers import ReadResult, list_input_files, read_rees46, read_retailrocket, recognise_inputs
from .runtime import register_events, shared_sql
from .summary import StageTimer, build_run_summary, count_per_file, reconcile_run_summary

#: The seven schemas of the original flow, in the order the original named them.
SCHEMA_TABLES: Tuple[str, ...] = (
    "c_date",
    "v_date",
    "purch_date",
    "userid_date",
    "customer_count_purchase",
    "purchase_c_s_b",
    "p_v_c_day",
)

#: Insight tables (shared SQL under prepare/insights/).
INSIGHT_TABLES: Tuple[str, ...] = (
    "products",
    "daily_kpis",
    "revenue_by_weekday",
    "activity_by_hour",
    "top_brands",
    "top_customers",
    "funnel",
    "funnel_by_category",
    "cart_abandonment",
)


def sql_tables() -> List[Tuple[str, str]]:
    """(table, shared SQL path) of every table prepare computes with SQL over ``events``: the schemas,
    then the insights, each with the file its contract ``sql`` names."""
    return [(t, contract.table_sql(t)) for t in SCHEMA_TABLES + INSIGHT_TABLES]


def prepare_tables(spark: Any, events: Any) -> Dict[str, Any]:
    """DataFrame → DataFrames: every schema and insight table from the canonical events."""
    register_events(events)
    return {table: shared_sql(spark, path) for table, path in sql_tables()}


def read_input(spark: Any, arguments: JobArguments) -> ReadResult:
    files = list_input_files(spark, arguments.input)
    inputs = recognise_inputs(spark, arguments.dataset, files)
    if arguments.dataset == "rees46":
        return read_rees46(spark, inputs.events)
    return read_retailrocket(spark, inputs, int(arguments.params["sessionGapMinutes"]))


def run(spark: Any, arguments: JobArguments, store: FileStore) -> None:
    timer = StageTimer()
    table_rows: Dict[str, int] = {}

    def write(df: Any, table: str) -> Any:
        conformed = write_table(store, df, table, arguments.run_id, arguments.curated, arguments.exports)
        table_rows[table] = conformed.count()  # cached by write_table: no recomputation
        return conformed

    with timer.stage("read") as stage:
        result = read_input(spark, arguments)
        # Written and counted more than once: keep the parsed rows instead of re-reading the input.
        events_with_file = result.events.cache()
        rejects_with_file = result.rejects.cache()
        files = count_per_file(result.typed, events_with_file, rejects_with_file, result.files)
        # The counts materialised both caches above: the reader's parsed rows are no longer needed.
        result.release()
        stage["rows"] = sum(f["rowsRead"] for f in files)
        if sum(f["accepted"] for f in files) == 0:
            raise InputUnusableError(
                "no row of the input could be used: {} rows read, {} rejected (reasons: {})".format(
                    sum(f["rowsRead"] for f in files),
                    sum(f["rejected"] for f in files),
                    ", ".join(sorted({r for f in files for r in f["rejectedByReason"]})) or "none",
                )
            )

    with timer.stage("events") as stage:
        events = write(events_with_file.drop("file_idx"), "events")
        write(rejects_with_file.drop("file_idx"), "rejects")
        stage["rows"] = table_rows["events"]
        # The written (conformed, cached) copies are what the rest reads.
        events_with_file.unpersist()
        rejects_with_file.unpersist()

    with timer.stage("schemas-and-insights"):
        for table, df in prepare_tables(spark, events).items():
            write(df, table)

    summary = build_run_summary(arguments.run_id, arguments.dataset, files, timer.stages, utc_now(), table_rows)
    problems = reconcile_run_summary(summary)
    if summary["totals"]["accepted"] != table_rows["events"]:
        problems.append("events rows {} ≠ accepted {}".format(table_rows["events"], summary["totals"]["accepted"]))
    if summary["totals"]["rejected"] != table_rows["rejects"]:
        problems.append("rejects rows {} ≠ rejected {}".format(table_rows["rejects"], summary["totals"]["rejected"]))
    if problems:
        raise RuntimeError("run summary does not reconcile: " + "; ".join(problems))
    write_json(store, arguments.curated + "/" + layout.run_summary_key(arguments.run_id), summary)
    # Complete only when the analytics jobs have exported too; a rerun of prepare alone refreshes it.
    publish_run_manifest(store, arguments.exports, arguments.run_id)


def produced_tables() -> List[str]:
    """Every table this job writes (a test compares it with the contract's producedBy)."""
    return ["events", "rejects"] + [t for t, _ in sql_tables()]

