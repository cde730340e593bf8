"""Upload meetnet's dashboards, and the PostgreSQL data source they read, to a running Grafana
(``meetnet dashboards push``; docs/grafana.md, "Pushing to another Grafana").

For a Grafana that does not read ``dashboards/json/`` from disk (one that is not ours, or Grafana
Cloud). Grafana HTTP API (grafana.com/docs, "Data source HTTP API", "Folder HTTP API",
"Dashboard HTTP API"), through ``grafana-client``:

1. the data source, when one is given: ``GET /api/datasources/uid/{uid}``; absent (404):
   ``POST /api/datasources``; present: ``PUT /api/datasources/uid/{uid}`` with the same body,
   so pushing again brings a changed host or role up to date. Without a password the update
   sends no ``secureJsonData`` and Grafana keeps the one it has;
2. the folder: ``GET /api/folders/{uid}``, created by ``POST /api/folders`` when absent;
3. each dashboard: ``POST /api/dashboards/db`` with ``overwrite`` and no ``id``, so Grafana
   matches on uid and creates or replaces it. With a data source, each dashboard's
   ``datasource`` variable starts on it.

The password is sent to Grafana only, inside the request body; it is in no return value, repr
or message.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError

from dashboards.build import all_dashboards
from dashboards.panels import DATASOURCE_TYPE, Json

FOLDER_UID = "meetnet"
FOLDER_TITLE = "meetnet"


@dataclass(frozen=True, slots=True)
class DataSource:
    """The PostgreSQL data source the dashboards read: ``url`` is host:port as Grafana reaches
    the database, ``user`` a role granted only the ``grafana`` views (never the owner)."""

    uid: str
    name: str
    url: str
    database: str
    user: str
    password: str | None = field(default=None, repr=False)
    sslmode: str = "require"

    def body(self, *, with_password: bool = True) -> Json:
        """The request body of POST /api/datasources and PUT /api/datasources/uid/{uid}
        (Grafana's PostgreSQL data source: ``jsonData.database``, ``sslmode``;
        ``secureJsonData.password``)."""
        body: Json = {
            "uid": self.uid,
            "name": self.name,
            "type": DATASOURCE_TYPE,
            "access": "proxy",
            "url": self.url,
            "user": self.user,
            "basicAuth": False,
            # Never made the default: on a Grafana that is not ours, other dashboards rely on it.
            "isDefault": False,
            "jsonData": {
                "database": self.database,
                "sslmode": self.sslmode,
                # The panels use date_bin (PostgreSQL 14+), with or without TimescaleDB.
                "postgresVersion": 1400,
                "maxOpenConns": 10,
                "maxIdleConns": 2,
                "connMaxLifetime": 14400,
            },
        }
        if with_password and self.password is not None:
            body["secureJsonData"] = {"password": self.password}
        return body


@dataclass(frozen=True, slots=True)
class Pushed:
    uid: str
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class PushReport:
    """What push did: the data source ``created``, ``updated`` or None (none given), and the
    dashboards stored, with their URLs."""

    datasource: Literal["created", "updated", "kept (provisioned, read-only)"] | None
    dashboards: list[Pushed]


class PushError(RuntimeError):
    """Grafana refused a request (the token's role, a read-only provisioned data source...)."""


def _existing(get: Any, uid: str) -> dict[str, Any] | None:
    try:
        found = get(uid)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise
    return found if isinstance(found, dict) else {}


def _exists(get: Any, uid: str) -> bool:
    return _existing(get, uid) is not None


def _ensure_datasource(api: GrafanaApi, source: DataSource
                       ) -> Literal["created", "updated", "kept (provisioned, read-only)"]:
    # grafana-client's element methods carry no annotations, hence the ignores.
    existing = _existing(api.datasource.get_datasource_by_uid, source.uid)
    if existing is not None and existing.get("readOnly"):
        # Provisioned from a file (the compose setup's provisioning/datasources): Grafana
        # refuses to change it, and the file is where it is managed; the dashboards use it.
        return "kept (provisioned, read-only)"
    if existing is not None:
        api.datasource.update_datasource_by_uid(  # type: ignore[no-untyped-call]
            source.uid, source.body())
        return "updated"
    if source.password is None:
        raise PushError(f"data source {source.uid!r} does not exist yet: set "
                        "MEETNET_GRAFANA_DATASOURCE_PASSWORD to create it")
    api.datasource.create_datasource(source.body())  # type: ignore[no-untyped-call]
    return "created"


def _ensure_folder(api: GrafanaApi, uid: str, title: str) -> str:
    if not _exists(api.folder.get_folder, uid):
        api.folder.create_folder(title, uid=uid)  # type: ignore[no-untyped-call]
    return uid


def _on_datasource(dashboard: Json, source: DataSource) -> Json:
    """The dashboard with its ``datasource`` variable starting on ``source``."""
    model = copy.deepcopy(dashboard)
    for variable in model.get("templating", {}).get("list", []):
        if variable.get("type") == "datasource":
            variable["current"] = {"selected": True, "text": source.name, "value": source.uid}
    return model


def push(grafana_url: str, api_token: str, dashboards: Iterable[Json] | None = None, *,
         datasource: DataSource | None = None, folder_uid: str = FOLDER_UID,
         folder_title: str = FOLDER_TITLE, timeout: float = 10.0) -> PushReport:
    """Create or update ``datasource`` (if given), then create or replace ``dashboards``
    (default: all of ``dashboards.build``) in a folder of the Grafana at ``grafana_url``,
    authenticated by a service account token ``api_token`` (Editor; Admin for the data
    source). Grafana HTTP API, as the module docstring lists. PushError when Grafana refuses."""
    api = GrafanaApi.from_url(grafana_url.rstrip("/"), credential=api_token, timeout=timeout)
    try:
        done = None if datasource is None else _ensure_datasource(api, datasource)
        folder = _ensure_folder(api, folder_uid, folder_title)
        pushed = []
        for dashboard in all_dashboards().values() if dashboards is None else dashboards:
            model = dashboard if datasource is None else _on_datasource(dashboard, datasource)
            # No "id": Grafana matches on uid, so this creates the dashboard or overwrites it.
            model = {k: v for k, v in model.items() if k != "id"}
            answer = api.dashboard.update_dashboard({
                "dashboard": model,
                "folderUid": folder,
                "overwrite": True,
                "message": "meetnet dashboards push",
            })
            pushed.append(Pushed(uid=str(answer.get("uid", model["uid"])), title=model["title"],
                                 url=str(answer.get("url", ""))))
        return PushReport(done, pushed)
    except GrafanaClientError as exc:
        # The message is Grafana's answer; the request (and the password in it) is not in it.
        raise PushError(f"Grafana answered {exc.status_code}: {exc.message}") from None
    finally:
        # GrafanaApi has no close(); its HTTP session keeps pooled connections open otherwise.
        api.client.s.close()
