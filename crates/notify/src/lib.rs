//! vigia-notify: vigia's Alertmanager. Takes alerts (from the rule manager or `POST
//! /api/v2/alerts`), routes them through an Alertmanager routing tree, groups, inhibits,
//! silences and mutes them, escalates unacknowledged alerts, records acknowledge/resolve notes
//! and every state change, and hands notifications to `vigia-receivers` for delivery.
