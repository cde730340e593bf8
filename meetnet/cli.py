"""The ``meetnet`` command line (typer). Heavy imports happen inside the commands so that
``meetnet --help`` is instant and each command loads only what it uses."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

import typer
from typer.core import TyperGroup

from meetnet import logs
from meetnet.settings import Settings


class _Cli(TyperGroup):
    """The root command: an expected failure of any command (database unreachable, bad settings
    or input, a missing file) becomes one line on stderr and exit status 1 (2 for bad
    settings), with the traceback only under ``--debug`` or ``MEETNET_LOG_LEVEL=DEBUG``."""

    def invoke(self, ctx: Any) -> Any:  # click's Context (vendored by newer typer versions)
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # typer's and click's own (Exit, Abort, usage errors) already carry their message
            # and exit status; some of them are RuntimeErrors, so they are told by their module.
            if type(exc).__module__.split(".")[0] in {"click", "typer"}:
                raise
            if _debug(bool(ctx.params.get("debug"))) or not _expected(exc):
                raise
            line, status = _explain(exc)
            typer.echo(_scrub(f"error: {line}"), err=True)
            raise typer.Exit(status) from None


app = typer.Typer(help="meetnet: a regional LoRaWAN network's data, decoded, stored and served.",
                  no_args_is_help=True, add_completion=False, cls=_Cli,
                  # Locals of a traceback can hold connection strings with their passwords.
                  pretty_exceptions_show_locals=False)
devices_app = typer.Typer(help="The device registry.", no_args_is_help=True)
decoders_app = typer.Typer(help="Device decoders.", no_args_is_help=True)
codecs_app = typer.Typer(help="Organisations' JavaScript codecs (TTN device repository format).",
                         no_args_is_help=True)
orgs_app = typer.Typer(help="Organisations: who owns devices and data.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of organisations (stored hashed; shown once).",
                       no_args_is_help=True)
app.add_typer(orgs_app, name="orgs")
app.add_typer(keys_app, name="keys")
app.add_typer(codecs_app, name="codecs")
app.add_typer(devices_app, name="devices")
app.add_typer(decoders_app, name="decoders")

# Use-case command groups live in meetnet/commands/, one module each. waste_evaluate adds
# `meetnet waste evaluate` to waste_app; importing it is what registers the command.
from meetnet.commands import waste_evaluate as _waste_evaluate  # noqa: E402, F401
from meetnet.commands.alerts import alerts_app  # noqa: E402
from meetnet.commands.classrooms import classrooms_app  # noqa: E402
from meetnet.commands.crossings import crossings_app  # noqa: E402
from meetnet.commands.dashboards import dashboards_app  # noqa: E402
from meetnet.commands.waste import waste_app  # noqa: E402
from meetnet.commands.water import water_app  # noqa: E402

app.add_typer(waste_app, name="waste")
app.add_typer(classrooms_app, name="classrooms")
app.add_typer(water_app, name="water")
app.add_typer(crossings_app, name="crossings")
app.add_typer(alerts_app, name="alerts")
app.add_typer(dashboards_app, name="dashboards")


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option(
        "--debug", help="On an error, show the full traceback instead of one line, and log at "
                        "DEBUG level (MEETNET_LOG_LEVEL=DEBUG shows the traceback too)")] = False,
) -> None:
    _options["debug"] = debug


_options: dict[str, bool] = {"debug": False}


def _debug(flag: bool | None = None) -> bool:
    """--debug given, or MEETNET_LOG_LEVEL=DEBUG (read directly: the settings may be what
    failed)."""
    flag = _options["debug"] if flag is None else flag
    return flag or os.environ.get("MEETNET_LOG_LEVEL", "").strip().upper() == "DEBUG"


def _expected(exc: BaseException) -> bool:
    # Modules are looked up, not imported: `meetnet --help` stays fast, and an exception of a
    # library that was never imported cannot be this one.
    psycopg = sys.modules.get("psycopg")
    pydantic = sys.modules.get("pydantic")
    return (isinstance(exc, OSError | ValueError | RuntimeError)
            or (psycopg is not None and isinstance(exc, psycopg.Error))
            or (pydantic is not None and isinstance(exc, pydantic.ValidationError)))


def _explain(exc: BaseException) -> tuple[str, int]:
    """One line saying what went wrong, and the exit status."""
    psycopg = sys.modules.get("psycopg")
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(exc, pydantic.ValidationError):
        if exc.title == Settings.__name__:
            problems = "; ".join(
                f"MEETNET_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                for e in exc.errors())
            return f"invalid setting {problems}", 2
        first = exc.errors()[0]
        return f"invalid {exc.title}: {first['msg']} ({'.'.join(map(str, first['loc']))})", 1
    if psycopg is not None and isinstance(exc, psycopg.OperationalError):
        return _database_error(exc), 1
    if psycopg is not None and isinstance(exc, psycopg.Error):
        line = _first_line(exc)
        if isinstance(exc, psycopg.errors.UndefinedTable):
            line += "; has `meetnet migrate` run on this database?"
        return f"database: {line}", 1
    if isinstance(exc, OSError):
        reason = exc.strerror or _first_line(exc)
        if exc.filename is not None:
            return f"{exc.filename}: {reason}", 1
        if isinstance(exc, ConnectionError):
            return f"{reason}; is the server running there?", 1
        return reason, 1
    return _first_line(exc), 1


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).strip().splitlines()[:1]).strip()
    return text or type(exc).__name__


def _database_error(exc: Exception) -> str:
    """libpq's reason, and where meetnet tried to connect (never the password)."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if not first.startswith(("connection failed", "connection is bad", "failed to resolve")):
        return f"lost the database connection ({first})"
    reason = re.sub(r"\s+", " ", first.rsplit("failed: ", 1)[-1]).strip()
    reason = reason.removeprefix("connection is bad: ").removeprefix("FATAL: ")
    where = _database_address()
    hint = ("is PostgreSQL running there?" if "refused" in reason or "timeout" in reason.lower()
            else "check MEETNET_DATABASE_URL")
    return (f"cannot reach the database{f' at {where}' if where else ''} ({reason}); {hint}"
            f"{' (set MEETNET_DATABASE_URL)' if hint.startswith('is') else ''}")


