"""Contains all the data models used in inputs/outputs"""

from .audit_report import AuditReport
from .audit_report_plots import AuditReportPlots
from .body_create_job import BodyCreateJob
from .body_create_selfcheck import BodyCreateSelfcheck
from .bootstrap_options import BootstrapOptions
from .callback_attempt import CallbackAttempt
from .callback_delivery import CallbackDelivery
from .callback_delivery_state import CallbackDeliveryState
from .comparison import Comparison
from .engine_info import EngineInfo
from .estimate import Estimate
from .frontier_point import FrontierPoint
from .ground_truth_free_group import GroundTruthFreeGroup
from .ground_truth_free_input import GroundTruthFreeInput
from .ground_truth_free_input_maps import GroundTruthFreeInputMaps
from .ground_truth_free_report import GroundTruthFreeReport
from .ground_truth_free_report_degradation_type_0 import (
    GroundTruthFreeReportDegradationType0,
)
from .group_comparison import GroupComparison
from .group_comparison_baseline_risk import GroupComparisonBaselineRisk
from .group_comparison_candidate_risk import GroupComparisonCandidateRisk
from .group_distortion import GroupDistortion
from .group_hallucination import GroupHallucination
from .group_perception import GroupPerception
from .group_report import GroupReport
from .group_report_up_region_type_0 import GroupReportUpRegionType0
from .group_uncertainty import GroupUncertainty
from .health import Health
from .health_checks import HealthChecks
from .interval_coverage import IntervalCoverage
from .job_create_options import JobCreateOptions
from .job_create_options_color import JobCreateOptionsColor
from .job_create_options_degradation_type_1 import JobCreateOptionsDegradationType1
from .job_create_options_preset_type_0 import JobCreateOptionsPresetType0
from .job_links import JobLinks
from .job_list import JobList
from .job_progress import JobProgress
from .job_read import JobRead
from .job_read_kind import JobReadKind
from .job_read_state import JobReadState
from .knn_calibrated import KnnCalibrated
from .list_jobs_state_type_0 import ListJobsStateType0
from .metric_difference import MetricDifference
from .metric_difference_metric import MetricDifferenceMetric
from .pair_change import PairChange
from .pair_change_baseline import PairChangeBaseline
from .pair_change_baseline_risk import PairChangeBaselineRisk
from .pair_change_candidate import PairChangeCandidate
from .pair_change_candidate_risk import PairChangeCandidateRisk
from .pair_change_difference import PairChangeDifference
from .pair_consistency import PairConsistency
from .pair_distortion import PairDistortion
from .pair_hallucination import PairHallucination
from .pair_hallucination_maps import PairHallucinationMaps
from .pair_perception import PairPerception
from .pair_report import PairReport
from .pair_spec import PairSpec
from .pair_uncertainty import PairUncertainty
from .patch_size_row import PatchSizeRow
from .patch_size_row_up_region_type_0 import PatchSizeRowUpRegionType0
from .problem import Problem
from .problem_error import ProblemError
from .regression_rule import RegressionRule
from .report_settings import ReportSettings
from .report_settings_color import ReportSettingsColor
from .report_settings_degradation_type_0 import ReportSettingsDegradationType0
from .report_settings_preset_type_0 import ReportSettingsPresetType0
from .risk_thresholds import RiskThresholds
from .sample_statistics import SampleStatistics
from .self_check_audit_options import SelfCheckAuditOptions
from .self_check_audit_options_color import SelfCheckAuditOptionsColor
from .self_check_audit_options_degradation_type_0 import (
    SelfCheckAuditOptionsDegradationType0,
)
from .self_check_audit_options_preset_type_0 import SelfCheckAuditOptionsPresetType0
from .self_check_create import SelfCheckCreate
from .self_check_create_degradation_type_0 import SelfCheckCreateDegradationType0
from .self_check_item import SelfCheckItem
from .self_check_links import SelfCheckLinks
from .self_check_read import SelfCheckRead
from .self_check_read_state import SelfCheckReadState
from .self_check_result import SelfCheckResult
from .self_check_source import SelfCheckSource
from .self_check_source_audited_degradation import SelfCheckSourceAuditedDegradation
from .self_check_source_degradation import SelfCheckSourceDegradation
from .self_check_source_spectrum import SelfCheckSourceSpectrum
from .source_pair import SourcePair
from .verdict import Verdict
from .verdict_level import VerdictLevel

__all__ = (
    "AuditReport",
    "AuditReportPlots",
    "BodyCreateJob",
    "BodyCreateSelfcheck",
    "BootstrapOptions",
    "CallbackAttempt",
    "CallbackDelivery",
    "CallbackDeliveryState",
    "Comparison",
    "EngineInfo",
    "Estimate",
    "FrontierPoint",
    "GroundTruthFreeGroup",
    "GroundTruthFreeInput",
    "GroundTruthFreeInputMaps",
    "GroundTruthFreeReport",
    "GroundTruthFreeReportDegradationType0",
    "GroupComparison",
    "GroupComparisonBaselineRisk",
    "GroupComparisonCandidateRisk",
    "GroupDistortion",
    "GroupHallucination",
    "GroupPerception",
    "GroupReport",
    "GroupReportUpRegionType0",
    "GroupUncertainty",
    "Health",
    "HealthChecks",
    "IntervalCoverage",
    "JobCreateOptions",
    "JobCreateOptionsColor",
    "JobCreateOptionsDegradationType1",
    "JobCreateOptionsPresetType0",
    "JobLinks",
    "JobList",
    "JobProgress",
    "JobRead",
    "JobReadKind",
    "JobReadState",
    "KnnCalibrated",
    "ListJobsStateType0",
    "MetricDifference",
    "MetricDifferenceMetric",
    "PairChange",
    "PairChangeBaseline",
    "PairChangeBaselineRisk",
    "PairChangeCandidate",
    "PairChangeCandidateRisk",
    "PairChangeDifference",
    "PairConsistency",
    "PairDistortion",
    "PairHallucination",
    "PairHallucinationMaps",
    "PairPerception",
    "PairReport",
    "PairSpec",
    "PairUncertainty",
    "PatchSizeRow",
    "PatchSizeRowUpRegionType0",
    "Problem",
    "ProblemError",
    "RegressionRule",
    "ReportSettings",
    "ReportSettingsColor",
    "ReportSettingsDegradationType0",
    "ReportSettingsPresetType0",
    "RiskThresholds",
    "SampleStatistics",
    "SelfCheckAuditOptions",
    "SelfCheckAuditOptionsColor",
    "SelfCheckAuditOptionsDegradationType0",
    "SelfCheckAuditOptionsPresetType0",
    "SelfCheckCreate",
    "SelfCheckCreateDegradationType0",
    "SelfCheckItem",
    "SelfCheckLinks",
    "SelfCheckRead",
    "SelfCheckReadState",
    "SelfCheckResult",
    "SelfCheckSource",
    "SelfCheckSourceAuditedDegradation",
    "SelfCheckSourceDegradation",
    "SelfCheckSourceSpectrum",
    "SourcePair",
    "Verdict",
    "VerdictLevel",
)
