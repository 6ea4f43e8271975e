"""Accuracy of the conditional index on an exact Gaussian source, and what a wider window costs.

docs/theory.md 3.9: a calibrated posterior sampler has P_cond = 0 and eta(P_cond; d) = 2, and
samples at half the posterior spread have eta 1.25. This script builds the source, its exact
posterior draws (tests/support/gaussian_source.py, the tests' own oracle) and audits the
sampler and the half-spread samples through the engine, under noise 0.05 and 4x bicubic, at
the default margin and at ``--margins``. Printed per case: P_cond (nats, d = 64), eta, the
uncertainty ratio, the region and the audit's wall time relative to the default margin's.

Usage: python benchmarks/bench_conditional.py [--samples 4] [--margins 16]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CASES = {
    "noise 0.05": {"type": "noise", "sigma": 0.05},
    "4x bicubic": {"type": "downsample", "factor": 4, "kernel": "bicubic"},
}
SCALES = {"sampler": 1.0, "half_spread": 0.5}
SETTINGS = {"crop_border": 16, "bootstrap": {"resamples": 20}, "maps": False}
"""Audit options of every case beside its degradation and margin."""


def _pairs(problem):  # type: ignore[no-untyped-def]
    from workers.engine import PairSource

    mean = problem.posterior_mean
    return [
        PairSource(
            f"{name}/{i}/{k}",
            name,
            problem.truth[i].float(),
            (mean[i] + scale * (problem.samples[i, k] - mean[i])).float(),
            problem.observation[i].float(),
            input=f"img{i}",
            sample=k,
        )
        for name, scale in SCALES.items()
        for i in range(mean.shape[0])
        for k in range(problem.samples.shape[1])
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4, help="K per input (default 4)")
    parser.add_argument("--margins", type=int, nargs="*", default=[16], help="margins to try")
    args = parser.parse_args()

    from api_schemas import AuditOptions
    from benchmarks.common import machine_line
    from tests.support.gaussian_source import gaussian_problem
    from workers.engine import run_audit

    print(machine_line())
    print(f"8 inputs of 128 px, K = {args.samples}, crop 16, 20 bootstrap resamples")
    print(f"{'case':<12} {'margin':>7} {'restorer':<12} {'P_cond':>8} {'eta':>6} "
          f"{'ratio':>6} {'region':<12} {'time':>6}")  # fmt: skip
    for label, degradation in CASES.items():
        problem = gaussian_problem(degradation, n_images=8, samples_per_input=args.samples, seed=1)
        pairs = _pairs(problem)
        reference = None
        for margin in [None, *args.margins]:
            options = AuditOptions(degradation=degradation, inherent_margin=margin, **SETTINGS)
            started = time.perf_counter()
            report = run_audit(pairs, options, device="cpu")
            seconds = time.perf_counter() - started
            reference = reference or seconds
            for group in report.groups:
                conditional = group.samples.conditional_perception if group.samples else None
                p = conditional.value if conditional is not None else None
                ratio = group.uncertainty_ratio.value if group.uncertainty_ratio else None
                print(
                    f"{label:<12} {margin or 'default':>7} {group.name:<12} "
                    f"{p if p is not None else float('nan'):>8.3f} "
                    f"{group.min_uncertainty_multiplier or float('nan'):>6.3f} "
                    f"{ratio if ratio is not None else float('nan'):>6.3f} "
                    f"{group.up_region or '-':<12} {seconds / reference:>5.2f}x"
                )


if __name__ == "__main__":
    main()
