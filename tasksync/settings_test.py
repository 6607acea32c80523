"""Settings for the test suite: the production module with test-only values filled in."""

import os

os.environ["TASKSYNC_IGNORE_DOTENV"] = "true"
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("SALESFORCE_EMULATOR", "false")
os.environ.setdefault("SALESFORCE_BACKOFF_SECONDS", "0.01")
# A test's own transaction is invisible to other threads: batches run their polls one by one
# unless a test (tests/sync/test_poll_threads.py) or a benchmark's workers set it.
os.environ.setdefault("SYNC_POLL_THREADS", "1")
# Two fixed Fernet keys (newest first); tests of rotation override them.
os.environ.setdefault(
    "TOKEN_ENCRYPTION_KEYS",
    "oQy2vQ0y6kq6CkqJ0n7WQ6m0m5o0Zb0p3l9v7l2kq3s=,ZmRnaGprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1Njc4OTA=",
)

from tasksync.settings import *  # noqa: E402,F403

# The suite runs against the emulator (and tests its management command) whatever
# SALESFORCE_EMULATOR says.
if "salesforce_emulator" not in INSTALLED_APPS:  # noqa: F405
    INSTALLED_APPS = [*INSTALLED_APPS, "salesforce_emulator"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Jobs run inline in the test process; tests that start real qcluster workers set
# TASKSYNC_Q_SYNC=false for those worker processes.
Q_CLUSTER = {**Q_CLUSTER, "sync": os.environ.get("TASKSYNC_Q_SYNC", "true") == "true"}  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The suite's SQLite database is a file, as the product's is (WAL, a busy timeout): threads
    # with their own connections then wait for each other as the web and the worker do. Django's
    # default, a shared in-memory database, makes a reader and a writer of the same table fail
    # at once ("database table is locked"). One file per test process, deleted at its end.
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"tasksync-test-{os.getpid()}.sqlite3")
    }
