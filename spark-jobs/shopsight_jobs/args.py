"""The arguments every ShopSight Spark job takes, and the pipeline parameters they carry.

The state machine starts each job with (lib/orchestration/pipeline-state-machine.ts)::

    --run-id <id> --dataset rees46|retailrocket --input <s3 prefix> --curated <s3 uri>
    --exports <s3 uri> --params '<PipelineParameters JSON>'

``--params`` is validated and merged over the defaults exactly as ``resolvePipelineParameters`` in
core/config/pipeline-params.ts does: same rules, same messages, so a value the Lambda accepted is
accepted here and a hand-started job with a bad value fails before Spark starts. The rules are
written out below because contract.json carries only the defaults; a test checks that they have the
same shape as the defaults.

Standard library only (no pyspark), Python 3.9.
"""

import argparse
import json
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from . import contract, layout

DATASETS = ("rees46", "retailrocket")

# Exit codes of every job (README, "Spark jobs"). 1 is anything unexpected (a Python traceback).
EXIT_OK = 0
EXIT_FAILURE = 1
#: Bad command line or --params (argparse also uses 2).
EXIT_USAGE = 2
#: --input names nothing readable.
EXIT_INPUT_NOT_FOUND = 3
#: Input files exist but cannot be used (not a dataset file, wrong header, nothing accepted).
EXIT_INPUT_UNUSABLE = 4
#: A DataFrame about to be written does not match the table contract (a bug, not bad data).
EXIT_CONTRACT = 5
#: An analytics job found no output of the prepare job for this run.
EXIT_MISSING_UPSTREAM = 6


class JobArgumentError(ValueError):
    """The command line or the parameters are not usable; the message says which and why."""

    exit_code = EXIT_USAGE


class InputNotFoundError(RuntimeError):
    exit_code = EXIT_INPUT_NOT_FOUND


class InputUnusableError(RuntimeError):
    exit_code = EXIT_INPUT_UNUSABLE


class MissingUpstreamError(RuntimeError):
    exit_code = EXIT_MISSING_UPSTREAM


# ---------------------------------------------------------------------------------------------
# Parameter rules (mirror RULES in core/config/pipeline-params.ts)
# ---------------------------------------------------------------------------------------------

INT32 = 2 ** 31 - 1


@dataclass(frozen=True)
class NumberRule:
    min: float
    max: float
    integer: bool = False
    exclusive_min: bool = False

    def describe(self) -> str:
        low = "greater than {}".format(_js(self.min)) if self.exclusive_min else "from {}".format(_js(self.min))
        return "{} {} {} {}".format(
            "an integer" if self.integer else "a number", low, "up to" if self.exclusive_min else "to", _js(self.max)
        )

    def accepts(self, value: Any) -> bool:
        # bool is an int in Python; JSON true is not a number in JavaScript.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        low_ok = value > self.min if self.exclusive_min else value >= self.min
        return low_ok and value <= self.max and (not self.integer or float(value).is_integer())


@dataclass(frozen=True)
class BooleanRule:
    def describe(self) -> str:
        return "true or false"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)


def _num(low: float, high: float, integer: bool = False, exclusive_min: bool = False) -> NumberRule:
    return NumberRule(low, high, integer, exclusive_min)


BOOL = BooleanRule()

RULES: Dict[str, Any] = {
    "sessionGapMinutes": _num(1, 24 * 60, True),
    "eventWeights": {"view": _num(0, 1000), "cart": _num(0, 1000), "purchase": _num(0, 1000)},
    "associationRules": {
        "minSupportSubCategory": _num(0, 1, False, True),
        "minSupportProduct": _num(0, 1, False, True),
        "minConfidence": _num(0, 1),
        "boughtTogetherPerProduct": _num(1, 1000, True),
    },
    "recommendations": {
        "rank": _num(1, 1000, True),
        "regParam": _num(0, 1000),
        "alpha": _num(0, 100000),
        "maxIter": _num(1, 1000, True),
        "topN": _num(1, 1000, True),
        "excludePurchased": BOOL,
        "holdoutDays": _num(0, 365, True),
        "evaluationK": _num(1, 1000, True),
        "similarProductsPerProduct": _num(1, 1000, True),
        "minUserProducts": _num(1, 1000000, True),
        "candidateProducts": _num(1, 100000000, True),
        "seed": _num(0, INT32, True),
    },
    "purchaseIntent": {
        "trainFraction": _num(0, 1, False, True),
        "regParam": _num(0, 1000),
        "maxIter": _num(1, 10000, True),
        "threshold": _num(0, 1),
        "seed": _num(0, INT32, True),
    },
    "segments": {"k": _num(2, 100, True), "maxIter": _num(1, 10000, True), "seed": _num(0, INT32, True)},
    "spendForecast": {
        "forecastHorizonDays": _num(1, 365, True),
        "revenueHorizonDays": _num(1, 365, True),
        "regParam": _num(0, 1000),
        "maxIter": _num(1, 1000, True),
    },
}


