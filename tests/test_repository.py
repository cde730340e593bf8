"""The repository stands on its own: a clone has no ``../shared`` beside it, so no tracked file may
point there (issue 9, "Docs inside the repository")."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The planning documents that lived beside the repository, and any relative path leaving it.
_OUTSIDE = re.compile(r"\.\./shared|\bshared/(?:vectors|DESIGN|DOMAIN|STYLE)|\b(?:DESIGN|DOMAIN|STYLE)\.md")


def _tracked() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        names = [n for n in out.stdout.decode().split("\0") if n]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist)
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()
                 and not any(part.startswith(".") for part in p.relative_to(ROOT).parts)]
    return [ROOT / n for n in names]


def test_no_file_points_outside_the_repository() -> None:
    offenders = []
    for path in _tracked():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for no, line in enumerate(text.splitlines(), start=1):
            if _OUTSIDE.search(line) and path.name != "test_repository.py":
                offenders.append(f"{path.relative_to(ROOT)}:{no}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)


def test_the_docs_the_code_cites_exist() -> None:
    for name in ("architecture.md", "domain.md"):
        assert (ROOT / "docs" / name).is_file()
