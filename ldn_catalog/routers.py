"""Send reads to a read replica and everything else to the primary.

Active only when DATABASE_REPLICA_URL is set (see settings.py). A read inside a
transaction on the primary stays on the primary, so code that writes and then reads
(the admin, the importer) sees its own writes despite replication lag.
"""

from django.db import connections

PRIMARY = "default"
REPLICA = "replica"
# Read on the primary always: the task queue (its worker locks rows to claim a task) and
# the import jobs (their progress and cancel flag must not lag).
PRIMARY_ONLY = {"django_tasks_database.dbtaskresult", "studies.importjob"}


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        if connections[PRIMARY].in_atomic_block or model._meta.label_lower in PRIMARY_ONLY:
            return PRIMARY
        return REPLICA

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the primary's rows: objects from either may be related.
        return {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY
