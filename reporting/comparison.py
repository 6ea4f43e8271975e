"""Compare a candidate audit report with its baseline: paired differences per metric with
paired-bootstrap intervals, verdict changes per pair, and the regression decision.

The one implementation behind ``restoration-audit compare`` and
``GET /v1/jobs/{id}/comparison``. Pairs are matched by ``id`` within a restorer (group);
groups are matched by name, or, when each report has exactly one, with each other whatever
their names (a baseline run of ``model-v1`` against a candidate run of ``model-v2``).

The interval (docs/theory.md 3.13): for matched pairs i = 1..n with differences
d_i = candidate_i - baseline_i, resample the pairs with replacement R times, take the mean of
d over each resample, and report the (1 - level)/2 and (1 + level)/2 quantiles of those means
(the percentile bootstrap). Resampling pairs, not the two sides separately, keeps the
correlation between a restorer's two runs on the same image, which is what makes a paired
comparison far tighter than comparing two means.

The resampling is numpy's here rather than ``workers/estimators/bootstrap.py``'s weights:
``reporting`` sits below ``workers`` in the layering contract (pyproject, import-linter), so the
CLI and the API can compare stored reports without importing the engine or torch. The draw is
the same scheme (n indices with replacement per resample, seeded), only the generator differs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np

from api_schemas.comparison import (
    COMPARED_METRICS,
    HIGHER_IS_BETTER,
    CompareMetric,
    Comparison,
    GroupComparison,
    MetricDifference,
    PairChange,
    RegressionRule,
)
from api_schemas.report import RISK_RANK, AuditReport, GroupReport, PairReport

CHANGED_MOST: Final = 10
"""Pairs listed as changed most, per restorer."""
_RESAMPLES_PER_CHUNK: Final = 256
"""Resamples drawn at once: bounds memory to 256 x n indices whatever R is."""


class IncomparableReportsError(ValueError):
    """The two reports share no restorer, or no pair of a shared restorer, or were measured
    under different conventions."""


_MEASURED_UNDER: Final = ("color", "crop_border", "patch_size", "patch_stride", "renyi_order")
"""The settings of the report that the compared per-pair values depend on (luma or RGB and the
border crop: every value; the patches: uncertainty and perception; the order: perception). Two
reports that differ in one would show the change of convention as a change of the model: a
basicsr-y run against an RGB run differs by decibels with identical images. Risk thresholds
and bootstrap settings are not among them: they change verdicts and group intervals, not the
per-pair values compared."""


def _check_same_conventions(baseline: AuditReport, candidate: AuditReport) -> None:
    before, after = baseline.settings, candidate.settings
    differing = [
        f"{name} {getattr(before, name)!r} vs {getattr(after, name)!r}"
        for name in _MEASURED_UNDER
        if getattr(before, name) != getattr(after, name)
    ]
    if differing:
        raise IncomparableReportsError(
            "the reports were measured under different settings (baseline vs candidate: "
            + ", ".join(differing)
            + "); audit both with the same options or --preset"
        )


_PAIR_VALUE: Final[dict[CompareMetric, Callable[[PairReport], float | None]]] = {
    "psnr": lambda p: p.distortion.psnr,
    "ssim": lambda p: p.distortion.ssim,
    "uncertainty": lambda p: p.uncertainty.gaussian,
    "perception": lambda p: p.perception.gaussian_renyi,
    "invented_detail": lambda p: p.hallucination.invented_detail_ratio,
}
"""Where each metric is in a pair's report. PSNR is ``None`` for identical images (infinite):
such a pair has no PSNR difference and does not count in its mean."""


def paired_bootstrap_interval(
    differences: Sequence[float] | np.ndarray, *, resamples: int, level: float, seed: int
) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of paired ``differences``.

    >>> low, high = paired_bootstrap_interval([1.0, 1.0, 1.0], resamples=200, level=0.9, seed=0)
    >>> (low, high)
    (1.0, 1.0)
    """
    d = np.asarray(differences, dtype=np.float64)
    if d.ndim != 1 or d.size == 0:
        raise ValueError(f"expected a non-empty 1-D sequence of differences, got shape {d.shape}")
    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    for start in range(0, resamples, _RESAMPLES_PER_CHUNK):
        count = min(_RESAMPLES_PER_CHUNK, resamples - start)
        indices = rng.integers(0, d.size, size=(count, d.size))
        means[start : start + count] = d[indices].mean(axis=1)
    low, high = np.quantile(means, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(low), float(high)


def _values(pair: PairReport) -> dict[str, float | None]:
    return {metric: _PAIR_VALUE[metric](pair) for metric in COMPARED_METRICS}


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


_NO_DIFFERENCE: dict[str, Any] = {
    "baseline_mean": None,
    "candidate_mean": None,
    "mean_difference": None,
    "ci_low": None,
    "ci_high": None,
    "regressed": False,
    "improved": False,
}
"""A metric without any pair valued on both sides: nothing measured, no verdict."""


def _metric(
    metric: CompareMetric,
    matched: Sequence[tuple[PairReport, PairReport]],
    rule: RegressionRule,
) -> MetricDifference:
    rows = [(_PAIR_VALUE[metric](b), _PAIR_VALUE[metric](c)) for b, c in matched]
    both = [(b, c) for b, c in rows if b is not None and c is not None]
    higher_is_better = HIGHER_IS_BETTER[metric]
    measured = _NO_DIFFERENCE
    if both:
        baseline = np.array([b for b, _ in both])
        candidate = np.array([c for _, c in both])
        differences = candidate - baseline
        low, high = paired_bootstrap_interval(
            differences, resamples=rule.resamples, level=rule.level, seed=rule.seed
        )
        margin = rule.margin(metric)
        if higher_is_better:
            regressed, improved = high < -margin, low > 0.0
        else:
            regressed, improved = low > margin, high < 0.0
        measured = {
            "baseline_mean": float(baseline.mean()),
            "candidate_mean": float(candidate.mean()),
            "mean_difference": float(differences.mean()),
            "ci_low": low,
            "ci_high": high,
            "regressed": regressed,
            "improved": improved,
        }
    return MetricDifference(
        metric=metric, higher_is_better=higher_is_better, pairs=len(both), **measured
    )


def _pair_change(pair_id: str, baseline: PairReport, candidate: PairReport) -> PairChange:
    before, after = _values(baseline), _values(candidate)
    return PairChange(
        id=pair_id,
        baseline=before,
        candidate=after,
        difference={m: _difference(before[m], after[m]) for m in COMPARED_METRICS},
        baseline_risk=baseline.risk.level,
        candidate_risk=candidate.risk.level,
    )


def _change_order(change: PairChange) -> tuple[int, float]:
    psnr = change.difference["psnr"]
    moved = change.baseline_risk != change.candidate_risk
    return (0 if moved else 1, -(abs(psnr) if psnr is not None else 0.0))


def _matched_groups(
    baseline: AuditReport, candidate: AuditReport
) -> list[tuple[GroupReport, GroupReport]]:
    theirs = {g.name: g for g in candidate.groups}
    shared = [(g, theirs[g.name]) for g in baseline.groups if g.name in theirs]
    if shared:
        return shared
    if len(baseline.groups) == 1 and len(candidate.groups) == 1:
        return [(baseline.groups[0], candidate.groups[0])]
    raise IncomparableReportsError(
        "the reports share no restorer: baseline has "
        f"{sorted(g.name for g in baseline.groups)}, candidate has "
        f"{sorted(g.name for g in candidate.groups)}"
    )


def _pairs_of(report: AuditReport, group: str) -> dict[str, PairReport]:
    return {p.id: p for p in report.pairs if p.group == group}


def compare_reports(
    baseline: AuditReport,
    candidate: AuditReport,
    rule: RegressionRule | None = None,
    *,
    baseline_name: str = "baseline",
    candidate_name: str = "candidate",
) -> Comparison:
    """The comparison of ``candidate`` with ``baseline`` under ``rule`` (its defaults when
    ``None``).

    Raises:
        IncomparableReportsError: no restorer or no pair in common, or different settings
            of measurement (``_MEASURED_UNDER``).
    """
    _check_same_conventions(baseline, candidate)
    rule = rule or RegressionRule()
    groups: list[GroupComparison] = []
    reasons: list[str] = []
    matched_baseline: set[tuple[str, str]] = set()
    matched_candidate: set[tuple[str, str]] = set()
    for base_group, cand_group in _matched_groups(baseline, candidate):
        before = _pairs_of(baseline, base_group.name)
        after = _pairs_of(candidate, cand_group.name)
        ids = [pair_id for pair_id in before if pair_id in after]
        if not ids:
            continue
        matched_baseline.update((base_group.name, i) for i in ids)
        matched_candidate.update((cand_group.name, i) for i in ids)
        matched = [(before[i], after[i]) for i in ids]
        metrics = [_metric(m, matched, rule) for m in COMPARED_METRICS]
        changes = [_pair_change(i, before[i], after[i]) for i in ids]
        name = cand_group.name
        if cand_group.name != base_group.name:
            name = f"{base_group.name} -> {cand_group.name}"
        for m in metrics:
            if m.regressed:
                reasons.append(
                    f"{name}: {m.metric} regressed, mean difference {m.mean_difference:+.4g} "
                    f"[{m.ci_low:.4g}, {m.ci_high:.4g}] over {m.pairs} pairs, beyond the "
                    f"margin {rule.margin(m.metric):g}"
                )
        base_risk, cand_risk = base_group.risk.level, cand_group.risk.level
        if rule.fail_on_risk_increase and RISK_RANK[cand_risk] > RISK_RANK[base_risk]:
            reasons.append(f"{name}: risk rose from {base_risk} to {cand_risk}")
        groups.append(
            GroupComparison(
                baseline_group=base_group.name,
                candidate_group=cand_group.name,
                pairs=len(ids),
                metrics=metrics,
                baseline_risk=base_risk,
                candidate_risk=cand_risk,
                verdict_changes=[c for c in changes if c.baseline_risk != c.candidate_risk],
                changed_most=sorted(changes, key=_change_order)[:CHANGED_MOST],
            )
        )
    if not groups:
        raise IncomparableReportsError("the reports share no pair id in any common restorer")
    return Comparison(
        baseline=baseline_name,
        candidate=candidate_name,
        rule=rule,
        rule_statement=rule.statement(),
        groups=groups,
        unmatched_baseline_pairs=[
            p.id for p in baseline.pairs if (p.group, p.id) not in matched_baseline
        ],
        unmatched_candidate_pairs=[
            p.id for p in candidate.pairs if (p.group, p.id) not in matched_candidate
        ],
        regression=bool(reasons),
        reasons=reasons,
    )
