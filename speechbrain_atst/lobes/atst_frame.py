"""ATST-Frame: the frame-level audio transformer used by ATST-SED.

ATST-Frame (Li, Shao, Li, 2023) cuts a 64-bin mel spectrogram into patches
of 64 bins x 4 frames (one token per 40 ms), embeds each patch with a linear
layer, adds a learned positional embedding and runs a stack of pre-norm
transformer blocks followed by a final LayerNorm. The state-dict keys are
those of the official implementation so that the released weights
(``atst_as2M.ckpt``) and ATST-SED checkpoints load strictly (their formats
are read by :mod:`speechbrain_atst.official`).

Authors
 * speechbrain-atst team 2026
"""

import contextlib

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from speechbrain_atst.labels import ATST_HOP, SAMPLE_RATE
from speechbrain_atst.official import load_atst_weights

#: Standard deviation of the truncated-normal initialisation.
INIT_STD = 0.02
#: Clips encoded together without autograd (larger batches are split):
#: the activations of a few clips stay in the CPU caches and their buffers
#: are reused, about 7 % faster than one large batch on the CPU.
INFERENCE_CHUNK = 4


class DropPath(nn.Module):
    """Stochastic depth: drops the residual branch of whole examples.

    Arguments
    ---------
    p : float
        Probability of dropping an example's branch during training.

    Example
    -------
    >>> drop = DropPath(0.5).eval()
    >>> x = torch.ones(2, 3)
    >>> torch.equal(drop(x), x)
    True
    """

    def __init__(self, p=0.0):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        """Drops (and rescales) the branch ``x`` per example.

        Arguments
        ---------
        x : torch.Tensor
            Residual branch ``[batch, ...]``.

        Returns
        -------
        torch.Tensor
            Same shape as ``x``.
        """
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask / keep


class PatchEmbed(nn.Module):
    """Cuts a mel spectrogram into full-height patches and embeds them.

    A patch spans all ``patch_h`` mel bins and ``patch_w`` frames; it is
    flattened mel-bin-major (element ``patch_w * f + t``) and projected by
    the linear layer ``patch_embed``. Trailing frames that do not fill a
    patch are dropped.

    Arguments
    ---------
    patch_h : int
        Mel bins per patch (all of them).
    patch_w : int
        Frames per patch.
    embed_dim : int
        Token dimension.

    Example
    -------
    >>> embed = PatchEmbed(patch_h=8, patch_w=4, embed_dim=16)
    >>> embed(torch.randn(2, 8, 41)).shape
    torch.Size([2, 10, 16])
    """

    def __init__(self, patch_h=64, patch_w=4, embed_dim=768):
        super().__init__()
        self.patch_h = patch_h
        self.patch_w = patch_w
        self.patch_embed = nn.Linear(patch_h * patch_w, embed_dim)

    def forward(self, feats):
        """Returns the patch tokens.

        Arguments
        ---------
        feats : torch.Tensor
            Mel features ``[batch, patch_h, frames]``.

        Returns
        -------
        torch.Tensor
            Tokens ``[batch, frames // patch_w, embed_dim]``.
        """
        batch, n_mels, frames = feats.shape
        n_tokens = frames // self.patch_w
        x = feats[:, :, : n_tokens * self.patch_w]
        x = x.reshape(batch, n_mels, n_tokens, self.patch_w)
        x = x.permute(0, 2, 1, 3).reshape(batch, n_tokens, -1)
        return self.patch_embed(x)


class Attention(nn.Module):
    """Multi-head self-attention with a joint ``qkv`` projection.

    Arguments
    ---------
    dim : int
        Token dimension.
    num_heads : int
        Number of heads; must divide ``dim``.
    qkv_bias : bool
        Whether the ``qkv`` projection has a bias.
    attn_drop : float
        Dropout on the attention weights (training only).
    proj_drop : float
        Dropout after the output projection.

    Example
    -------
    >>> attn = Attention(16, num_heads=4)
    >>> attn(torch.randn(2, 5, 16)).shape
    torch.Size([2, 5, 16])
    """

    def __init__(
        self, dim, num_heads=12, qkv_bias=False, attn_drop=0.0, proj_drop=0.0
    ):
        super().__init__()
        if dim % num_heads:
            raise ValueError(
                f"embed_dim {dim} is not divisible by num_heads {num_heads}"
            )
        self.num_heads = num_heads
        self.attn_drop = float(attn_drop)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x):
        """Self-attention over the tokens.

        Arguments
        ---------
        x : torch.Tensor
            Tokens ``[batch, tokens, dim]``.

        Returns
        -------
        torch.Tensor
            ``[batch, tokens, dim]``.
        """
        batch, n_tokens, dim = x.shape
        head_dim = dim // self.num_heads
        qkv = self.qkv(x).reshape(batch, n_tokens, 3, self.num_heads, head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.0
        )
        x = x.transpose(1, 2).reshape(batch, n_tokens, dim)
        return self.proj_drop(self.proj(x))


