"""Every Python file of spark-jobs/ and scripts/ must run on EMR 7's Python 3.9.

``ast.parse(feature_version=(3, 9))`` rejects only some newer grammar (``match``, ``except*``), so
a second pass looks for what parses on 3.9 but fails when it runs: ``X | Y`` in annotations and
isinstance, and standard-library names added in 3.10+. Where a Python 3.9 interpreter is on this
machine, the last tests also compile, import and build with it for real.
"""

import ast
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import pytest

from support import ARCHIVE_SMOKE_TEST, REPO_ROOT, SPARK_JOBS_DIR, run_build, run_python

TARGET = (3, 9)

#: Standard-library names that do not exist on Python 3.9, by module.
NEWER_NAMES = {
    "typing": {
        "Concatenate", "LiteralString", "Never", "NotRequired", "ParamSpec", "ParamSpecArgs",
        "ParamSpecKwargs", "Required", "Self", "TypeAlias", "TypeAliasType", "TypeGuard", "TypeIs",
        "TypeVarTuple", "Unpack", "assert_never", "assert_type", "clear_overloads", "dataclass_transform",
        "get_overloads", "is_typeddict", "override", "reveal_type",
    },
    "itertools": {"pairwise", "batched"},
    "datetime": {"UTC"},
    "dataclasses": {"KW_ONLY"},
    "enum": {"StrEnum", "verify", "ReprEnum", "EnumCheck", "FlagBoundary", "global_enum", "member", "nonmember", "property"},
    "contextlib": {"aclosing", "chdir"},
    "inspect": {"get_annotations"},
}
NEWER_MODULES = {"tomllib", "wsgiref.types"}
NEWER_BUILTINS = {"aiter", "anext", "ExceptionGroup", "BaseExceptionGroup", "EncodingWarning"}
#: Keyword arguments added in 3.10+ to functions the jobs are likely to call.
NEWER_KEYWORDS = {
    "zip": {"strict"},
    "dataclass": {"slots", "kw_only", "match_args", "weakref_slot"},
    "field": {"kw_only"},
}


