"""pyproject.toml against the code: every import has a requirement, pins allow only versions the code works with,
and the base install (no torch) runs the app, `xface analyze` and `xface.Analyzer`."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from importlib.metadata import packages_distributions, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT, WITH_FACES
from xface.vision.runtime import TORCH_MODULES

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = {canonicalize_name(Requirement(r).name): Requirement(r) for r in PROJECT["dependencies"]}
EXTRAS = {
    extra: {canonicalize_name(Requirement(r).name): Requirement(r) for r in requirements}
    for extra, requirements in PROJECT["optional-dependencies"].items()
}
TRAIN = EXTRAS["train"]
TEST_ONLY = {name: r for name, r in EXTRAS["test"].items() if name != "xface"}
EXPORT_MODULES = {"onnx": "writing a refitted crowd head into the ONNX export (xface/tools/crowd_head.py)"}
FROM_THE_TEST_EXTRA = {"playwright": "`xface bench --cold-start` drives a browser, a measurement for developers"}


def _third_party_imports(files: list[Path]) -> set[str]:
    names = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    first_party = {"xface", "tests", *(path.stem for path in (ROOT / "scripts").glob("*.py"))}
    return {name for name in names if name not in sys.stdlib_module_names and name not in first_party}


def _distributions(module: str) -> set[str]:
    return {canonicalize_name(name) for name in packages_distributions().get(module, [])}


def test_every_module_the_app_imports_is_a_runtime_dependency() -> None:
    """torch and its kin (TORCH_MODULES) come with the train extra; everything else the code imports is in the base."""
    code = [*(ROOT / "xface").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
    for module in _third_party_imports(code):
        if module in FROM_THE_TEST_EXTRA:
            wanted = TEST_ONLY.keys()
        elif module in TORCH_MODULES:
            wanted = TRAIN.keys()
        elif module in EXPORT_MODULES:
            wanted = EXTRAS["export"].keys()
        else:
            wanted = RUNTIME.keys()
        assert _distributions(module) & wanted, f"{module} is imported by xface but not where pyproject puts it"


def test_the_base_install_leaves_torch_to_the_train_extra() -> None:
    """`pip install -e .` brings no torch (and so no CUDA libraries); train brings exactly what TORCH_MODULES names,
    and the test and export extras include train (CI installs .[test], so the torch tests run there)."""
    assert set(TRAIN) == {canonicalize_name(module) for module in TORCH_MODULES}
    assert not set(RUNTIME) & set(TRAIN)
    test_extras = {extra for r in PROJECT["optional-dependencies"]["test"] for extra in Requirement(r).extras}
    assert {"train", "export"} <= test_extras
    assert Requirement("xface[train]") in [Requirement(r) for r in PROJECT["optional-dependencies"]["export"]]


def _without_torch(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Python as a base install runs it: the train extra's modules cannot be imported (tests/without_torch.py)."""
    return subprocess.run(
        [sys.executable, "-m", "tests.without_torch", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


GROUP = WITH_FACES / "2007_007763.jpg"


def test_analyzer_and_xface_analyze_read_faces_without_torch() -> None:
    code = f"""
import sys, xface
readings = xface.Analyzer().analyze({str(GROUP)!r})
assert len(readings) == 7 and all(r.cues is not None for r in readings), readings
assert sys.modules["torch"] is None and sys.modules["facenet_pytorch"] is None  # still blocked: never imported
print("ok")
"""
    library = _without_torch("-c", code)
    assert library.returncode == 0 and library.stdout == "ok\n", library.stderr
    command = _without_torch("-m", "xface.tools.cli", "--no-progress", "analyze", str(GROUP))
    assert command.returncode == 0, command.stderr
    assert command.stdout.splitlines()[-1] == "7 faces in 1 file."


def test_what_needs_torch_says_so_in_one_sentence_without_torch(tmp_path: Path) -> None:
    hint = (
        "needs torch, which the base install leaves out: "
        "install the train extra with `.venv/bin/pip install -e '.[train]'`"
    )
    for command in (
        ["train", "--npz", str(GROUP), "--out", str(tmp_path / "run")],
        ["train-crowd-head", "--npz", str(GROUP)],
    ):
        result = _without_torch("-m", "xface.tools.cli", *command)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [f"xface: error: xface {command[0]} {hint} (about 5 GB)"]
    assert not (tmp_path / "run").exists()
    detection = _without_torch("-m", "xface.tools.cli", "evaluate", "--detection", str(WITH_FACES))
    assert detection.returncode == 2 and detection.stderr.strip().splitlines() == [
        f"xface: error: xface evaluate --detection (plain MTCNN, to compare with) {hint} (about 5 GB)"
    ]  # evaluate --npz runs on ONNX Runtime: only the comparison needs torch
    # A checkpoint without an ONNX export of its weights runs on torch: here the bundled model without model.onnx.
    other = tmp_path / "other-model"
    shutil.copytree(ROOT / "models" / "xface-vit", other, ignore=shutil.ignore_patterns("*.onnx"))
    result = _without_torch("-m", "xface.tools.cli", "--no-progress", "analyze", str(GROUP), "--model", str(other))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"xface: error: {other} (a model without an ONNX export of exactly its weights) {hint} (about 5 GB)"
    ]


def test_bench_cold_start_without_playwright_or_chromium_says_so_in_one_sentence(tmp_path: Path) -> None:
    """`--cold-start` drives a browser (playwright, from the test extra, and Chromium): in a base install it says
    what to install, at once, before minutes of measuring and without a traceback."""
    command = ["-m", "xface.tools.cli", "--no-progress", "bench", "--frames", "0", "--video-seconds", "0"]
    no_playwright = f"""
import sys
sys.modules["playwright"] = None  # as in a base install
from xface.tools.cli import main
sys.exit(main({command[2:] + ["--cold-start", "--json", str(tmp_path / "bench.json")]!r}))
"""
    result = _without_torch("-c", no_playwright)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        "xface: error: xface bench --cold-start drives a browser with playwright, which the base install leaves "
        "out: install the test extra with `.venv/bin/pip install -e '.[test]'`, or leave out --cold-start"
    ]
    assert result.stdout == "" and not (tmp_path / "bench.json").exists()  # nothing measured, nothing written

    no_chromium = subprocess.run(
        [sys.executable, *command, "--cold-start"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env={"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)},  # this Python, no Chromium
    )
    assert no_chromium.returncode == 2 and no_chromium.stdout == "", no_chromium.stderr
    assert no_chromium.stderr.strip().splitlines() == [
        "xface: error: xface bench --cold-start needs Chromium (`apt-get install chromium`), or leave out --cold-start"
    ]


def test_every_page_renders_without_torch(tmp_path: Path) -> None:
    """The app in a base install: each page through the real navigation (AppTest), torch never needed."""
    code = f"""
import os, sys
os.environ["XFACE_DB"] = {str(tmp_path / "journal.db")!r}
os.environ.pop("XFACE_PASSCODE", None)
import streamlit_webrtc.component
streamlit_webrtc.component.get_this_session_info = lambda: None  # AppTest has no session manager (see test_pages)
from streamlit.testing.v1 import AppTest
for page in sorted(os.listdir("pages")):
    if page.endswith(".py"):
        at = AppTest.from_file("app.py", default_timeout=120)
        at.switch_page("pages/" + page)
        at.run()
        assert not at.exception, (page, at.exception)
        assert at.title, page
print("ok")
"""
    result = _without_torch("-c", code)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]


def test_test_only_packages_are_in_the_test_extra_and_not_installed_for_the_app() -> None:
    used_by_tests = _third_party_imports(list((ROOT / "tests").rglob("*.py")))
    for module in used_by_tests:
        wanted = RUNTIME.keys() | TRAIN.keys() | TEST_ONLY.keys()
        assert _distributions(module) & wanted, f"{module} is missing from pyproject"
    assert "textstat" in TEST_ONLY and "textstat" not in RUNTIME


def test_installed_versions_meet_the_pins() -> None:
    for name, requirement in {**RUNTIME, **TRAIN, **TEST_ONLY}.items():
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
