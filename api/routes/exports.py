"""Exports a spreadsheet or pandas takes directly: CSV and SenML (RFC 8428), streamed."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["exports"])
