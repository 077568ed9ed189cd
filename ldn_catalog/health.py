"""/healthz: is this process able to serve the catalog? For load balancers and monitors.

The database is required: without it (or with migrations not applied) the answer is 503.
The cache is not: pages, exports and sign-in work without it, only slower, so a cache
that does not answer is reported as "degraded" with 200, and no load balancer pulls
every instance because Redis went away.
"""

import logging
import uuid

from django.core.cache import cache
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

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
    if stored != value:
        logger.warning("Health check: the cache does not keep values")
        return "degraded"
    return "ok"


@never_cache
@require_safe
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
    except Exception:  # whatever a cache backend raises, the cache is of no use now
        logger.exception("Health check: cache unavailable")
        checks["cache"] = "degraded"
    required = [result for name, result in checks.items() if name.startswith("database:")]
    if any(result != "ok" for result in required):
        status = "error"
    else:
        status = "ok" if checks["cache"] == "ok" else "degraded"
    return JsonResponse(
        {"status": status, "checks": checks}, status=503 if status == "error" else 200
    )
