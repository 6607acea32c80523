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
    from tasksync.models import SyncState

    state = SyncState.objects.filter(user=user).first()
    enabled = bool(state and state.enabled)
    connection = getattr(user, "salesforce_connection", None)
    if connection is None or not connection.is_usable:
        reason = (
            _("Reconnect Salesforce first.")
            if connection is not None and connection.state == "needs_reconnect"
            else _("Connect Salesforce first.")
        )
        return SyncAvailability(can_enable=False, enabled=enabled, reason=reason)
    return SyncAvailability(can_enable=True, enabled=enabled, reason="")
