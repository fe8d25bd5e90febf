"""ATST-SED: a CRNN fused with the ATST-Frame transformer.

The CNN turns the 128-bin log-mel (626 frames per 10 s) into 156 frames of
128 features; ATST-Frame turns the 64-bin mel (1001 frames) into 250 tokens,
which are average-pooled to the CNN's frame count. Both are concatenated
(CNN first), projected to 128 features (``cat_tf``) and fed to a 2-layer
BiGRU, followed by a sigmoid strong head (``dense``) and a class-softmax
attention head (``dense_softmax``) that pools the strong scores into clip
(weak) scores. State-dict keys are those of the official ``CRNN`` so that
official ATST-SED checkpoints load strictly (their formats are read by
:mod:`speechbrain_atst.official`).

Authors
 * speechbrain-atst team 2026
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from speechbrain_atst.lobes.atst_frame import ATSTFrame
from speechbrain_atst.lobes.crnn import (
    CNN,
    NB_FILTERS,
    POOLING,
    BiGRU,
    attention_pooling,
)
from speechbrain_atst.official import load_sed_weights


class ATSTBranch(nn.Module):
    """Holds the transformer as ``atst`` (official key prefix).

    Arguments
    ---------
    **atst_kwargs
        Arguments of :class:`ATSTFrame`.

    Example
    -------
    >>> branch = ATSTBranch(embed_dim=16, depth=1, num_heads=2)
    >>> branch(torch.randn(1, 64, 40)).shape
    torch.Size([1, 10, 16])
    """

    def __init__(self, **atst_kwargs):
        super().__init__()
        self.atst = ATSTFrame(**atst_kwargs)

    def forward(self, feats):
        """Encodes ATST features into tokens.

        Arguments
        ---------
        feats : torch.Tensor
            ``[batch, 64, frames]``.

        Returns
        -------
        torch.Tensor
            ``[batch, frames // 4, embed_dim]``.
        """
        return self.atst(feats)


class ATSTSED(nn.Module):
    """The ATST-SED model (CRNN + ATST-Frame), channels-last outputs.

    Arguments
    ---------
    n_classes : int
        Number of event classes.
    embed_dim : int
        ATST-Frame token dimension (768 for the released model).
    depth : int
        ATST-Frame blocks.
    num_heads : int
        ATST-Frame attention heads.
    dropout : float
        Dropout of the CNN blocks and before the heads.
    freeze_atst : bool
        Freeze the transformer (stage 1): no gradients, always eval mode.
    atst_grad_checkpointing : bool
        Recompute transformer blocks in the backward pass to save memory.
    atst_kwargs : dict, optional
        Other :class:`ATSTFrame` arguments (``qkv_bias``, ``drop_path``...).
    atst_ckpt : str, optional
        Checkpoint to initialise the transformer from (e.g. the released
        ``atst_as2M.ckpt``; any format of
        :func:`speechbrain_atst.official.atst_state_dict`).
    trust_checkpoint : bool
        Allow full unpickling of ``atst_ckpt``.
    n_in_channel : int
        Input channels of the CNN.
    nb_filters : sequence of int
        Channels of the CNN blocks.
    pooling : sequence of (int, int)
        (time, freq) pooling of the CNN blocks; the product of the
        frequency poolings is the number of mel bins of ``cnn_feats``
        (128), reduced to 1 by the CNN.
    kernel_size, padding, stride : int or sequence of int
        Convolution settings of the CNN blocks.
    activation : str
        CNN activation: ``"cg"`` (context gating), ``"glu"`` or ``"relu"``.
    n_rnn_cell : int
        GRU units per direction.
    rnn_layers : int
        GRU layers.
    dropout_recurrent : float
        Dropout between GRU layers.

    Example
    -------
    >>> model = ATSTSED(embed_dim=32, depth=1, num_heads=2).eval()
    >>> cnn_feats = torch.rand(1, 128, 126)  # 2 s
    >>> atst_feats = torch.rand(1, 64, 201)
    >>> strong, weak = model(cnn_feats, atst_feats)
    >>> strong.shape, weak.shape
    (torch.Size([1, 31, 10]), torch.Size([1, 10]))
    >>> emb = model.encode_atst(atst_feats)
    >>> emb.shape
    torch.Size([1, 50, 32])
    >>> torch.allclose(model(cnn_feats, atst_embeddings=emb)[0], strong)
    True
    """

    def __init__(
        self,
        n_classes=10,
        embed_dim=768,
        depth=12,
        num_heads=12,
        dropout=0.5,
        freeze_atst=False,
        atst_grad_checkpointing=False,
        atst_kwargs=None,
        atst_ckpt=None,
        trust_checkpoint=False,
        n_in_channel=1,
        nb_filters=NB_FILTERS,
        pooling=POOLING,
        kernel_size=3,
        padding=1,
        stride=1,
        activation="cg",
        n_rnn_cell=128,
        rnn_layers=2,
        dropout_recurrent=0.0,
    ):
        super().__init__()
        self.n_classes = n_classes
        #: Mel bins of the CNN input: the frequency pooling maps them to 1.
        self.n_mels = math.prod(p[1] for p in pooling)
        self.cnn = CNN(
            n_in_channel=n_in_channel,
            nb_filters=nb_filters,
            pooling=pooling,
            kernel_size=kernel_size,
            padding=padding,
            stride=stride,
            activation=activation,
            dropout=dropout,
        )
        self.atst_frame = ATSTBranch(
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            grad_checkpointing=atst_grad_checkpointing,
            **(atst_kwargs or {}),
        )
        n_cnn = nb_filters[-1]
        self.cat_tf = nn.Linear(n_cnn + embed_dim, n_cnn)
        self.rnn = BiGRU(
            n_cnn, n_rnn_cell, num_layers=rnn_layers, dropout=dropout_recurrent
        )
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(2 * n_rnn_cell, n_classes)
        self.dense_softmax = nn.Linear(2 * n_rnn_cell, n_classes)
        if atst_ckpt:
            self.atst.load_pretrained(
                atst_ckpt, trust_checkpoint=trust_checkpoint
            )
        self.atst.set_freeze(freeze_atst)

    @property
    def atst(self):
        """The :class:`ATSTFrame` transformer (``atst_frame.atst``)."""
        return self.atst_frame.atst

    def encode_atst(self, atst_feats):
        """Runs the transformer only.

        Arguments
        ---------
        atst_feats : torch.Tensor
            ATST features ``[batch, 64, frames]``.

        Returns
        -------
        torch.Tensor
            Tokens ``[batch, frames // 4, embed_dim]``, to pass to
            :meth:`forward` as ``atst_embeddings``.
        """
        return self.atst_frame(atst_feats)

    def forward(self, cnn_feats, atst_feats=None, atst_embeddings=None):
        """Frame (strong) and clip (weak) probabilities.

        Arguments
        ---------
        cnn_feats : torch.Tensor
            CNN features ``[batch, 128, frames]``.
        atst_feats : torch.Tensor, optional
            ATST features ``[batch, 64, atst_frames]``.
        atst_embeddings : torch.Tensor, optional
            Output of :meth:`encode_atst`, ``[batch, tokens, embed_dim]``;
            given instead of ``atst_feats`` to skip the transformer.

        Returns
        -------
        strong : torch.Tensor
            ``[batch, frames', n_classes]`` (156 frames per 10 s).
        weak : torch.Tensor
            ``[batch, n_classes]``.
        """
        if (atst_feats is None) == (atst_embeddings is None):
            raise ValueError(
                "Pass exactly one of atst_feats and atst_embeddings"
            )
        if cnn_feats.dim() != 3:
            raise ValueError(
                "cnn_feats must be [batch, n_mels, frames], got shape "
                f"{tuple(cnn_feats.shape)}"
            )
        if cnn_feats.shape[1] != self.n_mels:
            raise ValueError(
                f"The CNN expects {self.n_mels} mel bins (its frequency "
                f"pooling reduces them to 1), got {cnn_feats.shape[1]}"
            )
        x = self.cnn(cnn_feats.transpose(1, 2).unsqueeze(1))
        x = x.squeeze(-1).transpose(1, 2)
        if atst_embeddings is None:
            atst_embeddings = self.encode_atst(atst_feats)
        if atst_embeddings.shape[0] != x.shape[0]:
            raise ValueError(
                f"Batch sizes differ: {x.shape[0]} CNN inputs, "
                f"{atst_embeddings.shape[0]} ATST inputs"
            )
        emb = atst_embeddings.transpose(1, 2)
        if emb.shape[-1] != x.shape[1]:
            emb = F.adaptive_avg_pool1d(emb, x.shape[1])
        x = self.cat_tf(torch.cat((x, emb.transpose(1, 2)), dim=-1))
        x = self.dropout(self.rnn(x))
        strong = torch.sigmoid(self.dense(x))
        weak = attention_pooling(strong, self.dense_softmax(x))
        return strong, weak

    @classmethod
    def from_official_checkpoint(
        cls,
        path,
        which="student",
        atst_kwargs=None,
        n_classes=10,
        trust_checkpoint=False,
        **kwargs,
    ):
        """Builds the model from an official ATST-SED checkpoint.

        Accepted: the stage-1 / stage-2 checkpoints of the official code
        (top-level ``sed_student`` / ``sed_teacher`` dicts, or a Lightning
        ``state_dict`` with ``sed_student.`` / ``sed_teacher.`` prefixes),
        or a plain state dict of this class. Profiler buffers
        (``total_ops``, ``total_params``) are dropped; everything else must
        match exactly.

        Arguments
        ---------
        path : str or os.PathLike
            Checkpoint file.
        which : str
            ``"student"`` or ``"teacher"`` (the released inference model is
            the teacher).
        atst_kwargs : dict, optional
            Transformer architecture (``embed_dim``, ``depth``,
            ``num_heads`` and other :class:`ATSTFrame` arguments); the
            base model by default.
        n_classes : int
            Number of classes of the checkpoint.
        trust_checkpoint : bool
            Allow full unpickling (only for trusted files).
        **kwargs
            Other constructor arguments (e.g. ``freeze_atst``).

        Returns
        -------
        ATSTSED
            The model (in training mode, like any new module).

        Example
        -------
        >>> path = getfixture("tmp_path") / "sed.ckpt"
        >>> arch = dict(embed_dim=16, depth=1, num_heads=2)
        >>> sd = ATSTSED(**arch).state_dict()
        >>> torch.save({"sed_student": sd, "sed_teacher": sd}, path)
        >>> model = ATSTSED.from_official_checkpoint(path, atst_kwargs=arch)
        >>> model.atst.depth
        1
        """
        atst_kwargs = dict(atst_kwargs or {})
        arch = {
            name: atst_kwargs.pop(name)
            for name in ("embed_dim", "depth", "num_heads")
            if name in atst_kwargs
        }
        model = cls(
            n_classes=n_classes, atst_kwargs=atst_kwargs, **arch, **kwargs
        )
        return load_sed_weights(
            model, path, which=which, trust_checkpoint=trust_checkpoint
        )