def _database_address() -> str | None:
    try:
        from psycopg.conninfo import conninfo_to_dict

        dsn = Settings().database_dsn()
        params = conninfo_to_dict(dsn) if dsn else {}
    except Exception:
        return None
    if not params:
        return None
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"


def _secrets() -> set[str]:
    """Passwords meetnet may have been given, to keep out of anything it prints."""
    values = [v for k, v in os.environ.items() if k.startswith("MEETNET_") and "URL" in k]
    values += [v for k, v in os.environ.items() if "PASSWORD" in k or "TOKEN" in k]
    with_settings: list[str] = []
    try:
        settings = Settings()
        with_settings = [s.get_secret_value() for s in (settings.database_url, settings.mqtt_url)
                         if s is not None]
    except Exception:
        pass
    out: set[str] = set()
    for value in values + with_settings:
        try:
            password = urlsplit(value).password if "://" in value else value
        except ValueError:
            password = None
        if password and ("://" in value or value in values):
            out |= {password, unquote(password)}
    return {s for s in out if len(s) >= 3}


def _scrub(text: str) -> str:
    text = re.sub(r"(\w+://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)
    for secret in sorted(_secrets(), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _settings() -> Settings:
    settings = Settings()
    logs.setup("DEBUG" if _debug() else settings.log_level, settings.log_json)
    return settings


def _require_dsn(settings: Settings) -> str:
    dsn = settings.database_dsn()
    if not dsn:
        typer.echo("MEETNET_DATABASE_URL is not set (postgresql://user:pass@host:5432/db). "
                   "`meetnet demo` runs everything embedded instead.", err=True)
        raise typer.Exit(2)
    return dsn


def _stop_on_signals(stop: threading.Event | object) -> None:
    def handler(signum: int, frame: object) -> None:
        stop.set() if isinstance(stop, threading.Event) else stop.stop()  # type: ignore[attr-defined]

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@app.command()
def demo(
    duration: Annotated[float | None, typer.Option(help="Stop after N seconds (default: Ctrl-C)")
                        ] = None,
    history_days: Annotated[float, typer.Option(help="Days of history to backfill first")] = 2.0,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second after the "
                                              "backfill")] = 1.0,
) -> None:
    """Run everything on this machine: PostgreSQL, an MQTT broker, ingest, the API and the
    Leiden scenario simulator. Nothing needs to be installed beforehand."""
    from meetnet.demo import run_demo

    settings = _settings()
    # Non-zero when a part of the demo stopped on its own (the demo names it).
    code = run_demo(settings, duration_s=duration, history_days=history_days, speed=speed)
    if code:
        raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Apply the database migrations (idempotent; TimescaleDB when available)."""
    from store import migrate as run

    settings = _settings()
    result = run(_require_dsn(settings))
    kind = "TimescaleDB" if result.timescale else "plain PostgreSQL"
    applied = ", ".join(result.applied) or "nothing new"
    typer.echo(f"schema up to date on {kind} ({result.timescale_note}); applied: {applied}")


@app.command()
def ingest(
    protocol: Annotated[str, typer.Option(help="auto (MQTT 5, else 3.1.1), 5 or 3.1.1")] = "auto",
    metrics_port: Annotated[int, typer.Option(help="Prometheus metrics port (0: off); worker n "
                                                   "of --workers uses port + n")] = 9108,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="Ingests sharing the load on one shared subscription "
                            "(each uses about two cores: MQTT and its store process)")] = 1,
) -> None:
    """Consume uplinks from the broker and store them. SIGTERM/Ctrl-C commits and acks what it
    can and exits 0 within 10 s, also with the database down (the rest stays with the broker);
    exits 1 when storing became impossible (the store process died)."""
    from prometheus_client import start_http_server

    from ingest import Subscriber

    settings = _settings()
    dsn = _require_dsn(settings)
    if settings.mqtt_target() is None:
        typer.echo("MEETNET_MQTT_URL is not set (mqtt://user:pass@host:1883).", err=True)
        raise typer.Exit(2)
    if workers > 1:
        from ingest.workers import run_workers

        stop = threading.Event()
        _stop_on_signals(stop)
        restarts = run_workers(workers, client_id=settings.mqtt_client_id,
                               group=settings.mqtt_shared_group or "meetnet",
                               metrics_port=metrics_port, stop=stop)
        typer.echo(f"stopped {workers} workers ({restarts} restarts)")
        return
    if metrics_port:
        start_http_server(metrics_port, addr=settings.api_host)
    from ingest.subscriber import IngestError

    sub = Subscriber(settings, dsn, protocol=protocol)
    _stop_on_signals(sub)
    try:
        stats = sub.run()
    except IngestError as exc:
        # Lost its infrastructure (the store process died): non-zero, so a supervisor
        # restarts it; unacked messages wait at the broker.
        typer.echo(f"ingest stopped: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"stopped: {stats.messages} messages, {stats.readings} readings, "
               f"{stats.dead_letters} dead letters")


@app.command()
def api() -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from api import create_app

    settings = _settings()
    dsn = _require_dsn(settings)
    uvicorn.run(create_app(settings, dsn), host=settings.api_host, port=settings.api_port,
                log_config=None)


@app.command()
def simulate(
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second")] = 1.0,
    duration: Annotated[float | None, typer.Option(help="Stop after N real seconds")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the scenario")] = 71,
    network: Annotated[str, typer.Option(help="tts or chirpstack message format")] = "tts",
    backfill_days: Annotated[float, typer.Option(help="First publish N past days, fast")] = 0.0,
    register: Annotated[bool, typer.Option(
        help="First register the scenario's devices (as open data) in MEETNET_DATABASE_URL, "
             "so ingest can decode them")] = False,
) -> None:
    """Publish the Leiden scenario's uplinks to the broker, in the devices' real formats."""
    from datetime import UTC, datetime, timedelta

    from simulators.run import backfill, run_scenario

    settings = _settings()
    target = settings.mqtt_target()
    if target is None:
        typer.echo("MEETNET_MQTT_URL is not set (mqtt://user:pass@host:1883).", err=True)
        raise typer.Exit(2)
    if register:
        from meetnet.demo import register_scenario

        n_devices = register_scenario(_require_dsn(settings))
        typer.echo(f"registered {n_devices} scenario devices")
    stop = threading.Event()
    _stop_on_signals(stop)
    now = datetime.now(UTC)
    if backfill_days > 0:
        n = backfill(target, start=now - timedelta(days=backfill_days), end=now, seed=seed,
                     network=network, progress=True)
        typer.echo(f"backfilled {n} uplinks")
    n = run_scenario(target, speed=speed, duration_s=duration, start=now, seed=seed,
                     network=network, progress=sys.stderr.isatty(), stop=stop)
    typer.echo(f"published {n} uplinks")


@app.command()
def reprocess(
    device: Annotated[str | None, typer.Option(help="dev_eui whose readings to re-derive")] = None,
    from_: Annotated[datetime | None, typer.Option("--from", help="start (UTC if no offset)")
                     ] = None,
    to: Annotated[datetime | None, typer.Option(help="end, exclusive (default: now)")] = None,
    dead_letters: Annotated[bool, typer.Option("--dead-letters",
                                               help="replay pending dead letters")] = False,
    stage: Annotated[str | None, typer.Option(help="only dead letters of this stage")] = None,
) -> None:
    """Re-derive a device's readings from its stored raw uplinks (after a decoder fix or a
    config change), or replay dead letters. Idempotent."""
    from datetime import UTC

    from ingest.reprocess import ReprocessError, replay_dead_letters, reprocess_device

    settings = _settings()
    dsn = _require_dsn(settings)
    if device is None and not dead_letters:
        typer.echo("say what to reprocess: --device DEV_EUI --from TIME, or --dead-letters",
                   err=True)
        raise typer.Exit(2)
    if device is not None:
        if from_ is None:
            typer.echo("--from is required with --device", err=True)
            raise typer.Exit(2)
        start = from_ if from_.tzinfo else from_.replace(tzinfo=UTC)
        end = (to if to.tzinfo else to.replace(tzinfo=UTC)) if to else None
        try:
            r = reprocess_device(dsn, device, start, end, progress=sys.stderr.isatty())
        except ReprocessError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"{device}: {r.uplinks} uplinks -> {r.readings} readings "
                   f"({r.undecodable} undecodable, {r.refused_values} values out of range)")
    if dead_letters:
        d = replay_dead_letters(dsn, stage, progress=sys.stderr.isatty())
        typer.echo(f"dead letters: {d.replayed} replayed, {d.resolved} stored, "
                   f"{d.still_refused} still refused")


_TIMES = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


@app.command()
def backfill(
    application: Annotated[list[str] | None, typer.Option(
        "--application", help="The Things Stack application id (repeatable; default: "
                              "MEETNET_TTS_APPLICATIONS)")] = None,
    from_: Annotated[datetime | None, typer.Option(
        "--from", formats=_TIMES, help="start (UTC if no offset; default: --to minus "
                                       "MEETNET_TTS_BACKFILL_MAX_HOURS)")] = None,
    to: Annotated[datetime | None, typer.Option(formats=_TIMES, help="end (default: now)")
                  ] = None,
) -> None:
    """Fetch uplinks from The Things Stack's Storage Integration (what its QoS 0 MQTT server
    lost while nobody listened) and store them like MQTT ones; stored ones are skipped."""
    from datetime import UTC, timedelta

    from ingest.backfill import BackfillError, StorageIntegration, rfc3339, valid_application
    from ingest.backfill import backfill as fetch_and_store
    from ingest.direct import DirectIngest, StoreUnavailable
    from ingest.pipeline import IngestLimits

    settings = _settings()
    dsn = _require_dsn(settings)
    apps = application or settings.tts_applications
    try:
        if not apps:
            raise ValueError("say which application: --application APP, or set "
                             "MEETNET_TTS_APPLICATIONS")
        apps = [valid_application(a) for a in apps]
        source = StorageIntegration.from_settings(settings)
        end = (to if to.tzinfo else to.replace(tzinfo=UTC)) if to else datetime.now(UTC)
        start = ((from_ if from_.tzinfo else from_.replace(tzinfo=UTC)) if from_ else
                 end - timedelta(hours=settings.tts_backfill_max_hours))
        if start >= end:
            raise ValueError("--from must be before --to")
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    direct = DirectIngest(dsn, IngestLimits.from_settings(settings))
    failed: list[str] = []
    totals = [0, 0, 0, 0]
    try:
        for app_id in apps:
            typer.echo(f"{app_id}: fetching stored uplinks {rfc3339(start)} .. {rfc3339(end)}")
            try:
                done = fetch_and_store(source, direct, app_id, start, end,
                                       progress=lambda p: typer.echo(p.line()))
            except BackfillError as exc:
                typer.echo(f"error: {exc}", err=True)
                failed.append(app_id)
                continue
            except StoreUnavailable as exc:
                typer.echo(f"error: the database did not store the uplinks ({exc}); run the "
                           "backfill again (what was stored stays, duplicates are skipped)",
                           err=True)
                raise typer.Exit(1) from None
            typer.echo(f"done {done.line()}")
            for i, n in enumerate((done.fetched, done.uplinks, done.duplicates,
                                   done.dead_letters)):
                totals[i] += n
    finally:
        direct.close()
    typer.echo(f"backfill: {len(apps) - len(failed)} of {len(apps)} applications, {totals[0]} "
               f"messages fetched, {totals[1]} new uplinks, {totals[2]} duplicates, "
               f"{totals[3]} dead letters")
    if failed:
        raise typer.Exit(1)


@orgs_app.command("create")
def orgs_create(
    slug: Annotated[str, typer.Argument(help="short lowercase id, e.g. gemeente-leiden")],
    name: Annotated[str, typer.Option(help="display name")],
) -> None:
    """Create an organisation (or rename one that exists)."""
    import re

    import psycopg

    from store.keys import create_organisation

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
        raise ValueError(f"slug {slug!r} must be lowercase letters, digits and dashes")
    dsn = _require_dsn(_settings())
    with psycopg.connect(dsn) as conn:
        create_organisation(conn, slug, name)
    typer.echo(f"organisation {slug} ({name})")


@orgs_app.command("list")
def orgs_list() -> None:
    """Every organisation, with its number of devices."""
    import psycopg

    from store.keys import list_organisations

    with psycopg.connect(_require_dsn(_settings())) as conn:
        for slug, name, n in list_organisations(conn):
            typer.echo(f"{slug:32} {n:6} devices  {name}")


@keys_app.command("create")
def keys_create(
    org: Annotated[str, typer.Option("--org", help="organisation slug")],
    role: Annotated[str, typer.Option(help="reader, writer or admin")] = "reader",
    name: Annotated[str, typer.Option(help="what the key is for, e.g. a prototype's name")] = "",
) -> None:
    """Make an API key. The key is printed once, as the last line: store it now."""
    import psycopg

    from store.keys import ROLES, create_key

    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    with psycopg.connect(_require_dsn(_settings())) as conn:
        key_id, secret = create_key(conn, org, role, name)
    typer.echo(f"key {key_id} for {org} ({role}); it is not stored and is shown only now:",
               err=True)
    typer.echo(secret)


@keys_app.command("list")
def keys_list(org: Annotated[str, typer.Option("--org", help="organisation slug")]) -> None:
    """An organisation's keys (their first characters only)."""
    import psycopg

    from store.keys import list_keys

    with psycopg.connect(_require_dsn(_settings())) as conn:
        for k in list_keys(conn, org):
            state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            typer.echo(f"{k.id:6} {k.prefix}...  {k.role:7} {state:18} {k.name}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="the key's id (`meetnet keys list`)")]
                ) -> None:
    """Revoke a key: requests with it are refused (401) from now on."""
    import psycopg

    from store.keys import revoke_key

    with psycopg.connect(_require_dsn(_settings())) as conn:
        if not revoke_key(conn, key_id):
            raise ValueError(f"no active key {key_id}")
    typer.echo(f"key {key_id} revoked")


