"""Rate limits (issue 10, item 7) over the real HTTP app: per key id, per address without a
known key, 429 problems with Retry-After, and a clock the test moves instead of sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import create_app
from api.limits import TokenBuckets, client_address
from meetnet.settings import Settings
from store import keys
from support import LiveServer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def serve(db: str, keyed: int, anonymous: int) -> Iterator[tuple[httpx.Client, Clock]]:
    app = create_app(Settings(database_url=db, api_rate_limit_per_minute=keyed,  # type: ignore[arg-type]
                              api_anonymous_rate_limit_per_minute=anonymous), db)
    clock = Clock()
    app.state.rate_limits.clock = clock
    with LiveServer(app) as client:
        yield client, clock


def from_address(client: httpx.Client, address: str) -> httpx.Client:
    """A client whose connections leave from another loopback address: another client address
    to the server."""
    return httpx.Client(base_url=client.base_url, timeout=10,
                        transport=httpx.HTTPTransport(local_address=address))


def make_keys(db: str, n: int) -> list[str]:
    with psycopg.connect(db, autocommit=True) as conn:
        keys.create_organisation(conn, "obs-de-regenboog", "OBS De Regenboog")
        return [keys.create_key(conn, "obs-de-regenboog", "reader")[1] for _ in range(n)]


def test_anonymous_address_is_limited_and_another_is_not(db: str) -> None:
    with serve(db, keyed=0, anonymous=3) as (api, clock):
        answers = [api.get("/v1/devices") for _ in range(3)]
        assert [r.status_code for r in answers] == [200, 200, 200]
        assert [r.headers["RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
        assert answers[0].headers["RateLimit-Limit"] == answers[0].headers["X-RateLimit-Limit"] == "3"

        refused = api.get("/v1/devices")
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/rate-limited")
        assert refused.headers["Retry-After"] == "20"  # one request per 20 s at 3 a minute

        # Probes, metrics and the docs are never limited.
        for path in ("/healthz", "/metrics", "/openapi.json", "/docs"):
            assert api.get(path).status_code == 200, path

        with from_address(api, "127.0.0.2") as other:
            assert other.get("/v1/devices").status_code == 200

        clock.now += 19
        assert api.get("/v1/devices").status_code == 429
        clock.now += 1
        assert api.get("/v1/devices").status_code == 200


def test_each_key_has_its_own_bucket(db: str) -> None:
    key_a, key_b = make_keys(db, 2)
    with serve(db, keyed=2, anonymous=100) as (api, _clock):
        a = {"Authorization": f"Bearer {key_a}"}
        # The first request of a key pays by address (its id is not known yet); then by key id.
        assert api.get("/v1/devices", headers=a).headers["RateLimit-Limit"] == "100"
        assert [api.get("/v1/devices", headers=a).status_code for _ in range(3)] == [200, 200, 429]
        refused = api.get("/v1/latest", headers={"X-API-Key": key_a})  # same key, other header
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == 30

        b = {"X-API-Key": key_b}
        assert [api.get("/v1/devices", headers=b).status_code for _ in range(3)] == [200, 200, 200]
        assert api.get("/v1/devices").status_code == 200  # anonymous, same address


def test_random_keys_pay_by_address(db: str) -> None:
    [good] = make_keys(db, 1)
    with serve(db, keyed=100, anonymous=3) as (api, _clock):
        assert api.get("/v1/devices", headers={"X-API-Key": good}).status_code == 200
        statuses = [api.get("/v1/devices", headers={"X-API-Key": f"mn_guess{i}"}).status_code
                    for i in range(5)]
        assert statuses == [401, 401, 429, 429, 429]  # the good key's first request paid one
        assert api.get("/v1/devices").status_code == 429
        # A known key pays from its own bucket, not the exhausted address's.
        assert api.get("/v1/devices", headers={"X-API-Key": good}).status_code == 200


def test_a_revoked_key_pays_by_address_again(db: str) -> None:
    [key] = make_keys(db, 1)
    with serve(db, keyed=100, anonymous=2) as (api, _clock):
        h = {"Authorization": f"Bearer {key}"}
        assert [api.get("/v1/devices", headers=h).status_code for _ in range(3)] == [200] * 3
        with psycopg.connect(db, autocommit=True) as conn:
            [info] = keys.list_keys(conn, "obs-de-regenboog")
            keys.revoke_key(conn, info.id)
        assert [api.get("/v1/devices", headers=h).status_code for _ in range(3)] == [401, 401, 429]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.binary(max_size=300).map(lambda b: bytes(c for c in b if c == 9 or 32 <= c != 127)),
       header=st.sampled_from(["Authorization", "X-API-Key"]))
def test_any_key_header_is_a_401_or_429_never_a_500(api_limited: httpx.Client, value: bytes,
                                                     header: str) -> None:
    r = api_limited.get("/v1/devices", headers={header: value.strip(b" \t")})
    assert r.status_code in (200, 401, 429), r.text  # 200: an empty header is no key
    assert r.headers["content-type"] in ("application/json", "application/problem+json")


@pytest.fixture
def api_limited(db: str) -> Iterator[httpx.Client]:
    with serve(db, keyed=5, anonymous=5) as (api, _clock):
        yield api


def test_buckets_refill_continuously_and_never_above_the_limit() -> None:
    buckets = TokenBuckets(60)  # one a second
    assert all(buckets.take("a", 0.0).allowed for _ in range(60))
    refused = buckets.take("a", 0.0)
    assert not refused.allowed and refused.retry_after == 1 and refused.reset == 60
    assert buckets.take("a", 1.0).allowed
    assert not buckets.take("a", 1.0).allowed
    assert buckets.take("a", 10_000.0).remaining == 59  # full again, not 10,000 tokens


def test_ipv6_addresses_count_per_64() -> None:
    one = client_address({"client": ("2001:db8:1:2:aaaa::1", 1)})
    other = client_address({"client": ("2001:db8:1:2:ffff::9", 1)})
    assert one == other == "2001:db8:1:2::/64"
    assert client_address({"client": ("192.0.2.1", 1)}) == "192.0.2.1"
