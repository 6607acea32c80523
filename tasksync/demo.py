"""The demo's Salesforce side: the emulator's demo user starts with tasks, so the first sync
visibly imports something (R3, R4, R15). Used only by ``manage.py setup_demo``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

# (subject, due in days from today or None, priority, status, comments)
_RECENT = [
    ("Call Ana Ruiz about the renewal", 0, "High", "Not Started", "She asked for the new prices."),
    ("Send the Acme quote", 0, "High", "Not Started", ""),
    ("Confirm Thursday's demo with Globex", 0, "Normal", "Not Started", ""),
    ("Follow up on the Initech proposal", 0, "Normal", "Not Started", "Ask who else decides."),
    ("Book the venue for the customer day", 0, "Normal", "Not Started", ""),
    ("Reply to Hooli's security questionnaire", 0, "Normal", "In Progress", ""),
    ("Prepare the QBR deck for Umbrella", 1, "High", "Not Started", ""),
    ("Call back Marco Rossi", 1, "Normal", "Not Started", "After 10:00 his time."),
    ("Check the Stark contract redlines", 1, "Normal", "Not Started", ""),
    ("Intro call with Wayne Enterprises", 1, "Normal", "Not Started", ""),
    ("Send the onboarding guide to Vandelay", 1, "Normal", "Not Started", ""),
    ("Chase the signed order form from Soylent", -1, "High", "Not Started", ""),
    ("Update the forecast in the pipeline review", -2, "Normal", "Not Started", ""),
    ("Thank-you note to Cyberdyne", -3, "Normal", "Not Started", ""),
    ("Schedule the Oscorp pilot kickoff", 4, "Normal", "Not Started", ""),
    ("Renewal reminder: Tyrell Corp", 7, "Normal", "Not Started", ""),
    ("Prepare the partner webinar", 9, "Normal", "Not Started", ""),
    ("Quarterly check-in with Aperture", 14, "Low", "Not Started", ""),
    ("Review the discount request from Massive Dynamic", 3, "High", "Not Started", ""),
    ("Read the Gringotts RFP", None, "Normal", "Not Started", ""),
    ("Collect references for the Wonka deal", None, "Normal", "Not Started", ""),
    ("Send the signed NDA to Nakatomi", -1, "Normal", "Completed", ""),
    ("Log the Pied Piper discovery notes", 0, "Normal", "Completed", ""),
]
# Changed more than 24 hours ago: a first sync leaves them in Salesforce (R4).
_OLDER = [
    ("Old: call Duff Beer about the trade show", 2),
    ("Old: invoice question from Krusty Krab", -5),
    ("Old: send brochure to Monsters Inc", 10),
    ("Old: lunch with the Bluth Company team", 1),
    ("Old: renew the Planet Express contract", 20),
    ("Old: survey results for Dunder Mifflin", -10),
]
# R15: a logged call is not a reminder, so it is never synced.
_LOGGED_CALL = {
    "Subject": "Call: Ana Ruiz (logged call)",
    "Status": "Completed",
    "TaskSubtype": "Call",
    "Description": "Logged from the phone; not a reminder, so never synced.",
}
RECENT_COUNT = len(_RECENT)
# R14: what some tasks are about (WhoId: a Contact, WhatId: an Account), shown under their names.
ABOUT = {
    "Call Ana Ruiz about the renewal": ("Ana Ruiz", "Acme Corp"),
    "Send the Acme quote": (None, "Acme Corp"),
    "Confirm Thursday's demo with Globex": ("Hank Scorpio", "Globex"),
    "Call back Marco Rossi": ("Marco Rossi", "Initech"),
}


def demo_seed_salesforce(*, data_dir: str | Path, now: datetime | None = None) -> int:
    """Give the emulator's demo user its Salesforce tasks, once: a few dozen, some due today and
    tomorrow, some changed more than a day ago (not imported, R4) and one logged call (never
    synced, R15). Returns how many were created (0 when the user already has tasks: running the
    demo set-up again keeps whatever the demo did)."""
    from salesforce_emulator.control import Control
    from salesforce_emulator.core import Emulator

    emulator = Emulator(data_dir)  # opens (or creates) the demo org; serves nothing
    try:
        control = Control(emulator)
        if control.tasks():
            return 0
        records = _records(now or datetime.now(UTC))
        _relate(records, control)
        return len(control.create_tasks(records))
    finally:
        emulator.store.close()


def _records(now: datetime) -> list[dict]:
    """The demo user's tasks: the recent ones, the older ones and the logged call, without an
    ActivityDate where they have no due date."""
    today = now.date()

    def due(days):
        return None if days is None else (today + timedelta(days=days)).isoformat()

    records = [
        {
            "Subject": subject,
            "ActivityDate": due(days),
            "Priority": priority,
            "Status": status,
            "Description": comments,
            # Spread over the last hours so the import's order looks like a real day.
            "CreatedDate": now - timedelta(hours=20 - i * 0.8),
            "LastModifiedDate": now - timedelta(hours=20 - i * 0.8),
            "SystemModstamp": now - timedelta(hours=20 - i * 0.8),
        }
        for i, (subject, days, priority, status, comments) in enumerate(_RECENT)
    ]
    records += [
        {
            "Subject": subject,
            "ActivityDate": due(days),
            "CreatedDate": now - timedelta(days=3 + i),
            "LastModifiedDate": now - timedelta(days=3 + i),
            "SystemModstamp": now - timedelta(days=3 + i),
        }
        for i, (subject, days) in enumerate(_OLDER)
    ]
    records.append(_LOGGED_CALL | {"ActivityDate": due(0)})
    for record in records:
        if record.get("ActivityDate") is None:
            record.pop("ActivityDate", None)
    return records


def _relate(records: list[dict], control) -> None:
    """R14: what some tasks are about (``ABOUT``): each Contact and Account created once."""
    parents: dict[tuple[str, str], str] = {}

    def parent(kind, name):
        if (kind, name) not in parents:
            make = control.create_contact if kind == "Contact" else control.create_account
            parents[(kind, name)] = make(name=name)
        return parents[(kind, name)]

    for record in records:
        who, what = ABOUT.get(record["Subject"], (None, None))
        if who:
            record["WhoId"] = parent("Contact", who)
        if what:
            record["WhatId"] = parent("Account", what)
