"""Settings for every k8s-combat pod, read from the environment only.

Each variable is listed, with its default, in the README's configuration table. A malformed
value stops start-up with a message naming it (see ``combat_app.env``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from combat_app.databases import from_url as database_from_url
from combat_app.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_redis_url,
    env_secret,
    env_service_url,
    env_str,
    env_targets,
)
from combat_app.targets import Target, base_urls

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_secret("DJANGO_SECRET_KEY", generate=DEBUG)

# The one Service this app calls. Calls (/service, /dial, the dashboard) go here and nowhere else.
COMBAT_SERVICE_URL = env_service_url("COMBAT_SERVICE_URL", "http://k8s-combat-service:8081")
COMBAT_SERVICE_HOST = urlsplit(COMBAT_SERVICE_URL).hostname
COMBAT_CALL_TIMEOUT_SECONDS = env_float("COMBAT_CALL_TIMEOUT_SECONDS", 2.0, minimum=0.05, maximum=60)
COMBAT_DASHBOARD = env_bool("COMBAT_DASHBOARD", False)
# gRPC (the seed's helloworld Greeter): where this pod serves it (0 turns it off), and the port
# of the Service's gRPC port that /grpc_client and the dashboard's gRPC modes call.
COMBAT_GRPC_HOST = env_str("COMBAT_GRPC_HOST", "127.0.0.1")
COMBAT_GRPC_PORT = env_int("COMBAT_GRPC_PORT", 50051, minimum=0, maximum=65535)
SHUTDOWN_GRPC_GRACE_SECONDS = 5
COMBAT_SERVICE_GRPC_PORT = env_int("COMBAT_SERVICE_GRPC_PORT", 50051, minimum=1, maximum=65535)

# The dashboard (consumer pod only). See the README's configuration table.
DASHBOARD_SERVICE = env_str("DASHBOARD_SERVICE", "k8s-combat-service")
DASHBOARD_DEPLOYMENT = env_str("DASHBOARD_DEPLOYMENT", DASHBOARD_SERVICE)
DASHBOARD_NAMESPACE = env_str("DASHBOARD_NAMESPACE", env_str("POD_NAMESPACE", "default"))
# Every Service the page may pick, the first shown first (name, or name.namespace); calls go to
# these and nowhere else. The home one (DASHBOARD_SERVICE in DASHBOARD_NAMESPACE) is called at
# COMBAT_SERVICE_URL and is the one the chaos buttons act on.
DASHBOARD_SERVICES = env_targets("DASHBOARD_SERVICES", DASHBOARD_SERVICE, own_namespace=DASHBOARD_NAMESPACE)
DASHBOARD_CHAOS = env_bool("DASHBOARD_CHAOS", False)
DASHBOARD_TOKEN = env_str("DASHBOARD_TOKEN", "")
DASHBOARD_LEGACY_ENDPOINTS = env_bool("DASHBOARD_LEGACY_ENDPOINTS", False)
DASHBOARD_WATCH_SILENCE_SECONDS = env_float("DASHBOARD_WATCH_SILENCE_SECONDS", 90, minimum=1, maximum=3600)
DASHBOARD_MAX_CONCURRENCY = env_int("DASHBOARD_MAX_CONCURRENCY", 64, minimum=1, maximum=64)
DASHBOARD_MAX_RUNS = env_int("DASHBOARD_MAX_RUNS", 50, minimum=1, maximum=10_000)
DASHBOARD_COMMANDS_PER_SECOND = env_float("DASHBOARD_COMMANDS_PER_SECOND", 20, minimum=1, maximum=1000)
DASHBOARD_MIGRATE = env_bool("DASHBOARD_MIGRATE", True)
DASHBOARD_CHANNEL_LAYER = env_str("DASHBOARD_CHANNEL_LAYER", "")
# Each dashboard process beats this often; a running run whose process has not beaten for the
# expiry is marked interrupted by another (dashboard.heartbeats). The expiry must leave room for
# a few missed beats.
DASHBOARD_HEARTBEAT_SECONDS = env_float("DASHBOARD_HEARTBEAT_SECONDS", 5, minimum=0.2, maximum=60)
DASHBOARD_HEARTBEAT_EXPIRY_SECONDS = env_float(
    "DASHBOARD_HEARTBEAT_EXPIRY_SECONDS", 30, minimum=1, maximum=3600
)
if DASHBOARD_HEARTBEAT_EXPIRY_SECONDS < 3 * DASHBOARD_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        f"DASHBOARD_HEARTBEAT_EXPIRY_SECONDS={DASHBOARD_HEARTBEAT_EXPIRY_SECONDS:g} is not valid: expected "
        f"at least 3 x DASHBOARD_HEARTBEAT_SECONDS ({3 * DASHBOARD_HEARTBEAT_SECONDS:g}), or a slow beat "
        "would interrupt a live process's runs"
    )

# Behind `kubectl port-forward` the browser says Host: localhost; probes send Host: localhost;
# pods call each other by the Service's name. Nothing else is a host this app answers to.
_EXTRA_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
if "*" in _EXTRA_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name hosts; '*' would accept any Host header")
# A Service is reached by its short name and by its qualified names (Kubernetes' DNS for Services):
# name.namespace, name.namespace.svc and name.namespace.svc.cluster.local.
_SERVICE_NAMESPACE = env_str("POD_NAMESPACE", "default")
_SERVICE_HOSTS = [COMBAT_SERVICE_HOST]
if not any(mark in COMBAT_SERVICE_HOST for mark in ".:"):  # a short name, not an IP or an FQDN
    _SERVICE_HOSTS = list(Target(COMBAT_SERVICE_HOST, _SERVICE_NAMESPACE).dns_names(_SERVICE_NAMESPACE))
DASHBOARD_HOME = Target(DASHBOARD_SERVICE, DASHBOARD_NAMESPACE)
DASHBOARD_TARGET_URLS = base_urls(
    DASHBOARD_SERVICES, home=DASHBOARD_HOME, home_url=COMBAT_SERVICE_URL, own_namespace=_SERVICE_NAMESPACE
)
# The other targets by every DNS name they have (/grpc_client may be asked for any of them).
_OTHER_TARGET_HOSTS = [
    name
    for target in DASHBOARD_SERVICES
    if target != DASHBOARD_HOME
    for name in target.dns_names(_SERVICE_NAMESPACE)
]
# What /grpc_client may be asked to call: the configured Services, by any of their names.
COMBAT_SERVICE_NAMES = tuple(dict.fromkeys(_SERVICE_HOSTS + _OTHER_TARGET_HOSTS))
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", *_SERVICE_HOSTS, *_EXTRA_HOSTS]

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "combat_app",
    "dashboard",
]
# The local cluster (`manage.py sandbox`) is a development tool: the image does not ship it.
if importlib.util.find_spec("sandbox") is not None:
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "combat_app.urls"
ASGI_APPLICATION = "combat_app.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# The root filesystem of a pod is read-only; /tmp is an emptyDir (see manifests/).
DATABASE_PATH = env_str("DATABASE_PATH", str(BASE_DIR / ".data" / "db.sqlite3"))
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:  # postgres://user:password@host:5432/name, for several dashboard replicas
    DATABASES = {"default": database_from_url("DATABASE_URL", DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATABASE_PATH,
            # WAL lets the API read while the call writer writes; IMMEDIATE avoids lock upgrades.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if DASHBOARD_CHANNEL_LAYER:  # redis://host:6379/0: several dashboard replicas share broadcasts
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A pooled connection that a restarted Redis closed fails its next command: redis-py
                # reconnects and tries again (a few times, 50 ms apart at first) instead of failing
                # the websocket that asked.
                "hosts": [
                    {
                        "address": env_redis_url("DASHBOARD_CHANNEL_LAYER"),
                        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
                        "retry_on_error": [RedisConnectionError],
                    }
                ],
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
else:
    # One process. Broadcasts are coalesced (20 a second at most), so 1000 is minutes of slack.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 1000, "expiry": 30},
        }
    }

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LANGUAGE_CODE = "en"
# The seed tutorial's readers: English, and Simplified Chinese (chosen from Accept-Language).
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_SAMESITE = "Strict"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# Hardening that applies over plain HTTP too.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"

# Users reach the dashboard with `kubectl port-forward`, which is plain HTTP on localhost: the
# HTTPS-only settings would break it. Set COMBAT_HTTPS=true behind a TLS-terminating Ingress.
COMBAT_HTTPS = env_bool("COMBAT_HTTPS", False)
if COMBAT_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SILENCED_SYSTEM_CHECKS = [
        "security.W005",  # HSTS includeSubDomains: other hosts of the domain are not ours to decide
        "security.W021",  # HSTS preload: idem
    ]
else:
    SILENCED_SYSTEM_CHECKS = [
        "security.W004",  # SECURE_HSTS_SECONDS: HSTS needs HTTPS
        "security.W008",  # SECURE_SSL_REDIRECT: port-forward is HTTP
        "security.W016",  # CSRF_COOKIE_SECURE: idem, and the page's forms would fail
    ]

LOG_LEVEL = env_choice("COMBAT_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "bare": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "bare": {"class": "logging.StreamHandler", "formatter": "bare"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # The seed logs "<hostname> ping" on every ping; that line stays as bare as it was.
    "loggers": {"combat_app.ping": {"handlers": ["bare"], "level": LOG_LEVEL, "propagate": False}},
}
