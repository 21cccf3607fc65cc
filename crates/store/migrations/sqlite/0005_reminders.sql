-- Reminders already sent, so each goes out once: the key names the reminder's kind, clock
-- and date (see vulndesk_core::reminders).
CREATE TABLE reminders_sent (
    case_id INTEGER NOT NULL REFERENCES cases (id),
    key     TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (case_id, key)
);
