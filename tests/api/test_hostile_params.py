"""Every API parameter, fed what a careless or hostile caller sends (NUL bytes, invalid UTF-8,
huge and out-of-range numbers, odd times): the answer is a clear 4xx problem or a normal
answer, never a 500. And /docs works without internet."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EUI = "a81758fffe0312ab"

_hostile_text = (st.text(max_size=40)
                 | st.sampled_from(["\x00", "co2\x00", "%00", "\ud800", "'; DROP TABLE x;--",
                                    "9" * 5000, "1e999", "-1", "0", "2**64", "NaN", "inf",
                                    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00",
                                    "2026-11-23T08:00:00", "\u202e"]))
# Raw percent-escapes, not text: invalid UTF-8 and NUL exactly as they come over the wire.
_raw = st.sampled_from(["%00", "%ff%fe", "%c3%28", "%ed%a0%80", "a%00b", "%"])


def _get(api: httpx.Client, path: str, query: str) -> httpx.Response:
    return api.get(f"{path}?{query}" if query else path)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(["/v1/devices", "/v1/latest", "/v1/latest.geojson",
                              f"/v1/devices/{EUI}/readings", f"/v1/classrooms/{EUI}/report",
                              "/v1/devices/{eui}", "/v1/devices/{eui}/readings"]),
       names=st.lists(st.sampled_from(["use_case", "metric", "from", "to", "after", "limit",
                                       "organisation", "model", "bbox", "q"]),
                      max_size=4),
       values=st.lists(_hostile_text, min_size=4, max_size=4),
       raw=st.lists(_raw, min_size=2, max_size=2), eui=_hostile_text)
def test_no_parameter_makes_the_api_answer_500(api: httpx.Client, route: str, names: list[str],
                                               values: list[str], raw: list[str],
                                               eui: str) -> None:
    path = route.replace("{eui}", quote(eui.encode("utf-8", "surrogatepass"), safe="") or "x")
    parts = [f"{n}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
             for n, v in zip(names, values, strict=False)]
    parts += [f"metric={raw[0]}", f"use_case={raw[1]}"] if len(names) % 2 else []
    r = _get(api, path, "&".join(parts))
    assert r.status_code < 500, (path, parts, r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json"), r.text[:200]
        assert r.json()["status"] == r.status_code


@pytest.mark.parametrize("query", ["metric=%00", "metric=co2%00", "use_case=%00"])
def test_a_nul_byte_is_a_400_naming_it(api: httpx.Client, query: str) -> None:
    path = f"/v1/devices/{EUI}/readings" if query.startswith("metric") else "/v1/latest"
    r = _get(api, path, query)
    assert r.status_code == 400
    assert "NUL" in r.json()["detail"]