ingest_secret_app = typer.Typer(
    help="Secrets a network server's HTTP integration posts uplinks with (/v1/ingest/tts, "
         "/v1/ingest/chirpstack); stored hashed, shown once.", no_args_is_help=True)
orgs_app.add_typer(ingest_secret_app, name="ingest-secret")


@ingest_secret_app.command("create")
def ingest_secret_create(
    slug: Annotated[str, typer.Argument(help="the organisation whose devices the network "
                                             "server's messages carry")],
    network: Annotated[str | None, typer.Option(
        help="tts or chirpstack: the only endpoint the secret opens (default: both)")] = None,
    name: Annotated[str, typer.Option(help="where it is used, e.g. the TTS application")] = "",
) -> None:
    """Make an ingest secret. It is printed once, as the last line: paste it into the network
    server's webhook or HTTP integration as the header `Authorization: Bearer <secret>`."""
    import psycopg

    from store.ingest_secrets import NETWORKS, create_secret

    if network is not None and network not in NETWORKS:
        raise ValueError(f"network must be one of {', '.join(NETWORKS)}, not {network!r}")
    with psycopg.connect(_require_dsn(_settings())) as conn:
        secret_id, secret = create_secret(conn, slug, network, name)
    typer.echo(f"ingest secret {secret_id} for {slug} ({network or 'tts and chirpstack'}); it is "
               "not stored and is shown only now:", err=True)
    typer.echo(secret)


