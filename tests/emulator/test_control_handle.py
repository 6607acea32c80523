"""The control API is declared once (salesforce_emulator.control.Control): the test handle
reaches every public method of it, in-process and over HTTP, with Control's own signature."""

import datetime as dt
import inspect

import pytest

from salesforce_emulator.control import PUBLIC, Control
from salesforce_emulator.testing import EmulatorHandle

UTC = dt.UTC


@pytest.fixture(params=["in-process", "remote"])
def handle(request, sf_emulator):
    if request.param == "in-process":
        return sf_emulator
    # The same server, driven through /__emulator__/<name> on its login port.
    return EmulatorHandle.remote(sf_emulator.login_url, sf_emulator.ca_bundle)


class _Recorder:
    """Forwards to a handle and notes which control methods were asked for."""

    def __init__(self, handle):
        self.handle = handle
        self.used = set()

    def __getattr__(self, name):
        self.used.add(name)
        return getattr(self.handle, name)


def _exercise_clock_and_orgs(h):
    assert isinstance(h.now(), dt.datetime)
    frozen = h.set_now("2026-03-01T10:00:00Z", frozen=True)
    assert frozen == dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert h.advance(60) == dt.datetime(2026, 3, 1, 10, 1, tzinfo=UTC)
    assert h.advance(dt.timedelta(minutes=1)) == dt.datetime(2026, 3, 1, 10, 2, tzinfo=UTC)
    assert isinstance(h.reset_clock(), dt.datetime)
    org_id = h.create_org("Other Org")["id"]
    assert h.create_user(org_id, "rep@other.example")["org_id"] == org_id
    app = h.create_connected_app(org_id, "other-client", "secret", ["http://127.0.0.1:1/cb"])
    assert app["client_id"] == "other-client"
    h.add_callback_url("http://127.0.0.1:2/cb", client_id="other-client")
    h.set_pkce_required(True, client_id="other-client")
    h.set_refresh_rotation(True, org_id=org_id)
    h.set_access_token_lifetime(60, org_id=org_id)
    h.set_api_limit(100, used=5, org_id=org_id)
    assert h.api_usage(org_id=org_id) == {"used": 5, "max": 100}
    [other] = [o for o in h.state()["orgs"] if o["id"] == org_id]
    assert (other["refresh_rotation"], other["access_token_lifetime"]) == (True, 60)
    [apps] = [a for a in h.state()["apps"] if a["client_id"] == "other-client"]
    assert apps["pkce_required"] == 1
    assert apps["callback_urls"] == ["http://127.0.0.1:1/cb", "http://127.0.0.1:2/cb"]
    assert h.api_calls() == {} and h.api_call_total() == 0
    h.reset_api_calls()
    assert h.records_read() == {}
    assert h.connections_opened() == 0
    h.set_keepalive_timeout(5)
    h.set_keepalive_timeout(None)


def _exercise_picklists(h):
    h.add_status("Waiting")
    h.update_status("Waiting", label="Waiting on someone")
    h.rename_status("Waiting", "Blocked")
    assert "Blocked" in [p["api_name"] for p in h.picklist("status")]
    h.remove_status("Blocked")
    assert "Blocked" not in [p["api_name"] for p in h.picklist("status")]
    h.add_priority("Urgent", is_high_priority=True)
    h.rename_priority("Urgent", "Critical")
    [critical] = [p for p in h.picklist("priority") if p["api_name"] == "Critical"]
    assert critical["is_high_priority"] is True


def _exercise_tokens(h):
    tokens = h.issue_tokens()
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    assert h.token_is_valid(access) is True
    assert h.token_info(access)["kind"] == "access"
    assert h.expire_access_tokens() == 1
    assert h.token_is_valid(access) is False
    h.revoke_token(refresh)
    assert h.token_is_revoked(refresh) is True
    h.issue_tokens()
    assert h.revoke_refresh_tokens() == 1


def _exercise_related(h):
    who = [h.create_contact("Ana Ruiz"), h.create_lead("Lee Lead")]
    what = [h.create_account("Acme Corp"), h.create_opportunity("Big Deal")]
    assert [i[:3] for i in who + what] == ["003", "00Q", "001", "006"]
    h.rename_record(what[0], "Acme Holdings")


def _exercise_tasks(h):
    task_id = h.create_task(Subject="a")["Id"]
    assert h.update_task(task_id, Subject="b")["Subject"] == "b"
    assert h.automation_touch(task_id, Description="d")["Description"] == "d"
    assert h.delete_task(task_id)["IsDeleted"] is True
    assert h.undelete_task(task_id)["IsDeleted"] is False
    assert h.get_task(task_id)["Subject"] == "b"
    assert len(h.create_tasks([{"Subject": "c"}])) == 1
    assert sorted(t["Subject"] for t in h.tasks()) == ["b", "c"]
    assert h.archive_old() == 0
    h.run_maintenance()


def _exercise_faults(h):
    nowhere = "^/nothing-matches-this$"
    assert h.inject_fault(path=nowhere)["status"] == 500
    h.drop_response(path=nowhere)
    h.reject_records(contains="zzz")
    hold = h.hold_response(path=nowhere)
    assert h.wait_until_held(hold["id"], timeout=0.01) is False
    assert h.wait_until_idle(timeout=5) is True  # only control calls meanwhile
    assert h.release(hold["id"])["id"] == hold["id"]
    h.set_latency(0, path=nowhere)
    assert h.set_network_model(0, 0) == h.network_model()
    described = h.faults()
    assert (len(described["faults"]), len(described["rejects"])) == (2, 1)
    h.clear_faults()
    assert h.faults()["faults"] == []
    h.reset()
    assert h.tasks() == []


def test_it_reaches_every_public_control_method_through_the_handle(handle):
    recorder = _Recorder(handle)
    for exercise in (
        _exercise_clock_and_orgs,
        _exercise_picklists,
        _exercise_tokens,
        _exercise_tasks,
        _exercise_related,
        _exercise_faults,
    ):
        exercise(recorder)
    # `demo` is the one method the handle shows as data: the demo org, user and app.
    assert dict(handle.demo) == Control.demo(None) == handle.call("demo")
    assert recorder.used == PUBLIC - {"demo"}


def test_its_methods_have_controls_signatures(handle):
    for name in PUBLIC - {"demo"}:
        control = inspect.signature(getattr(Control, name))
        expected = control.replace(parameters=list(control.parameters.values())[1:])
        assert inspect.signature(getattr(handle, name)) == expected, name


def test_a_wrong_call_fails_the_same_way_in_process_and_over_http(handle):
    with pytest.raises(TypeError):
        handle.create_user()  # org_id and username are required
    with pytest.raises(TypeError):
        handle.advance(60, days=1)
    with pytest.raises(AttributeError):
        handle.no_such_method  # noqa: B018
    with pytest.raises(AttributeError):
        handle._org  # private methods are not part of the control API  # noqa: B018
