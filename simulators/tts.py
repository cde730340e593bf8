"""Uplink messages exactly as the network servers publish them on MQTT.

The Things Stack v3: topic ``v3/{application_id}@{tenant_id}/devices/{device_id}/up``, message
layout of https://www.thethingsindustries.com/docs/integrations/data-formats/ (see
tests/vectors/envelopes/tts-v3-uplink.json). ChirpStack v4: topic
``application/{application_id}/device/{dev_eui}/event/up``, the JSON marshaler's rendering of
integration.proto's UplinkEvent (tests/vectors/envelopes/chirpstack-v4-up.json).

Everything not given (gateway, radio figures, ids, nanosecond timestamps) is derived from a hash
of the device, frame counter and time, so the same arguments always give the same bytes: a
network server retrying a message produces an exact duplicate, as ingest's dedup expects.

Radio: the nearest of a few Leiden-region gateways hears the device through a log-distance path
loss with shadowing; ADR picks the lowest spreading factor with a safety margin; airtime follows
Semtech AN1200.13. Plausible, not a radio-planning tool.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from simulators.scenario.base import SimDevice

# --- gateways -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Gateway:
    gateway_id: str
    eui: str  # uppercase hex, as TTS renders it
    lat: float
    lon: float
    altitude_m: float


GATEWAYS = (
    Gateway("meetnet-gw-stadhuis", "B827EBFFFE61A1C3", 52.15860, 4.48930, 28),
    Gateway("meetnet-gw-centraal", "AC1F09FFFE0C3E95", 52.16640, 4.48080, 35),
    Gateway("meetnet-gw-merenwijk", "AC1F09FFFE0A1B2C", 52.17590, 4.50410, 22),
    Gateway("meetnet-gw-oegstgeest", "AC1F09FFFE0B7D41", 52.18060, 4.46950, 18),
    Gateway("meetnet-gw-katwijk", "0016C001FF10A235", 52.20010, 4.41610, 24),
)

# --- radio model ----------------------------------------------------------------------------

TX_POWER_DBM = 14.0  # EU868 maximum ERP for end devices
#: Log-distance path loss at 868 MHz in a town: 127 dB at 1 km, exponent 3 (illustrative
#: urban figures; measured campaigns report 2.5-3.5).
PATH_LOSS_1KM_DB = 127.0
PATH_LOSS_EXPONENT = 3.0
MIN_DISTANCE_KM = 0.05
SHADOWING_SD_DB = 6.0
#: Extra loss by use case: indoors behind walls, under a bin's metal lid, at the water's edge.
EXTRA_LOSS_DB = {"classroom": 12.0, "waste": 8.0, "water": 4.0, "crossing": 2.0}
#: Thermal noise in 125 kHz (-174 dBm/Hz + 51 dB) plus a 6 dB gateway noise figure.
NOISE_FLOOR_DBM = -117.0
MAX_SNR_DB = 12.0  # SX130x SNR readings saturate around here
SNR_STEP_DB = 0.25  # SX130x reports SNR in quarter dB
#: Demodulation floor per spreading factor (Semtech SX1276 datasheet, table 13).
REQUIRED_SNR_DB = {7: -7.5, 8: -10.0, 9: -12.5, 10: -15.0, 11: -17.5, 12: -20.0}
ADR_MARGIN_DB = 15.0  # The Things Stack's default ADR margin
#: Default EU868 channels of The Things Network's frequency plan (Hz).
EU868_CHANNELS = (868100000, 868300000, 868500000, 867100000, 867300000, 867500000, 867700000,
                  867900000)
BANDWIDTH_HZ = 125000
PREAMBLE_SYMBOLS = 8
#: LoRaWAN frame overhead around FRMPayload: MHDR 1 + FHDR 7 + FPort 1 + MIC 4.
LORAWAN_OVERHEAD_BYTES = 13
# Delays seen in tests/vectors/envelopes/tts-v3-uplink.json: the gateway timestamps the frame
# ~22 ms before the network server's received_at, the application server ~0.2 s after it.
GATEWAY_LEAD = timedelta(microseconds=22_400)
GS_LEAD = timedelta(microseconds=4_600)
AS_DELAY = timedelta(microseconds=207_100)
FREQUENCY_OFFSET_HZ = 2000  # crystal drift the gateway reports, +-2 kHz
UPLINK_TOKEN_BYTES = 48  # opaque to applications; about the size TTS uses
GPS_EPOCH = datetime(1980, 1, 6, tzinfo=UTC)
GPS_LEAP_SECONDS = 18  # GPS - UTC since 2017
EARTH_RADIUS_KM = 6371.0


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@lru_cache(maxsize=1024)
def _link_budget(lat: float, lon: float, use_case: str) -> tuple[tuple[Gateway, float], ...]:
    """Mean RSSI (dBm) at every gateway for a device at this place (cached: devices stay put)."""
    out = []
    for gw in GATEWAYS:
        d = max(MIN_DISTANCE_KM, _distance_km(lat, lon, gw.lat, gw.lon))
        loss = PATH_LOSS_1KM_DB + 10 * PATH_LOSS_EXPONENT * math.log10(d)
        out.append((gw, TX_POWER_DBM - loss - EXTRA_LOSS_DB.get(use_case, 0.0)))
    return tuple(out)


def _snr(rssi: float) -> float:
    snr = min(MAX_SNR_DB, rssi - NOISE_FLOOR_DBM)
    return round(snr / SNR_STEP_DB) * SNR_STEP_DB


def spreading_factor(device: SimDevice) -> int:
    """What ADR settles on: the lowest SF whose floor the best gateway's mean SNR clears by
    the ADR margin, else SF12."""
    best = max(_snr(rssi) for _, rssi in _link_budget(device.lat, device.lon, device.use_case))
    for sf in sorted(REQUIRED_SNR_DB):
        if best - REQUIRED_SNR_DB[sf] >= ADR_MARGIN_DB:
            return sf
    return 12


def airtime_s(payload_len: int, sf: int) -> float:
    """LoRa time on air (Semtech AN1200.13): explicit header, CRC on, coding rate 4/5, low data
    rate optimisation at SF11 and SF12 on 125 kHz."""
    t_sym = (1 << sf) / BANDWIDTH_HZ
    de = 1 if sf >= 11 else 0
    pl = payload_len + LORAWAN_OVERHEAD_BYTES
    coding_rate = 1  # 4/5
    n = math.ceil((8 * pl - 4 * sf + 28 + 16) / (4 * (sf - 2 * de))) * (coding_rate + 4)
    return (PREAMBLE_SYMBOLS + 4.25 + 8 + max(n, 0)) * t_sym


@dataclass(frozen=True, slots=True)
class Reception:
    gateway: Gateway
    rssi: int
    snr: float
    timestamp: int  # the gateway concentrator's free-running microsecond counter
    uplink_id: int


@dataclass(frozen=True, slots=True)
class Radio:
    sf: int
    frequency: int
    channel: int
    airtime_s: float
    receptions: tuple[Reception, ...]  # strongest first


def _rng(device: SimDevice, f_cnt: int, received_at: datetime) -> random.Random:
    """The draws of one uplink: same device, counter and time, same message."""
    return random.Random(f"{device.dev_eui}:{f_cnt}:{received_at.timestamp()!r}")


def radio(device: SimDevice, f_cnt: int, received_at: datetime, payload_len: int,
          rng: random.Random | None = None) -> Radio:
    """Which gateways heard this uplink, how well, on which channel and spreading factor."""
    rng = rng or _rng(device, f_cnt, received_at)
    sf = spreading_factor(device)
    channel = rng.randrange(len(EU868_CHANNELS))
    heard: list[Reception] = []
    for gw, mean_rssi in _link_budget(device.lat, device.lon, device.use_case):
        rssi = mean_rssi + rng.gauss(0.0, SHADOWING_SD_DB)
        snr = _snr(rssi)
        counter = int(received_at.timestamp() * 1e6 + int(gw.eui, 16)) % 2**32
        heard.append(Reception(gw, round(rssi), snr, counter, rng.getrandbits(32)))
    heard.sort(key=lambda r: r.snr, reverse=True)
    # The best gateway always hears it (otherwise there would be no message); others only when
    # above the demodulation floor of the spreading factor in use.
    floor = REQUIRED_SNR_DB[sf]
    kept = tuple([heard[0], *[r for r in heard[1:] if r.snr >= floor]])
    return Radio(sf, EU868_CHANNELS[channel], channel, airtime_s(payload_len, sf), kept)


# --- formatting -----------------------------------------------------------------------------


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    return ts.astimezone(UTC)


def rfc3339(ts: datetime) -> str:
    """Go's RFC3339Nano, as TTS writes it: UTC, 'Z', fraction without trailing zeros."""
    ts = _utc(ts)
    text = ts.replace(tzinfo=None, microsecond=0).isoformat()
    if ts.microsecond:
        text += f".{ts.microsecond:06d}".rstrip("0")
    return text + "Z"


