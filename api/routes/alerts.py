"""Alerts over the API (issue 11): an organisation's rules and its alert history
(docs/alerts.md). Every route needs an API key and shows the key's organisation's alerts and
rules only; another organisation's alert or rule is a 404, as if it did not exist."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.deps import Caller, Conn, Writer
from api.problems import Problem, responses
from meetnet.catalog import METRICS
from store import alerts as store
from store import keys

router = APIRouter(tags=["alerts"])

MAX_ID = 2**63 - 1
#: Thresholds and hysteresis beyond this are no physical value of any catalog metric.
MAX_MAGNITUDE = 1e12


def keyed(caller: Caller) -> keys.Caller:
    """Alerts are an organisation's own: no key is a 401 (any role may read them)."""
    if caller.organisation is None:
        raise Problem(401, "unauthorized", "Unauthorized", "alerts need an API key",
                      headers={"WWW-Authenticate": "Bearer"})
    return caller


Keyed = Annotated[keys.Caller, Depends(keyed)]
AlertId = Annotated[int, Path(ge=1, le=MAX_ID, description="the alert's id", examples=[42])]
RuleId = Annotated[int, Path(ge=1, le=MAX_ID, description="the rule's id", examples=[7])]


class AlertOut(BaseModel):
    id: int = Field(examples=[42])
    kind: str = Field(description="threshold (a rule), offline, low_battery, bin_due, "
                                  "water_rise or classroom_over_c", examples=["threshold"])
    state: str = Field(description="open, acknowledged or resolved", examples=["open"])
    dev_eui: str = Field(examples=["a81758fffe0399aa"])
    device_name: str = Field(examples=["OBS De Regenboog, lokaal 1 (groep 3)"])
    rule_id: int | None = Field(description="the rule that raised it; null for the built-in "
                                            "kinds and for a deleted rule", examples=[7])
    message: str = Field(examples=["co2 > 1200 ppm for 30 min; 1384 (rule 7)"])
    value: float | None = Field(description="the most extreme value of the episode so far",
                                examples=[1384.0])
    started_at: datetime = Field(description="when the condition began to hold",
                                 examples=["2026-11-23T09:10:00Z"])
    resolved_at: datetime | None = Field(examples=[None])
    acknowledged_at: datetime | None = Field(examples=[None])
    updated_at: datetime = Field(examples=["2026-11-23T09:41:00Z"])


class AlertsPage(BaseModel):
    alerts: list[AlertOut] = Field(description="newest first")
    next: str | None = Field(description="the next page; null on the last one")


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str = Field(min_length=1, max_length=64, description="a catalog metric",
                        examples=["co2"])
    condition: Literal[">", ">=", "<", "<="] = Field(examples=[">"])
    threshold: float = Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE, allow_inf_nan=False,
                             description="in the metric's unit", examples=[1200])
    duration_s: int = Field(default=0, ge=0, le=store.MAX_DURATION_S,
                            description="the condition must hold this long (seconds)",
                            examples=[1800])
    hysteresis: float = Field(default=0.0, ge=0, le=MAX_MAGNITUDE, allow_inf_nan=False,
                              description="clears only once back past threshold -/+ this",
                              examples=[100])
    dev_eui: str | None = Field(default=None, pattern="^[0-9a-fA-F]{16}$",
                                description="one device your organisation may see; leave out "
                                            "for your own devices (of `use_case`)",
                                examples=["a81758fffe0399aa"])
    use_case: Literal["waste", "classroom", "crossing", "water", "any"] | None = Field(
        default=None, description="your own devices of this use case", examples=["classroom"])
    name: str = Field(default="", max_length=200, examples=["stuffy classroom"])

    @field_validator("name")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("a name cannot hold a NUL character")
        return value


class RuleOut(BaseModel):
    id: int = Field(examples=[7])
    name: str = Field(examples=["stuffy classroom"])
    metric: str = Field(examples=["co2"])
    unit: str = Field(examples=["ppm"])
    condition: str = Field(examples=[">"])
    threshold: float = Field(examples=[1200])
    duration_s: int = Field(examples=[1800])
    hysteresis: float = Field(examples=[100])
    dev_eui: str | None = Field(examples=[None])
    use_case: str | None = Field(examples=["classroom"])
    created_at: datetime = Field(examples=["2026-11-20T10:00:00Z"])


class DeliveryOut(BaseModel):
    event: str = Field(description="opened or resolved", examples=["opened"])
    attempt: int = Field(description="1 for the first attempt of this notification",
                         examples=[1])
    url: str = Field(examples=["https://example.org/hooks/meetnet"])
    attempted_at: datetime = Field(examples=["2026-11-23T09:41:02Z"])
    status_code: int | None = Field(description="the receiver's HTTP status; null: no answer",
                                    examples=[500])
    error: str | None = Field(description="why there was no answer", examples=[None])
    duration_ms: float = Field(examples=[35.2])


def _alert(a: store.Alert) -> AlertOut:
    return AlertOut(id=a.id, kind=a.kind, state=a.state, dev_eui=a.dev_eui,
                    device_name=a.device_name, rule_id=a.rule_id, message=a.message,
                    value=a.value if a.value is None or math.isfinite(a.value) else None,
                    started_at=a.started_at, resolved_at=a.resolved_at,
                    acknowledged_at=a.acknowledged_at, updated_at=a.updated_at)


