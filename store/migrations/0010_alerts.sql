-- Issue 11, alerts (docs/alerts.md): organisations' threshold rules, the alerts that the runner
-- (`meetnet alerts run`) opens, acknowledges and resolves, a webhook per organisation, and every
-- delivery attempt. Idempotent; the same on plain PostgreSQL and TimescaleDB (no hypertables:
-- alerts are few rows, read by id and by organisation).
--
-- 0001 made placeholder tables `alert_rules` and `alerts` of another shape (a `kind` column,
-- nothing ever filled them). Empty ones are dropped; ones somebody filled by hand are kept as
-- alert_rules_0001 / alerts_0001 for their owner to look at. The runner splits statements at a
-- ';' that ends a line only for TimescaleDB-variant files; this file runs whole, but the block
-- keeps 0009's leading-semicolon style so either way works.
DO $$
BEGIN
    IF EXISTS (SELECT FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'alert_rules'
                 AND column_name = 'kind') THEN
        IF EXISTS (SELECT FROM alerts) OR EXISTS (SELECT FROM alert_rules) THEN
            ALTER TABLE alerts RENAME TO alerts_0001
            ; ALTER TABLE alert_rules RENAME TO alert_rules_0001
        ; ELSE
            DROP TABLE alerts
            ; DROP TABLE alert_rules
        ; END IF
    ; END IF
; END
$$;

-- A threshold rule: `metric condition threshold` held for `duration_s`, cleared only once the
-- value is back past threshold -/+ hysteresis. Scope: one device the organisation may see
-- (device_id), or the organisation's own devices of one use case (use_case), or all its own
-- devices (both NULL).
CREATE TABLE IF NOT EXISTS alert_rules (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    name             text NOT NULL DEFAULT '',
    metric_id        smallint NOT NULL REFERENCES metrics(id),
    condition        text NOT NULL CHECK (condition IN ('>', '>=', '<', '<=')),
    threshold        double precision NOT NULL,
    duration_s       integer NOT NULL DEFAULT 0 CHECK (duration_s BETWEEN 0 AND 2678400),
    hysteresis       double precision NOT NULL DEFAULT 0 CHECK (hysteresis >= 0),
    device_id        bigint REFERENCES devices(id) ON DELETE CASCADE,
    use_case         text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (device_id IS NULL OR use_case IS NULL)
);
CREATE INDEX IF NOT EXISTS alert_rules_organisation_idx ON alert_rules (organisation_id);

-- One row per episode of a condition on one device. `state`: open -> acknowledged (by a
-- person) -> resolved (by the runner, when the condition clears). rule_id is NULL for the
-- built-in kinds (offline, low battery, the analytics' events).
CREATE TABLE IF NOT EXISTS alerts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    device_id        bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    rule_id          bigint REFERENCES alert_rules(id) ON DELETE SET NULL,
    kind             text NOT NULL CHECK (kind IN ('threshold', 'offline', 'low_battery',
                                                   'bin_due', 'water_rise', 'classroom_over_c')),
    state            text NOT NULL DEFAULT 'open'
                     CHECK (state IN ('open', 'acknowledged', 'resolved')),
    message          text NOT NULL DEFAULT '',
    value            double precision,
    started_at       timestamptz NOT NULL,
    resolved_at      timestamptz,
    acknowledged_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
-- At most one unresolved alert per (organisation, kind, rule, device): two runners, or a
-- runner run twice over the same readings, cannot open a second one.
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_unresolved
    ON alerts (organisation_id, kind, (COALESCE(rule_id, 0)), device_id)
    WHERE state <> 'resolved';
CREATE INDEX IF NOT EXISTS alerts_organisation_idx ON alerts (organisation_id, id DESC);

-- Where an organisation's alerts are posted. The signing secret is kept as it is, not hashed:
-- meetnet computes HMAC-SHA256 with it for every delivery. It grants nothing inside meetnet.
CREATE TABLE IF NOT EXISTS alert_webhooks (
    organisation_id  bigint PRIMARY KEY REFERENCES organisations(id) ON DELETE CASCADE,
    url              text NOT NULL,
    secret           text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- The outbox: one notification per alert transition to deliver; the delivery loop claims
-- due ones (FOR UPDATE SKIP LOCKED), so a crash between transition and delivery loses nothing.
CREATE TABLE IF NOT EXISTS alert_notifications (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id         bigint NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    event            text NOT NULL CHECK (event IN ('opened', 'resolved')),
    body             jsonb NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    failed_at        timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS alert_notifications_due_idx ON alert_notifications (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX IF NOT EXISTS alert_notifications_alert_idx ON alert_notifications (alert_id);

-- Every delivery attempt: HTTP status, or the error when there was no answer.
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id  bigint NOT NULL REFERENCES alert_notifications(id) ON DELETE CASCADE,
    alert_id         bigint NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    attempt          integer NOT NULL,
    url              text NOT NULL,
    attempted_at     timestamptz NOT NULL DEFAULT now(),
    status_code      integer,
    error            text,
    duration_ms      double precision NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alert_deliveries_alert_idx ON alert_deliveries (alert_id, id);
