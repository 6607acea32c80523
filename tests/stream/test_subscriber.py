"""The change-stream subscriber against the emulator's Pub/Sub API over TLS (R19, R9)."""

from datetime import timedelta

from django.utils import timezone

from tasksync.models import ReminderTask, StreamHealth, StreamState, SyncRun, SyncState
from tasksync.services import tasks as services
from tasksync.sync import engine
from tasksync.sync.stream import OrgSubscriber, stream_is_healthy, stream_lease_acquire
from tests.fixtures_sync import link_of


def _task_named(user, name):
    return ReminderTask.objects.live().filter(user=user, name=name).first()


def _stream(org_id):
    return StreamState.objects.get(org_id=org_id)


def test_it_brings_a_salesforce_edit_to_the_local_task_without_a_poll(
    subscriber, syncing, sf_emulator
):
    # R19: the event queues a targeted pull of its owner; no poll is involved.
    task = services.task_create(user=syncing, name="Call Ana")
    engine.sync_user(user_id=syncing.pk, trigger="push")
    subscriber.open()
    sf_emulator.update_task(link_of(task).sf_id, Description="from Salesforce")
    subscriber.process(
        until=lambda: ReminderTask.objects.get(pk=task.pk).details == "from Salesforce",
        timeout=10,
    )
    assert ReminderTask.objects.get(pk=task.pk).details == "from Salesforce"
    assert SyncRun.objects.filter(user=syncing, trigger="stream").exists()
    state = _stream(subscriber.org_id)
    assert state.health == StreamHealth.HEALTHY and state.replay_id and state.events_received >= 1


def test_it_imports_a_task_created_in_salesforce_through_the_stream(
    subscriber, syncing, sf_emulator
):
    # R19: a create carries its OwnerId: that owner is pulled.
    subscriber.open()
    sf_emulator.create_task(Subject="Made in Salesforce")
    subscriber.process(until=lambda: _task_named(syncing, "Made in Salesforce"), timeout=10)
    assert _task_named(syncing, "Made in Salesforce") is not None


def test_an_echo_of_our_own_push_queues_no_pull(subscriber, syncing, sf_emulator):
    # R9: the event of tasksync's own write is recognised by content and costs nothing.
    task = services.task_create(user=syncing, name="Echo me")
    engine.sync_user(user_id=syncing.pk, trigger="push")
    subscriber.open()
    services.task_update(task=ReminderTask.objects.get(pk=task.pk), details="pushed by us")
    engine.sync_user(user_id=syncing.pk, trigger="push")
    runs = SyncRun.objects.filter(user=syncing).count()
    subscriber.process(until=lambda: subscriber.handed_on >= 1, timeout=10)
    assert _stream(subscriber.org_id).echoes_skipped == 1
    assert SyncRun.objects.filter(user=syncing).count() == runs


def test_a_killed_subscriber_resumes_from_its_stored_replay_id(subscriber, syncing, sf_emulator):
    # R19: kill mid-stream, restart from the stored replay id: nothing lost, nothing twice.
    first = sf_emulator.create_task(Subject="One")
    subscriber.open()
    sf_emulator.update_task(first["Id"], Description="edit 1")
    subscriber.process(until=lambda: subscriber.handed_on >= 1, timeout=10)
    stored = _stream(subscriber.org_id).replay_id
    subscriber.close()  # killed: no release, the lease stays until it lapses
    sf_emulator.create_task(Subject="Two")
    sf_emulator.update_task(first["Id"], Description="edit 2")
    StreamState.objects.filter(org_id=subscriber.org_id).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    restarted = OrgSubscriber(subscriber.org_id, owner="second-machine")
    assert stream_lease_acquire(org_id=subscriber.org_id, owner=restarted.owner)
    restarted.open()
    restarted.process(until=lambda: restarted.handed_on >= 2, timeout=10)
    restarted.process(timeout=0.5)
    restarted.close()
    assert restarted.handed_on == 2  # exactly the two events after the stored one
    assert _stream(subscriber.org_id).replay_id > stored
    assert ReminderTask.objects.live().filter(user=syncing, name="Two").count() == 1
    one = ReminderTask.objects.live().get(user=syncing, name="One")
    assert one.details == "edit 2"


