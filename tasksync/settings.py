"""Settings for tasksync, read from the environment (see .env.example for every variable)."""

import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# A .env file is optional and never overrides variables already set in the environment. The test
# settings skip it so a developer's .env never changes what the suite sees.
if not env.bool("TASKSYNC_IGNORE_DOTENV", default=False):
    environ.Env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105 - DEBUG only
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Apps -------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "django_htmx",
    "axes",
    "accounts",
    "tasksync",
]  # + "salesforce_emulator" when the demo uses it (SALESFORCE_EMULATOR below)

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # R17: sign-in throttling; last, so it sees the lockout raised by its backend.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tasksync.urls"
WSGI_APPLICATION = "tasksync.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and scheduler are separate processes writing one file: WAL lets readers go on
    # while one writes, IMMEDIATE takes the write lock up front instead of failing mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Persistent connections (seconds; 0 closes after each request or job). Without them
    # django-q2's database broker reconnects for every job queued outside a transaction.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int(
        "DATABASE_CONN_MAX_AGE", default=DATABASES["default"].get("CONN_MAX_AGE") or 60
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "command_center"
LOGOUT_REDIRECT_URL = "login"
# R17: sign-in (the app's and the admin's) is throttled by django-axes: after AXES_FAILURE_LIMIT
# failed attempts for one username from one IP address, that pair is locked for
# AXES_COOLOFF_MINUTES (a success before then resets the count). Locking the pair, not the
# username alone, keeps a stranger from locking a rep out from everywhere. Staff unlock early
# in the admin (Axes → Access attempts) or with `manage.py axes_reset_username <name>`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.auth_views.locked_out"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"  # R16: stored times are UTC; each user has their own time zone.
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))

# --- Security (production) --------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # urllib3 logs full URLs at DEBUG; those can carry OAuth codes. Keep it quiet.
        "urllib3": {"level": "WARNING"},
        # django-axes logs every sign-in at INFO; its warnings (failures, lockouts) are kept.
        "axes": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
    },
}

# --- Background jobs (django-q2) --------------------------------------------------------------
Q_CLUSTER = {
    "name": "tasksync",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=300),
    "retry": env.int(
        "Q_RETRY", default=360
    ),  # must exceed timeout, or a running job is re-delivered
    "max_attempts": 3,
    "catch_up": False,  # a missed poll slot is not worth replaying: the next poll reads everything
    # Successful jobs kept in django-q2's result table: -1 none (every sync run is its own
    # SyncRun row already; failures are always kept), N the last N (django-q2 then locks and
    # reads all N on every job it records: ~7 ms of CPU a job at 500, issue 16, B4), 0 all.
    "save_limit": env.int("Q_SAVE_LIMIT", default=-1),
    # With the database broker, how often an idle worker looks for a job: a local edit waits up to
    # this long before its push starts (B6). Redis hands jobs over at once.
    "poll": env.float("Q_POLL", default=0.5),
    "label": _("Background jobs"),
    "scheduler": env.bool("Q_SCHEDULER", default=True),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Salesforce -------------------------------------------------------------------------------
SALESFORCE_API_VERSION = env.str("SALESFORCE_API_VERSION", default="59.0")
SALESFORCE_CLIENT_ID = env.str("SALESFORCE_CLIENT_ID", default="")
SALESFORCE_CLIENT_SECRET = env.str("SALESFORCE_CLIENT_SECRET", default="")
SALESFORCE_LOGIN_URL = env.str("SALESFORCE_LOGIN_URL", default="https://login.salesforce.com")
SALESFORCE_CA_BUNDLE = env.str("SALESFORCE_CA_BUNDLE", default="")
SALESFORCE_TIMEOUT = env.float("SALESFORCE_TIMEOUT", default=30.0)
# R12: a transient error on a read, update or delete is retried this many times within a run,
# waiting about SALESFORCE_BACKOFF_SECONDS, doubling each time, with jitter.
SALESFORCE_TRANSIENT_RETRIES = env.int("SALESFORCE_TRANSIENT_RETRIES", default=2)
SALESFORCE_BACKOFF_SECONDS = env.float("SALESFORCE_BACKOFF_SECONDS", default=1.0)
# R13 (issue 16): chain query pages, and pack pushes and the delete log, into Composite calls
# (one call toward the limit each). Off: the same reads and writes, one plain call each.
SALESFORCE_COMPOSITE = env.bool("SALESFORCE_COMPOSITE", default=True)
# R10, optional: the API name of a custom text field on Activity (Task), marked External ID, that
# carries each create's key, so a create whose answer was lost is recognised by the key whatever
# was changed in Salesforce before the next poll. Empty: recognised by content and Subject.
SALESFORCE_TASK_EXTERNAL_ID_FIELD = env.str("SALESFORCE_TASK_EXTERNAL_ID_FIELD", default="")
if SALESFORCE_TASK_EXTERNAL_ID_FIELD and not re.fullmatch(
    r"[A-Za-z][A-Za-z0-9_]*__c", SALESFORCE_TASK_EXTERNAL_ID_FIELD
):
    raise ImproperlyConfigured(
        "SALESFORCE_TASK_EXTERNAL_ID_FIELD must be a custom field's API name, like TasksyncId__c"
    )
