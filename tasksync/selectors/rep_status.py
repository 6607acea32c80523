"""What every page of a rep's shows above its content: sync trouble and unread notices (R14)."""

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import ConnectionState, SalesforceConnection
from tasksync.models import Notice, OutboundChange, OutboxState, PauseReason, SyncPhase, SyncState


@dataclass(frozen=True)
class Trouble:
    """One reason the rep's sync needs attention, and what to do about it (R14)."""

    kind: str  # staff | reconnect | over_limit | failed
    title: str
    detail: str
    action: str  # what the rep should do
    link_label: str = ""
    link_url: str = ""


@dataclass(frozen=True)
class RepStatus:
    """What every page of a rep's shows above its content: sync trouble and unread notices."""

    hold: str  # "" while sync runs; "paused" or "off" when linked tasks are not being synced
    troubles: list
    notices: list
    pause_reason: str = ""
    # R3: while the first sync imports, every page says how far it got.
    importing: bool = False
    progress_done: int = 0
    progress_total: int = 0


_CONNECTION_STATE = Subquery(
    SalesforceConnection.objects.filter(user_id=OuterRef("user_id")).values("state")[:1]
)
_FAILED_COUNT = Coalesce(
    Subquery(
        OutboundChange.objects.filter(user_id=OuterRef("user_id"), state=OutboxState.FAILED)
        .order_by()
        .values("user_id")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    ),
    0,
)
NOTICES_SHOWN = 10


def staff_pause_entry(*, state):
    """The admin log entry of the staff "pause" action that holds this sync (R14), or None when
    the pause came another way."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    return (
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(SyncState),
            object_id=str(state.pk),
            change_message="Paused.",
        )
        .select_related("user")
        .order_by("-action_time")
        .first()
    )


def staff_pauser_for(*, state) -> str:
    """Who paused the sync (R14), by name for the rep, or "". Read only while a staff pause is
    on."""
    entry = staff_pause_entry(state=state)
    if entry is None:
        return ""
    name = entry.user.get_full_name() or entry.user.get_username()
    return _("%(name)s (administrator)") % {"name": name}


def rep_status_for(*, user) -> RepStatus:
    """R14: trouble where the rep works. Two queries: the state (with the connection's state and
    the failed count folded in) and the unread notices."""
    state = (
        SyncState.objects.filter(user=user)
        .annotate(connection_state=_CONNECTION_STATE, failed_count=_FAILED_COUNT)
        .first()
    )
    notices = list(
        Notice.objects.filter(user=user, read_at__isnull=True).order_by("-created_at", "-id")[
            : NOTICES_SHOWN + 1
        ]
    )
    if state is None:
        return RepStatus(hold="", troubles=[], notices=notices)
    reason = state.pause_reason if state.enabled and state.phase == SyncPhase.PAUSED else ""
    troubles = [_held_trouble(state, reason), _failed_trouble(state)]
    hold = "" if state.is_active else ("paused" if state.enabled else "off")
    return RepStatus(
        hold=hold,
        troubles=[trouble for trouble in troubles if trouble is not None],
        notices=notices,
        pause_reason=reason,
        importing=state.enabled and state.phase == SyncPhase.FIRST_SYNC,
        progress_done=state.progress_done,
        progress_total=state.progress_total,
    )


def _held_trouble(state, reason) -> Trouble | None:
    """Why nothing syncs, if something holds it: a lost connection, staff, or the API limit."""
    if state.enabled and (
        reason == PauseReason.RECONNECT or state.connection_state == ConnectionState.NEEDS_RECONNECT
    ):
        return Trouble(
            "reconnect",
            _("Salesforce needs you to reconnect."),
            _("Salesforce no longer accepts tasksync's access, so nothing is syncing."),
            _("Reconnect on the settings page; sync resumes by itself, nothing is lost."),
            _("Reconnect Salesforce"),
            reverse("settings") + "#salesforce",
        )
    if reason == PauseReason.STAFF:
        return _staff_trouble(state)
    if reason == PauseReason.OVER_LIMIT:
        return Trouble(
            "over_limit",
            _("Your Salesforce org reached its API limit."),
            _("tasksync waits for the org's daily allowance to recover: %(message)s")
            % {"message": state.message}
            if state.message
            else _("tasksync waits for the org's daily allowance to recover."),
            _("Nothing to do: your changes are kept and sync resumes by itself."),
        )
    return None


def _staff_trouble(state) -> Trouble:
    detail = _("Your changes wait here, nothing is lost, and nothing comes from Salesforce.")
    if state.message:
        note = _("Note from staff:")
        detail = f"{detail} {note} “{state.message}”"
    who = staff_pauser_for(state=state)
    return Trouble(
        "staff",
        _("Sync is paused by %(who)s.") % {"who": who}
        if who
        else _("Sync is paused by an administrator."),
        detail,
        _("Ask your administrator to resume it: “Sync now” cannot lift this pause."),
    )


def _failed_trouble(state) -> Trouble | None:
    """R11: changes Salesforce refused, waiting for a fix and a retry."""
    if not state.failed_count:
        return None
    return Trouble(
        "failed",
        ngettext(
            "%(count)d task did not reach Salesforce.",
            "%(count)d tasks did not reach Salesforce.",
            state.failed_count,
        )
        % {"count": state.failed_count},
        ngettext(
            "Salesforce refused it; the settings page shows its message.",
            "Salesforce refused them; the settings page shows its message for each.",
            state.failed_count,
        ),
        _("Fix the task (or ask an admin to fix the rule in Salesforce), then retry."),
        _("See what failed"),
        reverse("settings") + "#failed-h",
    )