def _rule(r: store.Rule) -> RuleOut:
    return RuleOut(id=r.id, name=r.name, metric=r.metric, unit=r.unit, condition=r.condition,
                   threshold=r.threshold, duration_s=r.duration_s, hysteresis=r.hysteresis,
                   dev_eui=r.dev_eui, use_case=r.use_case, created_at=r.created_at)


@router.get("/alerts", response_model=AlertsPage, summary="Your organisation's alerts",
            responses=responses(401))
def list_alerts(
    request: Request, conn: Conn, caller: Keyed,
    state: Annotated[Literal["open", "acknowledged", "resolved"] | None, Query(
        description="only alerts in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="alerts per page")] = 100,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                        description="from the `next` link")] = None,
) -> AlertsPage:
    """The history of your organisation's alerts, newest first, paged by `limit` (follow
    `next`; also a `Link: rel="next"` header, RFC 8288)."""
    assert caller.organisation is not None
    found = store.list_alerts(conn, caller.organisation, state=state, before_id=cursor,
                              limit=limit + 1)
    nxt = None
    if len(found) > limit:
        found = found[:limit]
        nxt = str(request.url.include_query_params(cursor=found[-1].id))
    return AlertsPage(alerts=[_alert(a) for a in found], next=nxt)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut,
             summary="Acknowledge one of your organisation's alerts", responses=responses(404))
def acknowledge(alert_id: AlertId, conn: Conn, caller: Writer) -> AlertOut:
    """Writer or admin key: an open alert becomes acknowledged (someone is on it); the runner
    still resolves it when the condition clears. Idempotent. Another organisation's alert is
    a 404."""
    assert caller.organisation is not None
    found = store.acknowledge(conn, caller.organisation, alert_id)
    if found is None:
        raise _no_alert(alert_id)
    return _alert(found)


@router.get("/alerts/{alert_id}/deliveries", response_model=list[DeliveryOut],
            summary="Every webhook delivery attempt of one alert", responses=responses(401, 404))
def alert_deliveries(alert_id: AlertId, conn: Conn, caller: Keyed) -> list[DeliveryOut]:
    """Each attempt to post the alert's notifications to your webhook, oldest first: when,
    the receiver's status code, or the error when it did not answer."""
    assert caller.organisation is not None
    found = store.deliveries(conn, caller.organisation, alert_id)
    if found is None:
        raise _no_alert(alert_id)
    return [DeliveryOut(event=d.event, attempt=d.attempt, url=d.url,
                        attempted_at=d.attempted_at, status_code=d.status_code, error=d.error,
                        duration_ms=d.duration_ms) for d in found]


@router.get("/alerts/rules", response_model=list[RuleOut], summary="Your organisation's rules",
            responses=responses(401))
def list_rules(conn: Conn, caller: Keyed) -> list[RuleOut]:
    assert caller.organisation is not None
    return [_rule(r) for r in store.list_rules(conn, caller.organisation)]


@router.post("/alerts/rules", response_model=RuleOut, status_code=201,
             summary="Add a threshold rule", responses=responses(404, 422))
def create_rule(body: RuleIn, conn: Conn, caller: Writer) -> RuleOut:
    """Writer or admin key. `metric condition threshold`, held for `duration_s`, cleared once
    back past threshold -/+ `hysteresis`; on one device your organisation may see
    (`dev_eui`), or your own devices of `use_case`, or all your own devices. A metric the
    catalog does not know is a 422 `unknown-metric`; a device you may not see a 404."""
    assert caller.organisation is not None
    if body.metric not in METRICS:
        raise Problem(422, "unknown-metric", "Unknown metric",
                      f"{body.metric[:64]!r} is not a metric of the catalog")
    if body.dev_eui is not None and body.use_case is not None:
        raise Problem(422, "invalid-scope", "Invalid scope",
                      "a rule names a device or a use case, not both")
    try:
        rule = store.create_rule(
            conn, caller.organisation, metric=body.metric, condition=body.condition,
            threshold=body.threshold, duration_s=body.duration_s, hysteresis=body.hysteresis,
            dev_eui=body.dev_eui, use_case=body.use_case, name=body.name)
    except store.NoSuchDevice as exc:
        raise Problem(404, "device-not-found", "Device not found", str(exc)) from None
    except store.AlertError as exc:
        raise Problem(422, "invalid-rule", "Invalid rule", str(exc)) from None
    return _rule(rule)


@router.delete("/alerts/rules/{rule_id}", status_code=204, response_class=Response,
               summary="Delete a rule", responses=responses(404))
def delete_rule(rule_id: RuleId, conn: Conn, caller: Writer) -> Response:
    """Writer or admin key. Its open alerts are resolved. Another organisation's rule is a
    404."""
    assert caller.organisation is not None
    if not store.delete_rule(conn, caller.organisation, rule_id):
        raise Problem(404, "rule-not-found", "Rule not found", f"no rule {rule_id} of yours")
    return Response(status_code=204)


def _no_alert(alert_id: int) -> Problem:
    return Problem(404, "alert-not-found", "Alert not found", f"no alert {alert_id} of yours")
