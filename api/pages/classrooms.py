"""/classrooms/{dev_eui} and /schools/{organisation}: the air in a classroom, and a school's
rooms side by side."""

from __future__ import annotations

from api.pages.render import page_router

router = page_router()
