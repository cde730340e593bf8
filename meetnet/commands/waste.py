"""`meetnet waste ...`: Waste bins: which to empty, in what route, and how sensor-driven rounds compare."""

from __future__ import annotations

import typer

waste_app = typer.Typer(
    help="Waste bins: which to empty, in what route, and how sensor-driven rounds compare.",
    no_args_is_help=True,
)
