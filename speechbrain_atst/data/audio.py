"""Audio reading: mono float32 waveforms at the model sample rate.

Files are read with soundfile (libsndfile), never with ``torchaudio.load``
(which needs torchcodec from torchaudio 2.9 on). Multichannel audio is
averaged to mono and audio at another rate is resampled with torchaudio's
sinc resampler (:func:`read_audio`, a torch tensor) or, without PyTorch,
with SciPy's polyphase filter (:func:`read_audio_numpy`, a NumPy array, for
the ONNX runtime path), so a 44.1 kHz or 48 kHz file is never silently
misread as 16 kHz. Unreadable input (missing, empty, truncated or
non-audio files, NaN or infinite samples) raises an error that names the
file and the problem.

Authors
 * speechbrain-atst team 2026
"""

import functools
import math
import os
import struct
from collections import namedtuple

import numpy as np
import soundfile as sf

from speechbrain_atst.labels import SAMPLE_RATE

#: What :func:`audio_info` returns; ``duration`` is in seconds.
AudioInfo = namedtuple(
    "AudioInfo", ["sample_rate", "frames", "channels", "duration"]
)


def _check_path(path):
    """Raises a clear error for a missing path or a directory."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Audio file not found: {path}")
    if os.path.isdir(path):
        raise ValueError(f"Expected an audio file, got a directory: {path}")
    return path


def _wav_data_shortfall(path):
    """Bytes missing from the data chunk of a RIFF/WAVE file (0 if none).

    libsndfile silently reads what is there when a WAV file was cut short
    (an interrupted download or copy); comparing the size the header
    declares with the bytes present detects it. Streaming headers that
    declare 0 or 0xFFFFFFFF bytes are not checked.
    """
    file_size = os.path.getsize(path)
    with open(path, "rb") as fin:
        head = fin.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        pos = 12
        while pos + 8 <= file_size:
            fin.seek(pos)
            chunk_id, size = struct.unpack("<4sI", fin.read(8))
            if chunk_id == b"data":
                if size in (0, 0xFFFFFFFF):
                    return 0
                return max(0, pos + 8 + size - file_size)
            pos += 8 + size + (size & 1)
    return 0


def audio_info(path):
    """Reads the header of an audio file without decoding it.

    Arguments
    ---------
    path : str or os.PathLike
        The audio file (any format libsndfile reads: wav, flac, ogg, ...).

    Returns
    -------
    AudioInfo
        ``(sample_rate, frames, channels, duration)``; ``frames`` counts
        samples per channel and ``duration = frames / sample_rate``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not readable audio, holds no samples or is a WAV
        file cut short (its header declares more data than it holds).

    Example
    -------
    >>> import tempfile, soundfile
    >>> tmp = tempfile.mkdtemp()
    >>> soundfile.write(f"{tmp}/a.wav", np.zeros((8000, 2)), 16000)
    >>> audio_info(f"{tmp}/a.wav")
    AudioInfo(sample_rate=16000, frames=8000, channels=2, duration=0.5)
    """
    path = _check_path(path)
    if os.path.getsize(path) == 0:
        raise ValueError(f"Audio file is empty (0 bytes): {path}")
    try:
        info = sf.info(path)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise ValueError(
            f"Cannot read audio file {path} (corrupt, truncated or not "
            f"audio): {err}"
        ) from None
    if info.samplerate <= 0 or info.channels <= 0:
        raise ValueError(
            f"Invalid audio header in {path}: sample rate "
            f"{info.samplerate}, {info.channels} channels"
        )
    if info.frames <= 0:
        raise ValueError(f"Audio file holds no samples: {path}")
    shortfall = _wav_data_shortfall(path)
    if shortfall:
        raise ValueError(
            f"Audio file {path} is truncated: its header declares "
            f"{shortfall} more bytes of audio than the file holds"
        )
    return AudioInfo(
        sample_rate=int(info.samplerate),
        frames=int(info.frames),
        channels=int(info.channels),
        duration=info.frames / info.samplerate,
    )


@functools.lru_cache(maxsize=8)
def _resampler(orig_freq, new_freq):
    """A cached torchaudio resampler (the kernel is built once per pair)."""
    import torchaudio

    return torchaudio.transforms.Resample(orig_freq, new_freq)


def resample(wav, orig_freq, new_freq):
    """Resamples a waveform with torchaudio's windowed-sinc resampler.

    Arguments
    ---------
    wav : torch.Tensor
        Waveform ``[..., time]``.
    orig_freq : int
        Its sample rate (Hz).
    new_freq : int
        The target rate (Hz).

    Returns
    -------
    torch.Tensor
        The resampled waveform (the input itself when the rates agree).

    Example
    -------
    >>> import torch
    >>> resample(torch.zeros(44100), 44100, 16000).shape
    torch.Size([16000])
    """
    if int(orig_freq) == int(new_freq):
        return wav
    import torch  # lazy: reading audio needs no torch (read_audio_numpy)

    with torch.no_grad():
        return _resampler(int(orig_freq), int(new_freq))(wav)


def read_audio(path, sample_rate=SAMPLE_RATE, offset=0.0, duration=None):
    """Reads an audio file as a mono float32 waveform at ``sample_rate``.

    Channels are averaged; a file at another rate is resampled with
    :func:`resample`. ``offset`` and ``duration`` (seconds, so they do not
    depend on the file's rate) read a segment without decoding the whole
    file, e.g. a random 10 s crop of a long recording.

    Arguments
    ---------
    path : str or os.PathLike
        The audio file.
    sample_rate : int
        Rate of the returned waveform (Hz); 16 kHz by default.
    offset : float
        Start of the segment to read (seconds from the file start).
    duration : float, optional
        Length of the segment (seconds); ``None`` reads to the end. A
        segment running past the end is cut at the end of the file.

    Returns
    -------
    torch.Tensor
        One-dimensional float32 tensor.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not readable audio, holds no samples, is shorter
        than its header says, contains NaN or infinite samples, or if the
        segment is empty or starts past the end.

    Example
    -------
    >>> import tempfile, soundfile
    >>> tmp = tempfile.mkdtemp()
    >>> soundfile.write(f"{tmp}/a.wav", np.zeros((44100, 2)), 44100)
    >>> read_audio(f"{tmp}/a.wav").shape
    torch.Size([16000])
    >>> read_audio(f"{tmp}/a.wav", offset=0.25, duration=0.5).shape
    torch.Size([8000])
    """
    import torch  # lazy: read_audio_numpy is the torch-free route

    mono, rate = _read_segment(path, offset, duration)
    wav = resample(torch.from_numpy(mono), rate, sample_rate)
    return wav.to(torch.float32)


def read_audio_numpy(path, sample_rate=SAMPLE_RATE, offset=0.0, duration=None):
    """:func:`read_audio` without PyTorch: a NumPy waveform.

    The same checks and errors (missing, empty, truncated or non-audio
    files, NaN or infinite samples, bad segments) and the same samples for
    a file already at ``sample_rate``. A file at another rate is resampled
    with ``scipy.signal.resample_poly`` (a Kaiser-windowed polyphase
    filter), not torchaudio's windowed-sinc resampler: resampled audio
    differs slightly (about 1e-3 near the band edge) from what
    :func:`read_audio` gives.

    Arguments
    ---------
    path : str or os.PathLike
        The audio file.
    sample_rate : int
        Rate of the returned waveform (Hz); 16 kHz by default.
    offset : float
        Start of the segment to read (seconds from the file start).
    duration : float, optional
        Length of the segment (seconds); ``None`` reads to the end.

    Returns
    -------
    numpy.ndarray
        One-dimensional float32 array.

    Example
    -------
    >>> import tempfile, soundfile
    >>> tmp = tempfile.mkdtemp()
    >>> soundfile.write(f"{tmp}/a.wav", np.zeros((44100, 2)), 44100)
    >>> wav = read_audio_numpy(f"{tmp}/a.wav")
    >>> wav.shape, wav.dtype
    ((16000,), dtype('float32'))
    """
    mono, rate = _read_segment(path, offset, duration)
    if int(rate) == int(sample_rate):
        return mono
    from scipy.signal import resample_poly

    divisor = math.gcd(int(rate), int(sample_rate))
    wav = resample_poly(mono, int(sample_rate) // divisor, int(rate) // divisor)
    return wav.astype(np.float32)


def _read_segment(path, offset, duration):
    """Checked mono samples of a segment and the file's sample rate."""
    info = audio_info(path)
    path = os.fspath(path)
    if offset < 0 or (duration is not None and duration <= 0):
        raise ValueError(
            f"Invalid segment offset={offset}, duration={duration} for "
            f"{path}: offset must be >= 0 and duration > 0"
        )
    start = int(round(offset * info.sample_rate))
    if start >= info.frames:
        raise ValueError(
            f"Segment offset {offset} s is past the end of {path} "
            f"({info.duration:.3f} s)"
        )
    stop = info.frames
    if duration is not None:
        stop = min(stop, start + int(round(duration * info.sample_rate)))
    stop = max(stop, start + 1)
    return _read_mono(path, start, stop), info.sample_rate


#: Frames decoded at once by :func:`_read_mono` (about 4 s at 48 kHz): long
#: multichannel files never exist in memory with all their channels.
READ_BLOCK_FRAMES = 1 << 18


def _read_mono(path, start, stop):
    """Decodes frames ``[start, stop)`` block by block, averaged to mono.

    Peak memory is the mono output plus one block of all channels, so an
    hour of 8-channel 48 kHz audio needs 0.7 GB, not 5.5 GB.
    """
    out = np.empty(stop - start, dtype=np.float32)
    done = 0
    try:
        with sf.SoundFile(path) as fin:
            fin.seek(start)
            while done < out.shape[0]:
                want = min(READ_BLOCK_FRAMES, out.shape[0] - done)
                block = fin.read(want, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                if not np.isfinite(block).all():
                    bad = done + int(np.argmax(~np.isfinite(block).all(1)))
                    raise ValueError(
                        f"Audio file {path} contains NaN or inf samples "
                        f"(first at {(start + bad) / fin.samplerate:.3f} s)"
                    )
                n = block.shape[0]
                out[done : done + n] = block.mean(axis=1)
                done += n
    except (sf.LibsndfileError, RuntimeError) as err:
        raise ValueError(
            f"Cannot decode audio file {path} (corrupt or truncated): {err}"
        ) from None
    if done < out.shape[0]:
        raise ValueError(
            f"Audio file {path} is truncated: expected {stop - start} "
            f"frames from frame {start}, read {done}"
        )
    return out
