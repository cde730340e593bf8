"""An organisation's fleet as a whole: CSV import and sharing with other organisations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.deps import Admin, Conn, Writer
from api.problems import Problem
from store import devices as registry

router = APIRouter(tags=["devices"])

#: The largest CSV body one import takes; a fleet beyond it is sent in parts.
MAX_IMPORT_BYTES = 1 << 20
#: What a CSV body may be labelled as (RFC 4180 registers text/csv; curl and spreadsheets send
#: the others). No label at all is taken as CSV too.
CSV_TYPES = frozenset({"text/csv", "text/plain", "application/csv", "application/octet-stream"})

_CSV_EXAMPLE = ("dev_eui,model_key,name,use_case,visibility,lat,lon,config\n"
                "24e124713c0600b1,milesight-iot/em310-udl,Bak Breestraat,waste,open,52.158,4.488,"
                '"{""bin_depth_m"": 1.2}"\n')


class RefusedRow(BaseModel):
    line: int = Field(description="the line of the CSV body the row starts on (the header is 1)")
    dev_eui: str = Field(description="as given in the row (lowercased), '' if none")
    reason: str


class ImportReport(BaseModel):
    imported: int = Field(description="devices registered now")
    updated: int = Field(description="devices of the organisation that were registered before")
    refused: list[RefusedRow]


class Shares(BaseModel):
    dev_eui: str
    visibility: str = Field(description="private, shared or open")
    shared_with: list[str] = Field(description="slugs of the organisations whose keys may read "
                                               "the device besides its own")


async def csv_body(request: Request) -> str:
    """The request body as CSV text: at most MAX_IMPORT_BYTES of UTF-8 without NUL."""
    media_type, _, params = request.headers.get("content-type", "").partition(";")
    media_type = media_type.strip().lower()
    if media_type and media_type not in CSV_TYPES:
        raise Problem(415, "unsupported-media-type", "Unsupported media type",
                      f"send the CSV file as the body with Content-Type: text/csv, "
                      f"not {media_type[:80]}")
    charset = next((v.strip().strip('"').lower() for k, _, v in
                    (p.strip().partition("=") for p in params.split(";"))
                    if k.strip().lower() == "charset"), "utf-8")
    if charset not in ("utf-8", "utf8"):
        raise Problem(415, "unsupported-media-type", "Unsupported media type",
                      "the CSV must be UTF-8 (charset=utf-8)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_IMPORT_BYTES:
        raise _too_large(f"the body is {int(declared)} bytes")
    chunks: list[bytes] = []
    size = 0
    # Counted while it arrives: a body without (or with a false) Content-Length is cut off too.
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_IMPORT_BYTES:
            raise _too_large("the body is larger")
        chunks.append(chunk)
    try:
        return registry.decode_csv(b"".join(chunks))
    except registry.DeviceImportError as exc:
        raise Problem(400, "invalid-csv", "Invalid CSV", str(exc)) from None


def _too_large(what: str) -> Problem:
    return Problem(413, "import-too-large", "Import too large",
                   f"{what}; one import takes at most {MAX_IMPORT_BYTES} bytes and "
                   f"{registry.MAX_IMPORT_ROWS} rows: send the fleet in parts")


@router.post(
    "/devices/import", response_model=ImportReport,
    summary="Register or update your organisation's devices from a CSV file",
    openapi_extra={"requestBody": {"required": True, "content": {
        "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}}}},
    responses={400: {"description": "not UTF-8, a NUL character, or no valid CSV header"},
               413: {"description": "more than 1 MiB or 10,000 rows"},
               415: {"description": "a body that is not text/csv"}})
def import_devices(caller: Writer, conn: Conn,
                   text: Annotated[str, Depends(csv_body)]) -> ImportReport:
    """Writer or admin key. The body is a CSV file in the format of `meetnet devices import`
    (header: dev_eui, model_key and any of device_id, application_id, name, use_case,
    visibility, lat, lon, config, network, tenant_id, organisation). Every device goes to the
    key's organisation: the `organisation` column may be left out, and a row naming another
    organisation is refused. Rows are checked as `POST /v1/devices` checks a device (known
    model, config per use case); good rows are imported, each refused row is reported with its
    line and reason. A dev_eui registered to another organisation is refused, never taken
    over. At most 1 MiB and 10,000 rows per request."""
    assert caller.organisation is not None
    try:
        rows, refused = registry.parse_devices_csv(text, organisation=caller.organisation,
                                                   max_rows=registry.MAX_IMPORT_ROWS)
    except registry.TooManyRows as exc:
        raise _too_large(str(exc)) from None
    except registry.DeviceImportError as exc:
        raise Problem(400, "invalid-csv", "Invalid CSV", str(exc)) from None
    rows, unknown = registry.check_devices(conn, rows)
    result = registry.import_checked(conn, rows, keep_owners=True)
    every = sorted([*refused, *unknown, *result.refused], key=lambda r: r.line)
    return ImportReport(imported=result.imported, updated=result.updated,
                        refused=[RefusedRow(line=r.line, dev_eui=r.dev_eui, reason=r.reason)
                                 for r in every])


def _shares(conn: Conn, dev_eui: str, owner: str) -> Shares:
    found = registry.shares_of(conn, dev_eui, owner)
    if found is None:
        raise _no_device(dev_eui, owner)
    return Shares(dev_eui=dev_eui.lower(), visibility=found[0], shared_with=found[1])


def _no_device(dev_eui: str, owner: str) -> Problem:
    return Problem(404, "device-not-found", "Device not found", f"no device {dev_eui} of {owner}")


def _change(conn: Conn, dev_eui: str, organisation: str, owner: str, *, share: bool) -> Shares:
    change = registry.share_device if share else registry.unshare_device
    try:
        change(conn, dev_eui, organisation, owner=owner)
    except registry.NoSuchDevice:
        raise _no_device(dev_eui, owner) from None
    except registry.NoSuchOrganisation:
        raise Problem(404, "organisation-not-found", "Organisation not found",
                      f"no organisation {organisation!r}") from None
    except registry.NotShared as exc:
        raise Problem(404, "share-not-found", "Not shared", str(exc)) from None
    except registry.RegistryError as exc:
        raise Problem(400, "own-organisation", "Own organisation", str(exc)) from None
    return _shares(conn, dev_eui, owner)


@router.get("/devices/{dev_eui}/shares", response_model=Shares,
            summary="Who else may read one of your organisation's devices")
def get_shares(dev_eui: str, conn: Conn, caller: Admin) -> Shares:
    """Admin key; another organisation's device is a 404."""
    assert caller.organisation is not None
    return _shares(conn, dev_eui, caller.organisation)


@router.put("/devices/{dev_eui}/shares/{organisation}", response_model=Shares,
            summary="Share one of your organisation's devices with another organisation")
def put_share(dev_eui: str, organisation: str, conn: Conn, caller: Admin) -> Shares:
    """Admin key. The other organisation's keys may read the device from now on: a private
    device becomes `shared`, an open one stays open (as `meetnet devices share`). Idempotent.
    Another organisation's device is a 404, an unknown organisation a 404
    `organisation-not-found`."""
    assert caller.organisation is not None
    return _change(conn, dev_eui, organisation, caller.organisation, share=True)


@router.delete("/devices/{dev_eui}/shares/{organisation}", response_model=Shares,
               summary="Stop sharing one of your organisation's devices with an organisation")
def delete_share(dev_eui: str, organisation: str, conn: Conn, caller: Admin) -> Shares:
    """Admin key. A `shared` device shared with nobody any more becomes private; an open one
    stays open (as `meetnet devices unshare`). A device not shared with that organisation is a
    404 `share-not-found`."""
    assert caller.organisation is not None
    return _change(conn, dev_eui, organisation, caller.organisation, share=False)
