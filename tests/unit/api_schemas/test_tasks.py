from api_schemas import tasks


def test_task_and_queue_names_are_the_wire_contract():
    # Workers of the previous release consume these during a rolling upgrade: renaming either
    # strands queued jobs, so a change must be deliberate.
    assert (tasks.AUDIT_TASK, tasks.AUDIT_QUEUE) == ("audit.run", "audit")
