"""Process-wide numeric settings of a training run.

ATST-SED's official training scripts call
``torch.set_float32_matmul_precision("high")``: float32 matrix products on
an NVIDIA GPU (Ampere and later) may use TF32 tensor cores (10-bit mantissa
inputs, float32 accumulation), several times faster. The recipes make this
an explicit setting, ``float32_matmul_precision``, "high" by default as in
the official code. Note that importing SpeechBrain already allows TF32 for
CUDA matmuls and cuDNN convolutions (its ``allow_tf32`` quirk), so
``"highest"`` is the setting that changes something: full float32 for both.
On a CPU the setting does not change float32 matrix products.

Authors
 * speechbrain-atst team 2026
"""

import torch

#: The values ``torch.set_float32_matmul_precision`` accepts.
MATMUL_PRECISIONS = ("highest", "high", "medium")


def apply_matmul_precision(precision):
    """Sets the float32 precision of matmuls and cuDNN convolutions.

    Arguments
    ---------
    precision : str
        ``"highest"`` (full float32, TF32 off for cuDNN too), ``"high"``
        (TF32 allowed: the official ATST-SED setting) or ``"medium"``
        (bfloat16 allowed for matmuls).

    Returns
    -------
    str
        The precision now in force for float32 matmuls.

    Raises
    ------
    ValueError
        For an unknown precision.

    Example
    -------
    >>> apply_matmul_precision("highest")
    'highest'
    >>> torch.backends.cudnn.allow_tf32
    False
    >>> apply_matmul_precision("high")
    'high'
    """
    if precision not in MATMUL_PRECISIONS:
        raise ValueError(
            f"float32_matmul_precision must be one of {MATMUL_PRECISIONS}, "
            f"got {precision!r}"
        )
    torch.set_float32_matmul_precision(precision)
    torch.backends.cudnn.allow_tf32 = precision != "highest"
    return torch.get_float32_matmul_precision()
