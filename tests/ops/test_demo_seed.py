"""The demo shows the product working (R3, R4, R15): the emulator's demo user starts with a few
dozen Salesforce tasks, and the first sync imports the recent ones only."""

from django.core.management import call_command
from django.utils import timezone

from tasksync.demo import RECENT_COUNT
from tasksync.models import ReminderTask


def _setup_demo(settings, sf_emulator_server):
    settings.SALESFORCE_EMULATOR = True
    settings.EMULATOR_DATA_DIR = sf_emulator_server.data_dir
    call_command("setup_demo")


def test_setup_demo_gives_the_emulator_user_tasks_once(
    db, settings, sf_emulator, sf_emulator_server
):
    _setup_demo(settings, sf_emulator_server)
    tasks = sf_emulator.tasks()
    assert len(tasks) == RECENT_COUNT + 7 == 30
    today = timezone.now().date().isoformat()
    assert sum(t["ActivityDate"] == today for t in tasks) >= 3
    assert [t["TaskSubtype"] for t in tasks].count("Call") == 1
    # Running the set-up again keeps what the demo did and adds nothing.
    sf_emulator.delete_task(tasks[0]["Id"])
    _setup_demo(settings, sf_emulator_server)
    assert len(sf_emulator.tasks()) == 30


def test_the_first_sync_of_the_demo_imports_the_last_day_s_tasks_only(
    rep, turn_on, settings, sf_emulator, sf_emulator_server
):
    # R4: older than 24 hours stays in Salesforce; R15: the logged call is never synced.
    _setup_demo(settings, sf_emulator_server)
    run = turn_on()
    names = set(ReminderTask.objects.filter(user=rep).values_list("name", flat=True))
    assert len(names) == RECENT_COUNT == 23 and run.pulled == 23
    assert not any(n.startswith("Old:") for n in names)
    assert "Call: Ana Ruiz (logged call)" not in names
    # R14: some say what they are about, read in the import's own query.
    ana = ReminderTask.objects.get(user=rep, name="Call Ana Ruiz about the renewal")
    assert (ana.related_who, ana.related_what) == ("Ana Ruiz", "Acme Corp")
