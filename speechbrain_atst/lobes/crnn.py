"""The convolutional and recurrent parts of the ATST-SED CRNN.

These are the DCASE-baseline building blocks as configured by ATST-SED: a
7-block CNN (convolution, batch norm, context gating, dropout, average
pooling) over the 128-bin log-mel, a 2-layer bidirectional GRU, and the
strong (frame-level sigmoid) and weak (attention-pooled) heads. Module names
follow the official code so that its state-dict keys (``cnn.cnn.conv0``,
``rnn.rnn.weight_ih_l0``, ...) are reproduced.

Authors
 * speechbrain-atst team 2026
"""

import torch
from torch import nn

#: Channels of the seven CNN blocks.
NB_FILTERS = (16, 32, 64, 128, 128, 128, 128)
#: (time, frequency) average pooling of the seven CNN blocks.
POOLING = ((2, 2), (2, 2), (1, 2), (1, 2), (1, 2), (1, 2), (1, 2))
#: Batch-norm epsilon and (PyTorch-convention) momentum of the CNN.
BN_EPS, BN_MOMENTUM = 1e-3, 0.99
#: Lower clamp of the class-softmax attention weights.
ATTENTION_FLOOR = 1e-7


def _needs_autograd(x, module):
    """Whether a gradient may flow through ``module`` applied to ``x``."""
    if not torch.is_grad_enabled():
        return False
    return x.requires_grad or any(p.requires_grad for p in module.parameters())


class _ChannelGate(nn.Module):
    """Base of the gates: a linear layer over the channel axis.

    The linear layer acts on the channel axis through a ``[batch, time,
    freq, channels]`` view: with a channels-last input (see :class:`CNN`)
    the view is contiguous and nothing is copied. Without autograd the
    gates are computed in place (no extra full-size tensor).

    Arguments
    ---------
    channels : int
        Number of channels (axis 1 of the input).

    Example
    -------
    >>> gate = _ChannelGate(4)
    >>> gate.channel_linear(torch.randn(2, 4, 5, 3)).shape
    torch.Size([2, 4, 5, 3])
    """

    def __init__(self, channels):
        super().__init__()
        self.linear = nn.Linear(channels, channels)

    def channel_linear(self, x):
        """The linear layer applied over the channel axis.

        Arguments
        ---------
        x : torch.Tensor
            ``[batch, channels, time, freq]``.

        Returns
        -------
        torch.Tensor
            ``W x + b`` per position, same shape.
        """
        return self.linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ContextGating(_ChannelGate):
    """Context gating over the channel axis: ``x * sigmoid(W x + b)``.

    Arguments
    ---------
    channels : int
        Number of channels (axis 1 of the input).

    Example
    -------
    >>> cg = ContextGating(4)
    >>> cg(torch.randn(2, 4, 5, 3)).shape
    torch.Size([2, 4, 5, 3])
    """

    def forward(self, x):
        """Gates each channel with a linear function of all channels.

        Arguments
        ---------
        x : torch.Tensor
            ``[batch, channels, time, freq]``.

        Returns
        -------
        torch.Tensor
            Same shape.
        """
        gate = self.channel_linear(x)
        if _needs_autograd(x, self.linear):
            return x * torch.sigmoid(gate)
        return gate.sigmoid_().mul_(x)


class GLU(_ChannelGate):
    """Gated linear unit of the DCASE baseline: ``(W x + b) * sigmoid(x)``.

    Arguments
    ---------
    channels : int
        Number of channels (axis 1 of the input).

    Example
    -------
    >>> GLU(4)(torch.randn(2, 4, 5, 3)).shape
    torch.Size([2, 4, 5, 3])
    """

    def forward(self, x):
        """Applies the gated linear unit.

        Arguments
        ---------
        x : torch.Tensor
            ``[batch, channels, time, freq]``.

        Returns
        -------
        torch.Tensor
            Same shape.
        """
        lin = self.channel_linear(x)
        if _needs_autograd(x, self.linear):
            return lin * torch.sigmoid(x)
        return lin.mul_(torch.sigmoid(x))


class Dropout(nn.Dropout):
    """Dropout drawing its mask with ``rand_like`` (faster on the CPU).

    Same distribution as ``nn.Dropout`` (each element kept with
    probability ``1 - p`` and scaled by ``1 / (1 - p)``), but the mask is
    drawn as ``rand_like(x) >= p``, in place: forward and backward take
    about half the time of ``nn.Dropout`` on the CPU, whose Bernoulli
    sampling is slow. The CNN's full-resolution feature maps make dropout
    one of its costliest layers.

    Arguments
    ---------
    p : float
        Probability of zeroing an element.

    Example
    -------
    >>> drop = Dropout(0.5)
    >>> y = drop(torch.ones(1000))
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> torch.equal(drop.eval()(y), y)
    True
    """

    def forward(self, x):
        """Applies dropout in training mode (identity otherwise).

        Arguments
        ---------
        x : torch.Tensor
            Any shape.

        Returns
        -------
        torch.Tensor
            Same shape.
        """
        if not self.training or self.p == 0.0:
            return x
        if self.p >= 1.0:
            return x * 0.0
        mask = torch.rand_like(x).ge_(self.p).mul_(1.0 / (1.0 - self.p))
        return x * mask


_ACTIVATIONS = {
    "cg": ("cg", ContextGating),
    "glu": ("glu", GLU),
    "relu": ("relu", lambda channels: nn.ReLU()),
}


