"""Training of ATST-SED: the brain and what it delegates to.

* :mod:`~speechbrain_atst.training.brain`: :class:`SEDBrain`, SpeechBrain's
  hooks (forward, objectives, stage and epoch ends);
* :mod:`~speechbrain_atst.training.losses`: supervised BCE, mean-teacher
  and ICT consistency;
* :mod:`~speechbrain_atst.training.param_groups`: what trains, optimizer
  groups with layer-wise learning rates, gradient clipping;
* :mod:`~speechbrain_atst.training.ema`: the EMA teacher;
* :mod:`~speechbrain_atst.training.schedules`: warmup / cosine schedules,
  consistency weight;
* :mod:`~speechbrain_atst.training.nonfinite`: non-finite losses and
  weights (skip, stop, never save);
* :mod:`~speechbrain_atst.training.objective`: the model-selection
  objective a stage YAML declares;
* :mod:`~speechbrain_atst.training.validation` and
  :mod:`~speechbrain_atst.training.testing`: validation record and
  metrics, test files;
* :mod:`~speechbrain_atst.training.distributed`: DDP wrapping and
  synchronisation; :mod:`~speechbrain_atst.training.sb_adapter`: the
  private SpeechBrain methods the brain overrides;
* :mod:`~speechbrain_atst.training.sampler`: fixed per-subset batches;
* :mod:`~speechbrain_atst.training.dataio`: manifests to training items;
* :mod:`~speechbrain_atst.training.cache`: stage-1 transformer cache;
* :mod:`~speechbrain_atst.training.initialization`: initial weights and
  ``model_config.json``.

Authors
 * speechbrain-atst team 2026
"""

from speechbrain_atst.checkpoints import OBJECTIVE_KEY
from speechbrain_atst.training.brain import SEDBrain
from speechbrain_atst.training.dataio import build_datasets
from speechbrain_atst.training.initialization import (
    check_weight_sources,
    initialize_models,
    model_config,
    write_model_config,
)
from speechbrain_atst.training.objective import Objective, objective_mode
from speechbrain_atst.training.sampler import SubsetBatchSampler
from speechbrain_atst.training.schedules import WarmupCosineLR

__all__ = [
    "OBJECTIVE_KEY",
    "Objective",
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
