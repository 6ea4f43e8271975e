"""The names the API and the workers agree on to hand a job over through the broker.

The API sends the audit task by name (it never imports the workers); the workers register it
under the same name and consume the same queue. The message carries the job id only: inputs
and results travel through the payload store.
"""

from __future__ import annotations

from typing import Final

AUDIT_TASK: Final = "audit.run"
"""Name of the Celery task that audits one job; its only argument is the job id."""
AUDIT_QUEUE: Final = "audit"
"""Queue the audit task is sent to and the workers consume."""
