"""Samples in, statistics out: descriptions with confidence intervals, comparisons with a test and an effect size.

Pure: numpy and scipy only, and hetflow.errors (an import-linter contract). Follows Hoefler & Belli, SC'15: intervals
on every estimate, medians with non-parametric intervals, no assumed normality, rank tests for comparisons.
"""

from hetflow.stats.compare import MIN_SAMPLES, Comparison, compare
from hetflow.stats.document import FORMAT, samples_document
from hetflow.stats.samples import SampleError, TooFewSamples, as_samples
from hetflow.stats.summary import Summary, describe, median_ci_ranks

__all__ = [
    "FORMAT",
    "MIN_SAMPLES",
    "Comparison",
    "SampleError",
    "Summary",
    "TooFewSamples",
    "as_samples",
    "compare",
    "describe",
    "median_ci_ranks",
    "samples_document",
]
