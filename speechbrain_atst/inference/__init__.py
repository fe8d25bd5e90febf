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
* :func:`export_onnx` / :class:`OnnxSED`: the whole detector (front-ends
  included) as one ONNX file, and its runtime on onnxruntime without
  PyTorch (``from speechbrain_atst.inference.onnx_runtime import OnnxSED``
  imports no torch).

The names load from their submodules on first use.

Example
-------
>>> from speechbrain_atst.inference import SEDInterface

.. code-block:: python

    sed = SEDInterface.from_hparams(source="model_folder")
    sed.detect_file("recording.wav")

Authors
 * speechbrain-atst team 2026
"""

from speechbrain_atst.lazy import lazy_getattr

#: Public name -> submodule defining it; submodules load on first access,
#: so importing a torch-free submodule (``windowing``, ``onnx_runtime``)
#: does not import torch through this package.
_EXPORTS = {
    "detect_files": "detect",
    "output_id": "detect",
    "write_events": "detect",
    "convert_official": "export",
    "export_run": "export",
    "find_best_checkpoint": "export",
    "write_model_folder": "export",
    "EVENT_COLUMNS": "interface",
    "SEDInterface": "interface",
    "resolve_source": "interface",
    "strict_load": "interface",
    "export_onnx": "onnx_export",
    "OnnxSED": "onnx_runtime",
    "plot_detection": "plot",
    "merge_weights": "windowing",
    "window_plan": "windowing",
}

__all__ = sorted(_EXPORTS)


#: Imports the public names from their modules on first access.
__getattr__ = lazy_getattr(__name__, _EXPORTS)