@ingest_secret_app.command("list")
def ingest_secret_list(
    slug: Annotated[str | None, typer.Argument(help="only this organisation's")] = None,
) -> None:
    """Ingest secrets (their first characters only)."""
    import psycopg

    from store.ingest_secrets import list_secrets

    with psycopg.connect(_require_dsn(_settings())) as conn:
        for s in list_secrets(conn, slug):
            state = f"revoked {s.revoked_at:%Y-%m-%d}" if s.revoked_at else "active"
            typer.echo(f"{s.id:6} {s.prefix}...  {s.organisation:24} {s.network or 'any':10} "
                       f"{state:18} {s.name}")


@ingest_secret_app.command("revoke")
def ingest_secret_revoke(
    secret_id: Annotated[int, typer.Argument(help="the secret's id (`meetnet orgs ingest-secret "
                                                  "list`)")],
) -> None:
    """Revoke an ingest secret: posts with it are refused (401) from now on."""
    import psycopg

    from store.ingest_secrets import revoke_secret

    with psycopg.connect(_require_dsn(_settings())) as conn:
        if not revoke_secret(conn, secret_id):
            raise ValueError(f"no active ingest secret {secret_id}")
    typer.echo(f"ingest secret {secret_id} revoked")


@devices_app.command("share")
def devices_share(
    dev_eui: Annotated[str, typer.Argument(help="the device's dev_eui")],
    with_: Annotated[str, typer.Option("--with", help="organisation slug to share with")],
) -> None:
    """Let another organisation read a device's data (a private device becomes shared)."""
    _change_sharing(dev_eui, with_, share=True)


