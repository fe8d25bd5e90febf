"""Post-processing of frame scores and DCASE metrics through sed_scores_eval.

The model gives one score per 64-ms frame and class. This package turns
those scores into what the DCASE evaluation expects and computes the metrics
that the ATST-SED paper and the DCASE task 4 baselines report:

* ``postprocessing``: ``median_filter`` (``STAGE1_MEDIAN_WINDOWS``,
  ``STAGE2_MEDIAN_WINDOWS``), ``scores_to_dataframe``, ``scores_to_events``;
* ``io``: ``write_scores``, ``read_scores``, ``read_ground_truth``,
  ``read_durations`` (sed_scores_eval file formats);
* ``metrics``: ``evaluate_scores`` (PSDS1, PSDS2, intersection F1, collar
  F1), ``format_metrics`` and the parameter sets ``PSDS_SCENARIOS``,
  ``INTERSECTION_F1``, ``COLLAR_F1``;
* ``clips``: ``evaluate_clip_scores`` and ``score_frames``, the one path
  from raw model scores of a set of clips to its metrics (validation, test,
  quickstart);
* ``compat``: ``sed_scores_eval()``, the one import of sed_scores_eval
  (without sed_eval's dcase_util and pkg_resources; read-only score
  arrays of pandas 3 accepted).

Everything public is importable from ``speechbrain_atst.evaluation``.

Authors
 * speechbrain-atst team 2026
"""

from speechbrain_atst.evaluation.clips import (
    SCORE_GRIDS,
    evaluate_clip_scores,
    score_frames,
)
from speechbrain_atst.evaluation.io import (
    read_durations,
    read_ground_truth,
    read_scores,
    write_scores,
)
from speechbrain_atst.evaluation.metrics import (
    COLLAR_F1,
    INTERSECTION_F1,
    PSDS1_SCENARIO,
    PSDS2_SCENARIO,
    PSDS_SCENARIOS,
    evaluate_scores,
    format_metrics,
)
from speechbrain_atst.evaluation.postprocessing import (
    STAGE1_MEDIAN_WINDOWS,
    STAGE2_MEDIAN_WINDOWS,
    median_filter,
    scores_to_dataframe,
    scores_to_events,
)

__all__ = [
    "COLLAR_F1",
    "INTERSECTION_F1",
    "PSDS1_SCENARIO",
    "PSDS2_SCENARIO",
    "PSDS_SCENARIOS",
    "SCORE_GRIDS",
    "STAGE1_MEDIAN_WINDOWS",
    "STAGE2_MEDIAN_WINDOWS",
    "evaluate_clip_scores",
    "evaluate_scores",
    "format_metrics",
    "median_filter",
    "read_durations",
    "read_ground_truth",
    "read_scores",
    "score_frames",
    "scores_to_dataframe",
    "scores_to_events",
    "write_scores",
]
