"""The rep's time zone defaults to their browser's on the first visit (R14, R16)."""

import zoneinfo

from django.db import transaction

from tasksync.models import ZoneChoice

UNSET_ZONE = "UTC"  # the model's default: what a user has who never picked a zone


@transaction.atomic
def zone_from_browser(*, user, zone: str) -> bool:
    """Take the browser's zone once, unless the user already chose one (then or later, their
    choice stands). Returns whether the zone was applied. An unknown zone changes nothing."""
    if zone not in zoneinfo.available_timezones():
        return False
    # A zone other than the default was chosen before this was recorded: it stays.
    untouched = user.time_zone == UNSET_ZONE
    choice, created = ZoneChoice.objects.get_or_create(
        user=user,
        defaults={"zone": zone if untouched else user.time_zone, "from_browser": untouched},
    )
    if not created or not untouched:
        return False
    user.time_zone = zone
    user.save(update_fields=["time_zone"])
    return True


def zone_chosen(*, user) -> None:
    """The user saved their preferences: from now on the browser's zone is never applied."""
    ZoneChoice.objects.update_or_create(
        user=user, defaults={"zone": user.time_zone, "from_browser": False}
    )
