"""Uplinks pushed by the network servers' HTTP integrations (The Things Stack webhooks,
ChirpStack's HTTP integration), through the same pipeline as MQTT."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["ingest"])
