"""Task's Who and What: minimal Contacts/Leads/Accounts/Opportunities from the control API, read
through SOQL's relationship fields Who.Name / What.Name as the REST API nests them (R14: tasks
show what they are about, read with the sync's own queries)."""

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest


def test_who_and_what_names_nest_as_salesforce_answers(sf_emulator, sf):  # R14
    ana = sf_emulator.create_contact(name="Ana Ruiz")
    acme = sf_emulator.create_account(name="Acme Corp")
    assert ana.startswith("003") and acme.startswith("001") and len(ana) == len(acme) == 18
    linked = sf_emulator.create_task(Subject="call Ana", WhoId=ana, WhatId=acme)["Id"]
    bare = sf_emulator.create_task(Subject="no parents")["Id"]
    result = sf.query("SELECT Id, WhoId, WhatId, Who.Name, What.Name FROM Task ORDER BY Subject")
    by_id = {r["Id"]: r for r in result["records"]}
    row = by_id[linked]
    assert row["WhoId"] == ana and row["WhatId"] == acme
    assert row["Who"] == {
        "attributes": {"type": "Name", "url": f"/services/data/v59.0/sobjects/Contact/{ana}"},
        "Name": "Ana Ruiz",
    }
    assert row["What"]["Name"] == "Acme Corp"
    assert row["What"]["attributes"]["url"].endswith(f"/sobjects/Account/{acme}")
    # No id: the relationship is null, as Salesforce renders it.
    assert by_id[bare]["Who"] is None and by_id[bare]["What"] is None
    assert by_id[bare]["WhoId"] is None


def test_lead_and_opportunity_and_both_parent_fields_merge(sf_emulator, sf):  # R14
    lead = sf_emulator.create_lead(name="Lee Lead")
    deal = sf_emulator.create_opportunity(name="Big Deal")
    assert lead.startswith("00Q") and deal.startswith("006")
    sf_emulator.create_task(Subject="x", WhoId=lead, WhatId=deal)
    row = sf.query("SELECT Who.Id, Who.Name, What.Name FROM Task")["records"][0]
    assert row["Who"]["Id"] == lead and row["Who"]["Name"] == "Lee Lead"
    assert row["Who"]["attributes"]["url"].endswith(f"/sobjects/Lead/{lead}")
    assert row["What"]["Name"] == "Big Deal"
    assert "WhoId" not in row  # only what was selected


def test_rename_is_read_next_query_without_touching_the_task(sf_emulator, sf):  # R14
    acme = sf_emulator.create_account(name="Acme Corp")
    task = sf_emulator.create_task(Subject="x", WhatId=acme)
    sf_emulator.rename_record(record_id=acme, name="Acme <Holdings>")
    after = sf_emulator.get_task(task["Id"])
    assert after["SystemModstamp"] == task["SystemModstamp"]  # a parent's rename is not a task edit
    row = sf.query("SELECT What.Name FROM Task")["records"][0]
    assert row["What"]["Name"] == "Acme <Holdings>"


def test_relationship_fields_page_with_their_parents(sf_emulator, sf):
    acme = sf_emulator.create_account(name="Acme Corp")
    sf_emulator.create_tasks(records_=[{"Subject": f"t{i}", "WhatId": acme} for i in range(250)])
    sf.headers["Sforce-Query-Options"] = "batchSize=200"
    assert sf.query("SELECT What.Name FROM Task")["done"] is False  # two pages
    result = sf.query_all("SELECT What.Name FROM Task")
    assert len(result["records"]) == 250
    assert {r["What"]["Name"] for r in result["records"]} == {"Acme Corp"}


@pytest.mark.parametrize("field", ["Owner2.Name", "Who.Phone"])
def test_unknown_relationship_or_parent_field_is_invalid_field(sf, field):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query(f"SELECT {field} FROM Task")
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_control_refuses_blank_names_and_unknown_records(sf_emulator):
    with pytest.raises(Exception, match="name"):
        sf_emulator.create_account(name=" ")
    with pytest.raises(Exception, match="no record"):
        sf_emulator.rename_record(record_id="001000000000000AAA", name="x")


def test_a_lightning_record_url_opens_the_task_in_the_web_ui(sf_emulator):
    # An app's "Open in Salesforce" (<instance>/lightning/r/Task/<id>/view) reaches the UI's
    # page of the task, through sign-in when needed.
    task_id = sf_emulator.create_task(Subject="Renewal")["Id"]
    session = sf_emulator.session()
    answer = session.get(
        f"{sf_emulator.api_url}/lightning/r/Task/{task_id}/view", allow_redirects=False
    )
    assert answer.status_code in (302, 303)
    assert answer.headers["Location"] == f"{sf_emulator.login_url}/ui/tasks/{task_id}"
    login = session.get(answer.headers["Location"])
    assert f'value="/ui/tasks/{task_id}"' in login.text  # signed in, the task's page follows
