"""The two audio front-ends of ATST-SED.

ATST-SED feeds two differently computed mel spectrograms to its two branches:

* :class:`CNNFrontEnd`: 128-bin *magnitude* mel with a 2048-point symmetric
  Hamming window and a 256-sample hop (16 ms), log-compressed to dB, clamped
  and min-max normalised per clip to [0, 1]. 626 frames per 10 s.
* :class:`ATSTFrontEnd`: 64-bin *power* mel with a 1024-point periodic Hann
  window and a 160-sample hop (10 ms), in dB with an 80 dB dynamic range,
  clamped and mapped to [-1, 1] with the fixed AudioSet range ATST-Frame was
  pretrained with. 1001 frames per 10 s.

Both split their work in two steps, ``spectrogram`` (waveform -> linear mel)
and ``normalize`` (linear mel -> network input), because mixup mixes the
linear mels in between. Both always compute in float32, even under autocast.
The outputs are channels-first ``[batch, n_mels, frames]`` like the
torchaudio transforms they are built on.

Authors
 * speechbrain-atst team 2026
"""

import torch
import torchaudio
from speechbrain.utils.autocast import fwd_default_precision

from speechbrain_atst.labels import ATST_HOP, CNN_HOP, SAMPLE_RATE

#: FFT size and window length of the CNN-branch mel (samples).
CNN_N_FFT = 2048
#: Number of mel bins of the CNN branch.
CNN_N_MELS = 128
#: Frequency range of the CNN-branch mel filterbank (Hz).
CNN_F_MIN, CNN_F_MAX = 0.0, 8000.0
#: Floor of the magnitude before ``20 * log10``.
CNN_AMIN = 1e-5
#: dB range the CNN-branch log-mel is clamped to.
CNN_DB_CLAMP = (-50.0, 80.0)
#: Added to the denominator of the per-clip min-max normalisation.
CNN_MINMAX_EPS = 1e-8

#: FFT size and window length of the ATST-branch mel (samples).
ATST_N_FFT = 1024
#: Number of mel bins of the ATST branch (the patch height).
ATST_N_MELS = 64
#: Frequency range of the ATST-branch mel filterbank (Hz).
ATST_F_MIN, ATST_F_MAX = 60.0, 7800.0
#: Floor of the power before ``10 * log10``.
ATST_AMIN = 1e-10
#: Dynamic range kept below each clip's loudest bin (dB).
ATST_TOP_DB = 80.0
#: dB range the ATST-branch log-mel is clamped to.
ATST_DB_CLAMP = (-50.0, 80.0)
#: Smallest and largest dB values over AudioSet, mapped to -1 and 1.
ATST_DB_MIN, ATST_DB_MAX = -79.6482, 50.6842


def mel_spectrogram(transform, wav):
    """Runs a torchaudio ``MelSpectrogram`` with a faster magnitude.

    Same result as ``transform(wav)`` (to float32 rounding), but the
    magnitude of the STFT is computed as ``sqrt(re^2 + im^2)`` (power 2:
    ``re^2 + im^2``) on the real view instead of with the complex ``abs``,
    which is about 4x slower on the CPU and was the costliest part of the
    front-ends. Transforms with padding, normalisation or another power
    run unchanged.

    Arguments
    ---------
    transform : torchaudio.transforms.MelSpectrogram
        The transform (its STFT settings, window and filterbank are used).
    wav : torch.Tensor
        Waveforms ``[..., samples]``.

    Returns
    -------
    torch.Tensor
        ``[..., n_mels, frames]``.

    Example
    -------
    >>> mel = CNNFrontEnd().mel
    >>> wav = torch.randn(2, 4000)
    >>> torch.allclose(mel_spectrogram(mel, wav), mel(wav), rtol=1e-4)
    True
    """
    spec = transform.spectrogram
    if spec.pad or spec.normalized or spec.power not in (1.0, 2.0):
        return transform(wav)
    shape = wav.shape
    stft = torch.stft(
        wav.reshape(-1, shape[-1]),
        n_fft=spec.n_fft,
        hop_length=spec.hop_length,
        win_length=spec.win_length,
        window=spec.window,
        center=spec.center,
        pad_mode=spec.pad_mode,
        normalized=False,
        onesided=spec.onesided,
        return_complex=True,
    )
    parts = torch.view_as_real(stft)
    power = torch.addcmul(parts[..., 0].square(), parts[..., 1], parts[..., 1])
    if spec.power == 1.0:
        power = power.sqrt_()
    power = power.reshape(shape[:-1] + power.shape[-2:])
    return transform.mel_scale(power)