def _js(value: Any) -> str:
    """``JSON.stringify`` of a parsed JSON value, so messages read as the TypeScript ones do."""
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _merge(path: str, defaults: Any, override: Any, rules: Any) -> Any:
    if isinstance(rules, (NumberRule, BooleanRule)):
        if not rules.accepts(override):
            raise JobArgumentError("{} must be {}, got {}".format(path, rules.describe(), _js(override)))
        if isinstance(rules, NumberRule) and rules.integer:
            return int(override)
        return override
    if not isinstance(override, dict):
        raise JobArgumentError("{} must be an object, got {}".format(path, _js(override)))
    result = dict(defaults)
    for key, value in override.items():
        if key not in rules:
            raise JobArgumentError(
                "{}.{} is not a known parameter; known: {}".format(path, key, ", ".join(rules.keys()))
            )
        result[key] = _merge("{}.{}".format(path, key), defaults[key], value, rules[key])
    return result


def resolve_pipeline_parameters(overrides: Any, defaults: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Defaults (contract.json) with the overrides applied, as ``resolvePipelineParameters`` does.

    ``None`` gives the defaults. Raises ``JobArgumentError`` naming the parameter path and its
    allowed values. The result is a fresh dict (camelCase keys, as in TypeScript).
    """
    base = dict(defaults) if defaults is not None else contract.default_pipeline_parameters()
    if overrides is None:
        return json.loads(json.dumps(base))
    return _merge("parameters", base, overrides, RULES)


def parse_params_json(text: str) -> Dict[str, Any]:
    """``--params``: JSON text (the state machine passes the whole resolved object), merged and checked."""
    if text is None or text.strip() == "":
        return resolve_pipeline_parameters(None)
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        raise JobArgumentError("--params is not valid JSON: {}".format(error)) from error
    return resolve_pipeline_parameters(value)


def _reject_constant(name: str) -> Any:
    raise ValueError("{} is not JSON".format(name))


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobArguments:
    run_id: str
    dataset: str
    #: S3 prefix (or local folder / file) of the raw input.
    input: str
    #: Root of the curated bucket (s3://bucket or a local folder), no trailing slash.
    curated: str
    #: Root of the export bucket, no trailing slash.
    exports: str
    params: Dict[str, Any]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise JobArgumentError(message)


def _parser(job: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=job, description="ShopSight Spark job {} (EMR Serverless).".format(job), allow_abbrev=False)
    parser.add_argument("--run-id", required=True, help="the pipeline run id (a-z, 0-9, - and _)")
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--input", required=True, help="raw input: S3 prefix, folder or file")
    parser.add_argument("--curated", required=True, help="curated bucket root, e.g. s3://bucket")
    parser.add_argument("--exports", required=True, help="export bucket root, e.g. s3://bucket")
    parser.add_argument("--params", default="", help="PipelineParameters as JSON (defaults when empty)")
    return parser


def strip_root(uri: str) -> str:
    """A bucket or folder root without trailing slashes (``s3://b/`` → ``s3://b``)."""
    stripped = uri.rstrip("/")
    if stripped.endswith(":/") or stripped.endswith(":"):
        return uri  # "s3://" alone: let the check below name it
    return stripped


def parse_job_arguments(job: str, argv: Sequence[str]) -> JobArguments:
    """The job's arguments, checked. Raises ``JobArgumentError`` with a message for a person."""
    namespace = _parser(job).parse_args(list(argv))
    if not layout.is_valid_run_id(namespace.run_id):
        raise JobArgumentError(
            '--run-id "{}" is not valid: use 1-63 characters of a-z, 0-9, "-" and "_", '
            "starting with a letter or digit".format(namespace.run_id)
        )
    roots: List[str] = []
    for flag in ("input", "curated", "exports"):
        value = getattr(namespace, flag)
        if value.strip() == "" or value.rstrip("/") in ("s3:", "s3a:", "file:"):
            raise JobArgumentError("--{} must name a location, got {!r}".format(flag, value))
        roots.append(value)
    curated, exports = strip_root(namespace.curated), strip_root(namespace.exports)
    if curated == exports:
        raise JobArgumentError("--curated and --exports must differ (both are {})".format(curated))
    return JobArguments(
        run_id=namespace.run_id,
        dataset=namespace.dataset,
        input=namespace.input,
        curated=curated,
        exports=exports,
        params=parse_params_json(namespace.params),
    )


def join_uri(root: str, key: str) -> str:
    """``root`` + "/" + ``key`` (a layout key such as ``c_date/run_id=x/``)."""
    return root.rstrip("/") + "/" + key.lstrip("/")
