"""Settings for the LDN evidence catalog.

One file, driven by the environment. With nothing set, the catalog runs on a
SQLite file in the project folder; production sets DATABASE_URL, SECRET_KEY and
ALLOWED_HOSTS.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment, or set DEBUG=1 for local work."
        )
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")


def default_site_url():
    # The first plain host name allowed, over HTTPS; the development server otherwise.
    names = [h for h in ALLOWED_HOSTS if h[:1] not in {".", "*", "["} and h != "localhost"]
    return f"https://{names[0]}" if names and not DEBUG else "http://localhost:8000"


# The public address of the site, for canonical, share and feed links: never taken from
# the request's Host header, which the client chooses and a cached page would keep.
SITE_URL = (os.environ.get("SITE_URL") or default_site_url()).rstrip("/")
if not SITE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("SITE_URL must be an http:// or https:// address.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "simple_history",
    "axes",
    "django_tasks_db",
    "studies",
]

MIDDLEWARE = [
    # Outermost, so its log line times the whole request and sees the final status.
    "ldn_catalog.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Refuses an oversized body by its Content-Length before anything reads it.
    "ldn_catalog.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # A view whose database is unreachable answers a plain 503 instead of a traceback.
    "ldn_catalog.middleware.DatabaseUnavailableMiddleware",
    # AxesMiddleware last: it turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ldn_catalog.urls"
WSGI_APPLICATION = "ldn_catalog.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
# SQLite has one writer at a time: an import holds the write lock while it writes a file's
# studies (5.5 s for the largest file it takes, 50,000 entries, on a quiet machine). A
# curator's save, a sign-in or a cancel meanwhile waits for it, up to this many seconds
# (SQLite's own default is 5, after which the write failed as "the database is
# unavailable").
SQLITE_WRITE_WAIT = env_int("SQLITE_WRITE_WAIT", 20)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = SQLITE_WRITE_WAIT
    # A file, not a server: nothing holds a connection open but the worker itself, and a
    # new one costs each request about 3 ms (SQLite reads the whole schema, the search
    # index's tables and triggers among them, on its first query). So a worker keeps its
    # connection unless CONN_MAX_AGE says otherwise.
    if not os.environ.get("CONN_MAX_AGE"):
        DATABASES["default"]["CONN_MAX_AGE"] = None

# The cache: Redis when REDIS_URL is set (shared by every server); files in CACHE_DIR when
# that is set (shared by the workers of one machine, and by `manage.py warm_catalog`, so
# that the first readers after a deploy find the catalog's counts computed); local memory
# of each process otherwise.
# The site needs no cache to work: with Redis away every cache operation fails fast and
# counts as a miss (IGNORE_EXCEPTIONS, logged), and each one tries to connect afresh, so
# the cache comes back by itself with Redis (docs/operations.md).
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHE_DIR = os.environ.get("CACHE_DIR", "")
REDIS_TIMEOUT = float(os.environ.get("REDIS_TIMEOUT", "0.5"))  # seconds, connect and reply


def redis_cache(url):
    # Imported only when Redis is configured: about 0.2 s at every start otherwise.
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_TIMEOUT,
            # One immediate retry reconnects a pooled connection Redis dropped (a restart);
            # redis-py's default, three with backoff, would hold every request while Redis
            # is away.
            "CONNECTION_POOL_KWARGS": {"retry": Retry(NoBackoff(), 1)},
        },
    }


DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
if REDIS_URL:
    CACHES = {"default": redis_cache(REDIS_URL)}
elif CACHE_DIR:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": CACHE_DIR,
            "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 10_000)},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Admin login throttling: lock out a user at an address after five failures.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The client's address as the rate limits see it (NUM_PROXIES entries from the right of
# X-Forwarded-For): behind a proxy REMOTE_ADDR is the proxy's, shared by every client.
AXES_CLIENT_IP_CALLABLE = "studies.ratelimits.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

# --- Scale-out: read replica, sessions, HTTP caching (docs/deployment.md) ---------------
# A read replica when DATABASE_REPLICA_URL is set: reads go there, writes to "default".
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL,
        conn_max_age=env_int("CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
    # Tests run against one database: the replica alias reads the default test database.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["ldn_catalog.routers.PrimaryReplicaRouter"]
# Sessions live in the database, so signing in works while the cache is away; with Redis,
# SESSION_ENGINE=django.contrib.sessions.backends.cached_db reads them from the cache
# first. Sessions only in the cache would make every login fail with Redis down.
SESSION_ENGINE = os.environ.get("SESSION_ENGINE", "django.contrib.sessions.backends.db")
if SESSION_ENGINE == "django.contrib.sessions.backends.cache":
    raise ImproperlyConfigured(
        "SESSION_ENGINE=django.contrib.sessions.backends.cache loses every session and "
        "refuses every login while the cache is down: use "
        "django.contrib.sessions.backends.cached_db (or the default, .db)."
    )
# Public pages: how long a browser or CDN may reuse one without asking (seconds). Their
# validators come from the catalog revision, read from the database on every request.
PUBLIC_PAGE_MAX_AGE = env_int("PUBLIC_PAGE_MAX_AGE", 60)
# How long what was computed for one catalog version (the list's facets and page rows, the
# home page's evidence map, the condition index and pages) stays in the cache; a new
# version makes new keys.
CATALOG_DATA_TIMEOUT = env_int("CATALOG_DATA_TIMEOUT", 60 * 60)
# Static files on object storage instead of whitenoise, e.g. (with django-storages)
# STATICFILES_BACKEND=storages.backends.s3.S3ManifestStaticStorage and
# STATIC_URL=https://cdn.example.org/static/.
if os.environ.get("STATICFILES_BACKEND"):
    STORAGES["staticfiles"] = {"BACKEND": os.environ["STATICFILES_BACKEND"]}
    STATIC_URL = os.environ.get("STATIC_URL", STATIC_URL)
# --- end of scale-out settings ------------------------------------------------------------

# Background jobs (imports of every format) with Django's tasks framework, queued in the database:
# `manage.py db_worker` runs them (docs/deployment.md).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# The curated catalog lives in fixtures/: `manage.py loaddata catalog`.
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# Content-Security-Policy: no inline script or style anywhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# HTTPS settings are on unless DEBUG; a proxy terminating TLS sets the header below.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
if env_bool("BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers probe the health check over plain HTTP on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SAMESITE = "Lax"

# How many reverse proxies in front of the site append to X-Forwarded-For. The client's
# address is the one that many entries from the right; with 0 the header is ignored,
# since anyone can send it.
NUM_PROXIES = env_int("NUM_PROXIES", 0)

# Rate limits on the expensive public endpoints, per client address (django-ratelimit
# counts in the default cache: set REDIS_URL so that all workers share the counts).
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_EXPORTS = os.environ.get("RATELIMIT_EXPORTS", "30/m")
RATELIMIT_SEARCH = os.environ.get("RATELIMIT_SEARCH", "120/m")
# If the cache is down, serve rather than refuse everyone.
RATELIMIT_FAIL_OPEN = True

# Seconds a client is told to wait (Retry-After) when the database is unreachable.
DATABASE_UNAVAILABLE_RETRY_AFTER = env_int("DATABASE_UNAVAILABLE_RETRY_AFTER", 30)

# Request limits, set on purpose rather than left to the defaults.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
DATA_UPLOAD_MAX_NUMBER_FILES = 10
BIBTEX_UPLOAD_MAX_BYTES = env_int("BIBTEX_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
# The most entries one file may hold, in any format (a 20 MB BibTeX file holds about 41,000;
# a 20 MB CSV of short rows over a million, whose preview took 3.5 GB).
BIBTEX_MAX_ENTRIES = env_int("BIBTEX_MAX_ENTRIES", 50_000)
# Seconds after which an import job still "checking" or "writing" is taken for one whose
# worker died, and marked failed (studies.jobs.fail_stale_jobs; docs/operations.md). Make
# it longer than the longest import: a 20 MB file takes a few minutes.
IMPORT_JOB_TIMEOUT = env_int("IMPORT_JOB_TIMEOUT", 3600)
# Django caps form fields but not uploaded files: no request body may exceed this.
REQUEST_MAX_BODY_BYTES = env_int(
    "REQUEST_MAX_BODY_BYTES", BIBTEX_UPLOAD_MAX_BYTES + DATA_UPLOAD_MAX_MEMORY_SIZE
)

# One JSON object a line for a log collector (LOG_FORMAT=json), or plain text to read.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ldn_catalog.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        # Each request has its own line from RequestLogMiddleware: runserver's is noise.
        "django.server": {"level": "WARNING"},
        # The importer reports damaged entries itself, per entry.
        "bibtexparser": {"level": "ERROR"},
    },
}
