"""Errors raised by the estimator library."""


class EstimatorInputError(ValueError):
    """An estimator got input it cannot work with (shape, dtype, range or parameter)."""
