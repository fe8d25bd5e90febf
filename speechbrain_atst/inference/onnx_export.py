"""Export of a whole ATST-SED detector as one ONNX file.

:func:`export_onnx` writes ONE ONNX graph from 16 kHz mono windows
``[batch, window_samples]`` (160000 samples = 10 s) to frame scores
``[batch, 156, n_classes]``: both mel front-ends with their normalisations,
the CNN, ATST-Frame, the fusion, the BiGRU and the strong head. The batch
size is dynamic. Everything :class:`~speechbrain_atst.inference.onnx_runtime.
OnnxSED` needs to behave like ``SEDInterface`` (class names, frame hop,
window and hop lengths, median filter lengths, thresholds, sample rate,
merge mode) travels in the file's ``metadata_props``.

What needed an export-only equivalent (the exported graph is tested
against the real modules in PyTorch and in onnxruntime):

* the front-ends' STFT: they use ``torch.stft(..., return_complex=True)``,
  which the TorchScript exporter refuses (no complex types). Here the
  centre padding is an explicit reflect ``pad`` and the STFT is
  ``torch.stft(..., center=False, return_complex=False)``, which exports
  to the ONNX ``STFT`` operator (opset 17); magnitude/power, the mel
  filterbank (torchaudio's own ``MelScale``) and the normalisations are
  the front-ends' own modules and methods;
* the average pooling of the 250 transformer tokens to the 156 CNN
  frames: ``adaptive_avg_pool1d`` with a size that does not divide the
  input does not export; it is a constant ``[156, 250]`` matrix here
  (built by running ``adaptive_avg_pool1d`` on an identity matrix, so
  the weights are the same), and the pooled tokens go to the model as its
  ``atst_embeddings``.

``precision="fp16"`` runs the CNN, the transformer, the fusion and the
BiGRU in float16; the front-ends (STFT, log, normalisation) and the output
stay float32 (the input and output types do not change).

Authors
 * speechbrain-atst team 2026
"""

import json
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from speechbrain_atst.inference.onnx_runtime import ONNX_FORMAT
from speechbrain_atst.labels import SAMPLE_RATE

#: Names of the graph's input and output.
INPUT_NAME, OUTPUT_NAME = "waveform", "frame_scores"
#: Precisions :func:`export_onnx` writes.
PRECISIONS = ("fp32", "fp16")


class ExportMel(torch.nn.Module):
    """A front-end (waveform -> normalised mel) in exportable operators.

    The same computation as ``front(wav)`` for a
    :class:`~speechbrain_atst.features.MelFrontEnd`: reflect padding by
    ``n_fft // 2``, a real STFT with the front-end's window (exported as
    the ONNX ``STFT`` operator), magnitude or power, the front-end's
    torchaudio ``MelScale`` and its ``normalize``.

    Arguments
    ---------
    front : speechbrain_atst.features.MelFrontEnd
        The front-end to reproduce (its settings and filterbank are used).

    Example
    -------
    >>> from speechbrain_atst.features import CNNFrontEnd
    >>> front = CNNFrontEnd()
    >>> wav = torch.randn(2, 16000)
    >>> bool((ExportMel(front)(wav) - front(wav)).abs().max() < 1e-5)
    True
    """

    def __init__(self, front):
        super().__init__()
        spec = front.mel.spectrogram
        if not spec.center or spec.normalized or spec.pad:
            raise ValueError("Only centred, unnormalised STFTs are exported")
        if spec.power not in (1.0, 2.0) or spec.win_length != spec.n_fft:
            raise ValueError("Only power 1 or 2 and full windows are exported")
        self.front = front
        self.n_fft = spec.n_fft
        self.hop = spec.hop_length
        self.power = spec.power
        self.pad_mode = spec.pad_mode

    def forward(self, wav):
        """Waveforms ``[batch, samples]`` to features ``[batch, mels, T]``.

        Arguments
        ---------
        wav : torch.Tensor
            Float32 waveforms at 16 kHz.

        Returns
        -------
        torch.Tensor
            The front-end's normalised features, float32.
        """
        half = self.n_fft // 2
        padded = F.pad(wav[:, None, :], (half, half), mode=self.pad_mode)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # return_complex=False
            stft = torch.stft(
                padded[:, 0],
                n_fft=self.n_fft,
                hop_length=self.hop,
                window=self.front.mel.spectrogram.window,
                center=False,
                normalized=False,
                onesided=True,
                return_complex=False,
            )
        real, imag = stft[..., 0], stft[..., 1]
        power = real * real + imag * imag
        if self.power == 1.0:
            power = power.sqrt()
        return self.front.normalize(self.front.mel.mel_scale(power))