def python_files() -> List[Path]:
    files = []
    for root in (SPARK_JOBS_DIR, REPO_ROOT / "scripts"):
        files.extend(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    return sorted(files)


def _has_bitor(node: Optional[ast.AST]) -> bool:
    if node is None:
        return False
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a string annotation
        try:
            node = ast.parse(node.value, mode="eval")
        except SyntaxError:
            return False
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr) for n in ast.walk(node))


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def newer_constructs(source: str, filename: str = "<source>") -> List[str]:
    """What in ``source`` does not run on Python 3.9, as "line N: what" strings."""
    try:
        tree = ast.parse(source, filename=filename, feature_version=TARGET)
    except SyntaxError as error:
        return ["line {}: not Python 3.9 syntax: {}".format(error.lineno, error.msg)]
    found = []

    def report(node: ast.AST, what: str) -> None:
        found.append("line {}: {}".format(getattr(node, "lineno", "?"), what))

    for node in ast.walk(tree):
        if type(node).__name__ in ("Match", "TryStar", "TypeAlias"):
            report(node, "{} statement (Python 3.10+)".format(type(node).__name__))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            every = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
            for arg in every:
                if _has_bitor(arg.annotation):
                    report(arg, "X | Y union in the annotation of {} (Python 3.10+: use Optional/Union)".format(arg.arg))
            if _has_bitor(node.returns):
                report(node, "X | Y union in the return annotation of {} (Python 3.10+)".format(node.name))
        elif isinstance(node, ast.AnnAssign) and _has_bitor(node.annotation):
            report(node, "X | Y union in a variable annotation (Python 3.10+)")
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name in ("isinstance", "issubclass") and len(node.args) == 2 and _has_bitor(node.args[1]):
                report(node, "X | Y union passed to {} (Python 3.10+: use a tuple)".format(name))
            for keyword in node.keywords:
                if keyword.arg in NEWER_KEYWORDS.get(name, ()):
                    report(node, "{}({}=...) (Python 3.10+)".format(name, keyword.arg))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in NEWER_MODULES:
                    report(node, "module {} (Python 3.11+)".format(alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.module in NEWER_MODULES:
                report(node, "module {} (Python 3.11+)".format(node.module))
            for alias in node.names:
                if alias.name in NEWER_NAMES.get(node.module or "", ()):
                    report(node, "{}.{} (Python 3.10+)".format(node.module, alias.name))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.attr in NEWER_NAMES.get(node.value.id, ()):
                report(node, "{}.{} (Python 3.10+)".format(node.value.id, node.attr))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in NEWER_BUILTINS:
            report(node, "builtin {} (Python 3.10+)".format(node.id))
    return found


def test_there_are_python_files_to_check() -> None:
    names = {p.relative_to(REPO_ROOT).as_posix() for p in python_files()}
    assert "scripts/build-spark-archive.py" in names
    assert "spark-jobs/shopsight_jobs/contract.py" in names


@pytest.mark.parametrize("path", python_files(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_file_is_python39(path: Path) -> None:
    problems = newer_constructs(path.read_text(encoding="utf-8"), str(path))
    assert problems == [], "{} does not run on Python 3.9:\n{}".format(path, "\n".join(problems))


@pytest.mark.parametrize(
    "snippet, expected",
    [
        ("match x:\n    case 1:\n        pass\n", "not Python 3.9 syntax"),
        ("def f(x: int | None) -> None: ...\n", "annotation of x"),
        ("def f() -> 'int | None': ...\n", "return annotation"),
        ("y: list[int] | None = None\n", "variable annotation"),
        ("isinstance(1, int | str)\n", "passed to isinstance"),
        ("zip(a, b, strict=True)\n", "zip(strict=...)"),
        ("from dataclasses import dataclass\n@dataclass(slots=True)\nclass C: ...\n", "dataclass(slots=...)"),
        ("from typing import TypeAlias\n", "typing.TypeAlias"),
        ("import itertools\nitertools.pairwise([])\n", "itertools.pairwise"),
        ("import tomllib\n", "module tomllib"),
        ("anext(it)\n", "builtin anext"),
    ],
)
def test_the_check_catches_newer_python(snippet: str, expected: str) -> None:
    problems = newer_constructs(snippet)
    assert any(expected in p for p in problems), problems


def test_the_check_accepts_python39() -> None:
    source = (
        "from typing import Optional, Union\n"
        "def f(x: Optional[int], y: Union[int, str] = 1) -> 'list[int]':\n"
        "    flags = 1 | 2\n"
        "    return [v for v in zip([1], [2])]\n"
        "z: dict[str, int] = {}\n"
        "with (open('a') as a, open('b') as b):\n"
        "    pass\n"
    )
    assert newer_constructs(source) == []


# ---------------------------------------------------------------------------------------------
# With a real Python 3.9, where this machine has one.
# ---------------------------------------------------------------------------------------------


def _python39() -> Optional[str]:
    candidates = [os.environ.get("SHOPSIGHT_PYTHON39", ""), shutil.which("python3.9") or ""]
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.9*", "bin", "python3.9")), reverse=True)
    for candidate in candidates:
        if not candidate:
            continue
        try:
            out = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 9))"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                universal_newlines=True,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0 and out.stdout.strip() == "True":
            return candidate
    return None


PYTHON39 = _python39()
needs_python39 = pytest.mark.skipif(
    PYTHON39 is None, reason="no Python 3.9 interpreter here (set SHOPSIGHT_PYTHON39 to one); the ast checks above still ran"
)


@needs_python39
def test_python39_compiles_every_file() -> None:
    code = (
        "import sys\n"
        "for path in sys.argv[1:]:\n"
        "    with open(path, encoding='utf-8') as f:\n"
        "        compile(f.read(), path, 'exec')\n"
    )
    completed = run_python(str(PYTHON39), code, *[str(p) for p in python_files()], cwd=REPO_ROOT)
    assert completed.returncode == 0, completed.stdout


@needs_python39
def test_python39_builds_the_same_archive_and_runs_the_package_from_it(tmp_path: Path, built_archive: Path) -> None:
    run_build(tmp_path / "spark-jobs", python=str(PYTHON39))
    archive = tmp_path / "spark-jobs" / "shopsight_jobs.zip"
    assert archive.read_bytes() == built_archive.read_bytes()
    completed = run_python(str(PYTHON39), ARCHIVE_SMOKE_TEST, str(archive), cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout
    assert "ok (3, 9)" in completed.stdout
