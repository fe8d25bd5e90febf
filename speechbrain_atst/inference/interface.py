"""The pretrained ATST-SED interface: audio files in, sound events out.

:class:`SEDInterface` is a SpeechBrain ``Pretrained`` interface. It reads
audio of any length, sample rate and channel count (resampled to 16 kHz and
averaged to mono), runs the model on 10 s windows and returns

* frame scores (per-class probabilities every 64 ms, median filtered),
* sed_scores_eval score DataFrames (to apply your own thresholds/metrics),
* events (``filename, onset, offset, event_label, score``).

Long audio is cut into 10 s windows whose starts are multiples of one
output frame (1024 samples = 64 ms), so every window's frames fall exactly
on the global 64 ms grid; the frame scores of overlapping windows are
averaged (a linear cross-fade by default) and the median filter runs once
on the merged full-length scores. Clips shorter than a window are
zero-padded like the training and test clips, and their output is cut to
their real duration. All of that is
:class:`~speechbrain_atst.inference.detector.WindowedDetector`, shared with
the ONNX runtime path (``OnnxSED``); this class adds SpeechBrain's loading
and runs the PyTorch front-ends and model on the windows.

Authors
 * speechbrain-atst team 2026
"""

import os
import re
from pathlib import Path

import numpy as np
import torch
from speechbrain.inference.interfaces import Pretrained
from speechbrain.utils.fetching import FetchConfig
from speechbrain.utils.logger import get_logger

from speechbrain_atst.checkpoints import (
    CheckpointError,
    load_checkpoint,
    load_state_dict_strict,
)
from speechbrain_atst.data.audio import read_audio
from speechbrain_atst.inference.detector import (
    EVENT_COLUMNS,
    WindowedDetector,
)
from speechbrain_atst.inference.windowing import FRAME_SAMPLES, cut_window

