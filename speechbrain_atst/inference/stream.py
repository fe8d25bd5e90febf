"""Streaming sound event detection with bounded latency and memory.

:class:`StreamingDetector` runs a loaded
:class:`~speechbrain_atst.inference.SEDInterface` on live audio fed in
chunks of any size, rate and channel count, and hands out frame scores and
events as soon as they are *final*: equal to what the offline
``frame_scores_batch`` / ``scores_to_events`` give for the whole recording
(the offline windows of
:func:`~speechbrain_atst.inference.windowing.window_plan`, the same
cross-fade and per-class median filter).

When things become final (``N`` frames per window, ``H`` frames of hop,
``T`` samples fed, 1024 samples per frame):

* the window starting at frame ``s = kH`` runs as soon as its 10 s of
  audio are in (``T >= 1024 s + window_samples``): every such window is
  one of the offline windows, whatever the length of the recording;
* the offline plan ends with a window at ``n_frames - N`` (off the hop
  grid, mirror-padded), which depends on where the recording stops: a
  frame ``f`` is only final once no such last window can cover it,
  ``f < ceil(T / 1024) - N``, which is about one window (10 s of audio)
  after the frame. Until then :meth:`StreamingDetector.flush` could still
  change it (the recording may end now); this, not the hop, bounds the
  latency of exact scores;
* the median filter of length ``w`` needs ``w // 2`` more final frames;
* an event is final when the frame after it is final and below
  threshold (or at :meth:`~StreamingDetector.flush`).

Hence the latency of frame scores: one window plus the largest median
half-window plus the chunk size, in audio; plus the compute of the
windows run in the :meth:`~StreamingDetector.feed` call. The hop only sets
the compute (one window per hop) and the offline setting that is matched.

Memory is constant over any stream length: the detector keeps about one
window plus one chunk of audio, the outputs of the windows that still
cover unfinished frames and a few frames of merged scores (see
:attr:`StreamingDetector.buffer_sizes`).

Audio at another rate is resampled with the offline resampler
(:func:`speechbrain_atst.data.audio.resample`, torchaudio's polyphase
sinc filter) by :class:`StreamResampler`, which resamples whole input
blocks with the filter's context around them, so the output equals the
resampling of the whole recording (zero padding only at its true start
and end) up to float rounding.

Authors
 * speechbrain-atst team 2026
"""

import math
import sys
import time
from collections import namedtuple

import numpy as np
import torch

from speechbrain_atst.data.audio import _resampler, resample
from speechbrain_atst.evaluation import median_filter
from speechbrain_atst.inference.windowing import (
    FRAME_SAMPLES,
    cut_window,
    merge_window_scores,
    window_plan,
)

#: Finalised frame scores: ``scores[i]`` is frame ``start_frame + i`` of the
#: recording (``[frames, classes]`` float32, median filtered).
FrameScores = namedtuple("FrameScores", ["start_frame", "scores"])
#: A finished event (seconds; ``score`` is its highest frame score).
Event = namedtuple("Event", ["onset", "offset", "event_label", "score"])

#: Smallest default hop (s, whole 64 ms frames): the base model (ATST-Frame
#: 768/12/12) computes a 10 s window in about 0.41 s on 2 CPU cores
#: (``benchmarks/bench_stream.py``), so one window per hop stays below 0.3x
#: real time with a 1.5x margin for slower moments of a shared machine.
MIN_HOP_SECONDS = 2.112
#: Raw PCM sample formats of :func:`stream_stdin`: numpy dtype and the
#: scale to floats in [-1, 1] (soundfile's convention).
PCM_FORMATS = {
    "int16": ("<i2", 2.0**15),
    "int32": ("<i4", 2.0**31),
    "float32": ("<f4", 1.0),
    "float64": ("<f8", 1.0),
}


