"""The README a newcomer reads in five minutes, and the docs/ it links to: short, linked, true to the command line."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from tests.conftest import ROOT
from xface.emotions import EMOTIONS, WORDS
from xface.tools.cli import build_parser

README = (ROOT / "README.md").read_text()
DOCS = sorted((ROOT / "docs").glob("*.md"))
COMMIT_HASH = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b")


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_is_short() -> None:
    assert len(README.encode()) <= 16_000


def _commits(names: set[str]) -> set[str]:
    """Those of ``names`` that this repository's history knows as commits (none where git or its history is absent)."""
    if not names:
        return set()
    try:
        answer = subprocess.run(
            ["git", "-C", str(ROOT), "cat-file", "--batch-check"],
            input="".join(f"{name}^{{commit}}\n" for name in sorted(names)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError:
        return set()
    found = [line.split()[1] == "commit" for line in answer.stdout.splitlines()]
    return {name for name, is_commit in zip(sorted(names), found, strict=False) if is_commit}


def test_the_readme_docs_and_training_diary_cite_no_commit_hashes() -> None:
    """A hash says nothing to a reader and goes stale; say what the code was instead. Prose holds no hex word
    at all; code (commands, sums) may hold hex, but not a commit of this repository."""
    for path in [ROOT / "README.md", ROOT / "TRAINING.md", *DOCS]:
        text = path.read_text()
        prose = re.sub(r"```.*?```|`[^`\n]*`", "", text, flags=re.S)
        assert not COMMIT_HASH.findall(prose), f"{path.name}: {COMMIT_HASH.findall(prose)}"
        in_code = _commits(set(COMMIT_HASH.findall(text)))
        assert not in_code, f"{path.name}: {in_code}"


def test_every_link_to_a_file_leads_somewhere() -> None:
    for path in [ROOT / "README.md", *DOCS]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
            assert (path.parent / target).exists(), f"{path.name} links to {target}, which is not there"
    linked = set(re.findall(r"\]\(docs/([^)]+)\)", README))
    assert linked == {path.name for path in DOCS}, "the README links every page of docs/, and only those"


def test_the_readme_says_how_to_reach_the_xface_command() -> None:
    """`xface` is not on PATH after set-up: the README says where it is."""
    assert ".venv/bin/xface" in README and "source .venv/bin/activate" in README


def _readme_commands() -> list[list[str]]:
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", _section("Command line"), re.S):
        for line in block.splitlines():
            if line.startswith("xface "):
                lines.append(shlex.split(line.split("  #", 1)[0])[1:])
    return lines


def test_the_readme_shows_every_subcommand_with_options_the_command_line_takes() -> None:
    commands = _readme_commands()
    parser = build_parser()
    subcommands = set(parser._subparsers._group_actions[0].choices)
    assert {args[0] for args in commands} == subcommands
    for args in commands:
        parser.parse_args(args)  # an option the command line no longer has would exit here
    for option in ("--json", "--jsonl", "--csv", "--no-progress"):
        assert f"`{option}" in _section("Command line"), option


def test_the_readme_names_the_emotions_by_their_words_and_documents_the_labels() -> None:
    flat = " ".join(README.split())
    assert ", ".join(WORDS[label] for label in EMOTIONS) in flat  # the words, as the app shows them
    assert ", ".join(f"`{label}`" for label in EMOTIONS) in flat  # the machine labels, named as such
    data = (ROOT / "docs" / "data.md").read_text()
    for label in EMOTIONS:
        assert f"| `{label}` | {WORDS[label]} |" in data


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_every_doc_has_a_title_and_leads_back(path) -> None:
    text = path.read_text()
    assert text.startswith("# ") and "](../README.md)" in text
