"""``url_with_key``: the URL ``reverse`` gives, for the many rows of a page, reversed once."""

import pytest
from django.urls import clear_script_prefix, reverse, set_script_prefix

from tasksync.links import url_with_key

NAMES = [
    "task_edit",
    "task_complete",
    "task_reopen",
    "admin:tasksync_syncrun_change",
    "admin:tasksync_remindertask_change",
    "admin:accounts_user_change",
]


@pytest.mark.parametrize("prefix", ["/", "/sync/"])
def test_it_gives_what_reverse_gives_for_every_key(prefix):
    set_script_prefix(prefix)
    try:
        for name in NAMES:
            for key in (1, 7, 98765432, 987654321, 9876543210):
                assert url_with_key(name, key) == reverse(name, args=[key]), (name, key)
            assert url_with_key(name, 5).startswith(prefix)
    finally:
        clear_script_prefix()
