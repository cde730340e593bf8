"""`meetnet alerts ...`: Alerts: rules, evaluation and webhook delivery."""

from __future__ import annotations

import typer

alerts_app = typer.Typer(help="Alerts: rules, evaluation and webhook delivery.", no_args_is_help=True)
