"""The change streams in the admin (R19): health and whether polling is slowed, read-only."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from tasksync.models import StreamHealth, StreamState


def test_it_shows_a_broken_stream_and_escapes_its_message(admin_client, db):
    # R19: "when it breaks, polling returns and the admin says so".
    StreamState.objects.create(
        org_id="00D000000000001AAA",
        health=StreamHealth.BROKEN,
        message="<script>alert(1)</script>",
        lease_owner="m1",
        lease_until=timezone.now() + timedelta(seconds=30),
        heartbeat_at=timezone.now(),
    )
    page = admin_client.get(reverse("admin:tasksync_streamstate_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Broken (polling as usual)" in html
    assert "as usual" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_a_healthy_held_stream_says_polling_is_a_safety_net(admin_client, db):
    # R19: while the stream is healthy, polling slows to the safety-net interval.
    StreamState.objects.create(
        org_id="00D000000000002AAA",
        health=StreamHealth.HEALTHY,
        lease_owner="m1",
        lease_until=timezone.now() + timedelta(seconds=30),
        heartbeat_at=timezone.now(),
    )
    html = admin_client.get(reverse("admin:tasksync_streamstate_changelist")).content.decode()
    assert "safety net only" in html and "Healthy" in html
    assert admin_client.get(reverse("admin:tasksync_streamstate_add")).status_code == 403
