"""`meetnet dashboards ...`: Grafana dashboards as code (docs/grafana.md).

`export DIR` writes the dashboards' JSON models (what `dashboards/json/` holds, for a Grafana
that provisions from files); `push` uploads them to a running Grafana and creates or updates the
PostgreSQL data source they read, from the MEETNET_GRAFANA_* settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from dashboards.push import DataSource
    from meetnet.settings import Settings

dashboards_app = typer.Typer(help="Grafana dashboards as code.", no_args_is_help=True)


@dashboards_app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(file_okay=False, help="where to write <name>.json "
                                                                    "(made if missing)")],
    check: Annotated[bool, typer.Option(
        "--check", help="write nothing; exit 1 if the files there differ from the code")] = False,
) -> None:
    """Write every dashboard's JSON model (waste, classroom, crossing, water, fleet) to
    DIRECTORY, as `dashboards/json/` holds them for Grafana's file provisioning."""
    from dashboards.build import stale, write

    if check:
        wrong = stale(directory)
        if wrong:
            typer.echo(f"out of date in {directory}: {', '.join(wrong)}", err=True)
            raise typer.Exit(1)
        typer.echo(f"{directory}: up to date")
        return
    for path in write(directory):
        typer.echo(str(path))


def datasource_from(settings: Settings) -> DataSource:
    """The data source of the MEETNET_GRAFANA_DATASOURCE_* settings; its host, port and database
    default to MEETNET_DATABASE_URL's (the role does not: Grafana must not log in as the owner)."""
    from psycopg.conninfo import conninfo_to_dict

    from dashboards.push import DataSource

    url, database = settings.grafana_datasource_url, settings.grafana_datasource_database
    dsn = settings.database_dsn()
    if (url is None or database is None) and dsn is not None:
        info = conninfo_to_dict(dsn)
        host = str(info.get("host") or "localhost")
        if url is None and not host.startswith("/"):  # a socket directory is no URL for Grafana
            url = f"{host}:{info.get('port') or 5432}"
        database = database or (str(info["dbname"]) if info.get("dbname") else None)
    if url is None or database is None:
        raise ValueError("set MEETNET_GRAFANA_DATASOURCE_URL and _DATABASE (or "
                         "MEETNET_DATABASE_URL) for the data source, or push with "
                         "--no-datasource")
    password = settings.grafana_datasource_password
    return DataSource(uid=settings.grafana_datasource_uid, name=settings.grafana_datasource_name,
                      url=url, database=database, user=settings.grafana_datasource_user,
                      password=None if password is None else password.get_secret_value(),
                      sslmode=settings.grafana_datasource_sslmode)


@dashboards_app.command("push")
def push(
    url: Annotated[str | None, typer.Option(
        help="Grafana base URL (default MEETNET_GRAFANA_URL)")] = None,
    with_datasource: Annotated[bool, typer.Option(
        "--datasource/--no-datasource",
        help="create or update the PostgreSQL data source (MEETNET_GRAFANA_DATASOURCE_*)")
    ] = True,
    folder: Annotated[str, typer.Option(help="uid and title of the folder")] = "meetnet",
) -> None:
    """Upload the dashboards to a Grafana (token: MEETNET_GRAFANA_TOKEN), into one folder,
    replacing earlier versions; first create or update the data source they read."""
    from dashboards.push import push as upload
    from meetnet.settings import Settings

    settings = Settings()
    base = url or settings.grafana_url
    if not base:
        raise ValueError("set MEETNET_GRAFANA_URL or pass --url")
    if settings.grafana_token is None:
        raise ValueError("set MEETNET_GRAFANA_TOKEN (a Grafana service account token)")
    source = datasource_from(settings) if with_datasource else None
    report = upload(base, settings.grafana_token.get_secret_value(), datasource=source,
                    folder_uid=folder, folder_title=folder)
    if report.datasource is not None and source is not None:
        typer.echo(f"data source {source.name} ({source.uid}) {report.datasource}: "
                   f"{source.user}@{source.url}/{source.database}")
    for d in report.dashboards:
        typer.echo(f"{d.title}: {base.rstrip('/')}{d.url}")
