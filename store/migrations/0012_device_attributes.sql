-- Issue 13, device attributes (docs/architecture.md, "Decode"): what a device says about itself
-- beside its measurements -- firmware and hardware version, serial number, LoRaWAN class, the
-- settings a downlink response confirms (Milesight `ff xx` channels, Dragino's status frame).
-- One JSON object per device, {name: {"value": v, "at": "<when the device reported it>"}}:
-- ingest merges each frame's attributes in, newest per name, so a message redelivered late never
-- puts an old firmware version back. Idempotent; the same on plain PostgreSQL and TimescaleDB.
ALTER TABLE devices ADD COLUMN IF NOT EXISTS attributes jsonb NOT NULL DEFAULT '{}'::jsonb;
