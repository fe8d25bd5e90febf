"""Inference with trained ATST-SED models.

* :class:`SEDInterface` (a SpeechBrain ``Pretrained`` interface): events,
  frame scores and sed_scores_eval score frames for audio files or
  waveforms of any length, rate and channel count.
* :func:`export_run` / :func:`convert_official`: model folders
  (``hyperparams.yaml``, ``model.ckpt``, ``README.md``) from a training run
  or an official ATST-SED checkpoint.
* :func:`plot_detection`: a PNG with spectrogram, scores and events.
* :func:`detect_files` / :func:`write_events`: events of a list of audio
  files (failed files reported, the others processed) and their TSV.

Example
-------
>>> from speechbrain_atst.inference import SEDInterface
>>> sed = SEDInterface.from_hparams(source="model_folder")  # doctest: +SKIP
>>> sed.detect_file("recording.wav")  # doctest: +SKIP

Authors
 * speechbrain-atst team 2026
"""

from speechbrain_atst.inference.detect import (
    detect_files,
    output_id,
    write_events,
)
from speechbrain_atst.inference.export import (
    convert_official,
    export_run,
    find_best_checkpoint,
    write_model_folder,
)
from speechbrain_atst.inference.interface import (
    EVENT_COLUMNS,
    SEDInterface,
    resolve_source,
    strict_load,
)
from speechbrain_atst.inference.plot import plot_detection
from speechbrain_atst.inference.windowing import merge_weights, window_plan

__all__ = [
    "EVENT_COLUMNS",
    "SEDInterface",
    "convert_official",
    "detect_files",
    "export_run",
    "find_best_checkpoint",
    "merge_weights",
    "output_id",
    "plot_detection",
    "resolve_source",
    "strict_load",
    "window_plan",
    "write_events",
    "write_model_folder",
]