class ExportDetector(torch.nn.Module):
    """Waveform windows to frame scores, in exportable operators.

    Arguments
    ---------
    cnn_frontend, atst_frontend : speechbrain_atst.features.MelFrontEnd
        The two front-ends.
    model : speechbrain_atst.lobes.atst_sed.ATSTSED
        The model (eval mode).
    window_samples : int
        Samples per window (160000 for 10 s).
    precision : str
        ``"fp32"`` (default) or ``"fp16"`` (model in float16, front-ends
        float32).

    Example
    -------
    >>> from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
    >>> from speechbrain_atst.lobes.atst_sed import ATSTSED
    >>> model = ATSTSED(n_classes=2, embed_dim=32, depth=1, num_heads=2)
    >>> det = ExportDetector(CNNFrontEnd(), ATSTFrontEnd(), model.eval(), 32000)
    >>> det(torch.randn(3, 32000)).shape
    torch.Size([3, 31, 2])
    """

    def __init__(
        self,
        cnn_frontend,
        atst_frontend,
        model,
        window_samples,
        precision="fp32",
    ):
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {PRECISIONS}, got {precision!r}"
            )
        self.cnn_mel = ExportMel(cnn_frontend)
        self.atst_mel = ExportMel(atst_frontend)
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.model = model.to(self.dtype)
        frames = (1 + window_samples // self.cnn_mel.hop) // 4
        tokens = (1 + window_samples // self.atst_mel.hop) // (
            model.atst.patch_w
        )
        # pool[f, t]: weight of token t in CNN frame f (adaptive_avg_pool1d).
        eye = torch.eye(tokens, dtype=torch.float64)[None]
        pool = F.adaptive_avg_pool1d(eye, frames)[0].T
        self.register_buffer("pool", pool.to(self.dtype).contiguous())

    def forward(self, wav):
        """Frame scores of float32 windows ``[batch, window_samples]``.

        Arguments
        ---------
        wav : torch.Tensor
            Float32 windows at 16 kHz.

        Returns
        -------
        torch.Tensor
            ``[batch, frames, n_classes]`` float32 scores.
        """
        cnn_feats = self.cnn_mel(wav).to(self.dtype)
        atst_feats = self.atst_mel(wav).to(self.dtype)
        tokens = self.model.encode_atst(atst_feats)
        pooled = torch.matmul(self.pool, tokens)
        strong, _ = self.model(cnn_feats, atst_embeddings=pooled)
        return strong.float()


def onnx_metadata(sed, precision):
    """The ``metadata_props`` entries of an exported detector.

    Arguments
    ---------
    sed : speechbrain_atst.inference.SEDInterface
        The loaded model.
    precision : str
        ``"fp32"`` or ``"fp16"``.

    Returns
    -------
    dict
        ``{key: str}``; lists are JSON.
    """
    return {
        "format": ONNX_FORMAT,
        "classes": json.dumps(list(sed.classes)),
        "sample_rate": str(int(sed.hparams.sample_rate)),
        "window_seconds": repr(float(sed.hparams.window_seconds)),
        "hop_seconds": repr(float(sed.hop_seconds)),
        "frame_seconds": repr(float(sed.grid.frame_seconds)),
        "median_windows": json.dumps(list(sed.median_windows)),
        "thresholds": json.dumps([float(t) for t in sed.default_threshold]),
        "merge": str(sed.merge),
        "batch_size": str(int(sed.batch_size)),
        "precision": precision,
    }


def export_onnx(model_dir, out_path, opset=17, precision="fp32"):
    """Writes a model folder's whole detector as one ONNX file.

    Arguments
    ---------
    model_dir : str or os.PathLike
        Model folder (``hyperparams.yaml`` + ``model.ckpt``) that
        ``SEDInterface.from_hparams`` loads.
    out_path : str or os.PathLike
        The ``.onnx`` file to write (its folder is created).
    opset : int
        ONNX opset (17 or later: the ``STFT`` operator).
    precision : str
        ``"fp32"`` or ``"fp16"`` (model in float16; front-ends, input and
        output float32).

    Returns
    -------
    pathlib.Path
        The written file.

    Example
    -------
    .. code-block:: python

        export_onnx("model_folder", "model.onnx")

    PosixPath('model.onnx')
    """
    import onnx

    from speechbrain_atst.inference.interface import SEDInterface

    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {PRECISIONS}, got {precision!r}"
        )
    if int(opset) < 17:
        raise ValueError(f"opset must be 17 or later (STFT), got {opset}")
    sed = SEDInterface.from_hparams(
        source=model_dir, run_opts={"device": "cpu"}
    )
    if int(sed.hparams.sample_rate) != SAMPLE_RATE:
        raise ValueError(f"{model_dir}: sample_rate must be {SAMPLE_RATE}")
    detector = ExportDetector(
        sed.mods.cnn_frontend,
        sed.mods.atst_frontend,
        sed.mods.model,
        sed.window_samples,
        precision,
    ).eval()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(2, sed.window_samples)
    example[:, ::7] = 0.1  # any non-silent input
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and shape-inference notes
        torch.onnx.export(
            detector,
            (example,),
            os.fspath(out_path),
            opset_version=int(opset),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            do_constant_folding=True,
            dynamo=False,
        )
    proto = onnx.load(os.fspath(out_path))
    for key, value in onnx_metadata(sed, precision).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = (
        f"ATST-SED sound event detector ({len(sed.classes)} classes): "
        f"16 kHz waveform windows [batch, {sed.window_samples}] -> frame "
        f"scores [batch, {sed.window_frames}, {len(sed.classes)}]"
    )
    onnx.checker.check_model(proto)
    onnx.save(proto, os.fspath(out_path))
    return out_path
