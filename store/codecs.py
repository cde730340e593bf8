"""Organisations' JavaScript codecs, stored per model key (migration 0003)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from store.devices import ensure_organisation


@dataclass(frozen=True, slots=True)
class CodecRow:
    model_key: str
    organisation: str
    use_case: str
    source: str
    field_map: dict[str, Any]
    updated_at: datetime


def upsert_codec(conn: psycopg.Connection[Any], *, model_key: str, organisation: str,
                 source: str, field_map: dict[str, Any], use_case: str = "any") -> None:
    org_id = ensure_organisation(conn, organisation)
    conn.execute(
        """INSERT INTO codecs (model_key, organisation_id, use_case, source, field_map)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (model_key) DO UPDATE SET organisation_id = EXCLUDED.organisation_id,
               use_case = EXCLUDED.use_case, source = EXCLUDED.source,
               field_map = EXCLUDED.field_map, updated_at = now()""",
        (model_key, org_id, use_case, source, json.dumps(field_map)),
    )


def get_codec(conn: psycopg.Connection[Any], model_key: str) -> CodecRow | None:
    with conn.cursor(row_factory=class_row(CodecRow)) as cur:
        return cur.execute(
            """SELECT c.model_key, o.slug AS organisation, c.use_case, c.source, c.field_map,
                      c.updated_at
               FROM codecs c JOIN organisations o ON o.id = c.organisation_id
               WHERE c.model_key = %s""",
            (model_key,),
        ).fetchone()


def list_codecs(conn: psycopg.Connection[Any]) -> list[CodecRow]:
    with conn.cursor(row_factory=class_row(CodecRow)) as cur:
        return cur.execute(
            """SELECT c.model_key, o.slug AS organisation, c.use_case, c.source, c.field_map,
                      c.updated_at
               FROM codecs c JOIN organisations o ON o.id = c.organisation_id
               ORDER BY c.model_key"""
        ).fetchall()
