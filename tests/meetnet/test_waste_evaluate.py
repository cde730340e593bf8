"""`meetnet waste evaluate` as a user runs it: no database, no settings, JSON or a table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _meetnet(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed script in a clean environment (no MEETNET_*, no .env, no database)."""
    script = Path(sys.executable).parent / "meetnet"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEETNET_")}
    return subprocess.run([str(script), *args], capture_output=True, text=True, cwd=cwd,
                          env=clean, timeout=300)


def test_json_has_exactly_the_figures_of_both_policies(tmp_path: Path) -> None:
    out = _meetnet(["waste", "evaluate", "--days", "3", "--bins", "12", "--seed", "5",
                    "--iterations", "50", "--json"], tmp_path)
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert list(figures) == ["fixed", "sensor"]
    for policy in figures.values():
        assert list(policy) == ["km", "bins_visited", "overflow_bin_days"]
        assert isinstance(policy["bins_visited"], int)
        assert isinstance(policy["overflow_bin_days"], int)
        assert policy["km"] > 0 and policy["bins_visited"] > 0
    assert "day" not in out.stderr  # no progress mixed into a machine-read run


def test_table_and_progress_for_people(tmp_path: Path) -> None:
    out = _meetnet(["waste", "evaluate", "--days", "2", "--iterations", "50"], tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "8 bins (Leiden scenario)" in lines[0]
    assert [line.split()[0] for line in lines[2:4]] == ["fixed", "sensor"]
    assert "fixed: day 2/2" in out.stderr and "sensor: day 2/2" in out.stderr


def test_bad_options_are_refused(tmp_path: Path) -> None:
    out = _meetnet(["waste", "evaluate", "--days", "0"], tmp_path)
    assert out.returncode == 2
    assert "--days" in out.stderr
