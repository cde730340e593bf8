"""`meetnet demo` as a user runs it: one process, nothing configured, readings of all four use
cases at /v1/latest within a minute, Ctrl-C stops everything cleanly, data persists."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from meetnet.runtime import free_port
from support import tmpdir

USE_CASES = {"waste", "classroom", "crossing", "water"}


def _start(data: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETNET_")}
    env.update({"MEETNET_DATA_DIR": data, "MEETNET_API_PORT": str(port),
                "MEETNET_LOG_LEVEL": "WARNING"})
    return subprocess.Popen([sys.executable, "-m", "meetnet.cli", "demo", "--history-days", "0.5"],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def _use_cases_with_readings(url: str) -> set[str]:
    try:
        latest = httpx.get(url + "/v1/latest", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return set()
    return {d["use_case"] for d in latest if d["readings"]}


def test_demo_serves_all_use_cases_within_a_minute() -> None:
    data = tmpdir("meetnet-demo-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(str(data), port)
    try:
        started = time.monotonic()
        seen: set[str] = set()
        while time.monotonic() - started < 60 and proc.poll() is None:
            seen = _use_cases_with_readings(url)
            if seen >= USE_CASES:
                break
            time.sleep(1)
        assert seen >= USE_CASES, f"after 60 s only {sorted(seen)}"
        docs = httpx.get(url + "/docs", timeout=5)
        assert docs.status_code == 200
        listed = httpx.get(url + "/v1/devices", timeout=5).json()
        first_count = len(listed)
        room = next(d for d in listed if d["use_case"] == "classroom")
        radar = next(d for d in listed if d["model_key"] == "parametric/tcr")
        pages = ["/", "/waste", "/water", f"/classrooms/{room['dev_eui']}",
                 f"/schools/{room['organisation']}", f"/crossings/{radar['dev_eui']}"]
        for page in pages:  # the pages a person opens first answer, as HTML
            answer = httpx.get(url + page, timeout=30)
            assert answer.status_code == 200, (page, answer.text[:500])
            assert answer.headers["content-type"].startswith("text/html"), page
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out.decode(errors="replace")[-3000:]
        assert b"/v1/latest" in out  # told the user where to look
        for page in pages:  # ... and which pages to open
            assert f"{url}{page}".encode() in out, (page, out.decode(errors="replace")[-3000:])

        # A second run finds the same data again (persistence in MEETNET_DATA_DIR).
        proc = _start(str(data), port)
        deadline = time.monotonic() + 60
        devices: list[object] = []
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                devices = httpx.get(url + "/v1/devices", timeout=5).json()
                if devices and _use_cases_with_readings(url) >= USE_CASES:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        assert len(devices) == first_count
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        shutil.rmtree(data, ignore_errors=True)


def _wait_running(proc: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("the demo did not become ready (/readyz) within 90 s")


def _postmaster(data: str) -> psutil.Process:
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = p.info["cmdline"] or []
        if p.info["name"] == "postgres" and any(data in part for part in cmd):
            return p
    raise AssertionError("the demo's PostgreSQL is not running")


def test_demo_names_a_part_that_stopped_and_exits_non_zero() -> None:
    data = tmpdir("meetnet-demo-part-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(str(data), port)
    try:
        _wait_running(proc, url)
        brokers = [c for c in psutil.Process(proc.pid).children(recursive=True)
                   if c.name() == "mosquitto"]
        if not brokers:
            pytest.skip("the demo runs the embedded amqtt broker in-process here")
        brokers[0].kill()
        out, _ = proc.communicate(timeout=30)
        text = out.decode(errors="replace")
        assert proc.returncode == 1, text[-3000:]
        assert "the MQTT broker stopped" in text
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.parametrize("server_dies", [True, False], ids=["server-dies", "server-orphaned"])
def test_demo_whose_database_went_away_stops_within_10_s_on_sigterm(server_dies: bool) -> None:
    """The data directory removed under a running demo (issue 9). Either the server dies with
    it, or it keeps running without its files: then nothing can find it through the directory,
    and the demo must still stop it rather than leave it behind."""
    data = tmpdir("meetnet-demo-gone-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(str(data), port)
    try:
        _wait_running(proc, url)
        postmaster = _postmaster(str(data))
        shutil.rmtree(data / "postgres", ignore_errors=True)  # as in issue 9
        if server_dies:
            postmaster.kill()
            postmaster.wait(10)
            assert httpx.get(url + "/readyz", timeout=10).status_code == 503
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - started
        assert took < 10, f"took {took:.1f} s: " + out.decode(errors="replace")[-3000:]
        print(f"demo stopped {took:.2f} s after SIGTERM with its database gone")
        assert not postmaster.is_running() or postmaster.status() == psutil.STATUS_ZOMBIE, \
            "the demo left its PostgreSQL server running"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        shutil.rmtree(data, ignore_errors=True)
