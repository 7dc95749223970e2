"""The one settings module, configured from the environment.

Defaults give the embedded run (`make run`): SQLite under var/, a Celery
broker on the file system, Django's server. Production mode
(`PSA_ENV=production`) refuses to start with an unsafe configuration.
"""

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PSA_VAR_DIR", BASE_DIR / "var"))

INSECURE_SECRET_KEY = "insecure-embedded-default-change-me"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = os.environ.get("PSA_ENV", "development").lower() == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)
SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_SECRET_KEY)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver"
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

if PRODUCTION:
    # Refuse to start rather than run a production site with development defaults.
    problems = []
    if DEBUG:
        problems.append("DEBUG must be off")
    # deploy/psa.env.example's placeholders say "change-me": one copied unchanged is refused.
    if SECRET_KEY == INSECURE_SECRET_KEY or len(SECRET_KEY) < 50 or "change-me" in SECRET_KEY:
        problems.append("SECRET_KEY must be set to a random value of at least 50 characters")
    if not ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS must name the site's hosts")
    if not os.environ.get("DATABASE_URL"):
        problems.append("DATABASE_URL must point at PostgreSQL")
    if "change-me" in os.environ.get("METRICS_TOKEN", ""):
        problems.append("METRICS_TOKEN must be a random value, not the example's")
    if problems:
        raise ImproperlyConfigured("Unsafe production configuration: " + "; ".join(problems))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "rules.apps.AutodiscoverRulesConfig",
    "auditlog",
    "axes",
    "psa.apps.PsaConfig",
    "resourcing.apps.ResourcingConfig",
    "billing.apps.BillingConfig",
    "revenue.apps.RevenueConfig",
    "crm_sync.apps.CrmSyncConfig",
    "insight.apps.InsightConfig",
]

MIDDLEWARE = [
    "psa.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "psa.common.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "psa.urls"
WSGI_APPLICATION = "psa.wsgi.application"
ASGI_APPLICATION = "psa.asgi.application"

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
                "psa.views.context.navigation",
                "crm_sync.context_processors.sync_alerts",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    # An empty DATABASE_URL counts as unset (a shell's `DATABASE_URL= make ...`).
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'psa.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60" if PRODUCTION else "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, worker and beat share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, so a real worker can share the test database (tests/integration/);
    # one per process so concurrent test runs never clobber each other's database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
elif (DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
      and os.environ.get("PSA_DB_JIT", "off").lower() != "on"):
    # PostgreSQL's JIT compiles a query whose estimated cost is high before running it; for
    # the reports' grouped aggregates that compilation took longer (over a second) than the
    # query itself. PSA_DB_JIT=on restores the server's default.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ATOMIC_REQUESTS = False

CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith("redis"):
    CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
        # Short timeouts: the cache only holds rate-limit counters, and an unreachable host
        # must not hold every API request for the system's connect timeout.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed-login lockout: five failures for a username from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# How many proxies of ours stand in front of gunicorn (deploy/: one); the lockout then counts
# per client address, not per the proxy's (psa/common/client_ip.py).
TRUSTED_PROXY_COUNT = int(os.environ.get("PSA_TRUSTED_PROXIES", "0"))
AXES_CLIENT_IP_CALLABLE = "psa.common.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request without it
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "psa@localhost")

# Security headers; the HTTPS-only ones apply in production, behind a TLS-terminating proxy.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers and scrapers talk plain HTTP to the web process behind the proxy.
    SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^metrics$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- REST API (API.md) ---
API_PAGE_SIZE = 100
API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", "365"))  # a new token's lifetime
API_MAX_PAGE_SIZE = 500
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "psa.common.tokens.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "psa.common.permissions.ActionPermission",
    ],
    "DEFAULT_PAGINATION_CLASS": "psa.common.pagination.StableCursorPagination",
    "PAGE_SIZE": API_PAGE_SIZE,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["psa.common.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("API_RATE_LIMIT", "1200/min")},
    "DEFAULT_SCHEMA_CLASS": "psa.api.base.PsaAutoSchema",
    "EXCEPTION_HANDLER": "psa.common.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only (a form body would silently drop nested fields such as external_refs);
    # expenses also take multipart, for their receipt.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATE_FORMAT": "iso-8601",  # strftime would drop the zeros of years before 1000
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
DRF_STANDARDIZED_ERRORS = {"ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True}
SPECTACULAR_SETTINGS = {
    "TITLE": "PSA API",
    "DESCRIPTION": "The REST contract for external systems (API.md).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        name: f"drf_standardized_errors.openapi_serializers.{name}.choices"
        for name in (
            "ValidationErrorEnum", "ClientErrorEnum", "ServerErrorEnum", "ErrorCode401Enum",
            "ErrorCode403Enum", "ErrorCode404Enum", "ErrorCode405Enum", "ErrorCode406Enum",
            "ErrorCode415Enum", "ErrorCode429Enum", "ErrorCode500Enum",
        )
    } | {
        # Several models have a `status`; name each enum after its model (API helper, issue #1).
        f"{model}StatusEnum": f"psa.models.{model}.Status"
        for model in ("Contract", "ChangeOrder", "Project", "Milestone", "Period", "TimeEntry")
    } | {"CurrencyEnum": "psa.common.money.CURRENCY_CHOICES"},
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
    ],
}
IDEMPOTENCY_KEY_TTL_HOURS = 24