#: Re-exported: the columns of the event DataFrames.
__all__ = ["EVENT_COLUMNS", "SEDInterface", "resolve_source", "strict_load"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

logger = get_logger(__name__)


def cpu_has_native_bf16():
    """Whether this CPU computes bfloat16 matrix products natively.

    Without AVX-512 BF16 or AMX, PyTorch's bfloat16 matrix products and
    convolutions fall back on slow generic code: bf16 autocast then runs
    the model many times slower than float32 instead of faster.

    Returns
    -------
    bool
        What oneDNN reports (False if it cannot tell).

    Example
    -------
    >>> isinstance(cpu_has_native_bf16(), bool)
    True
    """
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def strict_load(module, path):
    """Pretrainer hook: loads a plain state dict, refusing any mismatch.

    SpeechBrain's default parameter transfer is non-strict (missing and
    unexpected keys only log warnings), so a wrong or truncated model
    would load silently. The inference YAML uses this hook instead.

    Arguments
    ---------
    module : torch.nn.Module
        The module to fill.
    path : str or os.PathLike
        The ``<name>.ckpt`` file (a state dict saved with ``torch.save``).

    Raises
    ------
    FileNotFoundError
        If the file is missing (e.g. a dangling link to a missing file).
    speechbrain_atst.checkpoints.CheckpointError
        If the file is not a checkpoint or its keys or shapes differ.

    Example
    -------
    >>> lin = torch.nn.Linear(2, 1)
    >>> path = getfixture("tmp_path") / "model.ckpt"
    >>> torch.save(lin.state_dict(), path)
    >>> strict_load(torch.nn.Linear(2, 1), path)
    >>> strict_load(torch.nn.Linear(3, 1), path)
    Traceback (most recent call last):
    ...
    speechbrain_atst.checkpoints.CheckpointError: ... another shape ...
    """
    # Name the model folder's file, not the link to it in a savedir.
    path = os.path.realpath(os.fspath(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Model weights not found: {path} (the model folder must hold "
            f"{os.path.basename(path)})"
        )
    state = load_checkpoint(path)
    if not isinstance(state, dict):
        raise CheckpointError(
            f"{path}: expected a state dict, got {type(state).__name__}"
        )
    load_state_dict_strict(
        module,
        state,
        path,
        hint="Was the model exported for another architecture or class "
        "list? Check hyperparams.yaml next to it.",
    )


def resolve_source(source):
    """Checks a model source and tells a local folder from a hub id.

    A string that does not name an existing folder is accepted only if it
    looks like a Hugging Face id (``org/name``) whose ``org`` is not a
    local folder; anything else (a relative path with a typo, an absolute
    path, ``~``) raises instead of silently becoming a hub lookup (which
    would run the ``hyperparams.yaml`` of whatever hub model has that
    name). A ``speechbrain.utils.fetching.FetchSource`` is passed through.

    Arguments
    ---------
    source : str or os.PathLike
        Local model folder or hub id.

    Returns
    -------
    tuple
        ``(source, is_local)``; a local source is an absolute path string.

    Raises
    ------
    FileNotFoundError
        If ``source`` looks like a local path that does not exist.
    NotADirectoryError
        If ``source`` is an existing file, not a folder.

    Example
    -------
    >>> resolve_source("speechbrain/atst-sed-desed")
    ('speechbrain/atst-sed-desed', False)
    >>> resolve_source("./no_such_model")
    Traceback (most recent call last):
    ...
    FileNotFoundError: Model folder not found: ./no_such_model ...
    """
    if not isinstance(source, (str, os.PathLike)):
        return source, False  # e.g. a speechbrain FetchSource
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.is_dir():
        return str(path.resolve()), True
    if path.exists():
        raise NotADirectoryError(
            f"Model source {text} is a file; pass the folder holding "
            "hyperparams.yaml and model.ckpt"
        )
    if isinstance(source, str) and _HUB_ID.match(text):
        parent = Path(text.split("/", 1)[0])
        if parent.is_dir():
            # "results/modle" with a local "results/" folder: a typo in a
            # local path, not a request to run a hub model's code.
            raise FileNotFoundError(
                f"Model folder not found: {text} ({parent}/ exists here, "
                "so this is taken as a local path; to load the hub model "
                "of that name, pass speechbrain.utils.fetching.FetchSource("
                f"FetchFrom.HUGGING_FACE, {text!r}))"
            )
        return text, False
    raise FileNotFoundError(
        f"Model folder not found: {text} (hub models are named "
        "'organisation/name')"
    )


class SEDInterface(WindowedDetector, Pretrained):
    """ATST-SED sound event detection on audio files and waveforms.

    Build it with :meth:`from_hparams` from a model folder written by
    ``speechbrain-atst export`` / ``convert`` (``hyperparams.yaml`` +
    ``model.ckpt``) or a hub id. The hyperparameters it needs are
    ``sample_rate`` (16000), ``classes``, ``median_windows``,
    ``threshold``, ``window_seconds``, ``hop_seconds`` and ``batch_size``
    (``merge`` is optional); the modules are ``cnn_frontend``,
    ``atst_frontend`` and ``model`` (``model(cnn_feats, atst_feats)``
    returns ``(strong[B, frames, C], weak)``).

    Arguments
    ---------
    *args, **kwargs
        As for ``speechbrain.inference.interfaces.Pretrained``;
        ``run_opts={"device": "cuda", "precision": "bf16"}`` runs the
        model under bf16 autocast (the front-ends stay float32).

    Example
    -------
    >>> from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
    >>> class Loudness(torch.nn.Module):  # a stand-in for ATSTSED
    ...     def forward(self, cnn_feats, atst_feats=None):
    ...         x = cnn_feats.mean(1, keepdim=True)  # [B, 1, T]
    ...         x = torch.nn.functional.avg_pool1d(x, 4)
    ...         strong = x.transpose(1, 2).repeat(1, 1, 2)
    ...         return strong, strong.mean(1)
    >>> sed = SEDInterface(
    ...     modules={
    ...         "cnn_frontend": CNNFrontEnd(),
    ...         "atst_frontend": ATSTFrontEnd(),
    ...         "model": Loudness(),
    ...     },
    ...     hparams={
    ...         "sample_rate": 16000,
    ...         "classes": ["a", "b"],
    ...         "median_windows": 1,
    ...         "threshold": 0.5,
    ...         "window_seconds": 10.0,
    ...         "hop_seconds": 8.0,
    ...         "batch_size": 4,
    ...     },
    ...     run_opts={"device": "cpu"},
    ... )
    >>> scores = sed.frame_scores_batch(torch.randn(1, 16000 * 25))
    >>> scores[0].shape
    (391, 2)
    >>> frame = sed.scores_batch(torch.randn(1, 16000 * 3))[0]
    >>> len(frame), float(frame["offset"].iloc[-1])
    (47, 3.0)
    """

    HPARAMS_NEEDED = [
        "sample_rate",
        "classes",
        "median_windows",
        "threshold",
        "window_seconds",
        "hop_seconds",
        "batch_size",
    ]
    MODULES_NEEDED = ["cnn_frontend", "atst_frontend", "model"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hp = self.hparams
        self.configure(
            hp.classes,
            hp.window_seconds,
            hp.hop_seconds,
            hp.median_windows,
            hp.threshold,
            hp.batch_size,
            merge=getattr(hp, "merge", "crossfade"),
            sample_rate=hp.sample_rate,
            n_classes=getattr(hp, "n_classes", None),
        )
        if (
            self.device_type == "cpu"
            and self.precision == "bf16"
            and not cpu_has_native_bf16()
        ):
            logger.warning(
                "bf16 autocast on a CPU without native bfloat16 support "
                "(AVX-512 BF16 / AMX): PyTorch's bfloat16 kernels are then "
                "far slower than float32 (about 25x for this model on an "
                "AVX2 CPU); use the default fp32 precision"
            )

    @classmethod
    def from_hparams(
        cls, source, hparams_file="hyperparams.yaml", savedir=None, **kwargs
    ):
        """Loads a model folder (offline) or a hub model.

        Unlike the base class, a local ``source`` must be an existing
        folder holding ``hparams_file``; a typo raises
        ``FileNotFoundError`` instead of turning into a hub lookup. For a
        local folder the links in ``savedir`` are refreshed, so a reused
        ``savedir`` never serves another model's files.

        Arguments
        ---------
        source : str or os.PathLike
            Model folder (``hyperparams.yaml`` + ``model.ckpt``) or hub id.
        hparams_file : str
            Name of the hyperparameters file in ``source``.
        savedir : str or os.PathLike, optional
            Where links to (or downloads of) the files go; ``None`` uses a
            local folder in place (nothing written).
        **kwargs
            Passed to ``Pretrained.from_hparams`` (``run_opts``,
            ``overrides``, ``fetch_config``, ``freeze_params``...).

        Returns
        -------
        SEDInterface
            The loaded interface.
        """
        source, is_local = resolve_source(source)
        if is_local:
            hparams_path = Path(source) / hparams_file
            if not hparams_path.is_file():
                raise FileNotFoundError(
                    f"{hparams_path} not found: {source} is not a model "
                    "folder (see `speechbrain-atst export` / `convert`)"
                )
            if not hparams_path.read_text(encoding="utf-8").strip():
                raise ValueError(f"{hparams_path}: empty file")
            kwargs.setdefault("fetch_config", FetchConfig(overwrite=True))
        where = hparams_path if is_local else f"{source}/{hparams_file}"
        try:
            return super().from_hparams(
                source, hparams_file=hparams_file, savedir=savedir, **kwargs
            )
        except (CheckpointError, OSError):
            raise  # these name the file already
        except Exception as err:
            if str(where) in str(err):
                raise
            # A broken or foreign hyperparams file: say which one.
            raise ValueError(
                f"{where}: cannot build the model from this hyperparameters "
                f"file ({type(err).__name__}: {err})"
            ) from err

    # ------------------------------------------------------------------ #
    # Audio and thresholds
    # ------------------------------------------------------------------ #
    def load_audio(self, path, savedir=None):
        """Reads an audio file as a 16 kHz mono float32 waveform.

        Local files are read with :func:`speechbrain_atst.data.audio.
        read_audio` (any rate and channel count; missing, empty or corrupt
        files raise an error naming the file); ``http(s)://`` URLs go
        through SpeechBrain's fetching and ``audio_normalizer``.

        Arguments
        ---------
        path : str or os.PathLike
            Audio file or URL.
        savedir : str, optional
            Download folder for URLs.

        Returns
        -------
        torch.Tensor
            ``[samples]`` waveform (on the CPU for local files).
        """
        text = os.fspath(path)
        if text.startswith(("http://", "https://")):
            return super().load_audio(text, savedir=savedir).float()
        return read_audio(text, sample_rate=int(self.hparams.sample_rate))

    def _run_windows(self, windows):
        """Runs the front-ends and the model on ``[n, window]`` samples.

        Arguments
        ---------
        windows : numpy.ndarray or torch.Tensor
            ``[n, window_samples]`` float32 waveforms.

        Returns
        -------
        numpy.ndarray
            ``[n, window_frames, n_classes]`` float32 scores.
        """
        batch = torch.as_tensor(windows, dtype=torch.float32)
        batch = batch.to(self.device, non_blocking=True)
        return self._forward(batch).float().cpu().numpy()

    def _forward(self, batch):
        """Frame scores ``[n, window_frames, n_classes]`` of ``[n,
        window_samples]`` windows already on the model's device."""
        with torch.inference_mode():
            cnn_feats = self.mods.cnn_frontend(batch)
            atst_feats = self.mods.atst_frontend(batch)
            with self.inference_ctx:
                strong, _ = self.mods.model(cnn_feats, atst_feats)
            return strong

    # ------------------------------------------------------------------ #
    # Windows cut on the model's device (GPU)
    # ------------------------------------------------------------------ #
    #: Whether torch waveforms are checked and cut into windows on the
    #: model's device (see :meth:`_batch`); None: on a GPU only.
    device_windows = None

    def _on_device(self, wavs):
        """Whether ``wavs`` take the device path of :meth:`_batch`."""
        enabled = self.device_windows
        if enabled is None:
            enabled = self.device_type == "cuda"
        if not enabled:
            return False
        if isinstance(wavs, np.ndarray):  # torch can share its memory
            floats = (np.float32, np.float64)
            return wavs.dtype in floats and wavs.flags.writeable
        return torch.is_tensor(wavs) and wavs.is_floating_point()

    def _batch(self, wavs, wav_lens):
        """The checked batch (see ``WindowedDetector._batch``).

        On a GPU, floating-point waveforms (torch or NumPy) stay torch
        tensors: copied once to the model's device (no copy if they are
        there already; pass pinned memory for an asynchronous copy), checked
        for NaN and inf there (one synchronisation for the whole batch), cut
        into windows there (:meth:`_cut_windows`) and scored without a
        round trip per batch of windows (:meth:`_score_jobs`). The windows,
        scores and errors are those of the NumPy path.
        """
        if not self._on_device(wavs):
            return super()._batch(wavs, wav_lens)
        if isinstance(wavs, np.ndarray):
            wavs = torch.from_numpy(np.ascontiguousarray(wavs))
        return self._check_batch(
            wavs.detach(),
            wav_lens,
            torch.isfinite,
            place=lambda w: w.to(self.device, torch.float32, non_blocking=True),
        )

    def _score_jobs(self, wavs, lengths, jobs):
        """Window scores (see ``WindowedDetector._score_jobs``); for device
        waveforms all batches of windows are queued on the device and their
        scores copied back once."""
        if not torch.is_tensor(wavs):
            return super()._score_jobs(wavs, lengths, jobs)
        if not jobs:
            return []
        outputs = [
            self._forward(
                self._cut_windows(
                    wavs, lengths, jobs[first : first + self.batch_size]
                )
            )
            for first in range(0, len(jobs), self.batch_size)
        ]
        with torch.inference_mode():
            return list(torch.cat(outputs).float().cpu().numpy())

    def _cut_windows(self, wavs, lengths, chunk):
        """Windows of the jobs (see ``WindowedDetector._cut_windows``), cut
        from device waveforms on the device.

        Whole rows of one window each are the batch itself; rows of one
        window shorter than it are zero-padded at once; otherwise each
        window is a slice of its waveform (mirrored past the end of long
        audio, as :func:`~speechbrain_atst.inference.windowing.cut_window`
        does), stacked in one copy.
        """
        if not torch.is_tensor(wavs):
            return super()._cut_windows(wavs, lengths, chunk)
        size = self.window_samples
        rows = [i for i, _ in chunk]
        first, last = rows[0], rows[0] + len(rows)
        if rows == list(range(first, last)) and all(
            start == 0 and lengths[i] <= size for i, start in chunk
        ):
            batch = wavs[first:last, :size]
            if all(lengths[i] == size for i in rows) and (
                batch.shape[1] == size
            ):
                return batch
            batch = torch.nn.functional.pad(batch, (0, size - batch.shape[1]))
            ends = torch.tensor(lengths[first:last], device=wavs.device)
            keep = torch.arange(size, device=wavs.device) < ends[:, None]
            return batch.masked_fill(~keep, 0.0)
        return torch.stack(
            [
                self._cut_window(wavs[i, : lengths[i]], start)
                for i, start in chunk
            ]
        )

    def _cut_window(self, signal, start):
        """One window of a device waveform (``cut_window`` on the device)."""
        size = self.window_samples
        begin = start * FRAME_SAMPLES
        piece = signal[begin : begin + size]
        missing = size - piece.shape[0]
        if missing <= 0:
            return piece
        if begin == 0:
            return torch.nn.functional.pad(piece, (0, missing))
        if missing < piece.shape[0]:  # one reflection about the last sample
            return torch.cat([piece, piece.flip(0)[1 : missing + 1]])
        window = cut_window(signal.cpu().numpy(), start, size)
        return torch.from_numpy(window).to(signal.device)

    def forward(self, wavs, wav_lens=None):
        """Runs :meth:`detect_batch` (SpeechBrain interface convention).

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, samples]`` at 16 kHz.
        wav_lens : torch.Tensor, optional
            Relative lengths.

        Returns
        -------
        pandas.DataFrame
            Events.
        """
        return self.detect_batch(wavs, wav_lens)

    def stream(self, **kwargs):
        """A streaming detector over this model (live audio in chunks).

        Arguments
        ---------
        **kwargs
            ``hop_seconds``, ``threshold``, ``input_rate``, ``channels``
            of :class:`~speechbrain_atst.inference.stream.StreamingDetector`.

        Returns
        -------
        speechbrain_atst.inference.stream.StreamingDetector
            Feed it chunks; its final frame scores and events equal the
            offline ones.
        """
        from speechbrain_atst.inference.stream import StreamingDetector

        return StreamingDetector(self, **kwargs)
