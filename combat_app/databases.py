"""``DATABASE_URL``: where the dashboard stores its runs when several replicas share them.

SQLite is the default (one pod); ``DATABASE_URL=postgres://user:password@host:5432/name`` makes
it PostgreSQL, read with dj-database-url (the adapter to that library is this module). psycopg
3 must be installed (``pip install k8s-combat[postgres]``; the image has it).

Every message about the URL names the variable and shows the URL with its password replaced by
``***``: start-up errors end up in ``kubectl logs``, which more people read than the Secret.
"""

from __future__ import annotations

import importlib.util
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from combat_app import lifecycle

SCHEMES = ("postgres", "postgresql")
CONNECT_TIMEOUT_SECONDS = 5  # libpq's connect_timeout: an unreachable server fails start-up fast
SHAPE = "postgres://user:password@host:5432/name"


def redacted(url: str) -> str:
    """``url`` with its password, if it has one, shown as ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        password = None
        parts = None
    if not password or parts is None:
        # Not a URL urlsplit can take apart: hide whatever sits between "user:" and "@".
        head, at, tail = url.rpartition("@")
        if not at:
            return url
        scheme, sep, userinfo = head.partition("://")
        user = userinfo.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{tail}" if ":" in userinfo else url
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _bad(name: str, url: str, why: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={redacted(url)!r} is not valid: {why}")


def from_url(name: str, url: str) -> dict:
    """Django's ``DATABASES`` entry for ``url``; ``ImproperlyConfigured`` naming ``name`` (and
    never the password) for anything but a complete PostgreSQL URL, or without psycopg."""
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme not in SCHEMES:
        raise _bad(name, url, f"expected {SHAPE}")
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        port = urlsplit(url).port  # dj-database-url keeps a port it cannot read as an int
    except ValueError:  # dj_database_url.ParseError and urlsplit's port errors are ValueErrors
        raise _bad(name, url, f"expected {SHAPE} (quote special characters with %XX)") from None
    if not config.get("HOST") or not config.get("NAME"):
        raise _bad(name, url, f"expected {SHAPE}: a host and a database name")
    if importlib.util.find_spec("psycopg") is None:
        raise ImproperlyConfigured(
            f"{name} names PostgreSQL, but psycopg is not installed: pip install 'k8s-combat[postgres]'"
        )
    config["PORT"] = port or 5432
    config.setdefault("OPTIONS", {}).setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    return config


MIGRATION_LOCK = 0x6B38_735F_6D69_6772  # "k8s_migr": a PostgreSQL advisory lock's key


def migrate() -> None:
    """Apply the migrations (blocking). On PostgreSQL, under an advisory lock: two replicas that
    start together migrate one after the other, and the second finds nothing left to do."""
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        call_command("migrate", interactive=False, verbosity=0)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            call_command("migrate", interactive=False, verbosity=0)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])


class DatabaseUnreachable(lifecycle.StartupFailed):
    """The configured database cannot be used; the message says which, without its password."""


def check(alias: str = "default") -> None:
    """Connect to the database now; ``DatabaseUnreachable`` if that fails (blocking)."""
    from django.conf import settings
    from django.db import OperationalError, connections

    database = settings.DATABASES[alias]
    try:
        connections[alias].ensure_connection()
    except OperationalError as exc:
        connections[alias].close()
        where = (
            f"{database.get('USER')}@{database.get('HOST')}:{database.get('PORT')}/{database.get('NAME')}"
            if database.get("HOST")
            else str(database.get("NAME"))
        )
        reason = " ".join(str(exc).split())
        password = database.get("PASSWORD")
        if password:
            reason = reason.replace(str(password), "***")
        variable = "DATABASE_URL" if database.get("HOST") else "DATABASE_PATH"
        raise DatabaseUnreachable(f"{variable}: cannot use the database {where}: {reason}") from None
