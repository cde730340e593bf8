"""`meetnet waste evaluate`: replays a simulated month of bins under a fixed weekly schedule and
under sensor-driven routes (registered on ``waste_app``)."""

from __future__ import annotations

from meetnet.commands.waste import waste_app  # noqa: F401
