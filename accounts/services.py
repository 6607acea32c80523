"""Account-side services: what the settings page may offer a user."""

from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class SyncAvailability:
    can_enable: bool
    enabled: bool
    reason: str


def sync_availability(*, user) -> SyncAvailability:
    """R3: sync can only be turned on while a Salesforce account is connected."""
    connection = getattr(user, "salesforce_connection", None)
    if connection is None:
        return SyncAvailability(
            can_enable=False, enabled=False, reason=_("Connect Salesforce first.")
        )
    return SyncAvailability(can_enable=True, enabled=False, reason="")
