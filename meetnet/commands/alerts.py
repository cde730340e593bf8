"""`meetnet alerts ...`: Alerts: rules, evaluation and webhook delivery (docs/alerts.md)."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

alerts_app = typer.Typer(help="Alerts: rules, evaluation and webhook delivery.", no_args_is_help=True)
rules_app = typer.Typer(help="An organisation's threshold rules.", no_args_is_help=True)
webhook_app = typer.Typer(help="Where an organisation's alerts are posted (HMAC-signed).",
                          no_args_is_help=True)
alerts_app.add_typer(rules_app, name="rules")
alerts_app.add_typer(webhook_app, name="webhook")

Org = Annotated[str, typer.Option("--org", help="organisation slug")]


def _dsn() -> str:
    # Imported here: meetnet.cli imports this module while it is being loaded.
    from meetnet.cli import _require_dsn, _settings

    return _require_dsn(_settings())


@alerts_app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="evaluate and deliver once, then exit")
                    ] = False,
    interval: Annotated[float | None, typer.Option(
        "--interval", min=1, help="seconds between evaluations (default "
                                  "MEETNET_ALERTS_INTERVAL_S)")] = None,
) -> None:
    """Evaluate every organisation's rules and the built-in alerts (offline, low battery, bins
    due, water rising, classrooms over class C) and deliver webhooks, until Ctrl-C."""
    from alerts.runner import run_forever, run_once
    from meetnet.cli import _settings, _stop_on_signals

    settings = _settings()
    dsn = _dsn()
    if once:
        report, delivered = run_once(dsn, settings)
        if report.skipped:
            typer.echo("another `meetnet alerts run` is evaluating; nothing done", err=True)
        typer.echo(f"{report.opened} opened, {report.resolved} resolved, {report.updated} "
                   f"updated; {delivered.delivered} of {delivered.attempted} deliveries "
                   "succeeded")
        return
    stop = threading.Event()
    _stop_on_signals(stop)
    every = interval or settings.alerts_interval_s
    typer.echo(f"evaluating alerts every {every:g} s (Ctrl-C stops)", err=True)
    run_forever(dsn, settings, stop, interval_s=every)


@alerts_app.command("list")
def list_alerts(
    org: Org,
    state: Annotated[str | None, typer.Option(help="open, acknowledged or resolved")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
) -> None:
    """An organisation's alerts, newest first."""
    import psycopg

    from store import alerts as store

    if state is not None and state not in store.STATES:
        raise ValueError(f"state must be one of {', '.join(store.STATES)}, not {state!r}")
    with psycopg.connect(_dsn()) as conn:
        for a in store.list_alerts(conn, org, state=state, limit=limit):
            end = f" -> {a.resolved_at:%Y-%m-%d %H:%M}" if a.resolved_at else ""
            typer.echo(f"{a.id:6} {a.state:12} {a.kind:16} {a.dev_eui} "
                       f"{a.started_at:%Y-%m-%d %H:%M}{end}  {a.message}")


@rules_app.command("add")
def rules_add(
    org: Org,
    metric: Annotated[str, typer.Option(help="a catalog metric, e.g. co2")],
    condition: Annotated[str, typer.Option(help="> >= < or <=")],
    threshold: Annotated[float, typer.Option(help="in the metric's unit")],
    duration: Annotated[int, typer.Option(min=0, help="seconds the condition must hold")] = 0,
    hysteresis: Annotated[float, typer.Option(min=0, help="clears only once back past "
                                                          "threshold -/+ this")] = 0.0,
    device: Annotated[str | None, typer.Option(help="one device (dev_eui) the organisation "
                                                    "may see")] = None,
    use_case: Annotated[str | None, typer.Option(help="the organisation's own devices of this "
                                                      "use case")] = None,
    name: Annotated[str, typer.Option(help="for people")] = "",
) -> None:
    """Add a threshold rule (without --device or --use-case: all the organisation's own
    devices)."""
    import math

    import psycopg

    from analytics.alerts import CONDITIONS
    from store import alerts as store

    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {' '.join(CONDITIONS)}, not {condition!r}")
    if not math.isfinite(threshold) or not math.isfinite(hysteresis):
        raise ValueError("threshold and hysteresis must be finite numbers")
    if duration > store.MAX_DURATION_S:
        raise ValueError(f"a duration is at most {store.MAX_DURATION_S} s (31 days)")
    with psycopg.connect(_dsn()) as conn:
        rule = store.create_rule(conn, org, metric=metric, condition=condition,
                                 threshold=threshold, duration_s=duration,
                                 hysteresis=hysteresis, dev_eui=device, use_case=use_case,
                                 name=name)
    typer.echo(f"rule {rule.id}: {_describe(rule)}")


def _describe(rule: object) -> str:
    from store.alerts import Rule

    assert isinstance(rule, Rule)
    scope = (f"device {rule.dev_eui}" if rule.dev_eui else
             f"own {rule.use_case} devices" if rule.use_case else "all own devices")
    held = f" for {rule.duration_s} s" if rule.duration_s else ""
    hyst = f", hysteresis {rule.hysteresis:g}" if rule.hysteresis else ""
    label = f" ({rule.name})" if rule.name else ""
    return (f"{rule.metric} {rule.condition} {rule.threshold:g} {rule.unit}{held}{hyst} on "
            f"{scope}{label}")


@rules_app.command("list")
def rules_list(org: Org) -> None:
    """An organisation's rules."""
    import psycopg

    from store import alerts as store

    with psycopg.connect(_dsn()) as conn:
        for rule in store.list_rules(conn, org):
            typer.echo(f"{rule.id:6} {_describe(rule)}")


@rules_app.command("remove")
def rules_remove(org: Org, rule_id: Annotated[int, typer.Argument(help="the rule's id")]) -> None:
    """Delete a rule; its open alerts are resolved."""
    import psycopg

    from store import alerts as store

    with psycopg.connect(_dsn()) as conn:
        if not store.delete_rule(conn, org, rule_id):
            raise ValueError(f"no rule {rule_id} of {org}")
    typer.echo(f"rule {rule_id} removed")


@webhook_app.command("set")
def webhook_set(org: Org, url: Annotated[str, typer.Argument(help="http(s) URL to POST to")]
                ) -> None:
    """Post the organisation's alerts to URL. Prints the signing secret once, as the last line:
    give it to the receiver (docs/alerts.md, "Verifying a delivery")."""
    import psycopg

    from store import alerts as store

    with psycopg.connect(_dsn()) as conn:
        secret = store.set_webhook(conn, org, url)
    typer.echo(f"alerts of {org} go to {url}; signing secret (shown only now):", err=True)
    typer.echo(secret)


@webhook_app.command("remove")
def webhook_remove(org: Org) -> None:
    """Stop posting the organisation's alerts (undelivered notifications are dropped)."""
    import psycopg

    from store import alerts as store

    with psycopg.connect(_dsn()) as conn:
        if not store.remove_webhook(conn, org):
            raise ValueError(f"{org} has no webhook")
    typer.echo(f"webhook of {org} removed")
