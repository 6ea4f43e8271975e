"""Pure estimator library (torch and numpy only); every function cites docs/theory.md.

Inputs are ``(B, C, H, W)`` floating tensors in [0, 1] unless a docstring says otherwise;
outputs are per sample. Device and dtype follow the inputs. Bad input raises
:class:`EstimatorInputError`.
"""

from workers.estimators.bootstrap import (
    bootstrap_mean_from_statistics,
    bootstrap_mean_interval,
    bootstrap_weights,
    percentile_interval,
)
from workers.estimators.bounds import min_perception_index, min_uncertainty_multiplier
from workers.estimators.color import convert_color, crop_border
from workers.estimators.consistency import measurement_map, measurement_residual, null_space_map
from workers.estimators.degradation import DegradationOperator
from workers.estimators.distortion import (
    DistortionMetrics,
    distortion_metrics,
    mean_squared_error,
    peak_signal_noise_ratio,
    structural_similarity,
)
from workers.estimators.errors import EstimatorInputError
from workers.estimators.filters import gaussian_blur, gaussian_kernel1d
from workers.estimators.frontier import (
    frontier_min_perception,
    frontier_perception,
    frontier_points,
    frontier_ratio,
)
from workers.estimators.hallucination import (
    detail,
    invented_detail_map,
    invented_detail_ratio,
    invented_detail_ratio_from_statistics,
    invented_detail_statistics,
)
from workers.estimators.inherent import (
    InherentUncertainty,
    inherent_uncertainty,
    inherent_uncertainty_from_prior,
)
from workers.estimators.knn_calibration import (
    CalibratedEstimate,
    calibrated_knn_entropy_power,
    calibrated_knn_renyi_divergence,
)
from workers.estimators.patches import PatchMoments, patch_moments, sample_patches
from workers.estimators.perception import (
    gaussian_renyi_divergence,
    gaussian_renyi_divergence_from_statistics,
    gaussian_renyi_half_debiased,
    knn_renyi_divergence,
)
from workers.estimators.risk import RiskVerdict, risk_verdict
from workers.estimators.uncertainty import (
    entropy_power_of_gaussian,
    gaussian_entropy_power,
    gaussian_entropy_power_from_statistics,
    knn_entropy_power,
    wishart_logdet_bias,
)

__all__ = [
    "CalibratedEstimate",
    "DegradationOperator",
    "DistortionMetrics",
    "EstimatorInputError",
    "InherentUncertainty",
    "PatchMoments",
    "RiskVerdict",
    "bootstrap_mean_from_statistics",
    "bootstrap_mean_interval",
    "bootstrap_weights",
    "calibrated_knn_entropy_power",
    "calibrated_knn_renyi_divergence",
    "convert_color",
    "crop_border",
    "detail",
    "distortion_metrics",
    "entropy_power_of_gaussian",
    "frontier_min_perception",
    "frontier_perception",
    "frontier_points",
    "frontier_ratio",
    "gaussian_blur",
    "gaussian_entropy_power",
    "gaussian_entropy_power_from_statistics",
    "gaussian_kernel1d",
    "gaussian_renyi_divergence",
    "gaussian_renyi_divergence_from_statistics",
    "gaussian_renyi_half_debiased",
    "inherent_uncertainty",
    "inherent_uncertainty_from_prior",
    "invented_detail_map",
    "invented_detail_ratio",
    "invented_detail_ratio_from_statistics",
    "invented_detail_statistics",
    "knn_entropy_power",
    "knn_renyi_divergence",
    "mean_squared_error",
    "measurement_map",
    "measurement_residual",
    "min_perception_index",
    "min_uncertainty_multiplier",
    "null_space_map",
    "patch_moments",
    "peak_signal_noise_ratio",
    "percentile_interval",
    "risk_verdict",
    "sample_patches",
    "structural_similarity",
    "wishart_logdet_bias",
]
