"""shopsight_jobs.layout agrees with core/contract/layout.ts: the examples and run id verdicts in
contract.json were computed by the TypeScript functions."""

import inspect
import re

import pytest

from shopsight_jobs import contract, layout

LAYOUT = contract.document()["layout"]


def python_name(typescript_name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), typescript_name)


@pytest.mark.parametrize("name", sorted(LAYOUT["keyFunctions"]))
def test_key_function_gives_what_typescript_gives(name: str) -> None:
    spec = LAYOUT["keyFunctions"][name]
    function = getattr(layout, python_name(name), None)
    assert function is not None, "layout.py has no {} for the TypeScript {}".format(python_name(name), name)
    # Same parameters in the same order as TypeScript (run_id for runId).
    assert list(inspect.signature(function).parameters) == spec["params"]
    assert function(*spec["example"]["args"]) == spec["example"]["result"]


def test_layout_py_has_no_key_function_typescript_lacks() -> None:
    python_functions = {
        n for n, f in vars(layout).items() if inspect.isfunction(f) and f.__module__ == layout.__name__ and not n.startswith("_")
    }
    expected = {python_name(n) for n in LAYOUT["keyFunctions"]} | {"assert_run_id", "is_valid_run_id"}
    assert python_functions == expected


@pytest.mark.parametrize("name", sorted(LAYOUT["constants"]))
def test_constant_is_the_typescript_value(name: str) -> None:
    assert getattr(layout, name) == LAYOUT["constants"][name]


def test_run_id_pattern_is_the_typescript_source() -> None:
    assert layout.RUN_ID_PATTERN.pattern == LAYOUT["patterns"]["RUN_ID_PATTERN"]


@pytest.mark.parametrize("run_id", LAYOUT["runIdExamples"]["valid"])
def test_run_id_typescript_accepts(run_id: str) -> None:
    assert layout.is_valid_run_id(run_id)
    layout.assert_run_id(run_id)


@pytest.mark.parametrize("run_id", LAYOUT["runIdExamples"]["invalid"], ids=repr)
def test_run_id_typescript_rejects(run_id: str) -> None:
    assert not layout.is_valid_run_id(run_id)
    with pytest.raises(ValueError, match="is not valid: use 1-63 characters"):
        layout.assert_run_id(run_id)


def test_run_id_examples_cover_the_tricky_cases() -> None:
    invalid = LAYOUT["runIdExamples"]["invalid"]
    assert any(r.endswith("\n") for r in invalid), "a trailing newline: Python's $ would accept it"
    assert any(len(r) == 64 for r in invalid) and any(len(r) == 63 for r in LAYOUT["runIdExamples"]["valid"])
    assert not layout.is_valid_run_id(None)
