"""The jobs' command line and --params: the same rules and messages as resolvePipelineParameters
(core/config/pipeline-params.ts), clear errors and exit codes, all before Spark starts."""

import json
import subprocess
import sys
from typing import Any, List

import pytest

from support import SPARK_JOBS_DIR
from shopsight_jobs import args, contract, runtime
from shopsight_jobs.args import JobArgumentError, parse_job_arguments, resolve_pipeline_parameters

ENTRY_SCRIPTS = ["prepare.py", "association_rules.py", "recommendations.py", "purchase_intent.py", "segments.py"]


def argv(**overrides: Any) -> List[str]:
    values = {
        "run-id": "oct-2019",
        "dataset": "rees46",
        "input": "s3://raw-bucket/rees46/",
        "curated": "s3://curated-bucket",
        "exports": "s3://export-bucket/",
        "params": "",
    }
    values.update({k.replace("_", "-"): v for k, v in overrides.items()})
    out: List[str] = []
    for key, value in values.items():
        if value is not None:
            out += ["--" + key, value]
    return out


def test_the_state_machine_arguments_parse() -> None:
    parsed = parse_job_arguments("prepare", argv(params=json.dumps(contract.default_pipeline_parameters())))
    assert parsed.run_id == "oct-2019"
    assert parsed.dataset == "rees46"
    assert parsed.input == "s3://raw-bucket/rees46/"
    assert parsed.curated == "s3://curated-bucket"
    assert parsed.exports == "s3://export-bucket"
    assert parsed.params == contract.default_pipeline_parameters()


def test_empty_params_are_the_defaults() -> None:
    assert parse_job_arguments("segments", argv(params=None)).params == contract.default_pipeline_parameters()
    assert parse_job_arguments("segments", argv(params="  ")).params == contract.default_pipeline_parameters()


def test_the_rules_have_the_shape_of_the_defaults() -> None:
    defaults = contract.default_pipeline_parameters()
    assert set(args.RULES) == set(defaults)
    for key, rule in args.RULES.items():
        if isinstance(rule, dict):
            assert set(rule) == set(defaults[key]), key
            for leaf, leaf_rule in rule.items():
                assert leaf_rule.accepts(defaults[key][leaf]), "{}.{}".format(key, leaf)
        else:
            assert rule.accepts(defaults[key]), key


def test_overrides_merge_leaf_by_leaf() -> None:
    params = resolve_pipeline_parameters({"segments": {"k": 8}, "eventWeights": {"view": 0.5}})
    defaults = contract.default_pipeline_parameters()
    assert params["segments"] == dict(defaults["segments"], k=8)
    assert params["eventWeights"] == dict(defaults["eventWeights"], view=0.5)
    assert params["recommendations"] == defaults["recommendations"]


def test_an_integer_written_as_a_float_is_an_integer() -> None:
    assert resolve_pipeline_parameters({"segments": {"k": 8.0}})["segments"]["k"] == 8
    assert isinstance(resolve_pipeline_parameters({"segments": {"k": 8.0}})["segments"]["k"], int)


@pytest.mark.parametrize(
    "override, message",
    [
        ({"segments": {"k": 1}}, "parameters.segments.k must be an integer from 2 to 100, got 1"),
        ({"segments": {"k": 2.5}}, "parameters.segments.k must be an integer from 2 to 100, got 2.5"),
        ({"segments": {"k": "5"}}, 'parameters.segments.k must be an integer from 2 to 100, got "5"'),
        ({"segments": {"k": True}}, "parameters.segments.k must be an integer from 2 to 100, got true"),
        (
            {"purchaseIntent": {"trainFraction": 0}},
            "parameters.purchaseIntent.trainFraction must be a number greater than 0 up to 1, got 0",
        ),
        ({"recommendations": {"excludePurchased": 1}}, "parameters.recommendations.excludePurchased must be true or false, got 1"),
        ({"segments": {"clusters": 5}}, "parameters.segments.clusters is not a known parameter; known: k, maxIter, seed"),
        ({"segments": 5}, "parameters.segments must be an object, got 5"),
        ([], "parameters must be an object, got []"),
        ({"sessionGapMinutes": None}, "parameters.sessionGapMinutes must be an integer from 1 to 1440, got null"),
    ],
)
def test_bad_parameters_name_the_path_and_the_rule(override: Any, message: str) -> None:
    with pytest.raises(JobArgumentError) as error:
        resolve_pipeline_parameters(override)
    assert str(error.value) == message


