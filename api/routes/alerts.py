"""Alerts over the API (issue 11): an organisation's rules and its alert history."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["alerts"])
