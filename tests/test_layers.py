"""The layout keeps its promises: arrows only go down, no import cycle, modules and pages stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
XFACE = ROOT / "xface"

BASE = {"emotions", "spreadsheet"}
"""Top-level modules every layer may use: the seven emotions' words, and CSV cells that never run as formulas."""
MAY_IMPORT = {
    "emotions": set(),
    "spreadsheet": set(),
    "vision": BASE,
    "journal": BASE,
    "teach": BASE | {"vision", "journal"},
    "app": BASE | {"vision", "journal", "teach"},
    "tools": BASE | {"vision", "journal", "teach", "app"},
}
"""Which layers each layer may import (besides itself): pages → app → teach → vision and journal → the base
modules; the command-line tools sit beside the app and may use every layer."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "xface" or len(parts) < 2:
        return None
    return parts[1]


def xface_imports(path: Path) -> set[str]:
    """Every xface module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("xface"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("xface"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists()
                found.add(candidate if is_module else node.module)
    return found


MODULES = {module_name(path): path for path in sorted(XFACE.rglob("*.py"))}


@pytest.mark.parametrize("module", sorted(name for name in MODULES if layer_of(name)))
def test_arrows_only_go_down(module: str) -> None:
    layer = layer_of(module)
    assert layer in MAY_IMPORT, f"{module} is in no known layer"
    for imported in xface_imports(MODULES[module]):
        target = layer_of(imported)
        if target is None or target == layer:
            continue
        assert target in MAY_IMPORT[layer], f"{module} ({layer}) imports {imported} ({target}), a layer above or beside"


def test_no_import_cycle() -> None:
    graph = {name: {i for i in xface_imports(path) if i in MODULES and i != name} for name, path in MODULES.items()}
    graph["xface"] = set()  # the package's lazy re-exports are its facade, not a dependency of its parts
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for nxt in sorted(graph[name]):
            if state.get(nxt) == "open":
                cycle = trail[trail.index(nxt) :] + [nxt] if nxt in trail else [name, nxt]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_modules_and_pages_stay_small() -> None:
    big = {
        str(path.relative_to(ROOT)): count
        for path in [*XFACE.rglob("*.py"), *(ROOT / "pages").glob("*.py")]
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > (300 if path.parent.name == "pages" else 600)
    }
    assert not big, f"over the limit (600 lines a module, 300 a page): {big}"


def test_the_top_level_is_short() -> None:
    top = sorted(path.name for path in XFACE.glob("*.py"))
    assert len(top) <= 8, top
    assert {path.name for path in XFACE.iterdir() if path.is_dir() and (path / "__init__.py").exists()} == set(
        MAY_IMPORT
    ) - BASE


def test_tests_mirror_the_layout() -> None:
    for layer in set(MAY_IMPORT) - BASE:
        assert list((ROOT / "tests" / layer).glob("test_*.py")), f"tests/{layer}/ has no tests"


def test_only_ui_imports_streamlit() -> None:
    """Streamlit stays in xface.app.ui (a package: the shared frame, and the camera pages' widgets)."""
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        if not name.startswith("xface.app.ui"):
            assert not imported & {"streamlit", "streamlit_webrtc"}, f"{name} imports Streamlit"