def _rfc3339_offset(ts: datetime) -> str:
    """ChirpStack (Rust chrono) style: '+00:00' and microseconds."""
    return _utc(ts).isoformat(timespec="microseconds")


def _pb_duration(seconds: float) -> str:
    """protobuf Duration JSON: '0.061696s', with 0, 3, 6 or 9 fractional digits."""
    nanos = round(seconds * 1e9)
    whole, frac = divmod(nanos, 1_000_000_000)
    if frac == 0:
        return f"{whole}s"
    digits = f"{frac:09d}"
    for keep in (3, 6):
        if digits[keep:] == "0" * (9 - keep):
            return f"{whole}.{digits[:keep]}s"
    return f"{whole}.{digits}s"


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid(at: datetime, rng: random.Random) -> str:
    """A ULID (48-bit ms time + 80 random bits, Crockford base32), as in TTS correlation ids."""
    value = (int(at.timestamp() * 1000) << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def _digest(*parts: object, size: int = 16) -> bytes:
    return hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=size).digest()


def version_ids(model_key: str) -> dict[str, str]:
    """TTS ``version_ids`` for a TTN device repository key ``<brand_id>/<model_id>``."""
    brand_id, sep, model_id = model_key.partition("/")
    if not sep or not brand_id or not model_id:
        raise ValueError(f"model key {model_key!r} is not '<brand_id>/<model_id>'")
    return {"brand_id": brand_id, "model_id": model_id, "hardware_version": "1.0",
            "firmware_version": "1.0", "band_id": "EU_863_870"}


