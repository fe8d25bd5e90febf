"""Training of ATST-SED: the brain, schedules, batch sampler and data.

* :mod:`~speechbrain_atst.training.brain`: :class:`SEDBrain` (mean teacher,
  interpolation consistency, EMA teacher, per-group learning rates);
* :mod:`~speechbrain_atst.training.schedules`: warmup / cosine schedules,
  consistency weight, EMA;
* :mod:`~speechbrain_atst.training.sampler`: fixed per-subset batches;
* :mod:`~speechbrain_atst.training.dataio`: manifests to training items;
* :mod:`~speechbrain_atst.training.cache`: stage-1 transformer cache;
* :mod:`~speechbrain_atst.training.initialization`: initial weights and
  ``model_config.json``.

Authors
 * speechbrain-atst team 2026
"""

from speechbrain_atst.training.brain import SEDBrain, objective_mode
from speechbrain_atst.training.dataio import build_datasets
from speechbrain_atst.training.initialization import (
    OBJECTIVE_KEY,
    check_weight_sources,
    initialize_models,
    model_config,
    write_model_config,
)
from speechbrain_atst.training.sampler import SubsetBatchSampler
from speechbrain_atst.training.schedules import WarmupCosineLR

__all__ = [
    "OBJECTIVE_KEY",
    "SEDBrain",
    "SubsetBatchSampler",
    "WarmupCosineLR",
    "build_datasets",
    "check_weight_sources",
    "initialize_models",
    "model_config",
    "objective_mode",
    "write_model_config",
]
