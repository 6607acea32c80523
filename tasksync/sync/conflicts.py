"""R8: which side wins when the same field changed on both sides. Pure."""

from datetime import datetime


def winner(local_changed_at: datetime | None, remote_changed_at: datetime | None) -> str:
    """The later change wins; a tie (or an unknown time) goes to Salesforce."""
    if local_changed_at and remote_changed_at and local_changed_at > remote_changed_at:
        return "local"
    return "salesforce"
