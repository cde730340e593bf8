"""Upload meetnet's dashboards to a running Grafana (``meetnet dashboards push``).

For a Grafana that does not read ``dashboards/json/`` from disk (one that is not ours, or Grafana
Cloud). Uses the Grafana HTTP API through ``grafana-client``: the dashboards go into one folder,
replacing earlier versions with the same uid, so pushing again is harmless. The panels find their
database through the ``datasource`` variable: the target Grafana needs a PostgreSQL data source
pointing at meetnet's database (ideally a read-only role), nothing with a particular uid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError

from dashboards.build import Json, all_dashboards

FOLDER_UID = "meetnet"
FOLDER_TITLE = "meetnet"


@dataclass(frozen=True, slots=True)
class Pushed:
    uid: str
    title: str
    url: str


def _ensure_folder(api: GrafanaApi, uid: str, title: str) -> str:
    # grafana-client's element methods carry no annotations, hence the ignores.
    try:
        api.folder.get_folder(uid)  # type: ignore[no-untyped-call]
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        api.folder.create_folder(title, uid=uid)  # type: ignore[no-untyped-call]
    return uid


def push(grafana_url: str, api_token: str, dashboards: Iterable[Json] | None = None, *,
         folder_uid: str = FOLDER_UID, folder_title: str = FOLDER_TITLE,
         timeout: float = 10.0) -> list[Pushed]:
    """Create or replace ``dashboards`` (default: all of ``dashboards.build``) in a folder of
    the Grafana at ``grafana_url``, authenticated by a service account token ``api_token``
    (role Editor or above). Returns what was stored, with each dashboard's URL."""
    api = GrafanaApi.from_url(grafana_url.rstrip("/"), credential=api_token, timeout=timeout)
    try:
        folder = _ensure_folder(api, folder_uid, folder_title)
        pushed = []
        for dashboard in all_dashboards().values() if dashboards is None else dashboards:
            # No "id": Grafana matches on uid, so this creates the dashboard or overwrites it.
            model = {k: v for k, v in dashboard.items() if k != "id"}
            answer = api.dashboard.update_dashboard({
                "dashboard": model,
                "folderUid": folder,
                "overwrite": True,
                "message": "meetnet dashboards push",
            })
            pushed.append(Pushed(uid=str(answer.get("uid", model["uid"])), title=model["title"],
                                 url=str(answer.get("url", ""))))
        return pushed
    finally:
        # GrafanaApi has no close(); its HTTP session keeps pooled connections open otherwise.
        api.client.s.close()
