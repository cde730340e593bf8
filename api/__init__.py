"""The HTTP API (FastAPI). Public face: `create_app`."""

from api.app import create_app

__all__ = ["create_app"]