def dev_addr(device: SimDevice) -> str:
    """A DevAddr in The Things Network's NetID 0x000013 block (prefix 0x26/0x27, as TTN eu1)."""
    return "260B" + _digest("devaddr", device.dev_eui, size=2).hex().upper()


#: Milesight ships its devices with this JoinEUI (tests/vectors/envelopes/tts-v3-uplink.json);
#: the others join with all zeros, as in the open-source example.
JOIN_EUIS = {"milesight-iot": "24E124C0002A0001"}


# --- The Things Stack v3 ---------------------------------------------------------------------


def tts_topic(device: SimDevice, tenant: str | None = "ttn", event: str = "up") -> str:
    app = f"{device.application_id}@{tenant}" if tenant else device.application_id
    return f"v3/{app}/devices/{device.device_id}/{event}"


def tts_message(device: SimDevice, f_port: int, payload: bytes, f_cnt: int,
                received_at: datetime, tenant: str | None = "ttn") -> dict[str, Any]:
    """The uplink message as a JSON-ready dict (see tts_uplink)."""
    at = _utc(received_at)
    rng = _rng(device, f_cnt, at)
    r = radio(device, f_cnt, at, len(payload), rng)
    gw_time = at - GATEWAY_LEAD
    gw_time_text = rfc3339(gw_time)
    gs_received_text = rfc3339(at - GS_LEAD)
    rx_metadata = []
    for rec in r.receptions:
        rx_metadata.append({
            "gateway_ids": {"gateway_id": rec.gateway.gateway_id, "eui": rec.gateway.eui},
            "time": gw_time_text,
            "timestamp": rec.timestamp,
            "rssi": rec.rssi,
            "channel_rssi": rec.rssi,
            "snr": rec.snr,
            "frequency_offset": str(rng.randrange(-FREQUENCY_OFFSET_HZ, FREQUENCY_OFFSET_HZ)),
            "location": {"latitude": rec.gateway.lat, "longitude": rec.gateway.lon,
                         "altitude": rec.gateway.altitude_m, "source": "SOURCE_REGISTRY"},
            "uplink_token": base64.b64encode(_digest("token", rec.gateway.eui, rec.timestamp,
                                                     size=UPLINK_TOKEN_BYTES)).decode(),
            "channel_index": r.channel,
            "received_at": gs_received_text,
        })
    uplink: dict[str, Any] = {
        "session_key_id": base64.b64encode(_digest("session", device.dev_eui)).decode(),
        "f_port": f_port,
        "f_cnt": f_cnt,
        "frm_payload": base64.b64encode(payload).decode(),
        "rx_metadata": rx_metadata,
        "settings": {
            "data_rate": {"lora": {"bandwidth": BANDWIDTH_HZ, "spreading_factor": r.sf,
                                   "coding_rate": "4/5"}},
            "frequency": str(r.frequency),
            "timestamp": r.receptions[0].timestamp,
            "time": gw_time_text,
        },
        "received_at": rfc3339(at),
        "consumed_airtime": _pb_duration(r.airtime_s),
        "version_ids": version_ids(device.model_key),
        "network_ids": {"net_id": "000013", "ns_id": "EC656E0000000181",
                        "tenant_id": tenant or "ttn", "cluster_id": "eu1",
                        "cluster_address": "eu1.cloud.thethings.network"},
    }
    if f_cnt == 0:
        del uplink["f_cnt"]  # TTS leaves out fields at their zero value
    brand = device.model_key.partition("/")[0]
    return {
        "end_device_ids": {
            "device_id": device.device_id,
            "application_ids": {"application_id": device.application_id},
            "dev_eui": device.dev_eui.upper(),
            "join_eui": JOIN_EUIS.get(brand, "0000000000000000"),
            "dev_addr": dev_addr(device),
        },
        "correlation_ids": [f"gs:uplink:{_ulid(gw_time, rng)}"],
        "received_at": rfc3339(at + AS_DELAY),
        "uplink_message": uplink,
    }


