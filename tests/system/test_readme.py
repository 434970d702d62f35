"""The README's code blocks run verbatim: the command-line tour in an empty folder, and every
Python block in a fresh interpreter (so the README cannot drift from the code)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from privseg import audit

README = Path(__file__).parents[2] / "README.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def section(title: str) -> str:
    """The README text under the level-2 heading ``title``, up to the next one."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(text) if lang == language]


def run_fresh(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run as a new user would: privseg on PATH, an empty home, no PRIVSEG_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVSEG_")}
    env["HOME"] = str(cwd.parent / f"{cwd.name}-home")
    Path(env["HOME"]).mkdir(exist_ok=True)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.slow
def test_the_cli_tour_runs_verbatim_in_an_empty_folder(tmp_path: Path) -> None:
    tour = blocks(section("A tour of the command line"), "bash")
    assert tour and "privseg demo-data" in tour[0]
    folder = tmp_path / "tour"
    folder.mkdir()
    for block in tour:
        done = run_fresh(["bash", "-e", "-o", "pipefail", "-c", block], folder)
        assert done.returncode == 0, done.stderr
    records = audit.read_records(folder / "audits" / "trail.jsonl")
    assert records and all(r.ok for r in records), [(r.command, r.outcome) for r in records]
    assert "failed" not in (folder / "run.html").read_text(encoding="utf-8")
    for output in ("screening.html", "labels.csv", "lifecycle.csv", "clusters.csv", "budget.html"):
        assert (folder / output).is_file(), output


@pytest.mark.parametrize("index", range(len(blocks(README.read_text(encoding="utf-8"), "python"))))
def test_python_blocks_run_verbatim(index: int, tmp_path: Path) -> None:
    code = blocks(README.read_text(encoding="utf-8"), "python")[index]
    done = run_fresh([sys.executable, "-c", code], tmp_path)
    assert done.returncode == 0, f"README python block {index}:\n{code}\n{done.stderr}"