@devices_app.command("unshare")
def devices_unshare(
    dev_eui: Annotated[str, typer.Argument(help="the device's dev_eui")],
    with_: Annotated[str, typer.Option("--with", help="organisation slug to stop sharing with")],
) -> None:
    """Stop sharing a device with an organisation (shared with nobody: private again)."""
    _change_sharing(dev_eui, with_, share=False)


def _change_sharing(dev_eui: str, organisation: str, *, share: bool) -> None:
    import psycopg

    from store.devices import share_device, unshare_device

    change = share_device if share else unshare_device
    with psycopg.connect(_require_dsn(_settings())) as conn:
        visibility = change(conn, dev_eui, organisation)
    done = "shared with" if share else "no longer shared with"
    typer.echo(f"{dev_eui.lower()} {done} {organisation} (visibility: {visibility})")


@devices_app.command("attributes")
def devices_attributes(
    dev_eui: Annotated[str | None, typer.Argument(help="one device (default: all)")] = None,
    org: Annotated[str | None, typer.Option("--org", help="one organisation's devices")] = None,
    name: Annotated[str | None, typer.Option(
        "--name", help="one attribute, e.g. firmware_version")] = None,
) -> None:
    """What devices said about themselves: firmware and hardware version, serial number, the
    settings a downlink response confirmed; the newest value of each, and when it was reported
    (e.g. `--name firmware_version` for the fleet's firmware)."""
    import psycopg

    from store.queries import fleet_attributes

    with psycopg.connect(_require_dsn(_settings())) as conn:
        rows = fleet_attributes(conn, dev_eui=dev_eui, organisation=org, name=name)
    if not rows:
        typer.echo("no attributes reported" + (f" for {dev_eui.lower()}" if dev_eui else ""))
        return
    for row in rows:
        typer.echo(f"{row.dev_eui}  {row.organisation}  {row.model_key}  {row.name} = "
                   f"{row.value}  ({row.at.isoformat()})")


