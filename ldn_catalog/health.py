"""/healthz: is this process able to serve the catalog? For load balancers and monitors."""

import logging
import uuid

from django.core.cache import cache
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger("ldn_catalog.health")


def check_database(alias):
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in pending)
        return f"unapplied migrations: {names}"
    return "ok"


def check_cache():
    key, value = f"healthz:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=10)
    stored = cache.get(key)
    cache.delete(key)
    # django-redis is set to ignore errors, so a down Redis shows as a lost value.
    return "ok" if stored == value else "cache does not keep values"


@never_cache
@require_GET
def healthz(request):
    checks = {}
    for alias in connections:
        try:
            checks[f"database:{alias}"] = check_database(alias)
        except DatabaseError as error:
            # The full message (host, port) goes to the log, not to the public answer.
            logger.exception("Health check: database %s unavailable", alias)
            checks[f"database:{alias}"] = f"unavailable ({type(error).__name__})"
    try:
        checks["cache"] = check_cache()
    except Exception as error:  # whatever a cache backend raises, the check has failed
        logger.exception("Health check: cache unavailable")
        checks["cache"] = f"unavailable ({type(error).__name__})"
    healthy = all(result == "ok" for result in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks},
        status=200 if healthy else 503,
    )