# --- Celery: Redis in production and CI, a file-system transport for the embedded run ---
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    # Tests get their own folder: messages a test run enqueues must never reach the worker of
    # `make run` (it would act on ids of the development database). Exported, so a worker the
    # integration tests start shares it.
    if "pytest" in sys.modules:
        os.environ.setdefault("CELERY_FILE_BROKER_DIR", str(VAR_DIR / "test-broker"))
    _queue_dir = Path(os.environ.get("CELERY_FILE_BROKER_DIR", VAR_DIR / "broker"))
    for sub in ("queue", "processed"):
        (_queue_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT = "psa.common.file_broker:Transport"  # atomic message files
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),  # else `control/` in the working dir
        "store_processed": False,
        # Look for new messages ten times a second (kombu's default is once a second, which
        # with three queues adds seconds to every hop of an outbox chain).
        "polling_interval": 0.1,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Queues split by kind (ARCHITECTURE.md: Runtime); each app's tasks go to one of them.
CELERY_TASK_ROUTES = {
    "psa.*": {"queue": "default"},
    "resourcing.*": {"queue": "default"},
    "billing.*": {"queue": "billing"},
    "revenue.*": {"queue": "billing"},
    "crm_sync.*": {"queue": "sync"},
    "reports.*": {"queue": "reports"},
}
CELERY_TIMEZONE = "UTC"
WORKER_QUEUES = ("default", "sync", "billing", "reports")
# A queue whose heartbeat (beat sends one every HEARTBEAT_SECONDS) is older than this has no
# live worker: /health/ says so and the metrics show its age.
HEARTBEAT_SECONDS = 30
WORKER_STALE_SECONDS = int(os.environ.get("WORKER_STALE_SECONDS", "120"))
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Outbox (psa/events.py) ---
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8"))
OUTBOX_BACKOFF_BASE_SECONDS = float(os.environ.get("OUTBOX_BACKOFF_BASE_SECONDS", "10"))
OUTBOX_BACKOFF_MAX_SECONDS = float(os.environ.get("OUTBOX_BACKOFF_MAX_SECONDS", "3600"))
OUTBOX_LEASE_SECONDS = int(os.environ.get("OUTBOX_LEASE_SECONDS", "300"))
OUTBOX_SWEEP_GRACE_SECONDS = int(os.environ.get("OUTBOX_SWEEP_GRACE_SECONDS", "60"))
# Extra modules that register subscribers (comma-separated); the integration tests' probe.
OUTBOX_EXTRA_SUBSCRIBER_MODULES = env_list("PSA_EXTRA_SUBSCRIBERS")

# --- Integration hub (crm_sync) ---
# Fernet keys for connector secrets, newest first (crm_sync/crypto.py); empty = from SECRET_KEY.
CONNECTOR_ENCRYPTION_KEYS = env_list("PSA_CONNECTOR_KEYS")
SYNC_HTTP_TIMEOUT_SECONDS = float(os.environ.get("SYNC_HTTP_TIMEOUT_SECONDS", "10"))
# Outbound webhooks to loopback, private or plain-http receivers: fine on a developer's
# machine and for the emulators, refused in production (request forgery against the inside).
WEBHOOK_PRIVATE_TARGETS_ALLOWED = env_bool("PSA_WEBHOOK_PRIVATE_TARGETS", not PRODUCTION)
SYNC_WEBHOOK_TOLERANCE_SECONDS = int(os.environ.get("SYNC_WEBHOOK_TOLERANCE_SECONDS", "300"))
# Anything stuck longer than this raises an alert (banner + e-mail to the administrators).
SYNC_ALERT_AFTER_MINUTES = int(os.environ.get("SYNC_ALERT_AFTER_MINUTES", "60"))
SYNC_ALERT_EMAILS = env_list("SYNC_ALERT_EMAILS")

# Timesheets: a week is due by this weekday (0 = Monday) and hour, in the legal entity's zone.
TIMESHEET_DEADLINE_WEEKDAY = int(os.environ.get("TIMESHEET_DEADLINE_WEEKDAY", "0"))
TIMESHEET_DEADLINE_HOUR = int(os.environ.get("TIMESHEET_DEADLINE_HOUR", "12"))
RECEIPT_MAX_BYTES = 10 * 1024 * 1024  # DOMAIN.md: receipts are at most 10 MB
PSA_BASE_URL = os.environ.get("PSA_BASE_URL", "")  # optional: absolute links in e-mails

# --- Insight (dashboard, project health) ---
# The dashboard's currency when no legal entity or currency is chosen.
REPORTING_CURRENCY = os.environ.get("PSA_REPORTING_CURRENCY", "USD")

DEMO_PASSWORD = "demo"

# Production logs one JSON object a line (time, level, logger, message, correlation id,
# exception), the shape log shippers index; LOG_FORMAT=plain|json overrides.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json" if PRODUCTION else "plain")
# Bearer token a Prometheus scraper sends to /metrics; empty: only this machine may scrape.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "json": {"()": "psa.common.json_logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler",
                             "formatter": "json" if LOG_FORMAT == "json" else "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # one INFO line per sign-in is noise; lockouts still show
        "weasyprint": {"level": "WARNING"},  # a line per rendering step of every invoice PDF
        "fontTools": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},  # a line per connector request; errors are ours to log
    },
}