def test_an_event_handed_on_twice_after_a_crash_duplicates_nothing(
    subscriber, syncing, sf_emulator
):
    # R19: a crash after handing an event on but before storing its replay id replays it.
    subscriber.open()
    sf_emulator.create_task(Subject="Only once")
    subscriber.process(until=lambda: subscriber.handed_on >= 1, timeout=10)
    subscriber.close()
    StreamState.objects.filter(org_id=subscriber.org_id).update(replay_id="")
    again = OrgSubscriber(subscriber.org_id, owner=subscriber.owner)
    again.open()  # no replay id: LATEST and a catch-up pull of every syncing user
    again.close()
    assert ReminderTask.objects.live().filter(user=syncing, name="Only once").count() == 1


def test_a_dropped_event_is_caught_up_by_the_next_pull(
    subscriber, pubsub_server, syncing, sf_emulator
):
    # R19: events are hints; a lost one loses nothing, the next pull reads every change.
    subscriber.open()
    pubsub_server.faults.drop_events = 1
    sf_emulator.create_task(Subject="Lost event")
    sf_emulator.create_task(Subject="Next event")
    subscriber.process(until=lambda: _task_named(syncing, "Next event"), timeout=10)
    assert _task_named(syncing, "Lost event") is not None


def test_a_repeated_event_duplicates_nothing(subscriber, pubsub_server, syncing, sf_emulator):
    # R19: the same event twice queues the same pull twice at most: one local task.
    subscriber.open()
    pubsub_server.faults.repeat_events = 1
    sf_emulator.create_task(Subject="Twice told")
    subscriber.process(until=lambda: subscriber.handed_on >= 2, timeout=10)
    assert ReminderTask.objects.live().filter(user=syncing, name="Twice told").count() == 1


def test_a_broken_stream_brings_polling_back_at_once_and_resumes(
    subscriber, pubsub_server, syncing, sf_emulator, settings
):
    # R19: the stream breaks → unhealthy, the org's polls are due now; the retry loses nothing.
    settings.SYNC_STREAM_SAFETY_POLL_SECONDS = 900
    subscriber.open()
    sf_emulator.create_task(Subject="First")
    subscriber.process(until=lambda: subscriber.handed_on >= 1, timeout=10)
    assert stream_is_healthy(subscriber.org_id)
    state = SyncState.objects.get(user=syncing)
    assert engine.poll_interval(state) == timedelta(seconds=900)
    SyncState.objects.filter(pk=state.pk).update(
        next_poll_at=timezone.now() + timedelta(minutes=15)
    )
    subscriber.close()
    pubsub_server.faults.break_after = 1
    sf_emulator.create_task(Subject="Before the break")
    wait = subscriber.attempt(timeout=5)
    assert wait and _stream(subscriber.org_id).health == StreamHealth.BROKEN
    assert not stream_is_healthy(subscriber.org_id)
    assert engine.poll_interval(state) == timedelta(seconds=settings.SYNC_POLL_SECONDS)
    assert SyncState.objects.get(pk=state.pk).next_poll_at <= timezone.now()
    sf_emulator.create_task(Subject="During the break")
    subscriber.attempt(until=lambda: _task_named(syncing, "During the break"), timeout=10)
    assert _task_named(syncing, "Before the break") and _task_named(syncing, "During the break")


def test_an_expired_replay_id_restarts_at_latest_with_a_catch_up_pull(
    subscriber, pubsub_server, syncing, sf_emulator
):
    # R19: past the 72-hour retention the stored id is refused; LATEST + a catch-up pull.
    subscriber.open()
    sf_emulator.create_task(Subject="Seen")
    subscriber.process(until=lambda: subscriber.handed_on >= 1, timeout=10)
    subscriber.close()
    sf_emulator.create_task(Subject="Missed while away")
    log = pubsub_server.service.emu.store.change_events
    sf_emulator.advance(timedelta(seconds=1))  # both events are older than the window
    log.retention_ms = 0
    log.purge_expired()
    log.retention_ms = 72 * 3600 * 1000
    wait = subscriber.attempt(timeout=2)
    assert wait == 0.0 and _stream(subscriber.org_id).replay_id == ""
    subscriber.attempt(timeout=1)
    assert _task_named(syncing, "Missed while away") is not None


