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
their real duration.

Authors
 * speechbrain-atst team 2026
"""

import contextlib
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
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
from speechbrain_atst.evaluation import (
    median_filter,
    scores_to_dataframe,
)
from speechbrain_atst.evaluation import scores_to_events as decode_events
from speechbrain_atst.inference.windowing import (
    FRAME_SAMPLES,
    cut_window,
    merge_weights,
    merge_window_scores,
    window_plan,
)
from speechbrain_atst.labels import (
    CLIP_SECONDS,
    SAMPLE_RATE,
    FrameGrid,
    load_classes,
    per_class_values,
)

#: Columns of the event DataFrames (DESED order, plus the event score).
EVENT_COLUMNS = ["filename", "onset", "offset", "event_label", "score"]

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


@contextlib.contextmanager
def _naming(path):
    """Prefixes a ``ValueError`` about a file's waveform with the file."""
    try:
        yield
    except ValueError as err:
        if os.fspath(path) in str(err):
            raise
        raise ValueError(f"{os.fspath(path)}: {err}") from None


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


class SEDInterface(Pretrained):
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
        if int(hp.sample_rate) != SAMPLE_RATE:
            raise ValueError(
                f"sample_rate must be {SAMPLE_RATE} (the rate of the "
                f"front-ends), got {hp.sample_rate}"
            )
        self.classes = load_classes(hp.classes)
        n_classes = getattr(hp, "n_classes", len(self.classes))
        if n_classes != len(self.classes):
            raise ValueError(
                f"n_classes is {n_classes} but {len(self.classes)} class "
                "names are listed"
            )
        if not 0 < float(hp.window_seconds) <= CLIP_SECONDS:
            raise ValueError(
                f"window_seconds must be in (0, {CLIP_SECONDS}] (the "
                f"transformer's input length), got {hp.window_seconds}"
            )
        self.grid = FrameGrid(clip_seconds=float(hp.window_seconds))
        self.window_samples = self.grid.clip_samples
        self.window_frames = self.grid.model_frames(self.window_samples)
        self.hop_frames = int(
            round(float(hp.hop_seconds) * self.grid.frames_per_second)
        )
        if not 1 <= self.hop_frames <= self.window_frames:
            raise ValueError(
                f"hop_seconds={hp.hop_seconds} must be between one frame "
                f"({self.grid.frame_seconds} s) and the window "
                f"({hp.window_seconds} s)"
            )
        self.merge = getattr(hp, "merge", "crossfade")
        merge_weights([0], 1, self.merge)  # validates the mode
        self.median_windows = [
            int(w) for w in per_class_values(hp.median_windows, self.classes, 1)
        ]
        self.batch_size = max(1, int(hp.batch_size))
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
        self.default_threshold = np.full(len(self.classes), 0.5)
        self.default_threshold = self.thresholds(hp.threshold)

    @property
    def hop_seconds(self):
        """The hop between window starts actually used (a whole frame)."""
        return round(self.hop_frames * self.grid.frame_seconds, 6)

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

    def thresholds(self, threshold=None):
        """Per-class decision thresholds.

        Arguments
        ---------
        threshold : float, sequence, dict or None
            One threshold, one per class, or ``{class: threshold}``
            (unlisted classes keep the model's default); ``None`` gives the
            model's default (``threshold`` in its hyperparams).

        Returns
        -------
        numpy.ndarray
            One threshold per class.
        """
        if threshold is None:
            return self.default_threshold.copy()
        if isinstance(threshold, dict):
            unknown = set(threshold) - set(self.classes)
            if unknown:
                raise KeyError(
                    f"Thresholds given for unknown classes {sorted(unknown)}"
                    f"; the model's classes are {self.classes}"
                )
            out = self.default_threshold.copy()
            for i, name in enumerate(self.classes):
                if name in threshold:
                    out[i] = float(threshold[name])
            return out
        return np.asarray(
            per_class_values(threshold, self.classes), dtype=float
        )

    # ------------------------------------------------------------------ #
    # Frame scores
    # ------------------------------------------------------------------ #
    def _signals(self, wavs, wav_lens):
        """Splits a padded batch into 1-D signals of their real lengths."""
        if not isinstance(wavs, torch.Tensor):
            wavs = torch.as_tensor(np.asarray(wavs), dtype=torch.float32)
        if wavs.dim() == 1:
            wavs = wavs.unsqueeze(0)
        if wavs.dim() != 2:
            raise ValueError(
                f"Expected waveforms [batch, samples], got {tuple(wavs.shape)}"
            )
        if wav_lens is None:
            lengths = [wavs.shape[1]] * wavs.shape[0]
        else:
            rel = torch.as_tensor(wav_lens, dtype=torch.float64).flatten()
            lengths = [int(round(float(r) * wavs.shape[1])) for r in rel]
        signals = []
        for index, (wav, length) in enumerate(zip(wavs, lengths)):
            if length <= 0:
                raise ValueError(f"Cannot score an empty waveform ({index})")
            signal = wav[:length].float()
            if not bool(torch.isfinite(signal).all()):
                # NaN would spread over the whole window (per-clip
                # normalisation) and yield NaN scores without an error.
                raise ValueError(
                    f"Waveform {index} of the batch contains NaN or inf samples"
                )
            signals.append(signal)
        return signals

    def _run_windows(self, windows):
        """Runs the front-ends and the model on ``[n, window]`` samples."""
        batch = windows.to(self.device)
        cnn_feats = self.mods.cnn_frontend(batch)
        atst_feats = self.mods.atst_frontend(batch)
        with self.inference_ctx:
            strong, _ = self.mods.model(cnn_feats, atst_feats)
        return strong.float().cpu()

    def _window(self, signal, start_frame):
        """The window of ``signal`` starting at frame ``start_frame``
        (see :func:`~speechbrain_atst.inference.windowing.cut_window`)."""
        window = cut_window(signal.numpy(), start_frame, self.window_samples)
        return torch.from_numpy(window)

    def frame_scores_batch(self, wavs, wav_lens=None, median=True):
        """Frame scores of each waveform of a batch, on the 64 ms grid.

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, samples]`` (or ``[samples]``) at 16 kHz.
        wav_lens : torch.Tensor, optional
            Relative lengths (SpeechBrain convention); full by default.
        median : bool
            Apply the per-class median filter (after merging windows).

        Returns
        -------
        list of numpy.ndarray
            One ``[frames, n_classes]`` float32 array per waveform, with
            ``ceil(samples / 1024)`` frames for audio longer than a window
            and ``FrameGrid.valid_frames(duration)`` frames otherwise.
        """
        signals = self._signals(wavs, wav_lens)
        plans = [
            window_plan(
                s.shape[0],
                self.window_samples,
                self.window_frames,
                self.hop_frames,
                FRAME_SAMPLES,
            )
            for s in signals
        ]
        jobs = [
            (i, start)
            for i, (starts, _) in enumerate(plans)
            for start in starts
        ]
        outputs = []
        with torch.inference_mode():
            for first in range(0, len(jobs), self.batch_size):
                chunk = jobs[first : first + self.batch_size]
                windows = torch.stack(
                    [self._window(signals[i], start) for i, start in chunk]
                )
                outputs.extend(self._run_windows(windows).unbind(0))
        results = []
        position = 0
        for index, (starts, n_frames) in enumerate(plans):
            strong = outputs[position : position + len(starts)]
            position += len(starts)
            results.append(self._merge(strong, starts, n_frames, median))
            if not np.isfinite(results[-1]).all():
                # E.g. samples so large that the spectrogram overflows
                # float32: never hand out NaN scores (they decode to no
                # event at all, silently).
                peak = float(signals[index].abs().max())
                raise ValueError(
                    f"Waveform {index}: the model produced NaN or inf "
                    f"scores (largest sample magnitude {peak:.3g}; audio "
                    "is expected in about [-1, 1])"
                )
        return results

    def _merge(self, strong, starts, n_frames, median):
        """Weighted average of window scores on the global frame grid.

        The median filter runs over all the frames the windows cover, then
        the scores are cut to ``n_frames``: for a clip shorter than a
        window this filters over the padded window, as the official test
        (and the training recipe's test pass) does.
        """
        n_classes = strong[0].shape[-1]
        if n_classes != len(self.classes):
            raise RuntimeError(
                f"The model outputs {n_classes} classes but "
                f"{len(self.classes)} class names are configured"
            )
        scores = merge_window_scores(
            [out.numpy() for out in strong],
            starts,
            n_frames,
            self.window_frames,
            self.merge,
        )
        if median:
            scores = median_filter(scores, self.median_windows)
        scores = scores[:n_frames]
        return np.asarray(scores, dtype=np.float32)

    def frame_scores_file(self, path, median=True):
        """Frame scores of an audio file (see :meth:`frame_scores_batch`).

        Arguments
        ---------
        path : str or os.PathLike
            Audio file (any rate, any number of channels).
        median : bool
            Apply the per-class median filter.

        Returns
        -------
        numpy.ndarray
            ``[frames, n_classes]`` scores.
        """
        with _naming(path):
            return self.frame_scores_batch(
                self.load_audio(path)[None], None, median
            )[0]

    # ------------------------------------------------------------------ #
    # Score frames and events
    # ------------------------------------------------------------------ #
    def scores_dataframe(self, scores, duration):
        """sed_scores_eval score DataFrame of a clip's frame scores.

        Arguments
        ---------
        scores : numpy.ndarray
            ``[frames, n_classes]`` frame scores.
        duration : float
            The clip's duration (s); the last offset is cut to it.

        Returns
        -------
        pandas.DataFrame
            Columns ``onset, offset, <classes...>``.
        """
        return scores_to_dataframe(scores, self.classes, duration=duration)

    def scores_to_events(self, scores, duration, threshold=None, filename=""):
        """Turns frame scores into events (strict ``score > threshold``).

        Arguments
        ---------
        scores : numpy.ndarray
            ``[frames, n_classes]`` frame scores (median filtered).
        duration : float
            The clip's duration (s); offsets are cut to it.
        threshold : float, sequence, dict or None
            See :meth:`thresholds`.
        filename : str
            Value of the ``filename`` column.

        Returns
        -------
        pandas.DataFrame
            ``filename, onset, offset, event_label, score`` sorted by
            onset; ``score`` is the highest frame score in the event.
        """
        scores = np.asarray(scores)
        thresholds = self.thresholds(threshold)
        frame = self.scores_dataframe(scores, duration)
        fps = self.grid.frames_per_second
        rows = []
        for onset, offset, label in decode_events(frame, list(thresholds)):
            start = int(round(onset * fps))
            stop = max(start + 1, math.ceil(round(offset * fps, 6)))
            column = scores[start:stop, self.classes.index(label)]
            rows.append((filename, onset, offset, label, float(column.max())))
        events = pd.DataFrame(rows, columns=EVENT_COLUMNS)
        events = events.sort_values(["onset", "event_label"], kind="stable")
        return events.reset_index(drop=True)

    def scores_batch(self, wavs, wav_lens=None):
        """Median-filtered sed_scores_eval score DataFrames of a batch.

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, samples]`` at 16 kHz.
        wav_lens : torch.Tensor, optional
            Relative lengths.

        Returns
        -------
        list of pandas.DataFrame
            One score DataFrame per waveform.
        """
        lengths = [s.shape[0] for s in self._signals(wavs, wav_lens)]
        scores = self.frame_scores_batch(wavs, wav_lens)
        sr = int(self.hparams.sample_rate)
        return [
            self.scores_dataframe(s, n / sr) for s, n in zip(scores, lengths)
        ]

    def scores_file(self, path):
        """Median-filtered sed_scores_eval score DataFrame of a file.

        Arguments
        ---------
        path : str or os.PathLike
            Audio file.

        Returns
        -------
        pandas.DataFrame
            Columns ``onset, offset, <classes...>``, one row per 64 ms
            frame, up to the file's duration.
        """
        with _naming(path):
            return self.scores_batch(self.load_audio(path)[None])[0]

    def detect_batch(self, wavs, wav_lens=None, threshold=None, filenames=None):
        """Detects events in a batch of waveforms.

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, samples]`` at 16 kHz.
        wav_lens : torch.Tensor, optional
            Relative lengths.
        threshold : float, sequence, dict or None
            See :meth:`thresholds`; the model's default if None.
        filenames : list of str, optional
            Values of the ``filename`` column (``"0"``, ``"1"``... by
            default).

        Returns
        -------
        pandas.DataFrame
            ``filename, onset, offset, event_label, score`` for all
            waveforms.
        """
        signals = self._signals(wavs, wav_lens)
        if filenames is None:
            filenames = [str(i) for i in range(len(signals))]
        if len(filenames) != len(signals):
            raise ValueError(
                f"{len(filenames)} filenames for {len(signals)} waveforms"
            )
        scores = self.frame_scores_batch(wavs, wav_lens)
        sr = int(self.hparams.sample_rate)
        frames = [
            self.scores_to_events(s, sig.shape[0] / sr, threshold, name)
            for s, sig, name in zip(scores, signals, filenames)
        ]
        return pd.concat(frames, ignore_index=True)

    def detect_file(self, path, threshold=None):
        """Detects events in an audio file of any length, rate, channels.

        Arguments
        ---------
        path : str or os.PathLike
            Audio file.
        threshold : float, sequence, dict or None
            See :meth:`thresholds`; the model's default (0.5 unless the
            model folder sets others) if None.

        Returns
        -------
        pandas.DataFrame
            ``filename`` (the file's name), ``onset``, ``offset`` (s),
            ``event_label`` and ``score``.
        """
        with _naming(path):
            wav = self.load_audio(path)
            return self.detect_batch(
                wav[None], threshold=threshold, filenames=[Path(path).name]
            )

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
