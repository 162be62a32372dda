"""Settings for the contact center: one module, every deploy-varying value from the environment.

Two shapes share this file:

* embedded (``REDIS_URL`` unset): SQLite under ``var/``, an in-process channel layer and
  tasks that run in a thread pool of the web process after commit; what ``make run`` starts;
* scaled (``REDIS_URL`` set, usually with a PostgreSQL ``DATABASE_URL``): Redis is the Celery
  broker, the Channels layer and the cache, and workers run as their own processes.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from contactcenter.env import (
    EnvError,
    env_bool,
    env_int,
    env_list,
    env_required,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)

# A development key is only tolerated while DEBUG is on; production must bring its own.
_DEV_SECRET_KEY = "insecure-development-key-do-not-use-in-production-0123456789abcdef"  # noqa: S105
if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY) or _DEV_SECRET_KEY
else:
    SECRET_KEY = env_required(
        "SECRET_KEY",
        why="DEBUG is off, so a secret of your own is required "
        '(e.g. python -c "import secrets; print(secrets.token_urlsafe(50))")',
    )
    if SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise EnvError("SECRET_KEY must be at least 50 characters and not the development key when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Base of every webhook URL the Voice API calls; must be reachable from Vonage (or the sandbox).
PUBLIC_URL = env_url("PUBLIC_URL", "http://127.0.0.1:8000", schemes=("http", "https"))

INSTALLED_APPS = [
    "contactcenter.admin_site.ContactCenterAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "contactcenter",
    "accounts",
    "agents",
    "calls",
    "recordings",
    "virtual_numbers",
    "campaigns",
    "voice_sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "contactcenter.urls"
ASGI_APPLICATION = "contactcenter.asgi.application"
WSGI_APPLICATION = "contactcenter.wsgi.application"

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
                "accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------

DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{VAR_DIR / 'contactcenter.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql", "pgsql"),
)
_db = dj_database_url.parse(DATABASE_URL or "")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions keep the threads of one embedded process from
    # tripping over "database is locked".
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    # Under ASGI every request thread would otherwise keep its own connection (CONN_MAX_AGE)
    # or open one per request; a pool bounds both.
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        # Server-side binding lets psycopg prepare the statements a webhook repeats, which skips
        # the planner (about 1 ms for a leg lookup); turn off behind a transaction-mode pgbouncer.
        "server_side_binding": env_bool("DATABASE_SERVER_SIDE_BINDING", True),
    }
    if env_bool("DATABASE_POOL", True):
        _db["OPTIONS"]["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 1, minimum=0),
            "max_size": env_int("DATABASE_POOL_MAX", 10, minimum=1),
            "timeout": 10,
        }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, channel layer, cache ---------------------------------------------------------

REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss"))
EMBEDDED = REDIS_URL is None

if EMBEDDED:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env_str("CHANNELS_PREFIX", "cc") or "cc",
                # Pages resync from the database after a reconnect, so a larger buffer only
                # helps slow consumers; it never replaces the resync.
                "capacity": 500,
                "expiry": 30,
            },
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# --- Celery ---------------------------------------------------------------------------------------

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Limits stay far below the Redis visibility timeout so a re-delivered task is never still running.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 150, minimum=2)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"

# --- Auth, API --------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "contactcenter.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"user": "6000/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Contact Center API",
    "DESCRIPTION": "REST API of the self-hosted contact center on the Vonage Voice API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Voice API ----------------------------------------------------------------------------------

VONAGE_API_URL = env_url("VONAGE_API_URL", "https://api.nexmo.com", schemes=("http", "https"))
VONAGE_APPLICATION_ID = env_str("VONAGE_APPLICATION_ID")
VONAGE_PRIVATE_KEY = env_str("VONAGE_PRIVATE_KEY")
VONAGE_PRIVATE_KEY_PATH = env_str("VONAGE_PRIVATE_KEY_PATH")
if VONAGE_PRIVATE_KEY and VONAGE_PRIVATE_KEY_PATH:
    raise EnvError("Set only one of VONAGE_PRIVATE_KEY and VONAGE_PRIVATE_KEY_PATH")
if VONAGE_PRIVATE_KEY_PATH and not Path(VONAGE_PRIVATE_KEY_PATH).is_file():
    raise EnvError(f"VONAGE_PRIVATE_KEY_PATH points at {VONAGE_PRIVATE_KEY_PATH!r}, which is not a readable file")
VONAGE_SIGNATURE_SECRET = env_str("VONAGE_SIGNATURE_SECRET")
VONAGE_API_KEY = env_str("VONAGE_API_KEY")
VONAGE_API_SECRET = env_str("VONAGE_API_SECRET")

# --- Security ---------------------------------------------------------------------------------------

# Behind TLS by default in production; a plain-HTTP development server turns it off with DEBUG.
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Webhook bodies are small; a cap keeps a hostile sender from filling memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024)

# --- I18N, static ------------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": VAR_DIR / "media"}},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Served by WhiteNoise straight from the source folders, so no collectstatic step is needed to run.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # One line per outbound request is noise; failures are logged by our own code.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
