"""scripts/build-spark-archive.py: dist/spark-jobs/ is reproducible and holds exactly what is deployed."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from support import BUILD_SCRIPT, REPO_ROOT, SPARK_JOBS_DIR, SQL_DIR, run_build

PACKAGE_DIR = SPARK_JOBS_DIR / "shopsight_jobs"


def package_sources() -> list:
    return sorted(
        p.relative_to(PACKAGE_DIR).as_posix()
        for p in PACKAGE_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc" and not p.name.startswith(".")
    )


def make_sources(root: Path) -> Path:
    """A spark-jobs/ copy with entry scripts, SQL and the kinds of clutter the build must leave out."""
    src = root / "spark-jobs"
    shutil.copytree(str(PACKAGE_DIR), str(src / "shopsight_jobs"), ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (src / "prepare.py").write_text("print('prepare')\n")
    (src / "segments.py").write_text("print('segments')\n")
    (src / "sql" / "schemas").mkdir(parents=True)
    (src / "sql" / "schemas" / "c_date.sql").write_text("SELECT 1 AS x\n")
    (src / "sql" / "clean.sql").write_text("SELECT 2 AS y\n")
    (src / "tests").mkdir()
    (src / "tests" / "test_x.py").write_text("def test(): pass\n")
    (src / "README.md").write_text("not deployed\n")
    return src


def add_clutter(src: Path) -> None:
    for folder in (src / "shopsight_jobs", src / "sql"):
        (folder / "__pycache__").mkdir(exist_ok=True)
        (folder / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0compiled")
        (folder / ".DS_Store").write_bytes(b"\0finder")
    (src / "shopsight_jobs" / "stray.pyc").write_bytes(b"\0compiled")
    (src / ".hidden.py").write_text("x = 1\n")


def restamp(src: Path, when: float, mode: int) -> None:
    for path in src.rglob("*"):
        if path.is_file():
            os.chmod(str(path), mode)
            os.utime(str(path), (when, when))


def read_tree(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_builds_of_the_sources_are_byte_identical(tmp_path: Path) -> None:
    first = run_build(tmp_path / "a")
    second = run_build(tmp_path / "b")
    assert first == second
    assert read_tree(tmp_path / "a") == read_tree(tmp_path / "b")


def test_builds_are_byte_identical_whatever_the_timestamps_permissions_and_clutter(tmp_path: Path) -> None:
    src = make_sources(tmp_path / "src")
    restamp(src, 1_000_000_000, 0o644)
    run_build(tmp_path / "a", spark_jobs_dir=src)
    add_clutter(src)
    restamp(src, 2_000_000_000, 0o755)
    run_build(tmp_path / "b", spark_jobs_dir=src)
    assert read_tree(tmp_path / "a") == read_tree(tmp_path / "b")
    for path in (tmp_path / "b").rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o644, path


def test_the_archive_holds_the_package_and_contract_json(built_archive: Path) -> None:
    with zipfile.ZipFile(str(built_archive)) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        sql_files = sorted(p.relative_to(SQL_DIR).as_posix() for p in SQL_DIR.rglob("*.sql"))
        expected = ["shopsight_jobs/" + p for p in package_sources()] + ["shopsight_jobs/sql/" + p for p in sql_files]
        assert names == sorted(expected)
        # The shared SQL travels inside the package, byte for byte, for load_sql (pkgutil.get_data).
        assert zf.read("shopsight_jobs/sql/prepare/schemas/c_date.sql") == (SQL_DIR / "prepare" / "schemas" / "c_date.sql").read_bytes()
        assert "shopsight_jobs/contract.json" in names
        assert "shopsight_jobs/__init__.py" in names
        assert zf.read("shopsight_jobs/contract.json") == (PACKAGE_DIR / "contract.json").read_bytes()
        json.loads(zf.read("shopsight_jobs/contract.json").decode("utf-8"))
        for info in infos:
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644
            assert info.create_system == 3
            assert info.compress_type == zipfile.ZIP_STORED
            assert "__pycache__" not in info.filename and not info.filename.endswith(".pyc")
        assert zf.testzip() is None


def test_dist_holds_the_archive_entry_scripts_and_sql_and_nothing_else(tmp_path: Path) -> None:
    src = make_sources(tmp_path / "src")
    add_clutter(src)
    files = run_build(tmp_path / "out", spark_jobs_dir=src, sql_dir=src / "sql")
    assert files == ["prepare.py", "segments.py", "shopsight_jobs.zip", "sql/clean.sql", "sql/schemas/c_date.sql"]
    assert (tmp_path / "out" / "sql" / "schemas" / "c_date.sql").read_text() == "SELECT 1 AS x\n"
    with zipfile.ZipFile(str(tmp_path / "out" / "shopsight_jobs.zip")) as zf:
        names = zf.namelist()
    assert "shopsight_jobs/sql/schemas/c_date.sql" in names and "shopsight_jobs/sql/clean.sql" in names
    assert not any("stray" in n or ".DS_Store" in n or "__pycache__" in n for n in names)


def test_a_rebuild_drops_files_whose_source_is_gone(tmp_path: Path) -> None:
    src = make_sources(tmp_path / "src")
    run_build(tmp_path / "out", spark_jobs_dir=src, sql_dir=src / "sql")
    (src / "segments.py").unlink()
    shutil.rmtree(str(src / "sql" / "schemas"))
    assert run_build(tmp_path / "out", spark_jobs_dir=src, sql_dir=src / "sql") == ["prepare.py", "shopsight_jobs.zip", "sql/clean.sql"]


def _build_fails(*args: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-B", str(BUILD_SCRIPT)] + list(args),
        cwd=str(REPO_ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
    )
    assert completed.returncode != 0, completed.stdout
    return completed.stdout


def test_refuses_to_empty_a_folder_that_is_not_a_build(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me\n")
    assert "not emptying it" in _build_fails("--out", str(out))
    assert (out / "precious.txt").exists()


def test_refuses_an_output_folder_overlapping_the_sources(tmp_path: Path) -> None:
    src = make_sources(tmp_path / "src")
    assert "overlaps the sources" in _build_fails("--spark-jobs", str(src), "--sql", str(src / "sql"), "--out", str(src / "sql"))
    assert "overlaps the sources" in _build_fails("--spark-jobs", str(src), "--sql", str(src / "sql"), "--out", str(tmp_path))
    assert (src / "sql" / "clean.sql").exists()


def test_missing_contract_json_says_how_to_make_it(tmp_path: Path) -> None:
    src = make_sources(tmp_path / "src")
    (src / "shopsight_jobs" / "contract.json").unlink()
    output = _build_fails("--spark-jobs", str(src), "--out", str(tmp_path / "out"))
    assert "npm run contract:json" in output


def test_npm_ci_and_build_spark_run_the_build() -> None:
    scripts = json.loads((REPO_ROOT / "package.json").read_text(encoding="utf-8"))["scripts"]
    assert scripts["prepare"] == "python3 scripts/build-spark-archive.py"
    assert scripts["build:spark"] == "python3 scripts/build-spark-archive.py"


@pytest.mark.parametrize("relative", ["tests", "__pycache__"])
def test_nothing_but_entry_scripts_is_taken_from_the_top_folder(tmp_path: Path, relative: str) -> None:
    src = make_sources(tmp_path / "src")
    (src / relative).mkdir(exist_ok=True)
    (src / relative / "helper.py").write_text("x = 1\n")
    files = run_build(tmp_path / "out", spark_jobs_dir=src, sql_dir=src / "sql")
    assert not any(f.endswith("helper.py") for f in files)
