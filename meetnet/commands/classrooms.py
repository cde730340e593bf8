"""`meetnet classrooms ...`: Classrooms: lesson-time CO2 classes, peaks and ventilation."""

from __future__ import annotations

import typer

classrooms_app = typer.Typer(
    help="Classrooms: lesson-time CO2 classes, peaks and ventilation.", no_args_is_help=True
)
