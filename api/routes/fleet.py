"""An organisation's fleet as a whole: CSV import and sharing with other organisations."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["devices"])