def test_params_that_are_not_json() -> None:
    with pytest.raises(JobArgumentError, match="--params is not valid JSON"):
        parse_job_arguments("prepare", argv(params="{segments: 1}"))
    with pytest.raises(JobArgumentError, match="--params is not valid JSON"):
        parse_job_arguments("prepare", argv(params='{"eventWeights": {"view": NaN}}'))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"run_id": "Oct-2019"}, '--run-id "Oct-2019" is not valid'),
        ({"run_id": "trailing-newline\n"}, "is not valid"),
        ({"dataset": "amazon"}, "argument --dataset: invalid choice: 'amazon'"),
        ({"run_id": None}, "the following arguments are required: --run-id"),
        ({"curated": "s3://"}, "--curated must name a location"),
        ({"exports": "s3://curated-bucket/"}, "--curated and --exports must differ"),
    ],
)
def test_bad_arguments(overrides: Any, message: str) -> None:
    with pytest.raises(JobArgumentError) as error:
        parse_job_arguments("prepare", argv(**overrides))
    assert message in str(error.value)


def test_unknown_and_abbreviated_flags_are_refused() -> None:
    with pytest.raises(JobArgumentError, match="unrecognized arguments: --extra"):
        parse_job_arguments("prepare", argv() + ["--extra", "1"])
    with pytest.raises(JobArgumentError):
        parse_job_arguments("prepare", ["--run", "x"] + argv()[2:])


def test_run_job_returns_the_usage_code_without_starting_spark(capsys: pytest.CaptureFixture) -> None:
    def never(*_: Any) -> None:
        raise AssertionError("the job must not run")

    code = runtime.run_job("segments", never, argv(params='{"segments": {"k": 0}}'))
    assert code == args.EXIT_USAGE == 2
    assert "shopsight segments: error: parameters.segments.k must be an integer from 2 to 100, got 0" in capsys.readouterr().err


def test_exit_codes_of_errors() -> None:
    assert runtime.exit_code_of(args.InputNotFoundError("x")) == 3
    assert runtime.exit_code_of(args.InputUnusableError("x")) == 4
    assert runtime.exit_code_of(contract.SchemaMismatchError("c_date", ["missing column x"])) == 5
    assert runtime.exit_code_of(args.MissingUpstreamError("x")) == 6
    assert runtime.exit_code_of(RuntimeError("x")) == 1
    assert len({args.EXIT_OK, args.EXIT_FAILURE, args.EXIT_USAGE, args.EXIT_INPUT_NOT_FOUND, args.EXIT_INPUT_UNUSABLE,
                args.EXIT_CONTRACT, args.EXIT_MISSING_UPSTREAM}) == 7


@pytest.mark.parametrize("script", ENTRY_SCRIPTS)
def test_entry_scripts_fail_on_bad_arguments_with_code_2_before_importing_spark(script: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-B", str(SPARK_JOBS_DIR / script)] + argv(run_id="BAD ID"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        cwd=str(SPARK_JOBS_DIR),
    )
    assert completed.returncode == 2, completed.stderr
    assert '--run-id "BAD ID" is not valid' in completed.stderr
    assert "Traceback" not in completed.stderr


def test_join_uri() -> None:
    assert args.join_uri("s3://b", "c_date/run_id=x/") == "s3://b/c_date/run_id=x/"
    assert args.join_uri("s3://b/", "/c_date/") == "s3://b/c_date/"