@devices_app.command("import")
def devices_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file")],
) -> None:
    """Register or update devices from a CSV file (header: dev_eui, organisation, model_key,
    device_id, application_id, name, use_case, visibility, lat, lon, config, network,
    tenant_id). Nothing is imported while any row is refused."""
    import psycopg

    from store.devices import DeviceImportError, check_devices, decode_csv, import_checked, parse_devices_csv

    dsn = _require_dsn(_settings())
    try:
        rows, refused = parse_devices_csv(decode_csv(file.read_bytes()))
    except DeviceImportError as exc:
        typer.echo(f"error: {file}: {exc}", err=True)
        raise typer.Exit(1) from None
    with psycopg.connect(dsn) as conn:
        # The API's import (POST /v1/devices/import) checks rows with the same functions.
        rows, unknown = check_devices(conn, rows)
        refused = sorted(refused + unknown, key=lambda r: r.line)
        if refused:
            typer.echo("\n".join(f"{file}:{r.line}: {r.reason}" for r in refused), err=True)
            raise typer.Exit(1)
        result = import_checked(conn, rows)
    typer.echo(f"imported {result.imported + result.updated} device(s) "
               f"({result.imported} new, {result.updated} updated)")


grafana_app = typer.Typer(
    help="What Grafana's database roles read: open data, plus the organisations granted them.",
    no_args_is_help=True)