class MelFrontEnd(torch.nn.Module):
    """A torchaudio mel spectrogram at 16 kHz (centred, reflect padding,
    htk mel scale, no mel normalisation) followed by a subclass's
    ``normalize``.

    Arguments
    ---------
    n_fft : int
        FFT size and window length (samples).
    hop : int
        Hop length (samples).
    f_min, f_max : float
        Mel band edges (Hz).
    n_mels : int
        Mel bins.
    power : float
        1 for magnitude, 2 for power.
    window_fn : callable
        Window function.
    wkwargs : dict, optional
        Arguments of ``window_fn``.

    Example
    -------
    >>> front = MelFrontEnd(400, 160, 0.0, 8000.0, 40, 2.0, torch.hann_window)
    >>> front.spectrogram(torch.randn(2, 16000)).shape
    torch.Size([2, 40, 101])
    """

    def __init__(
        self, n_fft, hop, f_min, f_max, n_mels, power, window_fn, wkwargs=None
    ):
        super().__init__()
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE,
            n_fft=n_fft,
            win_length=n_fft,
            hop_length=hop,
            f_min=f_min,
            f_max=f_max,
            n_mels=n_mels,
            window_fn=window_fn,
            wkwargs=wkwargs,
            power=power,
            center=True,
            pad_mode="reflect",
            norm=None,
            mel_scale="htk",
        )

    @fwd_default_precision(cast_inputs=torch.float32)
    def spectrogram(self, wav):
        """Linear mel spectrogram (magnitude or power).

        Arguments
        ---------
        wav : torch.Tensor
            Waveforms ``[batch, samples]`` at 16 kHz.

        Returns
        -------
        torch.Tensor
            ``[batch, n_mels, 1 + samples // hop]``, float32.
        """
        return mel_spectrogram(self.mel, wav.float())

    def normalize(self, mel):
        """The branch's normalisation (defined by subclasses).

        Arguments
        ---------
        mel : torch.Tensor
            Output of :meth:`spectrogram` (possibly mixed).

        Returns
        -------
        torch.Tensor
            Normalised features, same shape.
        """
        raise NotImplementedError

    @fwd_default_precision(cast_inputs=torch.float32)
    def forward(self, wav):
        """Waveforms to normalised features.

        Arguments
        ---------
        wav : torch.Tensor
            Waveforms ``[batch, samples]`` at 16 kHz.

        Returns
        -------
        torch.Tensor
            ``[batch, n_mels, 1 + samples // hop]``.
        """
        return self.normalize(self.spectrogram(wav))


