"""`meetnet water ...`: Surface water: level against target and rate-of-rise alarms."""

from __future__ import annotations

import typer

water_app = typer.Typer(
    help="Surface water: level against target and rate-of-rise alarms.", no_args_is_help=True
)