SALESFORCE_STATUS_OPEN = env.str("SALESFORCE_STATUS_OPEN", default="Not Started")
SALESFORCE_STATUS_COMPLETE = env.str("SALESFORCE_STATUS_COMPLETE", default="Completed")
# R19: the Pub/Sub API endpoint (gRPC over TLS) that `manage.py stream_changes` subscribes to.
PUBSUB_URL_DEFAULT = "api.pubsub.salesforce.com:7443"
SALESFORCE_PUBSUB_URL = env.str("SALESFORCE_PUBSUB_URL", default="") or PUBSUB_URL_DEFAULT
# The demo runs against the bundled Salesforce emulator when no real Connected App is configured.
SALESFORCE_EMULATOR = env.bool("SALESFORCE_EMULATOR", default=DEBUG and not SALESFORCE_CLIENT_ID)
if SALESFORCE_EMULATOR:
    INSTALLED_APPS.append("salesforce_emulator")  # its run_salesforce_emulator command
    EMULATOR_DATA_DIR = Path(
        env.str("EMULATOR_DATA_DIR", default=str(BASE_DIR / "var" / "emulator"))
    )
    SALESFORCE_CLIENT_ID = SALESFORCE_CLIENT_ID or "tasksync-demo-client"
    SALESFORCE_CLIENT_SECRET = SALESFORCE_CLIENT_SECRET or "tasksync-demo-secret"  # noqa: S105
    SALESFORCE_LOGIN_URL = env.str("SALESFORCE_LOGIN_URL", default="http://127.0.0.1:8444")
    SALESFORCE_CA_BUNDLE = SALESFORCE_CA_BUNDLE or str(EMULATOR_DATA_DIR / "cert.pem")
    SALESFORCE_PUBSUB_URL = env.str("SALESFORCE_PUBSUB_URL", default="") or "127.0.0.1:8445"

# Fernet keys, comma-separated, newest first. Old keys still decrypt, so keys can be rotated.
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS", default=[])
if not TOKEN_ENCRYPTION_KEYS and not DEBUG:
    raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS must be set when DEBUG is off.")

# --- Sync -------------------------------------------------------------------------------------
SYNC_POLL_SECONDS = env.int("SYNC_POLL_SECONDS", default=60)
# Polls per django-q2 job, at most, when many are due at once (issue 16, B4; 1: a job a poll).
SYNC_POLL_BATCH = env.int("SYNC_POLL_BATCH", default=10)
# Polls of one batch run at once, in threads of the worker: a poll mostly waits on Salesforce.
# SQLite takes one writer at a time, so there it stays one by one unless set.
SYNC_POLL_THREADS = env.int(
    "SYNC_POLL_THREADS",
    default=1 if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else 4,
)
SYNC_API_BUDGET_SHARE = env.float("SYNC_API_BUDGET_SHARE", default=0.5)
SYNC_LOG_RETENTION_DAYS = env.int("SYNC_LOG_RETENTION_DAYS", default=31)
SYNC_LEASE_SECONDS = env.int("SYNC_LEASE_SECONDS", default=Q_CLUSTER["timeout"] + 60)
# R19: while an org's change stream is healthy its users are polled only this often.
SYNC_STREAM_SAFETY_POLL_SECONDS = env.int("SYNC_STREAM_SAFETY_POLL_SECONDS", default=900)
# R19: how long a dead subscriber holds an org's stream before another machine takes it over.
SYNC_STREAM_LEASE_SECONDS = env.int("SYNC_STREAM_LEASE_SECONDS", default=30)