class GrowingBuffer:
    """A 1-D or 2-D array that grows at the end and drops its start.

    Appending is amortised O(chunk) and dropping is O(1) until the next
    compaction; ``start`` is the absolute index of the first kept row.

    Arguments
    ---------
    dtype : numpy.dtype
        Element type.
    width : int, optional
        Columns of a 2-D buffer (``None``: 1-D).

    Example
    -------
    >>> buf = GrowingBuffer(np.float32)
    >>> buf.append(np.arange(5.0))
    >>> buf.drop_before(3)
    >>> buf.start, buf.end, buf.view().tolist()
    (3, 5, [3.0, 4.0])
    """

    def __init__(self, dtype, width=None):
        self._shape = () if width is None else (width,)
        self._data = np.zeros((16,) + self._shape, dtype=dtype)
        self._first = 0  # index in _data of absolute row `start`
        self._length = 0
        self.start = 0

    @property
    def end(self):
        """Absolute index after the last row."""
        return self.start + self._length

    @property
    def capacity(self):
        """Rows allocated (bounded when the kept length is)."""
        return self._data.shape[0]

    def view(self, begin=None, stop=None):
        """Rows ``[begin, stop)`` (absolute indices, default: all kept)."""
        begin = self.start if begin is None else begin
        stop = self.end if stop is None else stop
        if not self.start <= begin <= stop <= self.end:
            raise IndexError(
                f"rows [{begin}, {stop}) not in [{self.start}, {self.end})"
            )
        offset = self._first - self.start
        return self._data[begin + offset : stop + offset]

    def append(self, rows):
        """Adds rows at the end."""
        rows = np.asarray(rows)
        needed = self._length + rows.shape[0]
        if self._first + needed > self._data.shape[0]:
            data = self._data
            if needed > data.shape[0] // 2:
                data = np.zeros((2 * needed,) + self._shape, data.dtype)
            data[: self._length] = self.view()
            self._data, self._first = data, 0
        stop = self._first + needed
        self._data[self._first + self._length : stop] = rows
        self._length = needed

    def drop_before(self, index):
        """Forgets the rows before absolute ``index``."""
        index = min(max(index, self.start), self.end)
        self._first += index - self.start
        self._length -= index - self.start
        self.start = index


