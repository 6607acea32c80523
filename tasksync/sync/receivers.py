"""React to the Salesforce connection's life (R17): disconnect turns sync off; another identity
starts fresh."""

from django.dispatch import receiver

from accounts.signals import salesforce_connected, salesforce_disconnected


@receiver(salesforce_disconnected, dispatch_uid="tasksync.sync.disconnected")
def on_disconnected(sender, *, connection, **kwargs):
    from tasksync.services.sync import sync_disable

    sync_disable(user=connection.user)


@receiver(salesforce_connected, dispatch_uid="tasksync.sync.connected")
def on_connected(sender, *, connection, is_new_identity=False, **kwargs):
    from tasksync.services.sync import sync_identity_changed, sync_reconnected

    if is_new_identity:
        sync_identity_changed(user=connection.user)
    else:
        sync_reconnected(user=connection.user)  # R14: a reconnect resumes at once
