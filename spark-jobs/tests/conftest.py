"""Fixtures of the spark-jobs tests. Run them from the repository root with

    /usr/bin/python3 -m pytest spark-jobs/tests -q -rs      (what scripts/test-python.sh does)

They need only the standard library and pytest; the pyspark test is skipped where pyspark is absent.
"""

from pathlib import Path

import pytest

from support import run_build


@pytest.fixture(scope="session")
def built_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """shopsight_jobs.zip built from the current sources into a temporary folder."""
    out = tmp_path_factory.mktemp("build") / "spark-jobs"
    run_build(out)
    return out / "shopsight_jobs.zip"
