"""A bare Celery app for a real worker process that only answers control pings.

``celery -A tests.unit.service.ping_worker worker`` with ``RA_TEST_BROKER`` set; it imports
nothing of the project's workers, so readiness is tested without torch.
"""

import os

from celery import Celery

app = Celery("ping-only", broker=os.environ.get("RA_TEST_BROKER", "memory://"))
app.conf.update(worker_hijack_root_logger=False, broker_connection_retry_on_startup=True)
