"""Paths and helpers shared by the spark-jobs tests (imported by them and by conftest.py)."""

import gzip
import subprocess
import sys
from pathlib import Path
from typing import List

SPARK_JOBS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = SPARK_JOBS_DIR.parent
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-spark-archive.py"
#: The shared SQL both engines run, and the case files both test suites read.
SQL_DIR = REPO_ROOT / "core" / "sql"
CASES_DIR = REPO_ROOT / "core" / "cases"

# The package is imported from the source folder, as a job imports it from its --py-files archive.
if str(SPARK_JOBS_DIR) not in sys.path:
    sys.path.insert(0, str(SPARK_JOBS_DIR))


def run_build(
    out_dir: Path, spark_jobs_dir: Path = SPARK_JOBS_DIR, python: str = sys.executable, sql_dir: Path = SQL_DIR
) -> List[str]:
    """Run scripts/build-spark-archive.py as npm does; returns the files it left in out_dir, sorted."""
    completed = subprocess.run(
        [python, "-B", str(BUILD_SCRIPT), "--spark-jobs", str(spark_jobs_dir), "--sql", str(sql_dir), "--out", str(out_dir)],
        cwd=str(REPO_ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
    )
    assert completed.returncode == 0, "build failed:\n{}\n{}".format(completed.stdout, completed.stderr)
    return sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())


def run_python(python: str, code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh, isolated interpreter (no user site, no cwd on sys.path, no .pyc)."""
    return subprocess.run(
        [python, "-I", "-B", "-c", code] + list(args),
        cwd=str(cwd),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
    )


#: Imports the package from the archive given as argv[1] and exercises it; prints "ok" and the version.
ARCHIVE_SMOKE_TEST = """
import re, sys
sys.path.insert(0, sys.argv[1])
from shopsight_jobs import contract, layout
assert contract.__file__.startswith(sys.argv[1]), contract.__file__
assert layout.__file__.startswith(sys.argv[1]), layout.__file__
for table in contract.OUTPUT_TABLES:
    assert contract.check_schema(table.name, contract.expected_fields(table.name)) == [], table.name
assert contract.check_schema("c_date", []) != []
for name, spec in contract.document()["layout"]["keyFunctions"].items():
    function = getattr(layout, re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name))
    assert function(*spec["example"]["args"]) == spec["example"]["result"], name
print("ok", tuple(sys.version_info[:2]))
"""


def rees46_line(t: str, kind: str, product: int, user: int, session: str, price: str = "10.00", code: str = "a.b", brand: str = "x") -> str:
    """One REES46 data line with made-up values (never a row of the real samples)."""
    return "{} UTC,{},{},{},{},{},{},{},{}".format(t, kind, product, 2100000000000000002, code, brand, price, user, session)


def write_text(path: Path, text: str, gz: bool = False) -> str:
    """Writes ``text`` to ``path`` (gzip when ``gz``), creating its folder; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(str(path), "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)
