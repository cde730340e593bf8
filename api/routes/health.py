"""Liveness and readiness: ``/healthz`` answers 200 only when the database answers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.schemas import Health
from meetnet import __version__
from store import queries

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(request: Request) -> JSONResponse:
    try:
        with request.app.state.pool.connection(timeout=3) as conn:
            ok = queries.ping(conn)
    except Exception:  # any failure to reach the database means "not ready"
        ok = False
    body = Health(status="ok" if ok else "degraded", database="ok" if ok else "unavailable",
                  version=__version__)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
