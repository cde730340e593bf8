"""/docs and /redoc in a real headless browser (Debian's chromium), with every host but
127.0.0.1 unresolvable: both pages must render the API's operations offline, which the HTML
checks of test_docs.py cannot show (a Swagger UI too old for OpenAPI 3.1 loads every file and
still shows no operation)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="needs Debian's chromium (.ci/run installs it)")


def rendered(url: str) -> str:
    """The page's DOM after its scripts ran, with no name resolving but 127.0.0.1."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="meetnet-chromium-") as profile:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--virtual-time-budget=15000",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--dump-dom", url],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _operations(api: httpx.Client) -> int:
    paths = api.get("/openapi.json").json()["paths"]
    return sum(len(ops) for ops in paths.values())


def test_swagger_ui_shows_every_operation_offline(api: httpx.Client) -> None:
    dom = rendered(f"{api.base_url}/docs".replace("//docs", "/docs"))
    # Swagger UI draws one `opblock` per operation once it has read the OpenAPI document.
    assert len(re.findall(r'class="opblock opblock-', dom)) == _operations(api)
    assert "does not specify a valid version" not in dom


def test_redoc_shows_the_operations_offline(api: httpx.Client) -> None:
    dom = rendered(f"{api.base_url}/redoc".replace("//redoc", "/redoc"))
    # ReDoc gives each operation a section with an id of the form operation/<operationId>.
    sections = set(re.findall(r'data-section-id="operation/([^"]+)"', dom))
    assert len(sections) == _operations(api)