def tts_uplink(device: SimDevice, f_port: int, payload: bytes, f_cnt: int,
               received_at: datetime, tenant: str | None = "ttn") -> tuple[str, bytes]:
    """(topic, JSON body) of a The Things Stack v3 uplink, as published on its MQTT server.

    ``received_at`` becomes ``uplink_message.received_at`` exactly (the network server's time,
    which meetnet stores); ``tenant=None`` gives the open-source topic form without ``@tenant``.
    No ``decoded_payload``: meetnet decodes ``frm_payload`` itself, as with an application that
    has no payload formatter.
    """
    body = tts_message(device, f_port, payload, f_cnt, received_at, tenant)
    return tts_topic(device, tenant), json.dumps(body, separators=(",", ":")).encode()


# --- ChirpStack v4 ---------------------------------------------------------------------------

_UUID_NAMESPACE = uuid.UUID("6b1f3c2e-9a7d-4c55-8e21-0f4b7d9a3c10")


def chirpstack_message(device: SimDevice, f_port: int, payload: bytes, f_cnt: int,
                       received_at: datetime, application_id: str | None = None
                       ) -> dict[str, Any]:
    """The UplinkEvent as a JSON-ready dict (see chirpstack_uplink)."""
    at = _utc(received_at)
    app_id = application_id or device.application_id
    r = radio(device, f_cnt, at, len(payload))
    gw_time = at - GATEWAY_LEAD
    gps = (gw_time - GPS_EPOCH).total_seconds() + GPS_LEAP_SECONDS
    rx_info = [{
        "gatewayId": rec.gateway.eui.lower(),
        "uplinkId": rec.uplink_id,
        "gwTime": _rfc3339_offset(gw_time),
        "nsTime": _rfc3339_offset(at - GS_LEAD),
        "timeSinceGpsEpoch": f"{gps:.3f}s",
        "rssi": rec.rssi,
        "snr": rec.snr,
        "channel": r.channel,
        "rfChain": 0 if r.frequency >= EU868_CHANNELS[0] else 1,
        "location": {"latitude": rec.gateway.lat, "longitude": rec.gateway.lon,
                     "altitude": float(rec.gateway.altitude_m)},
        "context": base64.b64encode(rec.timestamp.to_bytes(4, "big")).decode(),
        "metadata": {"region_config_id": "eu868", "region_common_name": "EU868"},
        "crcStatus": "CRC_OK",
    } for rec in r.receptions]
    message: dict[str, Any] = {
        "deduplicationId": str(uuid.UUID(bytes=_digest("dedup", device.dev_eui, f_cnt, at),
                                         version=4)),
        "time": _rfc3339_offset(at),
        "deviceInfo": {
            "tenantId": str(uuid.uuid5(_UUID_NAMESPACE, f"tenant:{device.organisation}")),
            "tenantName": device.organisation,
            "applicationId": app_id,
            "applicationName": device.application_id,
            "deviceProfileId": str(uuid.uuid5(_UUID_NAMESPACE, f"profile:{device.model_key}")),
            "deviceProfileName": device.model_key,
            "deviceName": device.device_id,
            "devEui": device.dev_eui.lower(),
            "deviceClassEnabled": "CLASS_A",
            "tags": {"use_case": device.use_case, "organisation": device.organisation},
        },
        "devAddr": dev_addr(device).lower(),
        "adr": True,
        "dr": 12 - r.sf,  # EU868: DR0 = SF12 ... DR5 = SF7
        "fCnt": f_cnt,
        "fPort": f_port,
        "data": base64.b64encode(payload).decode(),
        "rxInfo": rx_info,
        "txInfo": {"frequency": r.frequency,
                   "modulation": {"lora": {"bandwidth": BANDWIDTH_HZ, "spreadingFactor": r.sf,
                                           "codeRate": "CR_4_5"}}},
        "regionConfigId": "eu868",
    }
    # proto3 JSON leaves out fields at their default value.
    for key in ("dr", "fCnt"):
        if message[key] == 0:
            del message[key]
    return message


def chirpstack_topic(device: SimDevice, application_id: str | None = None) -> str:
    return f"application/{application_id or device.application_id}/device/{device.dev_eui.lower()}/event/up"


def chirpstack_uplink(device: SimDevice, f_port: int, payload: bytes, f_cnt: int,
                      received_at: datetime, application_id: str | None = None
                      ) -> tuple[str, bytes]:
    """(topic, JSON body) of a ChirpStack v4 ``event/up`` with the JSON marshaler.

    ``received_at`` becomes ``time``. ChirpStack names applications by UUID; the simulator uses
    the device's application id unless ``application_id`` is given, so the application meetnet
    links to an organisation has the same name on both networks. No ``object``: no device-profile
    codec, meetnet decodes ``data`` itself.
    """
    body = chirpstack_message(device, f_port, payload, f_cnt, received_at, application_id)
    return (chirpstack_topic(device, application_id),
            json.dumps(body, separators=(",", ":")).encode())