class CNN(nn.Module):
    """Stack of conv / batch-norm / activation / dropout / avg-pool blocks.

    The layers live in ``self.cnn`` (an ``nn.Sequential``) named
    ``conv{i}``, ``batchnorm{i}``, ``cg{i}`` (or ``glu{i}``, ``relu{i}``),
    ``dropout{i}``, ``pooling{i}``. The input is converted to the
    channels-last memory format, which every layer keeps: convolutions run
    on oneDNN's preferred layout and the channel-mixing gates need no
    transposed copies (about 5x faster on the CPU than channels-first).

    Arguments
    ---------
    n_in_channel : int
        Input channels (1 for a single spectrogram).
    nb_filters : sequence of int
        Output channels of each block.
    pooling : sequence of (int, int)
        (time, freq) average-pooling kernel = stride of each block.
    kernel_size : int or sequence of int
        Convolution kernel size (one value or one per block).
    padding : int or sequence of int
        Convolution padding.
    stride : int or sequence of int
        Convolution stride.
    activation : str
        ``"cg"`` (context gating, ATST-SED), ``"glu"`` or ``"relu"``.
    dropout : float
        Dropout after each activation.

    Example
    -------
    >>> cnn = CNN()
    >>> cnn(torch.randn(2, 1, 626, 128)).shape
    torch.Size([2, 128, 156, 1])
    """

    def __init__(
        self,
        n_in_channel=1,
        nb_filters=NB_FILTERS,
        pooling=POOLING,
        kernel_size=3,
        padding=1,
        stride=1,
        activation="cg",
        dropout=0.5,
    ):
        super().__init__()
        n_blocks = len(nb_filters)
        if len(pooling) != n_blocks:
            raise ValueError(
                f"{n_blocks} filters but {len(pooling)} pooling sizes"
            )
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"Unknown activation {activation!r}; choose among "
                f"{sorted(_ACTIVATIONS)}"
            )
        kernel_size = _per_block(kernel_size, n_blocks, "kernel_size")
        padding = _per_block(padding, n_blocks, "padding")
        stride = _per_block(stride, n_blocks, "stride")
        name, act = _ACTIVATIONS[activation]
        self.nb_filters = list(nb_filters)
        self.cnn = nn.Sequential()
        n_in = n_in_channel
        for i, n_out in enumerate(nb_filters):
            self.cnn.add_module(
                f"conv{i}",
                nn.Conv2d(n_in, n_out, kernel_size[i], stride[i], padding[i]),
            )
            self.cnn.add_module(
                f"batchnorm{i}",
                nn.BatchNorm2d(n_out, eps=BN_EPS, momentum=BN_MOMENTUM),
            )
            self.cnn.add_module(f"{name}{i}", act(n_out))
            self.cnn.add_module(f"dropout{i}", Dropout(dropout))
            self.cnn.add_module(f"pooling{i}", nn.AvgPool2d(tuple(pooling[i])))
            n_in = n_out

    def forward(self, x):
        """Applies the blocks.

        Arguments
        ---------
        x : torch.Tensor
            ``[batch, n_in_channel, time, freq]``.

        Returns
        -------
        torch.Tensor
            ``[batch, nb_filters[-1], time', freq']`` (channels-last
            memory format).
        """
        return self.cnn(x.contiguous(memory_format=torch.channels_last))


class BiGRU(nn.Module):
    """Bidirectional multi-layer GRU, batch first (module ``rnn``).

    On the CPU, a GRU is a chain of hundreds of tiny ops per sequence, each
    paying a thread synchronisation when PyTorch uses several intra-op
    threads, far more when another process keeps a core busy. The number
    of threads is a decision of the process, not of the model: the
    training recipe sets it with ``cpu_threads`` (one thread is the fastest
    on a busy machine).

    Arguments
    ---------
    n_in : int
        Input features.
    n_hidden : int
        Hidden units per direction.
    num_layers : int
        Stacked layers.
    dropout : float
        Dropout between layers.

    Example
    -------
    >>> BiGRU(8, 4)(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(self, n_in, n_hidden, num_layers=2, dropout=0.0):
        super().__init__()
        self.rnn = nn.GRU(
            n_in,
            n_hidden,
            num_layers=num_layers,
            bidirectional=True,
            batch_first=True,
            dropout=dropout,
        )

    def forward(self, x):
        """Runs the GRU.

        Arguments
        ---------
        x : torch.Tensor
            ``[batch, time, n_in]``.

        Returns
        -------
        torch.Tensor
            ``[batch, time, 2 * n_hidden]``.
        """
        return self.rnn(x)[0]


def attention_pooling(strong, attention_logits):
    """Weak (clip) scores from strong scores and class-softmax attention.

    The attention is a softmax over the *class* axis, clamped to
    ``[1e-7, 1]``; the weak score of class ``c`` is
    ``sum_t s[t, c] a[t, c] / sum_t a[t, c]``.

    Arguments
    ---------
    strong : torch.Tensor
        Frame probabilities ``[batch, time, classes]``.
    attention_logits : torch.Tensor
        Attention logits ``[batch, time, classes]``.

    Returns
    -------
    torch.Tensor
        Weak probabilities ``[batch, classes]``.

    Example
    -------
    >>> s = torch.tensor([[[0.2, 0.9], [0.4, 0.1]]])
    >>> attention_pooling(s, torch.zeros(1, 2, 2))
    tensor([[0.3000, 0.5000]])
    """
    att = torch.softmax(attention_logits, dim=-1).clamp(ATTENTION_FLOOR, 1.0)
    return (strong * att).sum(1) / att.sum(1)


def _per_block(value, n_blocks, name):
    """Broadcasts an int to a per-block list and checks its length."""
    if isinstance(value, int):
        return [value] * n_blocks
    value = list(value)
    if len(value) != n_blocks:
        raise ValueError(f"{name}: expected {n_blocks} values, got {value}")
    return value
