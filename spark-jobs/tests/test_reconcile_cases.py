"""The run summary's reconciliation, message for message, from core/cases/reconcile_cases.json.

test/twins/reconcile-cases.test.ts runs the same file against the TypeScript twin
(reconcileRunSummary in core/contract/run-artifacts.ts). Standard library and pytest only.
"""

import json

import pytest

from support import CASES_DIR
from shopsight_jobs.summary import reconcile_run_summary

DOC = json.loads((CASES_DIR / "reconcile_cases.json").read_text(encoding="utf-8"))


def test_the_file_names_both_twins():
    assert "test_reconcile_cases.py" in DOC["about"] and "reconcile-cases.test.ts" in DOC["about"]
    assert any(not c["problems"] for c in DOC["cases"]) and any(len(c["problems"]) > 1 for c in DOC["cases"])


@pytest.mark.parametrize("case", DOC["cases"], ids=[c["name"] for c in DOC["cases"]])
def test_reconcile_run_summary(case):
    assert reconcile_run_summary(case["summary"]) == case["problems"]
