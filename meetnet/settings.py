"""One settings object for every meetnet service, read from ``MEETNET_*`` environment variables.

Passed explicitly (``create_app(settings)``, ``Subscriber(settings, ...)``) rather than read as a
module global, so tests build their own without patching anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Topics of The Things Stack v3 (``v3/{app}@{tenant}/devices/{dev}/...``) and ChirpStack v4
#: (``application/{app}/device/{dev_eui}/event/...``). ``+`` matches ``app@tenant`` as one level.
DEFAULT_TOPICS = [
    "v3/+/devices/+/up",
    "v3/+/devices/+/join",
    "application/+/device/+/event/up",
    "application/+/device/+/event/join",
    "application/+/device/+/event/status",
]


class MqttTarget:
    """Host, port and credentials parsed from ``MEETNET_MQTT_URL`` (``mqtt://user:pass@host:1883``)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"unsupported MQTT URL scheme {parts.scheme!r}; use mqtt:// or mqtts://")
        self.tls = parts.scheme in ("mqtts", "ssl")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (8883 if self.tls else 1883)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        #: CA certificate(s) to verify the broker with (MEETNET_MQTT_CA_FILE); None: the
        #: system's CAs.
        self.ca_file: str | None = None

    def __repr__(self) -> str:  # never show the password
        return f"MqttTarget({self.host}:{self.port}, user={self.username!r}, tls={self.tls})"


class Settings(BaseSettings):
    """Configuration of every meetnet process. Every field maps to ``MEETNET_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="MEETNET_", env_file=".env", extra="ignore")

    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL/TimescaleDB URL (postgresql://user:pass@host:5432/db). "
        "Unset: `meetnet demo` starts an embedded PostgreSQL in the data directory.",
    )
    mqtt_url: SecretStr | None = Field(
        default=None,
        description="Broker URL with optional credentials, mqtt://user:pass@host:1883. "
        "Unset: `meetnet demo` starts Mosquitto if installed, else an embedded Python broker.",
    )
    mqtt_username: str | None = Field(default=None, description="Overrides the URL's user.")
    mqtt_password: SecretStr | None = Field(default=None, description="Overrides the URL's password.")
    # NoDecode: the env var is a plain comma-separated list, parsed by _split_list below.
    mqtt_topics: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_TOPICS),
        description="Topics to subscribe to, comma-separated.",
    )
    mqtt_ca_file: Path | None = Field(
        default=None,
        description="With mqtts://: the CA certificate (PEM) that signed the broker's certificate, "
        "e.g. a self-signed one (deploy/mosquitto/conf.d/tls.conf.example). Unset: the system's "
        "CAs.",
    )
    mqtt_client_id: str = Field(
        default="meetnet-ingest",
        description="Stable id: the broker keeps this client's session and queued messages.",
    )
    mqtt_shared_group: str | None = Field(
        default=None,
        description="Share the load between ingest workers through $share/<group>/<topic>.",
    )
    mqtt_session_expiry_s: int = Field(
        default=7 * 24 * 3600, ge=0,
        description="How long the broker keeps our session and queue while we are away.",
    )
    batch_size: int = Field(default=1000, ge=1, le=65535, description="Flush after N messages.")
    flush_interval_ms: int = Field(default=200, ge=1, description="Flush at least this often.")
    # Several batches' worth: while one batch is being acked, others are received, built and
    # committed. bench/ingest.py on 2 cores, batch 1000: a window of 5,000 left ingest waiting
    # for the broker (0.74 of raw paho); 20,000 kept it busy (0.83), same run.
    receive_maximum: int = Field(
        default=20000,
        ge=1,
        le=65535,
        description="MQTT 5 Receive Maximum: unacked messages the broker may send us at once.",
    )
    # Limits on what a sender can make ingest hold (issue 9, "Bounded resources").
    max_message_bytes: int = Field(
        default=65536, ge=1024, le=16 * 1024 * 1024,
        description="Largest MQTT message ingest accepts (payload bytes). The broker config "
        "enforces it too (max_packet_size: this plus 1 KiB for topic and headers), and ingest "
        "asks for the same on connect (MQTT 5 Maximum Packet Size); a larger message that "
        "still arrives is a dead letter.",
    )
    clock_skew_s: int = Field(
        default=86400, ge=0,
        description="How far in the future a network server's received_at may lie before "
        "the uplink is refused (its clock, or the sender, is wrong).",
    )
    device_cache_size: int = Field(
        default=100_000, ge=16,
        description="dev_euis whose registry answer ingest keeps in memory (least recently "
        "used are dropped first); unknown dev_euis count too.",
    )
    # The API's limits (issue 10, "Docs and limits"). 0 switches a limit off.
    api_rate_limit_per_minute: int = Field(
        default=600, ge=0,
        description="Requests per minute one API key may make; more are answered 429.",
    )
    api_anonymous_rate_limit_per_minute: int = Field(
        default=120, ge=0,
        description="Requests per minute one client address may make without a key.",
    )
    api_cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins whose browser apps may call the API (CORS), comma-separated; "
        "`*` for any. Empty: no CORS headers.",
    )
    # The pages' maps (api/pages, issue 12): points only, unless a tile server is named.
    pages_tile_url: str | None = Field(
        default=None,
        description="Slippy-map tiles behind the pages' maps, an http(s) URL template with {z}, "
        "{x} and {y} (e.g. a tile server of your own). Unset or empty: no background, and no "
        "page asks another server for anything.",
    )
    pages_tile_attribution: str = Field(
        default="", max_length=200,
        description="The credit the tile server asks for, shown on the map.",
    )
    public_url: str | None = Field(
        default=None, max_length=500,
        description="The address people reach this API at (e.g. https://meetnet.example.org), "
        "used in the front door's copy-paste snippets. Unset or not an http(s) URL: the "
        "address the request came to (behind a proxy that may be an internal one).",
    )
    # Closing The Things Stack's gaps (issue 10): its MQTT server is QoS 0, so uplinks sent
    # while ingest was away are fetched from the Storage Integration API afterwards.
    tts_api_url: str | None = Field(
        default=None,
        description="The Things Stack cluster, e.g. https://eu1.cloud.thethings.network. "
        "Unset: no backfill from the Storage Integration.",
    )
    tts_api_key: SecretStr | None = Field(
        default=None,
        description="A TTS API key with the right to read the applications' stored uplinks.",
    )
    tts_applications: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="TTS application ids to backfill after each reconnect, comma-separated.",
    )
    tts_backfill_max_hours: int = Field(
        default=72, ge=1, le=24 * 365,
        description="The longest window fetched after a reconnect (the Storage Integration "
        "keeps what its plan keeps).",
    )
    # Waste collection routes (issue 11; docs/domain.md, "Waste bins", "Routing").
    waste_depot_lat: float = Field(
        default=52.1652, ge=-90, le=90,
        description="Where the trucks start and end (WGS84). Default: a point on Leiden's "
        "Langegracht, an assumed yard location (docs/domain.md); set your own depot.",
    )
    waste_depot_lon: float = Field(default=4.4893, ge=-180, le=180)
    waste_trucks: int = Field(default=2, ge=1, le=50, description="Trucks per collection day.")
    waste_truck_capacity_l: float = Field(
        default=20000.0, gt=0, le=1_000_000,
        description="Litres of bin contents one truck takes (a ~20 m3 body, compaction not "
        "counted).",
    )
    waste_detour_factor: float = Field(
        default=1.3, ge=1, le=3,
        description="Road distance over great-circle distance (no road network offline).",
    )
    waste_route_time_limit_s: float = Field(
        default=5.0, gt=0, le=600, description="The solver's time for a route plan by default.",
    )
    waste_route_max_time_limit_s: float = Field(
        default=60.0, gt=0, le=600,
        description="The longest time limit a route request may ask for.",
    )
    # Alerts (issue 11; docs/alerts.md): `meetnet alerts run` and the demo's alert loop.
    alerts_interval_s: float = Field(
        default=60.0, ge=1, le=86400, description="Seconds between two evaluations of the rules.",
    )
    alerts_lookback_h: float = Field(
        default=24.0, gt=0, le=24 * 31,
        description="Hours of readings an evaluation looks back (plus a rule's duration).",
    )
    alerts_low_battery_pct: float = Field(
        default=20.0, ge=0, le=100, description="Low-battery alert at or below this charge (%).",
    )
    alerts_webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="Seconds one webhook POST may take.",
    )
    alerts_webhook_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Attempts per notification before it is given up.",
    )
    alerts_webhook_backoff_s: float = Field(
        default=30.0, gt=0, le=86400,
        description="Wait before the second attempt; doubled after every failed attempt.",
    )
    alerts_webhook_backoff_max_s: float = Field(
        default=3600.0, gt=0, le=7 * 86400, description="The longest wait between attempts.",
    )
    # Grafana (issue 12; docs/grafana.md): `meetnet dashboards push` uploads the dashboards and
    # creates or updates the PostgreSQL data source they read, logged in as a read-only role.
    grafana_url: str | None = Field(
        default=None, description="Grafana's base URL, e.g. https://grafana.example.org.",
    )
    grafana_token: SecretStr | None = Field(
        default=None, description="A Grafana service account token with the Editor role or above "
        "(Admin to create or update the data source).",
    )
    grafana_datasource_uid: str = Field(
        default="meetnet-db", pattern=r"^[A-Za-z0-9_-]{1,40}$",
        description="uid of the PostgreSQL data source push creates or updates.",
    )
    grafana_datasource_name: str = Field(default="meetnet", min_length=1, max_length=190)
    grafana_datasource_url: str | None = Field(
        default=None, description="host:port of the database as Grafana reaches it. Unset: "
        "host and port of MEETNET_DATABASE_URL.",
    )
    grafana_datasource_database: str | None = Field(
        default=None, description="Database name. Unset: the database of MEETNET_DATABASE_URL.",
    )
    grafana_datasource_user: str = Field(
        default="grafana_reader", min_length=1,
        description="The read-only role Grafana logs in as (never the tables' owner).",
    )
    grafana_datasource_password: SecretStr | None = Field(
        default=None, description="That role's password; needed to create the data source, "
        "kept by Grafana when unset on an update.",
    )
    grafana_datasource_sslmode: Literal["disable", "require", "verify-ca", "verify-full"] = (
        "require"
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("meetnet")),
        description="Embedded PostgreSQL data, broker persistence and demo state live here.",
    )
    log_level: str = "INFO"
    log_json: bool = Field(default=False, description="Log one JSON object per line.")

    @field_validator("mqtt_topics", "api_cors_origins", "tts_applications", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        # Accept a comma-separated env var as well as a JSON list.
        if isinstance(value, str) and not value.strip().startswith("["):
            return [t.strip() for t in value.split(",") if t.strip()]
        return value

    @model_validator(mode="after")
    def _receive_max_covers_batch(self) -> Settings:
        # A manual-ack batch can never grow past what the broker lets us hold unacked.
        if self.receive_maximum < self.batch_size:
            self.receive_maximum = self.batch_size
        return self

    def mqtt_target(self) -> MqttTarget | None:
        """The broker to connect to, credentials applied; None when no URL is configured."""
        if self.mqtt_url is None:
            return None
        target = MqttTarget(self.mqtt_url.get_secret_value())
        if self.mqtt_username:
            target.username = self.mqtt_username
        if self.mqtt_password is not None:
            target.password = self.mqtt_password.get_secret_value()
        if self.mqtt_ca_file is not None:
            target.ca_file = str(self.mqtt_ca_file)
        return target

    def database_dsn(self) -> str | None:
        return self.database_url.get_secret_value() if self.database_url else None
