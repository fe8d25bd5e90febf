"""Inference with trained ATST-SED models.

* :class:`SEDInterface` (a SpeechBrain ``Pretrained`` interface): events,
  frame scores and sed_scores_eval score frames for audio files or
  waveforms of any length, rate and channel count.
* :func:`export_run` / :func:`convert_official`: model folders
  (``hyperparams.yaml``, ``model.ckpt``, ``README.md``) from a training run
  or an official ATST-SED checkpoint.
* :func:`plot_detection`: a PNG with spectrogram, scores and events.

Example
-------
>>> from speechbrain_atst.inference import SEDInterface
>>> sed = SEDInterface.from_hparams(source="model_folder")  # doctest: +SKIP
>>> sed.detect_file("recording.wav")  # doctest: +SKIP

Authors
 * speechbrain-atst team 2026
"""

from speechbrain_atst.inference.export import (
    convert_official,
    export_run,
    find_best_checkpoint,
    write_model_folder,
)
from speechbrain_atst.inference.interface import (
    EVENT_COLUMNS,
    SEDInterface,
    merge_weights,
    resolve_source,
    strict_load,
    window_plan,
)
from speechbrain_atst.inference.plot import plot_detection

__all__ = [
    "EVENT_COLUMNS",
    "SEDInterface",
    "convert_official",
    "export_run",
    "find_best_checkpoint",
    "merge_weights",
    "plot_detection",
    "resolve_source",
    "strict_load",
    "window_plan",
    "write_model_folder",
]
