"""Grafana dashboards as code: assembles the dashboards of this package (one module per use case:
``classroom``, ``waste``, ``crossing``, ``water``, ``fleet``; shared parts in ``panels``) and
writes their JSON models.

``python -m dashboards.build`` (or ``meetnet dashboards export DIR``) writes them to
``dashboards/json/``, which Grafana provisions from files (``dashboards/provisioning/``, mounted
by docker-compose.yml); ``--check`` only compares, for CI. ``meetnet dashboards push`` uploads
the same models to any Grafana (``dashboards/push.py``). docs/grafana.md describes the panels,
the variables and the views they read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from dashboards.classroom import classroom_dashboard
from dashboards.crossing import crossing_dashboard
from dashboards.fleet import fleet_dashboard
from dashboards.panels import DATASOURCE, DATASOURCE_TYPE, Json
from dashboards.waste import waste_dashboard
from dashboards.water import water_dashboard

__all__ = ["DATASOURCE", "DATASOURCE_TYPE", "JSON_DIR", "Json", "all_dashboards", "main",
           "render", "stale", "write"]

JSON_DIR = Path(__file__).resolve().parent / "json"


def all_dashboards() -> dict[str, Json]:
    """File stem -> dashboard model, in the order Grafana lists them."""
    return {
        "waste": waste_dashboard(),
        "classroom": classroom_dashboard(),
        "crossing": crossing_dashboard(),
        "water": water_dashboard(),
        "fleet": fleet_dashboard(),
    }


def render(dashboard: Json) -> str:
    """The file text of one dashboard: stable, so regenerating changes nothing."""
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def write(directory: Path = JSON_DIR) -> list[Path]:
    """Write every dashboard to ``directory`` (made if missing) as ``<stem>.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, dashboard in all_dashboards().items():
        path = directory / f"{stem}.json"
        path.write_text(render(dashboard), encoding="utf-8")
        paths.append(path)
    return paths


def stale(directory: Path = JSON_DIR) -> list[str]:
    """Names of files in ``directory`` that differ from what this module builds (or are extra)."""
    expected = {f"{stem}.json": render(d) for stem, d in all_dashboards().items()}
    present = {p.name for p in directory.glob("*.json")}
    wrong = [name for name, text in expected.items()
             if not (directory / name).is_file()
             or (directory / name).read_text(encoding="utf-8") != text]
    return sorted(wrong + sorted(present - expected.keys()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", nargs="?", type=Path, default=JSON_DIR)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the files differ from the code")
    args = parser.parse_args(argv)
    if args.check:
        wrong = stale(args.directory)
        if wrong:
            print(f"out of date in {args.directory}: {', '.join(wrong)} "
                  "(run python -m dashboards.build)", file=sys.stderr)
            return 1
        return 0
    for path in write(args.directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
