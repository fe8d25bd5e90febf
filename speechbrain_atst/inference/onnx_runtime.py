"""ATST-SED detection with onnxruntime, without PyTorch.

:class:`OnnxSED` runs a detector exported by
:func:`~speechbrain_atst.inference.onnx_export.export_onnx` (one ONNX file:
waveform windows to frame scores, front-ends included) and behaves like
``SEDInterface``: the same windows over long audio, overlap merging,
median filter after merging, short clips padded and cut to their real
duration, score DataFrames and events (all in
:class:`~speechbrain_atst.inference.detector.WindowedDetector`, shared
with nothing copied). Importing this module and running it imports
neither torch nor torchaudio: audio is read with soundfile and audio at
another rate than 16 kHz is resampled with ``scipy.signal.resample_poly``
(:func:`~speechbrain_atst.data.audio.read_audio_numpy`), so resampled
input gives slightly different scores than ``SEDInterface`` (torchaudio's
sinc resampler); 16 kHz input gives the same samples.

Example
-------
>>> from speechbrain_atst.inference.onnx_runtime import OnnxSED

.. code-block:: python

    sed = OnnxSED("detector.onnx")
    sed.detect_file("recording.wav")

Authors
 * speechbrain-atst team 2026
"""

import json
import os
from types import SimpleNamespace

import numpy as np

from speechbrain_atst.data.audio import read_audio_numpy
from speechbrain_atst.inference.detector import WindowedDetector

#: The ``format`` metadata entry of the files this module runs.
ONNX_FORMAT = "speechbrain-atst-sed/1"


def read_metadata(path):
    """The detector settings stored in an exported ONNX file.

    Arguments
    ---------
    path : str or os.PathLike
        The ``.onnx`` file.

    Returns
    -------
    dict
        ``classes``, ``sample_rate``, ``window_seconds``, ``hop_seconds``,
        ``frame_seconds``, ``median_windows``, ``thresholds``, ``merge``,
        ``batch_size``, ``precision`` (decoded).

    Raises
    ------
    ValueError
        If the file was not written by ``export_onnx``.
    """
    import onnxruntime as ort

    path = os.fspath(path)
    return _session_metadata(ort.InferenceSession(path), path)


def _session_metadata(session, path):
    """Decoded metadata of an onnxruntime session (see read_metadata)."""
    raw = dict(session.get_modelmeta().custom_metadata_map)
    if raw.get("format") != ONNX_FORMAT:
        raise ValueError(
            f"{path}: not an ATST-SED detector exported by "
            "speechbrain-atst export-onnx (format metadata "
            f"{raw.get('format')!r}, expected {ONNX_FORMAT!r})"
        )
    try:
        return {
            "classes": json.loads(raw["classes"]),
            "sample_rate": int(raw["sample_rate"]),
            "window_seconds": float(raw["window_seconds"]),
            "hop_seconds": float(raw["hop_seconds"]),
            "frame_seconds": float(raw["frame_seconds"]),
            "median_windows": json.loads(raw["median_windows"]),
            "thresholds": json.loads(raw["thresholds"]),
            "merge": raw["merge"],
            "batch_size": int(raw["batch_size"]),
            "precision": raw["precision"],
        }
    except (KeyError, ValueError) as err:
        raise ValueError(f"{path}: broken detector metadata ({err})") from None


def _stored_precision(path):
    """The ``precision`` metadata entry of an ONNX file (None if absent)."""
    import onnx

    proto = onnx.load(path, load_external_data=False)
    entries = {p.key: p.value for p in proto.metadata_props}
    return entries.get("precision")


class OnnxSED(WindowedDetector):
    """ATST-SED detection on onnxruntime (no PyTorch needed).

    The methods and results are those of ``SEDInterface``
    (``frame_scores_file``, ``scores_file``, ``detect_file``,
    ``frame_scores_batch``, ``scores_batch``, ``detect_batch``,
    ``scores_to_events``, ``scores_dataframe``, ``thresholds``,
    ``load_audio``, ``classes``, ``hparams.sample_rate``), so
    :func:`speechbrain_atst.inference.detect_files` runs with either.
    Waveforms are NumPy arrays (torch tensors are accepted too).

    Arguments
    ---------
    path : str or os.PathLike
        ONNX file written by ``export_onnx`` / ``speechbrain-atst
        export-onnx``.
    providers : list, optional
        onnxruntime execution providers (CPU by default).
    batch_size : int
        Windows scored in one run of the graph.
    hop_seconds : float, optional
        Hop between windows; the exported model's (8 s) by default.
    threshold : float, sequence or dict, optional
        Default thresholds instead of the exported ones.
    session_options : onnxruntime.SessionOptions, optional
        E.g. to set the number of threads. By default, fp16 files get
        basic graph optimisations only (onnxruntime 1.32's extended CPU
        fusions crash on the base-size fp16 graph).

    Example
    -------
    .. code-block:: python

        sed = OnnxSED("detector.onnx", batch_size=4)
        sed.detect_batch(np.zeros((1, 48000), np.float32))

    """

    def __init__(
        self,
        path,
        providers=None,
        batch_size=8,
        hop_seconds=None,
        threshold=None,
        session_options=None,
    ):
        import onnxruntime as ort

        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"ONNX model not found: {self.path}")
        if session_options is None and _stored_precision(self.path) == "fp16":
            # onnxruntime 1.32 crashes (segfault) building the session of
            # the base-size fp16 graph with its extended CPU fusions.
            session_options = ort.SessionOptions()
            session_options.graph_optimization_level = (
                ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
            )
        self.session = ort.InferenceSession(
            self.path,
            sess_options=session_options,
            providers=providers or ["CPUExecutionProvider"],
        )
        meta = _session_metadata(self.session, self.path)
        self.metadata = meta
        self.configure(
            classes=meta["classes"],
            window_seconds=meta["window_seconds"],
            hop_seconds=(
                meta["hop_seconds"] if hop_seconds is None else hop_seconds
            ),
            median_windows=meta["median_windows"],
            threshold=meta["thresholds"] if threshold is None else threshold,
            batch_size=batch_size,
            merge=meta["merge"],
            sample_rate=meta["sample_rate"],
        )
        self.input_name = self.session.get_inputs()[0].name
        self.precision = meta["precision"]
        #: The settings under SEDInterface's names (``hparams.sample_rate``).
        self.hparams = SimpleNamespace(
            sample_rate=self.sample_rate,
            classes=list(self.classes),
            window_seconds=meta["window_seconds"],
            hop_seconds=self.hop_seconds,
            median_windows=list(self.median_windows),
            threshold=self.default_threshold.tolist(),
            merge=self.merge,
            batch_size=self.batch_size,
        )

    def load_audio(self, path):
        """Reads an audio file as a 16 kHz mono float32 waveform.

        With :func:`~speechbrain_atst.data.audio.read_audio_numpy`: the
        checks and errors of ``SEDInterface.load_audio``; other rates are
        resampled with SciPy's polyphase filter (no torch).

        Arguments
        ---------
        path : str or os.PathLike
            Audio file.

        Returns
        -------
        numpy.ndarray
            ``[samples]`` waveform.
        """
        return read_audio_numpy(path, sample_rate=self.sample_rate)

    def _run_windows(self, windows):
        """Runs the graph on ``[n, window_samples]`` windows."""
        feed = {self.input_name: np.ascontiguousarray(windows, np.float32)}
        return self.session.run(None, feed)[0]
