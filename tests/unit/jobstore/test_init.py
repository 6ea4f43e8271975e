import jobstore


def test_public_surface_is_sorted_and_importable():
    assert jobstore.__all__ == sorted(jobstore.__all__)
    for name in jobstore.__all__:
        assert hasattr(jobstore, name)
