"""Filters on /v1/devices (issue 10, "Devices"): use case, organisation, model, bbox and a name
search, over the real HTTP API; every filter narrows, none widens what the caller may see."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from store import devices as registry

DEVICES = [  # dev_eui, organisation, model, name, use case, visibility, lat, lon
    ("a81758fffe0500a1", "obs-de-regenboog", "elsys/ers-co2", "Groep 7", "classroom", "open",
     52.160, 4.490),
    ("a81758fffe0500a2", "obs-de-regenboog", "elsys/ers-co2", "Groep 8_b", "classroom", "open",
     52.161, 4.491),
    ("24e124713c0500a3", "gemeente-leiden", "milesight-iot/em310-udl", "Bak Breestraat", "waste",
     "open", 52.158, 4.488),
    ("24e124713c0500a4", "gemeente-leiden", "milesight-iot/em310-udl", "Bak Katwijk", "waste",
     "open", 52.200, 4.400),
    ("24e124713c0500a5", "gemeente-leiden", "milesight-iot/em310-udl", "Bak geheim", "waste",
     "private", 52.159, 4.489),
]


@pytest.fixture
def fleet(db: str) -> None:
    with psycopg.connect(db) as conn:
        for eui, org, model, name, use, vis, lat, lon in DEVICES:
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=eui, organisation=org, model_key=model, name=name, use_case=use,
                visibility=vis, lat=lat, lon=lon))


def _names(api: httpx.Client, **params: str) -> list[str]:
    r = api.get("/v1/devices", params=params)
    assert r.status_code == 200, r.text
    return sorted(d["name"] for d in r.json())


def test_filters_narrow_the_listing(api: httpx.Client, fleet: None) -> None:
    assert _names(api, use_case="waste") == ["Bak Breestraat", "Bak Katwijk"]
    assert _names(api, organisation="obs-de-regenboog") == ["Groep 7", "Groep 8_b"]
    assert _names(api, model="milesight-iot/em310-udl") == ["Bak Breestraat", "Bak Katwijk"]
    # Leiden's centre, not Katwijk: west, south, east, north.
    assert _names(api, bbox="4.48,52.15,4.50,52.17") == ["Bak Breestraat", "Groep 7",
                                                           "Groep 8_b"]
    assert _names(api, q="bak") == ["Bak Breestraat", "Bak Katwijk"]
    # LIKE's wildcards in the search are literal characters.
    assert _names(api, q="8_b") == ["Groep 8_b"]
    assert _names(api, q="_") == ["Groep 8_b"]
    assert _names(api, q="%") == []
    assert _names(api, use_case="waste", bbox="4.48,52.15,4.50,52.17") == ["Bak Breestraat"]
    # No filter shows the private bin to an anonymous caller.
    assert "Bak geheim" not in _names(api, organisation="gemeente-leiden", q="geheim")


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "4.5,52,4.4,53", "0,-91,1,0",
                                  "nan,0,1,1", "inf,0,1,1"])
def test_a_bad_bbox_is_a_400_saying_the_format(api: httpx.Client, fleet: None, bbox: str) -> None:
    r = api.get("/v1/devices", params={"bbox": bbox})
    assert r.status_code == 400
    assert "min lon" in r.json()["detail"]


def test_latest_for_named_devices_in_pages(api: httpx.Client, fleet: None) -> None:
    euis = "a81758fffe0500a1,A81758FFFE0500A2, 24e124713c0500a5"  # the last is private
    r = api.get("/v1/latest", params={"dev_eui": euis})
    assert r.status_code == 200
    assert sorted(d["dev_eui"] for d in r.json()) == ["a81758fffe0500a1", "a81758fffe0500a2"]
    assert "link" not in r.headers
    first = api.get("/v1/latest", params={"limit": 2})
    assert len(first.json()) == 2 and 'rel="next"' in first.headers["link"]
    seen = [d["dev_eui"] for d in first.json()]
    nxt = first.headers["link"].split(">")[0].lstrip("<")
    second = api.get(nxt)
    seen += [d["dev_eui"] for d in second.json()]
    assert sorted(seen) == sorted(e for e, *_, vis, _lat, _lon in DEVICES if vis == "open")
    for bad in ("xyz", ",", "a81758fffe0500a1,zz", ",".join(["a81758fffe0500a1"] * 501)):
        r = api.get("/v1/latest", params={"dev_eui": bad})
        assert r.status_code in (400, 422), bad