class Mlp(nn.Module):
    """Two-layer feed-forward network with exact GELU.

    Arguments
    ---------
    dim : int
        Input and output dimension.
    hidden_dim : int
        Hidden dimension.
    drop : float
        Dropout after each linear layer.

    Example
    -------
    >>> Mlp(16, 64)(torch.randn(2, 5, 16)).shape
    torch.Size([2, 5, 16])
    """

    def __init__(self, dim, hidden_dim, drop=0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        """Applies the feed-forward network.

        Arguments
        ---------
        x : torch.Tensor
            ``[..., dim]``.

        Returns
        -------
        torch.Tensor
            ``[..., dim]``.
        """
        if torch.is_grad_enabled():
            return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))
        # Without autograd, the (largest) hidden activation is overwritten
        # in place instead of allocating a second one.
        hidden = self.fc1(x)
        if self.act.approximate == "none":
            hidden = torch.ops.aten.gelu_(hidden)
        else:
            hidden = self.act(hidden)
        return self.drop(self.fc2(self.drop(hidden)))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(LN(x))``, ``x + mlp(LN(x))``.

    Arguments
    ---------
    dim : int
        Token dimension.
    num_heads : int
        Attention heads.
    mlp_ratio : float
        Hidden size of the MLP relative to ``dim``.
    qkv_bias : bool
        Whether the ``qkv`` projection has a bias.
    drop : float
        Dropout after the projections.
    attn_drop : float
        Dropout on the attention weights.
    drop_path : float
        Stochastic-depth rate of both residual branches.
    ln_eps : float
        LayerNorm epsilon.

    Example
    -------
    >>> Block(16, num_heads=2)(torch.randn(2, 5, 16)).shape
    torch.Size([2, 5, 16])
    """

    def __init__(
        self,
        dim,
        num_heads,
        mlp_ratio=4.0,
        qkv_bias=False,
        drop=0.0,
        attn_drop=0.0,
        drop_path=0.0,
        ln_eps=1e-6,
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=ln_eps)
        self.attn = Attention(dim, num_heads, qkv_bias, attn_drop, drop)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=ln_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)

    def forward(self, x):
        """Applies the block.

        Arguments
        ---------
        x : torch.Tensor
            Tokens ``[batch, tokens, dim]``.

        Returns
        -------
        torch.Tensor
            ``[batch, tokens, dim]``.
        """
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))

    def forward_(self, x):
        """Applies the block in place (no autograd): ``x`` is overwritten.

        Saves the allocation of two ``[batch, tokens, dim]`` tensors per
        block; used by :class:`ATSTFrame` without autograd.

        Arguments
        ---------
        x : torch.Tensor
            Tokens ``[batch, tokens, dim]``, overwritten.

        Returns
        -------
        torch.Tensor
            ``x``, holding the block's output.
        """
        x.add_(self.drop_path(self.attn(self.norm1(x))))
        return x.add_(self.drop_path(self.mlp(self.norm2(x))))


class ATSTFrame(nn.Module):
    """The ATST-Frame transformer (the "base" model by default).

    Input: normalised 64-bin mel features ``[batch, 64, frames]`` (see
    :class:`speechbrain_atst.features.ATSTFrontEnd`); output: one token per
    4 frames (40 ms), ``[batch, frames // 4, embed_dim]``, taken after the
    last block and the final ``norm_frame`` LayerNorm. The positional table
    has ``1 + spec_w // patch_w`` rows (row 0 is a legacy, unused slot), so
    at most 250 tokens, about 10 s of audio, can be encoded at once.

    Arguments
    ---------
    embed_dim : int
        Token dimension (768 for the base model).
    depth : int
        Number of transformer blocks.
    num_heads : int
        Attention heads.
    mlp_ratio : float
        MLP hidden size relative to ``embed_dim``.
    patch_h : int
        Mel bins per patch (the number of mel bins of the input).
    patch_w : int
        Frames per patch.
    spec_w : int
        Frames the positional table was sized for (1001 = 10 s).
    qkv_bias : bool
        Whether the ``qkv`` projections have a bias.
    ln_eps : float
        LayerNorm epsilon.
    drop_rate : float
        Dropout after the positional embedding and the projections.
    attn_drop : float
        Dropout on the attention weights.
    drop_path : float
        Stochastic depth; the rate grows linearly from 0 at the first block
        to ``drop_path`` at the last.
    freeze : bool
        If True, the parameters get ``requires_grad=False``, the module
        stays in eval mode even when ``.train()`` is called, and the
        forward runs without autograd.
    grad_checkpointing : bool
        If True, each block is recomputed during the backward pass instead
        of storing its activations (saves memory when fine-tuning).

    Without autograd (inference, frozen transformer, EMA teacher), the
    batch is encoded :data:`INFERENCE_CHUNK` clips at a time with the
    residual additions and the GELU done in place (same results, less
    memory traffic).

    Example
    -------
    >>> model = ATSTFrame(embed_dim=32, depth=2, num_heads=4)
    >>> tokens = model(torch.randn(2, 64, 1001))
    >>> tokens.shape
    torch.Size([2, 250, 32])
    >>> len(model.layer_groups())
    4
    """

    def __init__(
        self,
        embed_dim=768,
        depth=12,
        num_heads=12,
        mlp_ratio=4.0,
        patch_h=64,
        patch_w=4,
        spec_w=1001,
        qkv_bias=False,
        ln_eps=1e-6,
        drop_rate=0.0,
        attn_drop=0.0,
        drop_path=0.0,
        freeze=False,
        grad_checkpointing=False,
    ):
        super().__init__()
        self.embed_dim = embed_dim
        self.depth = depth
        self.num_heads = num_heads
        self.patch_h = patch_h
        self.patch_w = patch_w
        self.max_tokens = spec_w // patch_w
        self.grad_checkpointing = grad_checkpointing
        self.freeze = False

        self.mask_embed = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.patch_embed = PatchEmbed(patch_h, patch_w, embed_dim)
        self.pos_embed = nn.Parameter(
            torch.zeros(1, 1 + self.max_tokens, embed_dim)
        )
        self.pos_drop = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path, depth).tolist() if depth else []
        self.blocks = nn.ModuleList(
            Block(
                embed_dim,
                num_heads,
                mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias,
                drop=drop_rate,
                attn_drop=attn_drop,
                drop_path=rate,
                ln_eps=ln_eps,
            )
            for rate in rates
        )
        self.norm_frame = nn.LayerNorm(embed_dim, eps=ln_eps)
        self._init_weights()
        # Only used by masked pretraining: never receives a gradient here.
        self.mask_embed.requires_grad_(False)
        self.set_freeze(freeze)

    def _init_weights(self):
        """Truncated-normal weights, zero biases, unit LayerNorm scales."""
        nn.init.trunc_normal_(self.pos_embed, std=INIT_STD)
        nn.init.trunc_normal_(self.mask_embed, std=INIT_STD)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=INIT_STD)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def set_freeze(self, freeze):
        """Freezes (or unfreezes) the transformer.

        Frozen: ``requires_grad=False``, eval mode kept through ``.train()``,
        forward without autograd. Unfreezing re-enables the gradients of
        every parameter except the unused ``mask_embed`` and leaves the mode
        to the next ``.train()`` / ``.eval()`` call.

        Arguments
        ---------
        freeze : bool
            Whether to freeze.
        """
        self.freeze = bool(freeze)
        self.requires_grad_(not self.freeze)
        self.mask_embed.requires_grad_(False)
        if self.freeze:
            super().train(False)

    def train(self, mode=True):
        """Sets the training mode; a frozen model always stays in eval mode.

        Arguments
        ---------
        mode : bool
            Training mode requested.

        Returns
        -------
        ATSTFrame
            ``self``.
        """
        return super().train(bool(mode) and not self.freeze)

    @property
    def max_seconds(self):
        """Longest audio (seconds) the positional table can encode."""
        frames = self.max_tokens * self.patch_w + self.patch_w - 1
        return (frames - 1) * ATST_HOP / SAMPLE_RATE

    def forward(self, feats):
        """Encodes mel features into frame tokens.

        Arguments
        ---------
        feats : torch.Tensor
            Normalised mel features ``[batch, patch_h, frames]``.

        Returns
        -------
        torch.Tensor
            ``[batch, frames // patch_w, embed_dim]``.
        """
        if feats.dim() != 3 or feats.shape[1] != self.patch_h:
            raise ValueError(
                f"ATSTFrame expects features [batch, {self.patch_h}, "
                f"frames], got shape {tuple(feats.shape)}"
            )
        n_tokens = feats.shape[-1] // self.patch_w
        if n_tokens < 1:
            raise ValueError(
                f"ATSTFrame needs at least {self.patch_w} frames, got "
                f"{feats.shape[-1]}"
            )
        if n_tokens > self.max_tokens:
            raise ValueError(
                f"ATSTFrame encodes at most {self.max_tokens} tokens "
                f"({self.max_tokens * self.patch_w + self.patch_w - 1} "
                f"frames, about {self.max_seconds:.2f} s of audio) but got "
                f"{feats.shape[-1]} frames ({n_tokens} tokens). The "
                "transformer takes at most ~10 s: split long audio into "
                "windows first (the inference interface does this)."
            )
        frozen = torch.no_grad() if self.freeze else contextlib.nullcontext()
        with frozen:
            if not torch.is_grad_enabled():
                chunks = feats.split(INFERENCE_CHUNK)
                if len(chunks) == 1:
                    return self._encode_(feats)
                return torch.cat([self._encode_(c) for c in chunks])
            x = self._embed(feats)
            use_ckpt = self.grad_checkpointing and self.training
            for block in self.blocks:
                if use_ckpt:
                    x = checkpoint(block, x, use_reentrant=False)
                else:
                    x = block(x)
            return self.norm_frame(x)

    def _embed(self, feats):
        """Patch embedding plus positional embedding (tokens, no CLS)."""
        x = self.patch_embed(feats)
        return self.pos_drop(x + self.pos_embed[:, 1 : x.shape[1] + 1])

    def _encode_(self, feats):
        """Forward pass without autograd, blocks applied in place."""
        x = self._embed(feats)
        for block in self.blocks:
            x = block.forward_(x)
        return self.norm_frame(x)

    def layer_groups(self):
        """Parameters grouped for layer-wise learning-rate decay, top-down.

        Returns
        -------
        list of list of torch.nn.Parameter
            ``depth + 2`` groups: ``[norm_frame]``, the last block, ...,
            the first block, then the embeddings (``patch_embed``,
            ``pos_embed``, ``mask_embed``). ``mask_embed`` is not used by
            the forward pass and keeps ``requires_grad=False`` (an unused
            trainable parameter breaks DDP without
            ``find_unused_parameters``).

        Example
        -------
        >>> groups = ATSTFrame(
        ...     embed_dim=16, depth=3, num_heads=2
        ... ).layer_groups()
        >>> [len(g) for g in groups]
        [2, 11, 11, 11, 4]
        """
        groups = [list(self.norm_frame.parameters())]
        groups.extend(list(block.parameters()) for block in self.blocks[::-1])
        groups.append(
            [*self.patch_embed.parameters(), self.pos_embed, self.mask_embed]
        )
        return groups

    def load_pretrained(self, path, which="teacher", trust_checkpoint=False):
        """Loads weights from any supported checkpoint format (strictly).

        See :func:`speechbrain_atst.official.atst_state_dict` for the
        formats.

        Arguments
        ---------
        path : str or os.PathLike
            Checkpoint file.
        which : str
            The network of an ATST-SED checkpoint to read the transformer
            of (``"teacher"`` or ``"student"``).
        trust_checkpoint : bool
            Allow full unpickling (only for files from a trusted source).

        Returns
        -------
        ATSTFrame
            ``self``.
        """
        load_atst_weights(
            self, path, which=which, trust_checkpoint=trust_checkpoint
        )
        self.mask_embed.requires_grad_(False)
        return self

    @classmethod
    def from_checkpoint(
        cls, path, which="teacher", trust_checkpoint=False, **arch
    ):
        """Builds an ATSTFrame and loads a checkpoint into it.

        Arguments
        ---------
        path : str or os.PathLike
            Checkpoint file in any format of
            :func:`speechbrain_atst.official.atst_state_dict`.
        which : str
            ``"teacher"`` or ``"student"`` for ATST-SED checkpoints.
        trust_checkpoint : bool
            Allow full unpickling of the file.
        **arch
            Constructor arguments (``embed_dim``, ``depth``, ``num_heads``,
            ``freeze``, ...); they must match the checkpoint.

        Returns
        -------
        ATSTFrame
            The loaded model.

        Example
        -------
        >>> path = getfixture("tmp_path") / "atst.ckpt"
        >>> small = dict(embed_dim=16, depth=1, num_heads=2)
        >>> torch.save(ATSTFrame(**small).state_dict(), path)
        >>> ATSTFrame.from_checkpoint(path, **small).depth
        1
        """
        model = cls(**arch)
        return model.load_pretrained(
            path, which=which, trust_checkpoint=trust_checkpoint
        )