class StreamResampler:
    """Chunk-by-chunk resampling equal to resampling the whole signal.

    torchaudio's sinc resampler maps each block of ``orig`` input samples
    (the rates divided by their gcd) to ``new`` output samples, reading
    ``width`` samples of context on each side and zero-padding the ends of
    its input. This class keeps the last input samples and resamples, with
    :func:`~speechbrain_atst.data.audio.resample` itself, the blocks whose
    context is complete (plus enough history on the left), so that zero
    padding only happens at the true start and (in :meth:`flush`) end.

    Arguments
    ---------
    orig_freq : int
        Input rate (Hz).
    new_freq : int
        Output rate (Hz).

    Example
    -------
    >>> x = torch.randn(44100)
    >>> res = StreamResampler(44100, 16000)
    >>> parts = [res.feed(x[i : i + 999]) for i in range(0, 44100, 999)]
    >>> y = torch.cat(parts + [res.flush()])
    >>> y.shape, bool(torch.allclose(y, resample(x, 44100, 16000), atol=1e-6))
    (torch.Size([16000]), True)
    """

    def __init__(self, orig_freq, new_freq):
        self.orig_freq, self.new_freq = int(orig_freq), int(new_freq)
        gcd = math.gcd(self.orig_freq, self.new_freq)
        self._orig, self._new = self.orig_freq // gcd, self.new_freq // gcd
        width = _resampler(self.orig_freq, self.new_freq).width
        self._width = width
        self._history_blocks = -(-width // self._orig)  # ceil
        self._input = GrowingBuffer(np.float32)
        self._done = 0  # output blocks handed out

    @property
    def kept_samples(self):
        """Input samples held (bounded: context plus one chunk)."""
        return self._input.end - self._input.start

    def _resample(self, first_block, stop_block=None):
        """Output of blocks ``[first_block, stop_block)`` (None: to the end,
        zero-padded like the offline resampler)."""
        begin = max(0, first_block - self._history_blocks) * self._orig
        out = resample(
            torch.from_numpy(self._input.view(begin).copy()),
            self.orig_freq,
            self.new_freq,
        )
        skip = (first_block - begin // self._orig) * self._new
        stop = None
        if stop_block is not None:
            stop = (stop_block - begin // self._orig) * self._new
        return out[skip:stop]

    def feed(self, samples):
        """Resamples a chunk; returns the output samples now complete.

        Arguments
        ---------
        samples : torch.Tensor
            1-D float32 input samples.

        Returns
        -------
        torch.Tensor
            1-D output samples (possibly none).
        """
        self._input.append(samples.numpy())
        ready = max(0, (self._input.end - self._width) // self._orig)
        if ready <= self._done:
            return torch.zeros(0)
        out = self._resample(self._done, ready)
        self._done = ready
        keep = max(0, ready - self._history_blocks) * self._orig
        self._input.drop_before(keep)
        return out

    def flush(self):
        """The remaining output samples (the end zero-padded as offline).

        Returns
        -------
        torch.Tensor
            1-D output samples.
        """
        if self._input.end == 0:
            return torch.zeros(0)
        out = self._resample(self._done)
        self._done = math.inf
        return out


class EventDecoder:
    """Thresholded event decoding of frame scores given stretch by stretch.

    The streaming form of
    :meth:`~speechbrain_atst.inference.SEDInterface.scores_to_events`: an
    event is a run of frames whose score is strictly above the class
    threshold, from the start of its first frame to the end of its last
    (frame boundaries rounded to the microsecond, the last offset cut to
    the duration), scored by its highest frame score. Runs still open at
    the end of a stretch are carried to the next one.

    Arguments
    ---------
    classes : list of str
        Class names, in score column order.
    thresholds : numpy.ndarray
        One threshold per class.
    frame_seconds : float
        Frame hop (0.064 s).

    Example
    -------
    >>> dec = EventDecoder(["a"], np.array([0.5]), 0.064)
    >>> dec.push(0, np.array([[0.1], [0.9]]))
    []
    >>> dec.push(2, np.array([[0.7], [0.2]]))
    [Event(onset=0.064, offset=0.192, event_label='a', score=0.9)]
    >>> dec.push(4, np.array([[0.6]])), dec.close(duration=0.3)
    ([], [Event(onset=0.256, offset=0.3, event_label='a', score=0.6)])
    """

    def __init__(self, classes, thresholds, frame_seconds):
        self.classes = list(classes)
        self.thresholds = np.asarray(thresholds, dtype=float)
        self.frame_seconds = float(frame_seconds)
        self.next_frame = 0
        self._onset = [None] * len(self.classes)  # open run: first frame
        self._peak = [-math.inf] * len(self.classes)

    def _time(self, frame):
        """Frame boundary time as ``FrameGrid.timestamps`` computes it."""
        return float((np.float64(frame) * self.frame_seconds).round(6))

    def _event(self, c, stop, offset=None):
        """The event of class ``c``'s open run ending before ``stop``."""
        event = Event(
            self._time(self._onset[c]),
            self._time(stop) if offset is None else offset,
            self.classes[c],
            float(self._peak[c]),
        )
        self._onset[c], self._peak[c] = None, -math.inf
        return event

    def push(self, start_frame, scores):
        """Decodes the next stretch of final frame scores.

        Arguments
        ---------
        start_frame : int
            Index of the stretch's first frame (must follow the last one).
        scores : numpy.ndarray
            ``[frames, classes]`` final scores.

        Returns
        -------
        list of Event
            The events that ended in this stretch (the frame after their
            last one is below threshold), by offset then class.
        """
        if start_frame != self.next_frame:
            raise ValueError(
                f"Expected frame {self.next_frame}, got {start_frame}"
            )
        above = scores > self.thresholds
        events = []
        for c in range(len(self.classes)):
            active = self._onset[c] is not None
            flags = np.concatenate(([active], above[:, c]))
            for edge in np.flatnonzero(flags[1:] != flags[:-1]):
                if flags[edge + 1]:
                    self._onset[c] = start_frame + edge
                    continue
                first = max(self._onset[c] - start_frame, 0)
                self._note_peak(c, scores[first:edge, c])
                events.append(self._event(c, start_frame + edge))
            if self._onset[c] is not None:
                first = max(self._onset[c] - start_frame, 0)
                self._note_peak(c, scores[first:, c])
        self.next_frame = start_frame + scores.shape[0]
        return sorted(events, key=lambda e: (e.offset, e.event_label))

    def _note_peak(self, c, values):
        if values.size:
            self._peak[c] = max(self._peak[c], float(values.max()))

    def close(self, duration=None):
        """Ends the events still open at the last frame pushed.

        Arguments
        ---------
        duration : float, optional
            The recording's duration (s): the offsets are cut to it.

        Returns
        -------
        list of Event
            The open events, by onset then class.
        """
        offset = self._time(self.next_frame)
        if duration is not None:
            offset = min(offset, round(float(duration), 6))
        events = [
            self._event(c, self.next_frame, offset)
            for c in range(len(self.classes))
            if self._onset[c] is not None
        ]
        return sorted(events, key=lambda e: (e.onset, e.event_label))


class StreamingDetector:
    """Frame scores and events of live audio, equal to the offline ones.

    Feed chunks of audio as they arrive; each :meth:`feed` returns the
    updates that became final: :class:`FrameScores` (the next stretch of
    median-filtered frame scores) followed by the :class:`Event` objects
    that ended in that stretch. :meth:`flush` ends the recording and
    returns the rest. The concatenated frame scores equal
    ``sed.frame_scores_batch`` of the whole recording (with the same hop)
    and the events equal ``sed.scores_to_events`` of those scores; see
    the module documentation for when each becomes final.

    Arguments
    ---------
    sed : speechbrain_atst.inference.SEDInterface
        The loaded model (its window, merge mode and median filter).
    hop_seconds : float, optional
        Hop between windows (rounded to whole 64 ms frames); ``None``
        uses the model's ``hop_seconds`` (so that the stream equals
        ``sed.detect_file``), or :data:`MIN_HOP_SECONDS` if that is
        smaller (at most 0.3x real time on 2 CPU cores). A smaller hop
        costs one window of compute per hop and does not shorten the
        latency.
    threshold : float, sequence, dict or None
        Decision thresholds (see ``SEDInterface.thresholds``).
    input_rate : int
        Sample rate of the chunks (Hz); resampled to 16 kHz as offline.
    channels : int
        Channels of the chunks (averaged to mono).

    Example
    -------
    >>> from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
    >>> from speechbrain_atst.inference import SEDInterface
    >>> class Loudness(torch.nn.Module):  # a stand-in for ATSTSED
    ...     def forward(self, cnn_feats, atst_feats=None):
    ...         x = cnn_feats.mean(1, keepdim=True)
    ...         x = torch.nn.functional.avg_pool1d(x, 4)
    ...         return x.transpose(1, 2), x.mean(2)
    >>> sed = SEDInterface(
    ...     modules={
    ...         "cnn_frontend": CNNFrontEnd(),
    ...         "atst_frontend": ATSTFrontEnd(),
    ...         "model": Loudness(),
    ...     },
    ...     hparams={
    ...         "sample_rate": 16000,
    ...         "classes": ["loud"],
    ...         "median_windows": 3,
    ...         "threshold": 0.5,
    ...         "window_seconds": 10.0,
    ...         "hop_seconds": 4.0,
    ...         "batch_size": 4,
    ...     },
    ... )
    >>> wav = np.random.default_rng(0).normal(size=(16000 * 25, 2))
    >>> det = StreamingDetector(sed, channels=2)
    >>> updates = []
    >>> for i in range(0, wav.shape[0], 16000):
    ...     updates += det.feed(wav[i : i + 16000])
    >>> updates += det.flush()
    >>> scores = np.concatenate(
    ...     [u.scores for u in updates if isinstance(u, FrameScores)]
    ... )
    >>> offline = sed.frame_scores_batch(torch.tensor(wav.mean(1)).float())
    >>> scores.shape, bool(np.abs(scores - offline[0]).max() < 1e-5)
    ((391, 1), True)
    """

    def __init__(
        self,
        sed,
        hop_seconds=None,
        threshold=None,
        input_rate=16000,
        channels=1,
    ):
        self.sed = sed
        self.rate = int(sed.hparams.sample_rate)
        self.window_samples = sed.window_samples
        self.window_frames = sed.window_frames
        self.hop_frames = max(
            sed.hop_frames,
            round(MIN_HOP_SECONDS * sed.grid.frames_per_second),
        )
        if hop_seconds is not None:
            self.hop_frames = int(
                round(float(hop_seconds) * sed.grid.frames_per_second)
            )
        if not 1 <= self.hop_frames <= self.window_frames:
            raise ValueError(
                f"hop_seconds={hop_seconds} must be between one frame "
                f"({sed.grid.frame_seconds} s) and the window"
            )
        self.channels = int(channels)
        self.input_rate = int(input_rate)
        if self.channels < 1 or self.input_rate < 1:
            raise ValueError(
                f"Invalid channels={channels} or input_rate={input_rate}"
            )
        self._resampler = None
        if self.input_rate != self.rate:
            self._resampler = StreamResampler(self.input_rate, self.rate)
        self.margin = max(w // 2 for w in sed.median_windows)
        self.decoder = EventDecoder(
            sed.classes, sed.thresholds(threshold), sed.grid.frame_seconds
        )
        self._audio = GrowingBuffer(np.float32)
        self._merged = GrowingBuffer(np.float64, len(sed.classes))
        self._windows = []  # (start frame, [frames, classes] scores)
        self._next_start = 0  # next hop-grid window to run
        self._input_samples = 0
        self._closed = False

    # ------------------------------------------------------------------ #
    @property
    def hop_seconds(self):
        """The hop between window starts (a whole number of frames)."""
        return round(self.hop_frames * self.sed.grid.frame_seconds, 6)

    @property
    def samples(self):
        """Samples fed so far, at 16 kHz (after resampling)."""
        return self._audio.end

    @property
    def final_frames(self):
        """Frames whose scores have been handed out."""
        return self.decoder.next_frame

    @property
    def buffer_sizes(self):
        """What the detector holds (all bounded over any stream length).

        Returns
        -------
        dict
            ``audio_samples`` (16 kHz samples kept), ``audio_capacity``
            (allocated), ``input_samples`` (resampler history),
            ``windows`` (window outputs kept), ``merged_frames`` and
            ``merged_capacity``.
        """
        return {
            "audio_samples": self._audio.end - self._audio.start,
            "audio_capacity": self._audio.capacity,
            "input_samples": (
                0 if self._resampler is None else self._resampler.kept_samples
            ),
            "windows": len(self._windows),
            "merged_frames": self._merged.end - self._merged.start,
            "merged_capacity": self._merged.capacity,
        }

    # ------------------------------------------------------------------ #
    def _mono(self, chunk):
        """A chunk as 1-D float32 samples at the input rate (checked)."""
        if isinstance(chunk, torch.Tensor):
            chunk = chunk.detach().cpu().numpy()
        chunk = np.asarray(chunk)
        if not np.issubdtype(chunk.dtype, np.floating):
            raise TypeError(
                f"Expected float samples, got {chunk.dtype} (see "
                "PCM_FORMATS for the scaling of integer PCM)"
            )
        if chunk.ndim == 2 and chunk.shape[1] == self.channels:
            chunk = chunk.astype(np.float32, copy=False).mean(axis=1)
        elif chunk.ndim != 1 or self.channels != 1:
            raise ValueError(
                f"Expected chunks of shape [samples, {self.channels}]"
                + (" or [samples]" if self.channels == 1 else "")
                + f", got {chunk.shape}"
            )
        chunk = chunk.astype(np.float32, copy=False)
        if not np.isfinite(chunk).all():
            bad = self._input_samples + int(np.argmax(~np.isfinite(chunk)))
            raise ValueError(
                "The audio stream contains NaN or inf samples (first at "
                f"{bad / self.input_rate:.3f} s)"
            )
        self._input_samples += chunk.shape[0]
        return chunk

    def feed(self, chunk):
        """Adds audio; returns the updates that became final.

        Arguments
        ---------
        chunk : numpy.ndarray or torch.Tensor
            Float samples ``[samples]`` (mono) or ``[samples, channels]``
            at ``input_rate``; any length, including 0.

        Returns
        -------
        list
            :class:`FrameScores` then the :class:`Event` objects that
            ended in them (empty if nothing became final).

        Raises
        ------
        ValueError
            If the chunk has NaN or inf samples or the wrong shape, or the
            stream was flushed.
        """
        if self._closed:
            raise ValueError("The stream was flushed; start a new detector")
        samples = self._mono(chunk)
        if self._resampler is not None:
            samples = self._resampler.feed(torch.from_numpy(samples)).numpy()
        self._audio.append(samples)
        total = self._audio.end
        starts = []
        while self._next_start * FRAME_SAMPLES + self.window_samples <= total:
            starts.append(self._next_start)
            self._next_start += self.hop_frames
        self._run(starts)
        # The offline last window starts at n_frames - window_frames with
        # n_frames >= ceil(total / 1024): frames before that are final.
        last_min = 0
        if total > self.window_samples:
            last_min = -(-total // FRAME_SAMPLES) - self.window_frames
        ready = min(self._next_start, last_min)
        updates = self._finalise(ready, ready - self.margin)
        keep = min(self._next_start, last_min) - 1
        self._audio.drop_before(max(keep, 0) * FRAME_SAMPLES)
        return updates

    def flush(self):
        """Ends the stream: the remaining frame scores and events.

        Runs the offline plan's last windows (the mirror-padded window
        ending with the audio, or the zero-padded window of a recording
        shorter than one window, cut to its duration).

        Returns
        -------
        list
            The last :class:`FrameScores` and :class:`Event` objects
            (empty if no audio was fed).
        """
        if self._closed:
            return []
        if self._resampler is not None:
            self._audio.append(self._resampler.flush().numpy())
        self._closed = True
        total = self._audio.end
        if total == 0:
            return []
        starts, n_frames = window_plan(
            total,
            self.window_samples,
            self.window_frames,
            self.hop_frames,
            FRAME_SAMPLES,
        )
        # The windows that ran (hop grid, before _next_start) are all in
        # this plan; the last one may be off the grid.
        ran = range(0, self._next_start, self.hop_frames)
        self._run([s for s in starts if s not in ran])
        updates = self._finalise(n_frames, n_frames, end=True)
        updates += self.decoder.close(total / self.rate)
        self._windows, self._audio = [], GrowingBuffer(np.float32)
        return updates

    # ------------------------------------------------------------------ #
    def _run(self, starts):
        """Runs the windows starting at these frames (batched)."""
        size = self.sed.batch_size
        base = self._audio.start // FRAME_SAMPLES
        signal = self._audio.view()
        for first in range(0, len(starts), size):
            batch = starts[first : first + size]
            windows = np.stack(
                [
                    cut_window(signal, s - base, self.window_samples)
                    for s in batch
                ]
            )
            scores = np.asarray(self.sed._run_windows(windows))
            if not np.isfinite(scores).all():
                raise ValueError(
                    "The model produced NaN or inf scores (largest "
                    f"sample magnitude {np.abs(windows).max():.3g}; audio "
                    "is expected in about [-1, 1])"
                )
            self._windows += list(zip(batch, scores))

    def _finalise(self, merged_stop, final_stop, end=False):
        """Merges the frames up to ``merged_stop`` and hands out the median
        filtered ones up to ``final_stop`` (all of them when ``end``)."""
        begin = self._merged.end
        if merged_stop > begin:
            base = self._windows[0][0]
            merged = merge_window_scores(
                [scores for _, scores in self._windows],
                [start - base for start, _ in self._windows],
                merged_stop - base,
                self.window_frames,
                self.sed.merge,
            )
            # At the end, a clip shorter than a window keeps all the frames
            # of its padded window: the median filter runs over them, as
            # offline, before the scores are cut to the clip.
            stop = None if end else merged_stop - base
            self._merged.append(merged[begin - base : stop])
            self._windows = [
                (start, scores)
                for start, scores in self._windows
                if start + self.window_frames > merged_stop
            ]
        first = self.decoder.next_frame
        if final_stop <= first:
            return []
        lo = max(first - self.margin, 0)
        filtered = median_filter(
            self._merged.view(lo), self.sed.median_windows
        )[first - lo : final_stop - lo]
        self._merged.drop_before(final_stop - self.margin)
        scores = np.asarray(filtered, dtype=np.float32)
        return [FrameScores(first, scores)] + self.decoder.push(first, scores)


def _realtime_pacer(realtime):
    """A function sleeping until ``seconds`` of audio have been played."""
    started = time.monotonic()

    def wait(seconds):
        if realtime:
            time.sleep(max(0.0, started + seconds - time.monotonic()))

    return wait


def stream_file(sed, path, chunk_seconds=1.0, realtime=False, **kwargs):
    """Streams an audio file through a :class:`StreamingDetector`.

    Arguments
    ---------
    sed : speechbrain_atst.inference.SEDInterface
        The loaded model.
    path : str or os.PathLike
        Audio file (any rate and channels, read with soundfile).
    chunk_seconds : float
        Seconds of audio per chunk.
    realtime : bool
        Feed the chunks no faster than real time (a live source).
    **kwargs
        ``hop_seconds`` and ``threshold`` of the detector.

    Yields
    ------
    FrameScores or Event
        The updates, as they become final.

    Example
    -------
    .. code-block:: python

        import soundfile

        for update in stream_file(sed, "rec.wav"):
            if isinstance(update, Event):
                print(update)

    """
    import soundfile as sf

    with sf.SoundFile(str(path)) as fin:
        detector = StreamingDetector(
            sed, input_rate=fin.samplerate, channels=fin.channels, **kwargs
        )
        block = max(1, int(round(chunk_seconds * fin.samplerate)))
        wait = _realtime_pacer(realtime)
        fed = 0
        for chunk in fin.blocks(block, dtype="float32", always_2d=True):
            fed += chunk.shape[0]
            wait(fed / fin.samplerate)
            yield from detector.feed(chunk)
    yield from detector.flush()


def stream_stdin(
    sed, rate, channels, dtype="int16", chunk_seconds=0.5, source=None, **kwargs
):
    """Streams raw interleaved PCM read from standard input.

    Arguments
    ---------
    sed : speechbrain_atst.inference.SEDInterface
        The loaded model.
    rate : int
        Sample rate of the PCM (Hz).
    channels : int
        Interleaved channels.
    dtype : str
        Little-endian sample format, one of :data:`PCM_FORMATS`.
    chunk_seconds : float
        Seconds of audio read at a time.
    source : file-like, optional
        Binary stream to read instead of ``sys.stdin.buffer``.
    **kwargs
        ``hop_seconds`` and ``threshold`` of the detector.

    Yields
    ------
    FrameScores or Event
        The updates, as they become final; the last ones at end of input.

    Example
    -------
    >>> import io
    >>> pcm = io.BytesIO(np.zeros(100, "<i2").tobytes())

    .. code-block:: python

        list(stream_stdin(sed, 16000, 1, source=pcm))

    """
    if dtype not in PCM_FORMATS:
        raise ValueError(f"dtype must be one of {sorted(PCM_FORMATS)}")
    fmt, scale = PCM_FORMATS[dtype]
    frame_bytes = np.dtype(fmt).itemsize * int(channels)
    source = sys.stdin.buffer if source is None else source
    detector = StreamingDetector(
        sed, input_rate=rate, channels=channels, **kwargs
    )
    want = max(1, int(round(chunk_seconds * rate))) * frame_bytes
    pending = b""
    while True:
        data = source.read(want)
        if not data:
            break
        pending += data
        usable = len(pending) - len(pending) % frame_bytes
        samples = np.frombuffer(pending[:usable], dtype=fmt)
        pending = pending[usable:]
        samples = samples.astype(np.float32) / np.float32(scale)
        yield from detector.feed(samples.reshape(-1, int(channels)))
    yield from detector.flush()
