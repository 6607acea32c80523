"""The emulator's SQLite tables, the demo org it seeds, and a day in milliseconds."""

from __future__ import annotations

from .. import ids
from ..pubsub.events import TABLES as EVENT_TABLES
from ..schema import TASK_FIELDS

DAY_MS = 86_400_000

DEMO = {
    "org_id": ids.fixed_id(ids.ORG_PREFIX, 1),
    "org_name": "Demo Org",
    "org_type": "production",
    "user_id": ids.fixed_id(ids.USER_PREFIX, 1),
    "username": "demo@tasksync.example",
    "password": "demo",
    "display_name": "Dana Demo",
    "email": "demo@tasksync.example",
    "client_id": "tasksync-demo-client",
    "client_secret": "tasksync-demo-secret",
    "callback_urls": [
        "http://127.0.0.1:8000/settings/salesforce/callback/",
        "http://localhost:8000/settings/salesforce/callback/",
    ],
}

_TASK_COLUMNS = ", ".join(f'"{f.name}" {f.sql_type}' for f in TASK_FIELDS if f.name != "Id")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS orgs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, org_type TEXT NOT NULL,
    daily_api_limit INTEGER NOT NULL, access_token_lifetime INTEGER NOT NULL,
    refresh_rotation INTEGER NOT NULL, earliest_available_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password TEXT NOT NULL, display_name TEXT NOT NULL, email TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS apps (
    client_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, client_secret TEXT NOT NULL,
    name TEXT NOT NULL, pkce_required INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS callback_urls (
    client_id TEXT NOT NULL, url TEXT NOT NULL, PRIMARY KEY (client_id, url));
CREATE TABLE IF NOT EXISTS picklists (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, kind TEXT NOT NULL, api_name TEXT NOT NULL,
    label TEXT NOT NULL, is_closed INTEGER NOT NULL DEFAULT 0,
    is_default INTEGER NOT NULL DEFAULT 0,
    is_high INTEGER NOT NULL DEFAULT 0, sort_order INTEGER NOT NULL, created_ms INTEGER NOT NULL,
    modstamp_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, kind TEXT NOT NULL, org_id TEXT NOT NULL, user_id TEXT NOT NULL,
    client_id TEXT NOT NULL, scope TEXT NOT NULL, issued_ms INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0, expired INTEGER NOT NULL DEFAULT 0, refresh_token TEXT);
CREATE INDEX IF NOT EXISTS tokens_refresh ON tokens (refresh_token);
CREATE TABLE IF NOT EXISTS codes (
    code TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL, challenge TEXT, scope TEXT NOT NULL, issued_ms INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sessions (
    sid TEXT PRIMARY KEY, user_id TEXT NOT NULL, csrf TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS api_usage (
    org_id TEXT NOT NULL, minute_ms INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (org_id, minute_ms));
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, "Id" TEXT NOT NULL UNIQUE, org_id TEXT NOT NULL,
    deleted_ms INTEGER, {_TASK_COLUMNS});
CREATE INDEX IF NOT EXISTS tasks_org ON tasks (org_id);
CREATE INDEX IF NOT EXISTS tasks_org_owner_modstamp ON tasks (org_id, "OwnerId", "SystemModstamp");
CREATE INDEX IF NOT EXISTS tasks_org_modstamp ON tasks (org_id, "SystemModstamp");
CREATE INDEX IF NOT EXISTS tasks_recycle_bin ON tasks (org_id, deleted_ms) WHERE "IsDeleted" = 1;
CREATE INDEX IF NOT EXISTS tasks_to_archive ON tasks (org_id, "ActivityDate", "CreatedDate")
    WHERE "IsArchived" = 0 AND "IsClosed" = 1;
CREATE TABLE IF NOT EXISTS related (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, sobject TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS task_irregular (
    org_id TEXT NOT NULL, field TEXT NOT NULL, PRIMARY KEY (org_id, field));
"""

TABLES = [
    "orgs",
    "users",
    "apps",
    "callback_urls",
    "picklists",
    "tokens",
    "codes",
    "sessions",
    "api_usage",
    "tasks",
    "task_irregular",
    "related",
    *EVENT_TABLES,
]
