"""Liveness and readiness.

``/healthz`` answers 200 only when the database answers. ``/readyz`` also asks whether anything
is ingesting: ready when the database answers and at least one ingest wrote a heartbeat within
`store.status.FRESH_S` seconds while connected to the broker (state ``running``); it reports
each ingest's state and the age of its last commit. Not ready is a 503 with an RFC 9457 problem
body naming what is missing, so a load balancer or supervisor can act on the status alone.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.problems import problem_response
from api.schemas import Health
from meetnet import __version__
from store import queries, status

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness: the database answers",
            responses={503: {"model": Health, "description": "The database does not answer",
                             "content": {"application/json": {"example": {
                                 "status": "degraded", "database": "unavailable",
                                 "version": "0.1.0"}}}}})
def healthz(request: Request) -> JSONResponse:
    try:
        with request.app.state.pool.connection(timeout=3) as conn:
            ok = queries.ping(conn)
    except Exception:  # any failure to reach the database means "not ready"
        ok = False
    body = Health(status="ok" if ok else "degraded", database="ok" if ok else "unavailable",
                  version=__version__)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


def _ingest_json(s: status.IngestStatus) -> dict[str, Any]:
    return {"client_id": s.client_id, "host": s.host, "pid": s.pid, "state": s.state,
            "alive": s.fresh and s.state not in ("stopped", "failed"),
            "heartbeat_age_s": round(s.heartbeat_age_s, 3),
            "last_commit_age_s": (None if s.last_commit_age_s is None
                                  else round(s.last_commit_age_s, 3)),
            "uptime_s": round(s.uptime_s, 3)}


@router.get("/readyz", responses={
    200: {"description": "The database answers and an ingest is running",
          "content": {"application/json": {"example": {
              "status": "ready", "database": "ok", "version": "0.1.0",
              "ingest": [{"client_id": "meetnet-ingest", "state": "running", "alive": True,
                          "heartbeat_age_s": 1.2, "last_commit_age_s": 0.4}]}}}},
    503: {"description": "Not ready: RFC 9457 problem naming what is missing",
          "content": {"application/problem+json": {
              "schema": {"$ref": "#/components/schemas/Problem"},
              "example": {"type": "https://meetnet.example/problems/not-ready",
                          "title": "Not ready", "status": 503,
                          "detail": "no ingest heartbeat within the last 30 s: ingest is not "
                                    "running, or cannot reach the database",
                          "instance": "/readyz", "database": "ok", "ingest": [],
                          "version": "0.1.0"}}}}},
    summary="Readiness: the database answers and an ingest is running")
def readyz(request: Request) -> JSONResponse:
    """Readiness (Kubernetes-style ``/readyz``); errors are RFC 9457 problem details."""
    try:
        with request.app.state.pool.connection(timeout=3) as conn:
            ingests = [_ingest_json(s) for s in status.read(conn)]
    except Exception as exc:  # any failure to reach the database means "not ready"
        return problem_response(
            503, "not-ready", "Not ready", "the database does not answer", request.url.path,
            database="unavailable", ingest=[], version=__version__,
            reason=type(exc).__name__)
    running = [i for i in ingests if i["alive"] and i["state"] == "running"]
    if not running:
        alive = [i for i in ingests if i["alive"]]
        if alive:
            detail = ("no ingest is connected to the broker (states: "
                      + ", ".join(sorted({i["state"] for i in alive})) + ")")
        else:
            detail = (f"no ingest heartbeat within the last {status.FRESH_S:.0f} s: ingest is "
                      "not running, or cannot reach the database")
        return problem_response(503, "not-ready", "Not ready", detail, request.url.path,
                                database="ok", ingest=ingests, version=__version__)
    return JSONResponse({"status": "ready", "database": "ok", "version": __version__,
                         "ingest": ingests})
