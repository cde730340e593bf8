"""`meetnet crossings ...`: Zebra crossings: counts and approach speeds (V85)."""

from __future__ import annotations

import typer

crossings_app = typer.Typer(help="Zebra crossings: counts and approach speeds (V85).", no_args_is_help=True)