app.add_typer(grafana_app, name="grafana")


@grafana_app.command("grant")
def grafana_grant(
    role: Annotated[str, typer.Argument(help="the database role Grafana logs in as, e.g. "
                                             "grafana_reader")],
    org: Annotated[str | None, typer.Option(
        "--org", help="organisation slug whose private and shared-with devices the role sees "
                      "too (default: open data only)")] = None,
) -> None:
    """Let a database role read the `grafana` views (open data), and with --org also that
    organisation's own devices and those shared with it."""
    import psycopg

    from store.grafana import grant

    with psycopg.connect(_require_dsn(_settings())) as conn:
        grant(conn, role, org)
    typer.echo(f"{role} reads open data" + (f" and {org}'s devices" if org else ""))


@grafana_app.command("revoke")
def grafana_revoke(
    role: Annotated[str, typer.Argument(help="the database role")],
    org: Annotated[str | None, typer.Option(
        "--org", help="only this organisation's devices (the role keeps open data)")] = None,
) -> None:
    """Take an organisation's devices away from a role, or, without --org, all of the views."""
    import psycopg

    from store.grafana import revoke

    with psycopg.connect(_require_dsn(_settings())) as conn:
        revoke(conn, role, org)
    what = f"{org}'s devices" if org else "the grafana views"
    typer.echo(f"{role} no longer reads {what}")


