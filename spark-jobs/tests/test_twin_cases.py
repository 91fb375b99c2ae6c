"""The rules written twice, in TypeScript and in Python, checked from one set of cases.

Each file under cases/ is also run by test/twins/twin-cases.test.ts against the TypeScript twin, so
the two sides cannot drift apart without one of the two tests failing:

- header_cases.json: which raw file a header line belongs to (lines.recognise_header);
- split_cases.json: the purchase-intent train/test split (purchase_intent.split_bucket / split_threshold / split_of);
- segment_name_cases.json: segment names from the profiles (segments.name_segments);
- parameter_cases.json: pipeline parameter overrides (args.resolve_pipeline_parameters).

A case with ``known_disagreement`` is one where one side does not follow the documented rule today;
when the entry names "py", this side's current answer is pinned (so fixing it fails the test until
the entry is removed). Standard library and pytest only, no Spark.
"""

import copy
import json
from typing import Any, Dict, List

import pytest

from support import CASES_DIR
from shopsight_jobs import lines, purchase_intent, segments
from shopsight_jobs.args import JobArgumentError, resolve_pipeline_parameters

SIDE = "py"


def load(name: str) -> Dict[str, Any]:
    return json.loads((CASES_DIR / name).read_text(encoding="utf-8"))


HEADERS = load("header_cases.json")
SPLITS = load("split_cases.json")
SEGMENTS = load("segment_name_cases.json")
PARAMETERS = load("parameter_cases.json")


def ids(cases: List[Dict[str, Any]]) -> List[str]:
    return [c["name"] for c in cases]


def ours(case: Dict[str, Any], expected: Any) -> Any:
    """The answer this side must give: the case's, unless a known disagreement pins ours."""
    disagreement = case.get("known_disagreement", {})
    return disagreement[SIDE] if SIDE in disagreement else expected


@pytest.mark.parametrize(
    "data", [HEADERS, SPLITS, SEGMENTS, PARAMETERS], ids=["headers", "splits", "segment names", "parameters"]
)
def test_case_files_are_well_formed(data: Dict[str, Any]) -> None:
    assert "test_twin_cases.py" in data["about"] and "twin-cases.test.ts" in data["about"]
    names = ids(data["cases"])
    assert len(names) == len(set(names)), "case names must be unique"
    for case in data["cases"]:
        disagreement = case.get("known_disagreement")
        if disagreement is not None:
            sides = set(disagreement) - {"note"}
            assert sides and sides <= {"ts", "py"} and disagreement.get("note"), case["name"]


# ---------------------------------------------------------------------------------------------
# Header recognition
# ---------------------------------------------------------------------------------------------


def test_header_kinds_are_mapped_to_this_side() -> None:
    mapped = {names[SIDE] for names in HEADERS["kinds"].values()}
    assert mapped == {"rees46_events", "retailrocket_events", "category_tree", "item_properties"}
    for case in HEADERS["cases"]:
        assert case["kind"] is None or case["kind"] in HEADERS["kinds"], case["name"]


@pytest.mark.parametrize("case", HEADERS["cases"], ids=ids(HEADERS["cases"]))
def test_header_case(case: Dict[str, Any]) -> None:
    kind = ours(case, case["kind"])
    expected = None if kind is None else HEADERS["kinds"][kind][SIDE]
    assert lines.recognise_header(case["line"]) == expected


def test_header_cases_cover_every_kind_and_not_recognised() -> None:
    kinds = {c["kind"] for c in HEADERS["cases"]}
    assert kinds == set(HEADERS["kinds"]) | {None}


# ---------------------------------------------------------------------------------------------
# The purchase-intent split
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", SPLITS["cases"], ids=ids(SPLITS["cases"]))
def test_split_case(case: Dict[str, Any]) -> None:
    seed, session, fraction = case["seed"], case["session_id"], case["train_fraction"]
    pinned = ours(case, {})
    assert purchase_intent.split_bucket(seed, session) == pinned.get("bucket", case["bucket"])
    assert purchase_intent.split_threshold(fraction) == pinned.get("threshold", case["threshold"])
    assert purchase_intent.split_of(seed, session, fraction) == pinned.get("split", case["split"])


def test_split_cases_agree_with_themselves() -> None:
    """split = bucket < threshold in every case, and both sides of a threshold are covered."""
    for case in SPLITS["cases"]:
        assert case["split"] == ("train" if case["bucket"] < case["threshold"] else "test"), case["name"]
    assert {c["split"] for c in SPLITS["cases"]} == {"train", "test"}
    assert any(c["bucket"] == c["threshold"] for c in SPLITS["cases"])
    assert any(c["bucket"] == c["threshold"] - 1 for c in SPLITS["cases"])


# ---------------------------------------------------------------------------------------------
# Segment names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", SEGMENTS["cases"], ids=ids(SEGMENTS["cases"]))
def test_segment_name_case(case: Dict[str, Any]) -> None:
    profiles = case["profiles"]
    segment_ids = [p["segment_id"] for p in profiles]
    assert segment_ids == sorted(segment_ids), "profiles are listed in segment id order"
    assert segments.name_segments(copy.deepcopy(profiles), case["span_days"]) == ours(case, case["names"])


def test_segment_cases_use_every_name() -> None:
    used = {name for c in SEGMENTS["cases"] for name in c["names"]}
    bases = ("regular_buyers", "cart_abandoners", "lapsed_visitors", "one_time_visitors", "window_shoppers")
    assert "frequent_buyers" in used and "frequent_buyers_2" not in used  # only the top buyer is frequent
    assert all(name in used and name + "_2" in used for name in bases)
    assert {"regular_buyers_3", "cart_abandoners_3", "window_shoppers_3"} <= used


# ---------------------------------------------------------------------------------------------
# Pipeline parameters
# ---------------------------------------------------------------------------------------------


def expected_parameters(changed: Dict[str, Any]) -> Dict[str, Any]:
    result = copy.deepcopy(PARAMETERS["defaults"])
    for dotted, value in changed.items():
        *groups, leaf = dotted.split(".")
        target = result
        for group in groups:
            target = target[group]
        assert leaf in target, "changed names a parameter the defaults do not have: " + dotted
        target[leaf] = value
    return result


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def test_the_case_file_defaults_are_this_side_defaults() -> None:
    assert as_json(resolve_pipeline_parameters(None)) == as_json(PARAMETERS["defaults"])


@pytest.mark.parametrize("case", PARAMETERS["cases"], ids=ids(PARAMETERS["cases"]))
def test_parameter_case(case: Dict[str, Any]) -> None:
    assert ("changed" in case) != ("error" in case), "a case has either changed or error"
    overrides = copy.deepcopy(case["overrides"])
    if "changed" in case:
        assert as_json(resolve_pipeline_parameters(overrides)) == as_json(expected_parameters(case["changed"]))
        return
    with pytest.raises(JobArgumentError) as raised:
        resolve_pipeline_parameters(overrides)
    message = str(raised.value)
    assert message.startswith(case["error"]["path"] + " "), message
    for fragment in case["error"]["contains"]:
        assert fragment in message, message

