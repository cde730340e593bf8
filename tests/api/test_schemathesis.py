"""schemathesis over the real HTTP API (issue 10, acceptance): every operation in /openapi.json,
with requests generated from its own schema, anonymous and with the owner organisation's reader
key, against a database seeded like the demo (each use case's devices, open, private and shared,
with readings). No answer may be a 5xx, and every answer must match what the schema documents:
its status code, its content type and its body.

Runtime is bounded and repeatable: a fixed number of examples per operation, derandomized, no
example database. Webhook ingest (``/v1/ingest/...``) is left out: its bodies are network
servers' envelopes, fuzzed by the webhook's own tests; the write routes are in, answered 401/403
with these keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from decoders import MODELS
from store import Batch, DeviceSeen, ReadingRow, Writer, keys
from store import devices as registry
from support import LiveServer

#: Examples per operation and caller: enough to reach every documented status of the existing
#: routes, small enough that the whole file stays around a minute on two cores.
EXAMPLES = 25
OWNER = "gemeente-leiden"
EXCLUDED_PREFIXES = ("/v1/ingest/",)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
#: Probes whose documented job is to answer 503 (no ingest runs here): checked against their
#: schema, not for "no 5xx".
PROBES = ("/healthz", "/readyz")


def seed(db: str) -> tuple[list[str], list[str], str]:
    """Three devices of each use case (open, private, shared with the owner), readings of their
    models' metrics over the last two days; returns (dev_euis, metrics, the owner's reader key)."""
    from simulators.scenario.leiden import scenario_devices

    by_use_case: dict[str, list[Any]] = {}
    for dev in scenario_devices():
        by_use_case.setdefault(dev.use_case, []).append(dev)
    now = datetime.now(UTC).replace(microsecond=0)
    readings: list[ReadingRow] = []
    seen: list[DeviceSeen] = []
    euis: list[str] = []
    metrics: set[str] = set()
    with psycopg.connect(db, autocommit=True) as conn:
        keys.create_organisation(conn, OWNER, "Gemeente Leiden")
        for devs in by_use_case.values():
            for dev, visibility in zip(devs, ("open", "private", "shared"), strict=False):
                device_id = registry.upsert_device(conn, registry.NewDevice(
                    dev_eui=dev.dev_eui, organisation=dev.organisation, model_key=dev.model_key,
                    device_id=dev.device_id, application_id=dev.application_id, name=dev.name,
                    use_case=dev.use_case, visibility="private" if visibility == "shared"
                    else visibility, config=dict(dev.config), lat=dev.lat, lon=dev.lon))
                if visibility == "shared" and dev.organisation != OWNER:
                    registry.share_device(conn, dev.dev_eui, OWNER)
                euis.append(dev.dev_eui)
                for metric in MODELS[dev.model_key].metrics:
                    metrics.add(metric)
                    readings += [ReadingRow(now - timedelta(hours=h), device_id, metric,
                                            400.0 + 10 * h) for h in range(48)]
                seen.append(DeviceSeen(device_id, now, 87.0))
        key = keys.create_key(conn, OWNER, "reader", "schemathesis")[1]
    with Writer(db) as writer:
        writer.write(Batch(readings=readings, seen=seen))
    return euis, sorted(metrics), key


@pytest.fixture
def live(db: str) -> Iterator[tuple[httpx.Client, list[str], list[str], str]]:
    from api import create_app
    from meetnet.settings import Settings

    euis, metrics, key = seed(db)
    app = create_app(Settings(database_url=db, api_rate_limit_per_minute=0,  # type: ignore[arg-type]
                              api_anonymous_rate_limit_per_minute=0), db)
    with LiveServer(app) as client:
        yield client, euis, metrics, key


@pytest.mark.parametrize("with_key", [False, True], ids=["anonymous", "reader-key"])
def test_every_operation_matches_its_schema(
        live: tuple[httpx.Client, list[str], list[str], str], with_key: bool) -> None:
    client, euis, metrics, key = live
    base = str(client.base_url)
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    headers = {"Authorization": f"Bearer {key}"} if with_key else {}
    failures: list[str] = []
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(EXCLUDED_PREFIXES):
            continue
        tested += 1
        failure = _run(client, operation, base, headers, euis, metrics)
        if failure:
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
    assert tested >= 8
    assert not failures, "\n\n".join(failures)


def _send(client: httpx.Client, kwargs: dict[str, Any]) -> httpx.Response:
    """One request as schemathesis built it, sent with httpx: schemathesis' own requests
    transport fails against the urllib3-future that grafana-client's niquests installs as
    ``urllib3``."""
    data = kwargs.get("data")
    return client.request(
        kwargs["method"], kwargs["url"], params=kwargs.get("params") or None,
        headers=kwargs.get("headers"), cookies=kwargs.get("cookies") or None,
        json=kwargs.get("json"), content=data if isinstance(data, str | bytes) else None,
        data=data if isinstance(data, dict) else None, files=kwargs.get("files"), timeout=30)


def _run(client: httpx.Client, operation: Any, base: str, headers: dict[str, str], euis: list[str],
         metrics: list[str]) -> str | None:
    """Generate and check EXAMPLES requests for one operation; the first failure, shrunk, as
    text (with the request to repeat it), or None."""
    # Half the time a seeded dev_eui and a catalog metric: random ones only ever reach the 404
    # and 400 answers, never the data.
    real_eui = st.one_of(st.none(), st.sampled_from(euis))
    real_metric = st.one_of(st.none(), st.sampled_from(metrics))

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(), eui=real_eui, metric=real_metric)
    def check(case: Any, eui: str | None, metric: str | None) -> None:
        if eui is not None and case.path_parameters and "dev_eui" in case.path_parameters:
            case.path_parameters["dev_eui"] = eui
        if metric is not None and isinstance(case.query, dict) and "metric" in case.query:
            case.query["metric"] = metric
        response = _send(client, case.as_transport_kwargs(base_url=base, headers=headers))
        checks = CHECKS[1:] if operation.path in PROBES else CHECKS
        case.validate_response(response, checks=checks)

    try:
        check()
    except (Exception, BaseExceptionGroup) as exc:  # shrunk: schemathesis' report, a curl line
        return f"{type(exc).__name__}: {exc}"[:3000]
    return None