class CNNFrontEnd(MelFrontEnd):
    """Input features of the CNN branch: normalised 128-bin log-mel.

    ``spectrogram``: torchaudio ``MelSpectrogram`` at 16 kHz, n_fft = window
    = 2048 samples with a symmetric (non-periodic) Hamming window, hop 256,
    0-8000 Hz, 128 htk mel bins, magnitude (power 1), centred with reflect
    padding. ``normalize``: ``20 * log10(max(x, 1e-5))``, clamp to
    [-50, 80] dB, then per-clip min-max over frequency and time,
    ``(x - min) / (max - min + 1e-8)``.

    A 10 s clip (160000 samples) gives 626 frames.

    Example
    -------
    >>> front = CNNFrontEnd()
    >>> wav = torch.randn(2, 16000)
    >>> mel = front.spectrogram(wav)
    >>> mel.shape
    torch.Size([2, 128, 63])
    >>> feats = front.normalize(mel)
    >>> float(feats.min()), float(feats.max())
    (0.0, 1.0)
    >>> torch.equal(front(wav), feats)
    True
    """

    def __init__(self):
        super().__init__(
            CNN_N_FFT,
            CNN_HOP,
            CNN_F_MIN,
            CNN_F_MAX,
            CNN_N_MELS,
            power=1.0,
            window_fn=torch.hamming_window,
            wkwargs={"periodic": False},
        )

    @fwd_default_precision(cast_inputs=torch.float32)
    def normalize(self, mel):
        """Log compression, clamping and per-clip min-max to [0, 1].

        Arguments
        ---------
        mel : torch.Tensor
            Linear magnitude mel ``[batch, 128, frames]`` (possibly mixed).

        Returns
        -------
        torch.Tensor
            Normalised features, same shape, float32.
        """
        x = 20.0 * torch.log10(torch.clamp(mel.float(), min=CNN_AMIN))
        x = x.clamp(*CNN_DB_CLAMP)
        low = x.amin(dim=(-2, -1), keepdim=True)
        high = x.amax(dim=(-2, -1), keepdim=True)
        return (x - low) / (high - low + CNN_MINMAX_EPS)


class ATSTFrontEnd(MelFrontEnd):
    """Input features of the ATST-Frame branch: 64-bin mel in [-1, 1].

    ``spectrogram``: torchaudio ``MelSpectrogram`` at 16 kHz, n_fft = window
    = 1024 samples with a periodic Hann window, hop 160, 60-7800 Hz, 64 htk
    mel bins, power 2, centred with reflect padding. ``normalize``:
    ``10 * log10(max(x, 1e-10))``, floored at 80 dB below the clip's
    loudest bin, clamped to [-50, 80] dB, then mapped with the fixed
    AudioSet range: ``(x + 79.6482) / 130.3324 * 2 - 1``.

    Deviation from the official code: there, the 80 dB floor goes through
    torchaudio's ``AmplitudeToDB`` on a ``[batch, 64, frames]`` tensor, which
    takes a single maximum over the *whole batch* (a rank-3 input is read as
    one multi-channel clip). Here the floor is relative to *each clip's*
    maximum, so a clip's features never depend on the other clips of its
    batch (as in ATST-Frame pretraining, which runs per clip). The two
    agree for the loudest clip of a batch, for a batch of one clip, and for
    every clip when the batch peak is at most 30 dB (the -50 dB clamp then
    hides the floor); otherwise a quieter clip keeps bins between its own
    floor and the batch floor that the official code raises to the latter.

    A 10 s clip (160000 samples) gives 1001 frames.

    Example
    -------
    >>> front = ATSTFrontEnd()
    >>> wav = torch.randn(2, 16000)
    >>> mel = front.spectrogram(wav)
    >>> mel.shape
    torch.Size([2, 64, 101])
    >>> feats = front.normalize(mel)
    >>> bool(feats.min() >= -0.546), bool(feats.max() <= 1.45)
    (True, True)
    >>> torch.allclose(front(wav[:1]), feats[:1])
    True
    """

    def __init__(self):
        super().__init__(
            ATST_N_FFT,
            ATST_HOP,
            ATST_F_MIN,
            ATST_F_MAX,
            ATST_N_MELS,
            power=2.0,
            window_fn=torch.hann_window,
        )

    @fwd_default_precision(cast_inputs=torch.float32)
    def normalize(self, mel):
        """dB with a per-clip 80 dB floor, clamping, fixed min-max.

        Arguments
        ---------
        mel : torch.Tensor
            Linear power mel ``[batch, 64, frames]`` (possibly mixed).

        Returns
        -------
        torch.Tensor
            Features, same shape, float32, within about [-0.545, 1.450].
        """
        x = 10.0 * torch.log10(torch.clamp(mel.float(), min=ATST_AMIN))
        floor = x.amax(dim=(-2, -1), keepdim=True) - ATST_TOP_DB
        x = torch.max(x, floor).clamp(*ATST_DB_CLAMP)
        return (x - ATST_DB_MIN) / (ATST_DB_MAX - ATST_DB_MIN) * 2.0 - 1.0
