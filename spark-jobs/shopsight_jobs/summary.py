"""``_runs/<id>/run-summary.json``: the prepare job's row accounting (``RunSummary`` in
core/contract/run-artifacts.ts), read by the data-quality gate.

Invariant per file and for the run: rowsRead = accepted + rejected + duplicatesRemoved, and the
rejected rows by reason add up to rejected. A duplicate is counted in the file of the copy that
was dropped (the first copy by file order and line stays). ``reconcile_run_summary`` is the
TypeScript ``reconcileRunSummary``, message for message; prepare refuses to write a summary that
does not reconcile.
"""

import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

from . import layout


def file_counts(
    source: str, typed_rows: int, accepted: int, rejected_by_reason: Mapping[str, int]
) -> Dict[str, Any]:
    """One file's ``FileRowCounts``: ``typed_rows`` are the rows that parsed (before duplicate
    removal), ``accepted`` those kept, ``rejected_by_reason`` the rejects of the file."""
    rejected = sum(rejected_by_reason.values())
    return {
        "source": source,
        "rowsRead": int(typed_rows + rejected),
        "accepted": int(accepted),
        "rejected": int(rejected),
        "rejectedByReason": {k: int(rejected_by_reason[k]) for k in sorted(rejected_by_reason)},
        "duplicatesRemoved": int(typed_rows - accepted),
    }


def totals(files: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    by_reason: Dict[str, int] = {}
    for f in files:
        for reason, n in f["rejectedByReason"].items():
            by_reason[reason] = by_reason.get(reason, 0) + int(n)
    return {
        "rowsRead": sum(int(f["rowsRead"]) for f in files),
        "accepted": sum(int(f["accepted"]) for f in files),
        "rejected": sum(int(f["rejected"]) for f in files),
        "rejectedByReason": {k: by_reason[k] for k in sorted(by_reason)},
        "duplicatesRemoved": sum(int(f["duplicatesRemoved"]) for f in files),
    }


def build_run_summary(
    run_id: str,
    dataset: str,
    files: Sequence[Mapping[str, Any]],
    stages: Sequence[Mapping[str, Any]],
    created_at: Optional[str] = None,
    table_rows: Optional[Mapping[str, int]] = None,
) -> Dict[str, Any]:
    """``RunSummary`` (core/contract/run-artifacts.ts) of a Spark run: engine "spark"."""
    layout.assert_run_id(run_id)
    summary: Dict[str, Any] = {
        "runId": run_id,
        "dataset": dataset,
        "engine": "spark",
        "files": [dict(f) for f in files],
        "totals": totals(files),
        "stages": [
            dict({"name": s["name"], "seconds": float(s["seconds"])}, **({"rows": int(s["rows"])} if s.get("rows") is not None else {}))
            for s in stages
        ],
    }
    if created_at is not None:
        summary["createdAt"] = created_at
    if table_rows is not None:
        summary["tableRows"] = {k: int(table_rows[k]) for k in sorted(table_rows)}
    return summary


def reconcile_run_summary(summary: Mapping[str, Any]) -> List[str]:
    """Problems with a summary's own arithmetic; empty when every count reconciles."""
    problems: List[str] = []

    def check(what: str, c: Mapping[str, Any]) -> None:
        by_reason = sum(c["rejectedByReason"].values())
        if c["rowsRead"] != c["accepted"] + c["rejected"] + c["duplicatesRemoved"]:
            problems.append(
                "{}: rows read {} ≠ accepted {} + rejected {} + duplicates removed {}".format(
                    what, c["rowsRead"], c["accepted"], c["rejected"], c["duplicatesRemoved"]
                )
            )
        if by_reason != c["rejected"]:
            problems.append("{}: rejected {} ≠ sum of rejected by reason {}".format(what, c["rejected"], by_reason))

    check("run totals", summary["totals"])
    for f in summary["files"]:
        check(f["source"], f)
    for field in ("rowsRead", "accepted", "rejected", "duplicatesRemoved"):
        total = sum(f[field] for f in summary["files"])
        if total != summary["totals"][field]:
            problems.append("run totals: {} {} ≠ sum over files {}".format(field, summary["totals"][field], total))
    return problems


class StageTimer:
    """Wall time of each stage, in run order, for the summary's ``stages``."""

    def __init__(self) -> None:
        self.stages: List[Dict[str, Any]] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[Dict[str, Any]]:
        """Times the block; the block may set ``["rows"]`` on the yielded dict."""
        start = time.monotonic()
        entry: Dict[str, Any] = {"name": name}
        try:
            yield entry
        finally:
            entry["seconds"] = round(time.monotonic() - start, 3)
            self.stages.append(entry)


def count_per_file(typed: Any, events: Any, rejects: Any, files: Sequence[str]) -> List[Dict[str, Any]]:
    """Spark: ``FileRowCounts`` of every file from the typed rows (before duplicate removal), the
    accepted events and the rejects, each carrying ``file_idx``. Three small aggregations."""
    typed_n = {r[0]: r[1] for r in typed.groupBy("file_idx").count().collect()}
    accepted_n = {r[0]: r[1] for r in events.groupBy("file_idx").count().collect()}
    reasons: Dict[int, Dict[str, int]] = {}
    for r in rejects.groupBy("file_idx", "reason").count().collect():
        reasons.setdefault(r[0], {})[r[1]] = r[2]
    return [
        file_counts(source, typed_n.get(idx, 0), accepted_n.get(idx, 0), reasons.get(idx, {}))
        for idx, source in enumerate(files)
    ]
