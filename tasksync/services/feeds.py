"""R19: an org's integration user, connected by staff, and the checks it must pass before the
org's one pull replaces each rep's own (reads every rep's tasks; may subscribe to Task change
events when streaming is wanted)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.salesforce import errors
from accounts.salesforce.client import SalesforceClient, soql_id
from tasksync.models import FeedHealth, LinkState, OrgFeed, TaskLink

logger = logging.getLogger(__name__)

CHECK_SAMPLE = 200  # ids, one query (SOQL's IN list and a collection's size)


def feed_integration_user(*, feed: OrgFeed):
    """The local account that holds the org's integration connection: created once, no
    password, never signs in (it is not staff and cannot use a sign-in form)."""
    from accounts.models import User

    if feed.integration_user_id is not None:
        return feed.integration_user
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            username=f"integration-{feed.org_id}", defaults={"time_zone": "UTC"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        OrgFeed.objects.filter(pk=feed.pk).update(integration_user=user)
    feed.integration_user = user
    return user


def feed_check(*, feed: OrgFeed) -> OrgFeed:
    """Check the integration user against what the org's pull needs, and say what is missing.

    - It is a user of this org.
    - It sees every task the org's reps sync (Salesforce answers a query only with the records the
      user may see: without View All Data, a sample of the reps' linked tasks comes back short).
    - It may subscribe to /data/TaskChangeEvent (the Pub/Sub API's GetTopic says so).
    """
    from accounts.models import SalesforceConnection

    connection = (
        SalesforceConnection.objects.select_related("org")
        .filter(user_id=feed.integration_user_id)
        .first()
    )
    problems = []
    can_read_all = can_subscribe = False
    if connection is None or not connection.is_usable:
        problems.append("The integration user is not connected.")
    elif connection.org.org_id != feed.org_id:
        problems.append(
            f"The integration user signed in to org {connection.org.org_id}, not {feed.org_id}."
        )
    else:
        can_read_all, message = _reads_every_reps_tasks(feed, connection)
        if message:
            problems.append(message)
        can_subscribe, message = _may_subscribe(connection)
        if message:
            problems.append(message)
    health = FeedHealth.WAITING if can_read_all else FeedHealth.REFUSED
    OrgFeed.objects.filter(pk=feed.pk).update(
        can_read_all=can_read_all,
        can_subscribe=can_subscribe,
        checked_at=timezone.now(),
        health=health,
        message=" ".join(problems)[:1000],
    )
    feed.refresh_from_db()
    return feed


def _reads_every_reps_tasks(feed, connection) -> tuple[bool, str]:
    sample = list(
        TaskLink.objects.filter(org_id=feed.org_id, state=LinkState.SYNCED, sf_id__isnull=False)
        .exclude(sf_user_id=connection.sf_user_id)
        .order_by("-updated_at")
        .values_list("sf_id", flat=True)[:CHECK_SAMPLE]
    )
    client = SalesforceClient(connection)
    try:
        if sample:
            soql = "SELECT Id FROM Task WHERE Id IN ({})".format(
                ", ".join(soql_id(i) for i in sample)
            )
        else:
            soql = f"SELECT Id FROM Task WHERE OwnerId != {soql_id(connection.sf_user_id)} LIMIT 1"
        seen = {r["Id"] for r in client.query_page(soql, include_deleted=True).get("records", [])}
    except errors.SalesforceProblem as problem:
        return False, f"The integration user cannot read Tasks ({problem.code or problem.message})."
    missing = [i for i in sample if i not in seen]
    if missing:
        return False, (
            f"The integration user cannot see {len(missing)} of {len(sample)} tasks of the org's "
            "reps: give it View All Data (or View All on Activities)."
        )
    return True, ""


def _may_subscribe(connection) -> tuple[bool, str]:
    from accounts.salesforce import pubsub

    client = None
    try:
        client = pubsub.PubSubClient(
            target=settings.SALESFORCE_PUBSUB_URL,
            instance_url=connection.instance_url,
            org_id=connection.org.org_id,
            access_token=connection.access_token,
            ca_bundle=settings.SALESFORCE_CA_BUNDLE,
            timeout=settings.SALESFORCE_TIMEOUT,
        )
        topic = client.topic(pubsub.TASK_TOPIC)
    except pubsub.TopicNotFound:
        return False, "Change Data Capture is not enabled for Task (Setup → Change Data Capture)."
    except pubsub.PubSubError as problem:
        return False, f"The Pub/Sub API refused the integration user: {problem}"
    finally:
        if client is not None:
            client.close()
    if not topic.can_subscribe:
        return False, "The integration user may not subscribe to Task change events."
    return True, ""
