"""Stateful property test: random sequences of record operations agree with a tiny model.

Invariants after every step: each record is in exactly the indexes of its state, listings
show every live job once, newest first, and conditional transitions refuse what the model
refuses.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from jobstore import (
    JobAlreadyFinishedError,
    JobRecords,
    JobRunningError,
    new_job_id,
)

TENANTS = ("acme", "globex")
WORKERS = ("w1", "w2")
LEASE = 1000.0


class RecordsMachine(RuleBasedStateMachine):
    client = None

    @initialize()
    def setup(self):
        self.client.flushall()
        self.records = JobRecords(self.client, prefix="sm")
        self.model: dict[str, dict] = {}
        self.order: list[str] = []

    def _ids(self):
        return list(self.order)

    @rule(tenant=st.sampled_from(TENANTS))
    def create(self, tenant):
        job_id = new_job_id()
        self.records.create(job_id, tenant, 3)
        self.model[job_id] = {"tenant": tenant, "state": "queued", "worker": None}
        self.order.append(job_id)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), worker=st.sampled_from(WORKERS))
    def try_start(self, data, worker):
        job_id = data.draw(st.sampled_from(self._ids()))
        job = self.model[job_id]
        ok = self.records.try_start(job_id, worker, LEASE)
        assert ok == (job["state"] == "queued")
        if ok:
            job.update(state="running", worker=worker)

    @precondition(lambda self: self.model)
    @rule(
        data=st.data(),
        worker=st.sampled_from(WORKERS),
        outcome=st.sampled_from(["succeeded", "failed"]),
    )
    def finish(self, data, worker, outcome):
        job_id = data.draw(st.sampled_from(self._ids()))
        job = self.model[job_id]
        ok = self.records.finish(job_id, worker, outcome)
        assert ok == (job["state"] == "running" and job["worker"] == worker)
        if ok:
            job["state"] = outcome

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def cancel(self, data):
        job_id = data.draw(st.sampled_from(self._ids()))
        job = self.model[job_id]
        if job["state"] in ("succeeded", "failed"):
            with pytest.raises(JobAlreadyFinishedError):
                self.records.request_cancel(job_id)
            return
        record = self.records.request_cancel(job_id)
        if job["state"] == "queued":
            job["state"] = "cancelled"
        assert record.state == job["state"]
        assert record.cancel_requested

    @precondition(lambda self: self.model)
    @rule(data=st.data(), worker=st.sampled_from(WORKERS))
    def mark_cancelled(self, data, worker):
        job_id = data.draw(st.sampled_from(self._ids()))
        job = self.model[job_id]
        ok = self.records.mark_cancelled(job_id, worker)
        assert ok == (job["state"] == "running" and job["worker"] == worker)
        if ok:
            job["state"] = "cancelled"

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def delete(self, data):
        job_id = data.draw(st.sampled_from(self._ids()))
        if self.model[job_id]["state"] == "running":
            with pytest.raises(JobRunningError):
                self.records.delete(job_id)
            return
        self.records.delete(job_id)
        del self.model[job_id]
        self.order.remove(job_id)

    @invariant()
    def records_match_model(self):
        for job_id, job in self.model.items():
            record = self.records.require(job_id)
            assert (record.state, record.tenant) == (job["state"], job["tenant"])

    @invariant()
    def listings_match_model(self):
        for tenant in TENANTS:
            expected = [j for j in reversed(self.order) if self.model[j]["tenant"] == tenant]
            seen, token = [], None
            while True:
                page, token = self.records.list(tenant, page_size=2, page_token=token)
                seen += [r.id for r in page]
                if token is None:
                    break
            assert seen == expected
            for state in ("queued", "running", "cancelled"):
                got = [r.id for r in self.records.list(tenant, state=state, page_size=100)[0]]
                assert got == [j for j in expected if self.model[j]["state"] == state]
        counts = self.records.counts_by_state()
        for state, count in counts.items():
            assert count == sum(1 for j in self.model.values() if j["state"] == state)


def test_records_state_machine(redis_client):
    RecordsMachine.client = redis_client
    RecordsMachine.TestCase.settings = settings(
        max_examples=15,
        stateful_step_count=20,
        # Each step is a Redis round trip (slow data generation is expected, not a smell).
        suppress_health_check=list(HealthCheck),
    )
    RecordsMachine.TestCase().runTest()
