#!/usr/bin/env python3
"""Build dist/spark-jobs/: exactly what the CDK app uploads to the artifacts bucket's spark-jobs/.

    dist/spark-jobs/shopsight_jobs.zip   the shopsight_jobs package, passed to every job with --py-files
    dist/spark-jobs/<job>.py             every entry script directly under spark-jobs/
    dist/spark-jobs/sql/**               the shared transformation SQL (from core/sql/)

The output is reproducible: the same sources give byte-identical files on any machine and Python
3.9+, because the CDK asset hash (and so whether a deploy uploads anything) depends on it. The
archive has its entries sorted, one fixed timestamp (1980-01-01), fixed permissions, no
__pycache__, *.pyc or dot-files, and stores entries uncompressed (deflate output varies with the
zlib build; the package is small).

Runs with python3 (3.9 or later), standard library only; `npm ci` runs it (the "prepare" script),
as does `npm run build:spark`.
"""

import argparse
import os
import shutil
import stat
import sys
import zipfile
from pathlib import Path
from typing import List, Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "shopsight_jobs"
ARCHIVE = PACKAGE + ".zip"
SQL_DIR = "sql"
CONTRACT_JSON = "contract.json"

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
EXCLUDED_DIRS = {"__pycache__"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo")


def _included(path: Path) -> bool:
    return not path.name.startswith(".") and not path.name.endswith(EXCLUDED_SUFFIXES)


def tree_files(root: Path) -> List[Path]:
    """Files under root, relative to it, sorted; skips __pycache__, compiled files and dot-files/folders."""
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in EXCLUDED_DIRS and not d.startswith(".")]
        for name in files:
            path = Path(directory, name)
            if _included(path) and path.is_file():
                found.append(path.relative_to(root))
    return sorted(found, key=lambda p: p.as_posix())


def write_archive(package_dir: Path, archive: Path, sql_dir: Optional[Path] = None) -> int:
    """Write the --py-files archive; returns the number of entries.

    The shared .sql files go inside the package as shopsight_jobs/sql/<path>, so that
    shopsight_jobs.sql.load_sql finds them with pkgutil.get_data wherever the zip is unpacked."""
    entries = tree_files(package_dir)
    names = {p.as_posix() for p in entries}
    if "__init__.py" not in names:
        raise SystemExit("build-spark-archive: {} has no __init__.py".format(package_dir))
    if CONTRACT_JSON not in names:
        raise SystemExit(
            "build-spark-archive: {}/{} is missing: run npm run contract:json".format(package_dir, CONTRACT_JSON)
        )
    members = [("{}/{}".format(PACKAGE, rel.as_posix()), package_dir / rel) for rel in entries]
    if sql_dir is not None:
        members += [("{}/{}/{}".format(PACKAGE, SQL_DIR, rel.as_posix()), sql_dir / rel) for rel in tree_files(sql_dir)]
    members.sort(key=lambda m: m[0])
    with zipfile.ZipFile(archive, "w") as zf:
        for name, source in members:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3  # Unix, so that external_attr holds the mode bits below
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            zf.writestr(info, source.read_bytes())
    os.chmod(archive, FILE_MODE)
    return len(members)


def copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)  # contents only: no timestamps or permissions carried over
    os.chmod(target, FILE_MODE)


def prepare_output(out_dir: Path, sources: Sequence[Path]) -> None:
    """Empty out_dir, refusing anything that does not look like an earlier build."""
    out_dir = out_dir.resolve()
    for source in (s.resolve() for s in sources):
        if source.is_relative_to(out_dir) or out_dir.is_relative_to(source):
            raise SystemExit("build-spark-archive: the output folder {} overlaps the sources {}".format(out_dir, source))
    if out_dir.exists():
        if not out_dir.is_dir():
            raise SystemExit("build-spark-archive: {} exists and is not a folder".format(out_dir))
        if any(out_dir.iterdir()) and not (out_dir / ARCHIVE).is_file():
            raise SystemExit(
                "build-spark-archive: {} is not empty and holds no {}: not emptying it".format(out_dir, ARCHIVE)
            )
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)


def build(spark_jobs_dir: Path, out_dir: Path, sql_dir: Path) -> List[str]:
    """Build out_dir from spark_jobs_dir and the shared SQL in sql_dir; returns the files written, relative to out_dir, sorted."""
    package_dir = spark_jobs_dir / PACKAGE
    if not package_dir.is_dir():
        raise SystemExit("build-spark-archive: no package folder {}".format(package_dir))
    prepare_output(out_dir, [spark_jobs_dir, sql_dir])

    write_archive(package_dir, out_dir / ARCHIVE, sql_dir if sql_dir.is_dir() else None)
    written = [ARCHIVE]
    for script in sorted(spark_jobs_dir.glob("*.py")):
        if _included(script) and script.is_file():
            copy_file(script, out_dir / script.name)
            written.append(script.name)
    if sql_dir.is_dir():
        for relative in tree_files(sql_dir):
            copy_file(sql_dir / relative, out_dir / SQL_DIR / relative)
            written.append("{}/{}".format(SQL_DIR, relative.as_posix()))
    return sorted(written)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--spark-jobs", type=Path, default=REPO_ROOT / "spark-jobs", help="source folder (default: spark-jobs/)"
    )
    parser.add_argument(
        "--sql", type=Path, default=REPO_ROOT / "core" / "sql", help="shared SQL folder (default: core/sql/)"
    )
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "dist" / "spark-jobs", help="output folder (default: dist/spark-jobs/)"
    )
    if sys.version_info < (3, 9):
        raise SystemExit("build-spark-archive: needs Python 3.9 or later, this is {}".format(sys.version.split()[0]))
    args = parser.parse_args(argv)
    written = build(args.spark_jobs, args.out, args.sql)
    try:
        shown = args.out.resolve().relative_to(Path.cwd())
    except ValueError:
        shown = args.out.resolve()
    print("build-spark-archive: wrote {} file(s) to {}/: {}".format(len(written), shown, ", ".join(written)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
