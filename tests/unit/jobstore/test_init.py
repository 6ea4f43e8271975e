import jobstore


def test_public_surface_is_sorted_and_importable():
    assert jobstore.__all__ == sorted(jobstore.__all__)
    for name in jobstore.__all__:
        assert hasattr(jobstore, name)


def test_task_and_queue_names():
    assert (jobstore.AUDIT_TASK, jobstore.AUDIT_QUEUE) == ("audit.run", "audit")
