"""Zebra crossing analytics over the API (issue 11): counts per direction and approach speeds."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["crossings"])
