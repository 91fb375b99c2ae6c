"""Where every run's data lives: the Python face of ``core/contract/layout.ts``.

Nothing here is written twice. ``contract.json`` carries the TypeScript constants, the run id
pattern and each key function as a template made by calling the TypeScript function with
placeholders (``"{table}/run_id={run_id}/"``); this module fills the templates. The tests check
each function against an example the TypeScript function computed, and that every TypeScript key
function has its Python counterpart here.

    curated bucket:  <table>/run_id=<runId>/[event_date=YYYY-MM-DD/]part-*.parquet
                     _runs/<runId>/run-summary.json
    export bucket:   runs/<runId>/<table>/part-*.csv (headerless), runs/<runId>/manifest.json
"""

import re
import string
from typing import Any, Dict

from . import contract as _contract

_LAYOUT: Dict[str, Any] = _contract.document()["layout"]
_CONSTANTS: Dict[str, str] = _LAYOUT["constants"]
_KEY_FUNCTIONS: Dict[str, Dict[str, Any]] = _LAYOUT["keyFunctions"]

CURATED_RUNS_PREFIX: str = _CONSTANTS["CURATED_RUNS_PREFIX"]
EXPORT_RUNS_PREFIX: str = _CONSTANTS["EXPORT_RUNS_PREFIX"]
SPARK_CODE_PREFIX: str = _CONSTANTS["SPARK_CODE_PREFIX"]
EMR_LOGS_PREFIX: str = _CONSTANTS["EMR_LOGS_PREFIX"]
#: Marker object that, when uploaded under a raw folder, starts a run (optional trigger).
READY_MARKER: str = _CONSTANTS["READY_MARKER"]

#: The TypeScript RUN_ID_PATTERN's source. Use ``fullmatch`` (as ``is_valid_run_id`` does):
#: Python's ``$`` also matches before a trailing newline, JavaScript's does not.
RUN_ID_PATTERN: "re.Pattern[str]" = re.compile(_LAYOUT["patterns"]["RUN_ID_PATTERN"])


def _check_templates() -> None:
    for name, spec in _KEY_FUNCTIONS.items():
        fields = {field for _, field, _, _ in string.Formatter().parse(spec["template"]) if field is not None}
        if fields != set(spec["params"]):
            raise _contract.ContractError(
                "layout template {} {!r} has fields {} but parameters {}".format(
                    name, spec["template"], sorted(fields), spec["params"]
                )
            )


_check_templates()


def _key(name: str, **values: str) -> str:
    return _KEY_FUNCTIONS[name]["template"].format(**values)


def is_valid_run_id(run_id: Any) -> bool:
    """Run ids become S3 folder names, Athena partition values and Aurora values: keep them plain."""
    return isinstance(run_id, str) and RUN_ID_PATTERN.fullmatch(run_id) is not None


def assert_run_id(run_id: Any) -> None:
    if not is_valid_run_id(run_id):
        raise ValueError(
            'runId "{}" is not valid: use 1-63 characters of a-z, 0-9, "-" and "_", '
            "starting with a letter or digit".format(run_id)
        )


def curated_table_prefix(table: str) -> str:
    return _key("curatedTablePrefix", table=table)


def curated_run_prefix(table: str, run_id: str) -> str:
    return _key("curatedRunPrefix", table=table, run_id=run_id)


def run_summary_key(run_id: str) -> str:
    return _key("runSummaryKey", run_id=run_id)


def export_run_prefix(run_id: str) -> str:
    return _key("exportRunPrefix", run_id=run_id)


def export_table_prefix(run_id: str, table: str) -> str:
    return _key("exportTablePrefix", run_id=run_id, table=table)


def export_manifest_key(run_id: str) -> str:
    return _key("exportManifestKey", run_id=run_id)


__all__ = [
    "CURATED_RUNS_PREFIX",
    "EMR_LOGS_PREFIX",
    "EXPORT_RUNS_PREFIX",
    "READY_MARKER",
    "RUN_ID_PATTERN",
    "SPARK_CODE_PREFIX",
    "assert_run_id",
    "curated_run_prefix",
    "curated_table_prefix",
    "export_manifest_key",
    "export_run_prefix",
    "export_table_prefix",
    "is_valid_run_id",
    "run_summary_key",
]
