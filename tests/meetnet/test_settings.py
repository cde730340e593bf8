"""Settings: every field documented in .env.example, env parsing, secrets kept out of reprs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from meetnet.settings import DEFAULT_TOPICS, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^(MEETNET_[A-Z0-9_]+)=", text, flags=re.M))
    expected = {f"MEETNET_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected


def test_env_vars_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETNET_MQTT_URL", "mqtt://ingest:s3cret@broker.example:1884")
    monkeypatch.setenv("MEETNET_MQTT_TOPICS", "v3/+/devices/+/up, application/+/device/+/event/up")
    monkeypatch.setenv("MEETNET_BATCH_SIZE", "800")
    monkeypatch.setenv("MEETNET_RECEIVE_MAXIMUM", "100")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    target = s.mqtt_target()
    assert target is not None
    assert (target.host, target.port, target.username, target.password) == (
        "broker.example", 1884, "ingest", "s3cret")
    assert s.mqtt_topics == ["v3/+/devices/+/up", "application/+/device/+/event/up"]
    # The broker may never hold back more unacked messages than one batch needs.
    assert s.receive_maximum == 800


def test_secrets_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETNET_DATABASE_URL", "postgresql://u:pg-secret@db/meetnet")
    monkeypatch.setenv("MEETNET_MQTT_URL", "mqtt://u:mq-secret@broker:1883")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    shown = repr(s) + str(s) + repr(s.mqtt_target())
    assert "pg-secret" not in shown and "mq-secret" not in shown
    assert s.database_dsn() == "postgresql://u:pg-secret@db/meetnet"


def test_defaults_are_safe() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.api_host == "127.0.0.1"  # not exposed to the network unless asked
    assert s.mqtt_topics == DEFAULT_TOPICS
    assert s.database_dsn() is None and s.mqtt_target() is None


def test_bad_url_scheme_is_refused() -> None:
    s = Settings(_env_file=None, mqtt_url="http://x")  # type: ignore[call-arg, arg-type]
    with pytest.raises(ValueError, match="scheme"):
        s.mqtt_target()
