"""pyproject.toml against the code: every import has a requirement, pins allow only versions the code works with."""

from __future__ import annotations

import ast
import sys
import tomllib
from fnmatch import fnmatch
from importlib.metadata import packages_distributions, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = {canonicalize_name(Requirement(r).name): Requirement(r) for r in PROJECT["dependencies"]}
TEST_ONLY = {canonicalize_name(Requirement(r).name): Requirement(r) for r in PROJECT["optional-dependencies"]["test"]}
FROM_THE_TEST_EXTRA = {"playwright": "`xface bench --cold-start` drives a browser, a measurement for developers"}


def _third_party_imports(files: list[Path]) -> set[str]:
    names = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name not in ("xface", "tests")}


def _distributions(module: str) -> set[str]:
    return {canonicalize_name(name) for name in packages_distributions().get(module, [])}


def test_every_module_the_app_imports_is_a_runtime_dependency() -> None:
    code = [*(ROOT / "xface").glob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
    for module in _third_party_imports(code):
        wanted = TEST_ONLY.keys() if module in FROM_THE_TEST_EXTRA else RUNTIME.keys()
        assert _distributions(module) & wanted, f"{module} is imported by the app but not a dependency"


def test_test_only_packages_are_in_the_test_extra_and_not_installed_for_the_app() -> None:
    used_by_tests = _third_party_imports(list((ROOT / "tests").rglob("*.py")))
    for module in used_by_tests:
        assert _distributions(module) & (RUNTIME.keys() | TEST_ONLY.keys()), f"{module} is missing from pyproject"
    assert "textstat" in TEST_ONLY and "textstat" not in RUNTIME


def test_installed_versions_meet_the_pins() -> None:
    for name, requirement in {**RUNTIME, **TEST_ONLY}.items():
        assert requirement.specifier.contains(version(name), prereleases=True), f"{name} {version(name)}"


def test_sqlite_utils_pin_starts_where_database_rollback_does() -> None:
    """The journal calls Database.rollback, new in sqlite-utils 4.0."""
    from sqlite_utils import Database

    assert callable(Database.rollback)
    assert not RUNTIME["sqlite-utils"].specifier.contains("3.36")
    assert RUNTIME["sqlite-utils"].specifier.contains("4.0")


def test_every_data_file_in_the_package_is_installed_with_it() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    missing = []
    for path in (ROOT / "xface").rglob("*"):
        if not path.is_file() or path.suffix in (".py", ".pyc"):
            continue
        package = next(p for p in path.parents if (p / "__init__.py").exists())  # the package that owns the file
        name = ".".join(package.relative_to(ROOT).parts)
        if not any(fnmatch(path.relative_to(package).as_posix(), pattern) for pattern in patterns.get(name, [])):
            missing.append(path.relative_to(ROOT).as_posix())
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"


def test_the_readme_says_where_every_module_fits() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## How it fits together", 1)[1].split("\n## ", 1)[0]
    for layer in sorted(p.name for p in (ROOT / "xface").iterdir() if (p / "__init__.py").exists()):
        assert f"xface/{layer}/" in section, f"the README's map leaves out xface/{layer}/"
    assert "emotions.py" in section