@grafana_app.command("list")
def grafana_list() -> None:
    """Roles that read the `grafana` views, and the organisations granted to each."""
    import psycopg

    from store.grafana import access

    with psycopg.connect(_require_dsn(_settings())) as conn:
        for role, orgs in access(conn):
            typer.echo(f"{role:32} {', '.join(orgs) if orgs else '(open data only)'}")


@decoders_app.command("list")
def decoders_list() -> None:
    """The device models meetnet decodes."""
    from rich.console import Console
    from rich.table import Table

    from decoders import MODELS

    table = Table("model key", "vendor / model", "use case", "metrics")
    for m in MODELS.values():
        table.add_row(m.key, f"{m.vendor} {m.model}", m.use_case, ", ".join(m.metrics))
    Console().print(table)


@app.command()
def decode(
    model: Annotated[str, typer.Argument(help="model key, e.g. milesight-iot/em310-udl")],
    payload_hex: Annotated[str, typer.Argument(help="payload as hex")],
    port: Annotated[int, typer.Option("--port", help="fPort")] = 85,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list")] = False,
) -> None:
    """Decode one payload and print the readings; exit status 1 with the reason if it cannot."""
    from decoders import DecodeError
    from decoders import decode as run
    from meetnet.catalog import METRICS

    try:
        payload = bytes.fromhex(payload_hex.replace(" ", ""))
        readings = run(model, port, payload)
    except (DecodeError, ValueError) as exc:
        typer.echo(f"cannot decode: {exc}", err=True)
        raise typer.Exit(1) from None
    rows = [{"metric": r.metric, "value": r.value, "unit": METRICS[r.metric].unit}
            for r in readings]
    if as_json:
        typer.echo(json.dumps(rows))
    else:
        for row in rows:
            typer.echo(f"{row['metric']:<24} {row['value']:>12g} {row['unit']}")


@codecs_app.command("add")
def codecs_add(
    model_key: Annotated[str, typer.Argument(help="your model's key, <organisation>/<model>")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the codec (.js)")],
    organisation: Annotated[str, typer.Option(help="organisation that owns the codec")],
    field_map: Annotated[str, typer.Option(
        help='JSON: codec data field -> metric or [metric, scale], e.g. '
             '\'{"co2": "co2", "distance_mm": ["distance", 0.001]}\'')],
    use_case: Annotated[str, typer.Option(help="waste, classroom, crossing, water or any")] = "any",
) -> None:
    """Attach a TTN-format JavaScript codec (decodeUplink) to a model of your own. It runs in a
    sandbox with time and memory limits and no I/O; devices registered with MODEL_KEY use it."""
    import re

    import psycopg

    from decoders import MODELS, DecodeError
    from decoders.js import JsCodec
    from store.codecs import upsert_codec

    settings = _settings()
    dsn = _require_dsn(settings)
    if not re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+", model_key) or model_key in MODELS:
        typer.echo(f"error: {model_key!r} must be a new lowercase <organisation>/<model> key, "
                   "not a built-in model", err=True)
        raise typer.Exit(1)
    source = file.read_text(encoding="utf-8")
    try:
        mapping = json.loads(field_map)
        if not isinstance(mapping, dict):
            raise ValueError("the field map must be a JSON object")
        # Compile (and check the field map against the catalog) before storing anything.
        JsCodec(source, mapping, name=model_key)
    except (ValueError, KeyError, DecodeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    with psycopg.connect(dsn) as conn:
        upsert_codec(conn, model_key=model_key, organisation=organisation, source=source,
                     field_map=mapping, use_case=use_case)
    typer.echo(f"codec {model_key} stored ({len(source)} bytes, {len(mapping)} mapped fields)")


@codecs_app.command("list")
def codecs_list() -> None:
    """The organisations' codecs."""
    import psycopg

    from store.codecs import list_codecs

    settings = _settings()
    with psycopg.connect(_require_dsn(settings)) as conn:
        for c in list_codecs(conn):
            fields = ", ".join(f"{k}->{v}" for k, v in c.field_map.items())
            typer.echo(f"{c.model_key:32} {c.organisation:24} {c.use_case:10} {fields}")


if __name__ == "__main__":
    app()