def test_a_subscriber_waits_while_another_holds_the_org(subscriber):
    # R19: one subscriber per org, whatever the number of machines.
    assert not stream_lease_acquire(org_id=subscriber.org_id, owner="other-machine")
    StreamState.objects.filter(org_id=subscriber.org_id).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert stream_lease_acquire(org_id=subscriber.org_id, owner="other-machine")


def test_polling_is_normal_when_the_holder_stops_beating(subscriber, syncing, settings):
    # R19: a dead subscriber (no heartbeat) never keeps polling slow.
    subscriber.open()
    subscriber.process(timeout=0.3)
    assert stream_is_healthy(subscriber.org_id)
    StreamState.objects.filter(org_id=subscriber.org_id).update(
        heartbeat_at=timezone.now() - timedelta(minutes=5),
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    assert not stream_is_healthy(subscriber.org_id)
    state = SyncState.objects.get(user=syncing)
    assert engine.poll_interval(state) == timedelta(seconds=settings.SYNC_POLL_SECONDS)


def test_it_says_when_cdc_is_not_enabled_or_not_permitted(subscriber, pubsub_server, syncing):
    # R19: the admin shows why the stream is not running; polling stays normal.
    pubsub_server.faults.cdc_disabled_orgs.add(subscriber.org_id)
    assert subscriber.attempt(timeout=1) == 60.0
    assert _stream(subscriber.org_id).health == StreamHealth.NOT_ENABLED
    pubsub_server.faults.cdc_disabled_orgs.clear()
    pubsub_server.faults.denied_users.add(syncing.salesforce_connection.sf_user_id)
    assert subscriber.attempt(timeout=1) == 60.0
    assert _stream(subscriber.org_id).health == StreamHealth.NOT_PERMITTED
    assert not stream_is_healthy(subscriber.org_id)


def test_a_keep_alive_moves_the_stored_replay_id_of_a_quiet_org(
    subscriber, pubsub_server, syncing, sf_emulator
):
    # R19: a quiet org's stored id follows the keep-alives, so it stays inside the 72 h window.
    subscriber.open()
    sf_emulator.create_task(Subject="Handled")
    subscriber.process(until=lambda: subscriber.handed_on >= 1, timeout=10)
    handled = _stream(subscriber.org_id).replay_id
    other = sf_emulator.create_org("Other org")
    stranger = sf_emulator.create_user(other["id"], "someone@other.example")
    sf_emulator.create_task(Subject="Elsewhere", user_id=stranger["id"])
    subscriber.close()
    pubsub_server.faults.keepalive_seconds = 0.2
    subscriber.open()
    subscriber.process(until=lambda: _stream(subscriber.org_id).replay_id != handled, timeout=5)
    assert _stream(subscriber.org_id).replay_id > handled
    assert subscriber.handed_on == 1  # nothing of the other org was handed on


def test_an_expired_token_is_refreshed_and_the_stream_resumes(subscriber, syncing, sf_emulator):
    # R12 + R19: the Pub/Sub API refuses a dead token (service.auth.error): refresh, resubscribe.
    connection = syncing.salesforce_connection
    subscriber.open()
    sf_emulator.create_task(Subject="Before")
    subscriber.process(until=lambda: subscriber.handed_on >= 1, timeout=10)
    subscriber.close()
    before = connection.access_token
    sf_emulator.expire_access_tokens()
    sf_emulator.create_task(Subject="After the refresh")
    assert subscriber.attempt(timeout=0.5) == 0.0
    connection.refresh_from_db()
    assert connection.access_token != before
    subscriber.attempt(until=lambda: subscriber.handed_on >= 2, timeout=10)
    assert _task_named(syncing, "After the refresh") is not None
