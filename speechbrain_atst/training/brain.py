"""SEDBrain: two-stage mean-teacher / ICT training of ATST-SED.

The brain trains a student :class:`~speechbrain_atst.lobes.atst_sed.ATSTSED`
and keeps an exponential-moving-average (EMA) teacher, as the official
ATST-SED code does (Shao, Li, Li, ICASSP 2024):

* batches are ``[real strong | synthetic strong | weak | unlabeled]``;
  the first two form the "strong" slice;
* supervised loss: BCE on the strong frames plus ``weak_weight`` x BCE on
  the weak clips (``weak_weight`` 1 in stage 1, 0.5 in stage 2);
* mixup (probability ``mixup.prob``) of each slice with its own
  coefficient and permutation, on the CNN linear mel only (stage 1) or on
  both branches with shared draws (stage 2, ``mixup_atst: True``);
* frequency warping of the normalised transformer input (stage 2),
  independently for student and teacher and per slice;
* consistency with weight ``w = const_max * r(step)``: when the step is
  mixed and ``use_ict`` is on, interpolation consistency (teacher outputs on
  the *unmixed* inputs, mixed with each slice's own draw:
  ``sum_S [MSE(s, mix(s_T)) + cw MSE(w, mix(w_T))] / 6 * w / 4``); otherwise
  the mean-teacher MSE over the whole batch,
  ``(MSE(s, s_T) + cw MSE(w, w_T)) * w`` (``cw`` =
  ``consistency_weak_weight``);
* the teacher is never optimised nor wrapped in DDP; its parameters (not
  its buffers) follow the student after every optimizer step
  (``alpha = min(1 - 1/(step + 1), 0.999)`` in stage 1, 0.999 in stage 2);
  it runs in train mode like the official one unless
  ``teacher_eval_mode: True``;
* Adam over parameter groups CNN / RNN-and-heads / transformer layers with
  layer-wise decay ``tfm_lr * tfm_lr_scale ** j``, scheduled per step by
  :class:`~speechbrain_atst.training.schedules.WarmupCosineLR`;
* stage 1 (frozen transformer): the transformer runs once per batch for
  student and teacher, optionally cached per window across epochs.

Validation (every ``valid_every`` epochs and at the last one) computes the
student and teacher PSDS on synth_valid and the stage objective; the test
pass writes score files and ``test/metrics.json``.

Authors
 * speechbrain-atst team 2026
"""

import hashlib
import json
import math
import os
import time

import numpy as np
import speechbrain as sb
import torch
import torch.nn.functional as F
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.dataio.dataloader import make_dataloader
from speechbrain.utils.distributed import (
    if_main_process,
    is_distributed_initialized,
    run_on_main,
)
from speechbrain.utils.logger import get_logger

from speechbrain_atst import evaluation
from speechbrain_atst.augment import FrequencyWarp, Mixup
from speechbrain_atst.training.cache import EmbeddingCache, weights_fingerprint
from speechbrain_atst.training.dataio import VALID_SUBSETS
from speechbrain_atst.checkpoints import (
    OBJECTIVE_KEY,
    is_complete_checkpoint,
    remove_incomplete_checkpoints,
)
from speechbrain_atst.training.sampler import SubsetBatchSampler
from speechbrain_atst.training.schedules import (
    consistency_weight,
    ema_update,
    stage1_ema_decay,
)

logger = get_logger(__name__)


def objective_mode(stage):
    """``"min"`` (stage 1: validation BCE) or ``"max"`` (stage 2: PSDS).

    Arguments
    ---------
    stage : int
        Training stage (1 or 2).

    Returns
    -------
    str
        The direction of the objective.

    Example
    -------
    >>> objective_mode(1), objective_mode(2)
    ('min', 'max')
    """
    if int(stage) not in (1, 2):
        raise ValueError(f"stage must be 1 or 2, got {stage}")
    return "min" if int(stage) == 1 else "max"


def ict_loss(strong_s, weak_s, strong_t, weak_t, plan, weak_weight=0.5):
    """Interpolation-consistency loss summed over the mixed slices.

    For each slice ``S`` of the mixup plan, the teacher outputs on the
    unmixed inputs are mixed with the slice's coefficient and permutation
    (and clamped to [0, 1]); the slice loss is
    ``MSE(s_S, mix(s_T)) + weak_weight * MSE(w_S, mix(w_T))``. The returned
    value is the plain sum over slices (ATST-SED then divides it by 6 and
    multiplies it by ``w / 4``).

    Arguments
    ---------
    strong_s, weak_s : torch.Tensor
        Student outputs ``[B, T, C]`` and ``[B, C]`` on the mixed inputs.
    strong_t, weak_t : torch.Tensor
        Teacher outputs on the unmixed inputs.
    plan : MixupPlan
        The mixup draw of this step.
    weak_weight : float
        Weight of the clip-level term.

    Returns
    -------
    torch.Tensor
        Scalar.

    Example
    -------
    >>> from speechbrain_atst.augment import MixupPlan, SliceMix
    >>> plan = MixupPlan([SliceMix(0, 2, 0.5, torch.tensor([1, 0]))])
    >>> t_s = torch.tensor([[[0.0]], [[1.0]]])
    >>> t_w = torch.tensor([[0.0], [1.0]])
    >>> s_s = torch.full((2, 1, 1), 0.5)
    >>> s_w = torch.full((2, 1), 0.5)
    >>> float(ict_loss(s_s, s_w, t_s, t_w, plan))
    0.0
    """
    total = strong_s.new_zeros(())
    for sl in plan.slices:
        a, b = sl.start, sl.stop
        target_s = sl.mix_labels(strong_t[a:b])
        target_w = sl.mix_labels(weak_t[a:b])
        total = total + F.mse_loss(strong_s[a:b], target_s)
        total = total + weak_weight * F.mse_loss(weak_s[a:b], target_w)
    return total


def mean_teacher_loss(strong_s, weak_s, strong_t, weak_t, weak_weight=1.0):
    """Mean-teacher consistency ``MSE(s, s_T) + weak_weight MSE(w, w_T)``.

    Arguments
    ---------
    strong_s, weak_s : torch.Tensor
        Student outputs.
    strong_t, weak_t : torch.Tensor
        Teacher outputs (same inputs or unmixed, see the brain).
    weak_weight : float
        Weight of the clip-level term (1 in stage 1, 0.5 in stage 2).

    Returns
    -------
    torch.Tensor
        Scalar.

    Example
    -------
    >>> s, t = torch.zeros(1, 2, 1), torch.ones(1, 2, 1)
    >>> float(mean_teacher_loss(s, s[:, 0], t, t[:, 0], 0.5))
    1.5
    """
    return F.mse_loss(strong_s, strong_t) + weak_weight * F.mse_loss(
        weak_s, weak_t
    )


def _bce(pred, target):
    """BCE in float32 outside autocast (unsafe to autocast on CUDA).

    ``F.binary_cross_entropy`` refuses NaN predictions (an error on the
    CPU, a device-side assert that ends the process on CUDA), so a batch
    with a non-finite output would crash training instead of being
    reported and skipped. The predictions are made valid for it and the
    NaN is carried into the loss by ``0 * pred.sum()`` (exactly 0, with a
    zero gradient, when every prediction is finite; no host sync).
    """
    with torch.autocast(device_type=pred.device.type, enabled=False):
        pred = pred.float()
        safe = torch.nan_to_num(pred, nan=0.5, posinf=1.0, neginf=0.0)
        loss = F.binary_cross_entropy(safe.clamp(0.0, 1.0), target.float())
        return loss + 0.0 * pred.sum()


def _mse_fp32(fn, *args, **kwargs):
    """Runs a loss function on float32 copies of its tensor arguments."""
    with torch.autocast(device_type=args[0].device.type, enabled=False):
        args = [a.float() if torch.is_tensor(a) else a for a in args]
        return fn(*args, **kwargs)


class SEDBrain(sb.Brain):
    """Brain for ATST-SED training (both stages; see the module docstring).

    Expected ``modules``: ``student`` and ``teacher`` (:class:`ATSTSED`),
    ``cnn_features`` (:class:`~speechbrain_atst.features.CNNFrontEnd`),
    ``atst_features`` (:class:`~speechbrain_atst.features.ATSTFrontEnd`).
    Expected hparams (see ``recipes/DESED/SED/hparams/stage*.yaml``):
    ``stage``, ``batch_sizes``, ``classes``, ``lr_scheduler``,
    ``epoch_counter``, ``cnn_lr``, ``rnn_lr``, ``tfm_lr``, ``tfm_lr_scale``,
    ``tfm_trainable_layers``, ``const_max``, ``ema_decay``,
    ``ema_warmup``, ``mixup`` (:class:`~speechbrain_atst.augment.Mixup` or
    None), ``mixup_atst``, ``freq_warp``
    (:class:`~speechbrain_atst.augment.FrequencyWarp` or None),
    ``use_ict``, ``use_mean_teacher``, ``weak_weight``,
    ``consistency_weak_weight``, ``teacher_eval_mode``, ``valid_every``,
    ``median_windows``, ``eval_sets`` (ground truth and durations),
    ``output_folder``, ``train_logger``, ``seed``; optional
    ``atst_cache`` (False, "memory" or "disk"), ``nonfinite_action``
    ("skip" or "stop"), ``ckpt_keep``, ``psds_jobs``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hp = self.hparams
        self.stage_n = int(hp.stage)
        self.raw_student = self.modules.student
        self.raw_teacher = self.modules.teacher
        self.classes = list(hp.classes)
        self.batch_sizes = [int(b) for b in hp.batch_sizes]
        if len(self.batch_sizes) != 4:
            raise ValueError(
                "batch_sizes must list [real strong, synthetic, weak, "
                f"unlabeled] counts, got {self.batch_sizes}"
            )
        n_strong = self.batch_sizes[0] + self.batch_sizes[1]
        self.slice_sizes = [n_strong, self.batch_sizes[2], self.batch_sizes[3]]
        self.mixup = getattr(hp, "mixup", None) or Mixup(prob=0.0)
        self.freq_warp = getattr(hp, "freq_warp", None) or FrequencyWarp(
            prob=0.0
        )
        self.atst_frozen = int(hp.tfm_trainable_layers) == 0
        action = getattr(hp, "nonfinite_action", "skip")
        if action not in ("skip", "stop"):
            raise ValueError(
                f"nonfinite_action must be 'skip' or 'stop', got {action!r}"
            )
        self._configure_trainable()
        self.generator = torch.Generator()
        self.atst_cache = None
        self._stats = {}
        self._valid = None
        self._nonfinite_total = 0
        self._step_skipped = False
        self._last_grad_norm = float("nan")
        self._configured = True
        self.print_trainable_parameters()

    def print_trainable_parameters(self):
        """Logs the parameter counts once the frozen parts are set."""
        if getattr(self, "_configured", False):
            super().print_trainable_parameters()

    # ------------------------------------------------------------------
    # Set-up
    # ------------------------------------------------------------------
    def _configure_trainable(self):
        """Freezes the teacher and the transformer layers not trained.

        Runs before DDP wrapping, so DDP only sees trainable parameters.
        """
        student, teacher = self.raw_student, self.raw_teacher
        groups = student.atst.layer_groups()
        n_layers = self.n_trainable_groups()
        if n_layers == 0:
            student.atst.set_freeze(True)
            teacher.atst.set_freeze(True)
        else:
            student.atst.set_freeze(False)
            teacher.atst.set_freeze(False)
            unused = {id(getattr(student.atst, "mask_embed", None))}
            for j, group in enumerate(groups):
                for p in group:
                    if id(p) not in unused:
                        p.requires_grad_(j < n_layers)
        teacher.requires_grad_(False)

    def n_trainable_groups(self):
        """Number of trained transformer layer groups.

        ``tfm_trainable_layers`` counted top-down; values above the number
        of groups (``depth + 2``) train them all.

        Returns
        -------
        int
            The number of groups in the optimizer.
        """
        n_layers = int(self.hparams.tfm_trainable_layers)
        if n_layers < 0:
            raise ValueError(f"tfm_trainable_layers must be >= 0: {n_layers}")
        return min(n_layers, len(self.raw_student.atst.layer_groups()))

    def param_groups(self):
        """Optimizer parameter groups with their ``max_lr``.

        Returns
        -------
        list of dict
            ``cnn`` (``cnn_lr``), ``rnn`` (everything else outside the
            transformer, ``rnn_lr``), then ``tfm_0`` ... for the trainable
            transformer layer groups (top-down, ``tfm_lr * scale ** j``).
        """
        hp = self.hparams
        student = self.raw_student
        atst_ids = {id(p) for p in student.atst.parameters()}
        cnn, rnn = [], []
        for name, p in student.named_parameters():
            if id(p) in atst_ids or not p.requires_grad:
                continue
            (cnn if "cnn" in name else rnn).append(p)
        groups = [
            {"params": cnn, "lr": float(hp.cnn_lr), "name": "cnn"},
            {"params": rnn, "lr": float(hp.rnn_lr), "name": "rnn"},
        ]
        n_layers = self.n_trainable_groups()
        for j, group in enumerate(student.atst.layer_groups()[:n_layers]):
            params = [p for p in group if p.requires_grad]
            if params:
                lr = float(hp.tfm_lr) * float(hp.tfm_lr_scale) ** j
                groups.append({"params": params, "lr": lr, "name": f"tfm_{j}"})
        groups = [g for g in groups if g["params"]]
        for g in groups:
            g["max_lr"] = g["lr"]
        return groups

    def init_optimizers(self):
        """Adam over the student's trainable parameter groups only."""
        self.optimizer = self.opt_class(self.param_groups())
        self.optimizers_dict = {"optimizer": self.optimizer}
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("optimizer", self.optimizer)

    def make_dataloader(
        self, dataset, stage, ckpt_prefix="dataloader-", **loader_kwargs
    ):
        """Builds loaders; the training one uses :class:`SubsetBatchSampler`.

        For ``Stage.TRAIN`` and a ``ConcatDataset`` of the four training
        subsets, a :class:`SubsetBatchSampler` with ``hparams.batch_sizes``
        is created (DDP-aware, reseeded every epoch by ``fit``) instead of
        Brain's DDP wrapping. Other datasets go through the default.

        Arguments
        ---------
        dataset : Dataset
            The dataset.
        stage : sb.Stage
            Stage of the loader.
        ckpt_prefix : str or None
            Prefix of the checkpoint key of a saveable loader.
        **loader_kwargs : dict
            DataLoader arguments (``num_workers``...).

        Returns
        -------
        DataLoader
            The loader.
        """
        if isinstance(dataset, torch.utils.data.ConcatDataset):
            loader_kwargs.setdefault("collate_fn", PaddedBatch)
        if stage != sb.Stage.TRAIN or not isinstance(
            dataset, torch.utils.data.ConcatDataset
        ):
            return super().make_dataloader(
                dataset, stage, ckpt_prefix=ckpt_prefix, **loader_kwargs
            )
        for key in ("batch_size", "shuffle", "sampler", "drop_last"):
            loader_kwargs.pop(key, None)
        sampler = loader_kwargs.pop("batch_sampler", None)
        if sampler is None:
            sampler = SubsetBatchSampler(
                [len(d) for d in dataset.datasets],
                self.batch_sizes,
                seed=int(getattr(self.hparams, "seed", 0)),
                names=[
                    "strong_train",
                    "synth_train",
                    "weak_train",
                    "unlabeled",
                ],
            )
        self.train_sampler = sampler
        loader = make_dataloader(
            dataset, batch_sampler=sampler, **loader_kwargs
        )
        if self.checkpointer is not None and ckpt_prefix is not None:
            self.checkpointer.add_recoverable(ckpt_prefix + stage.name, loader)
        steps = max(len(sampler) // self.grad_accumulation_factor, 1)
        self.hparams.lr_scheduler.configure(steps)
        return loader

    def _wrap_distributed(self):
        """Wraps the trainable modules (the student) in DDP.

        BatchNorm layers become ``SyncBatchNorm`` (statistics over the
        whole multi-process batch, as one process with the full batch
        would compute them) when ``sync_batchnorm`` is True and the device
        is a GPU, in the student and in the teacher; on CPU (gloo), each
        process keeps its own statistics.
        """
        if not self.distributed_launch:
            return super()._wrap_distributed()
        sync = bool(getattr(self.hparams, "sync_batchnorm", True))
        if sync and self.device_type != "cuda":
            logger.info("SyncBatchNorm needs GPUs: BatchNorm stays per process")
            sync = False
        for name, module in self.modules.items():
            if not any(p.requires_grad for p in module.parameters()):
                continue
            if sync:
                module = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
            device_ids = None if self.device_type == "cpu" else [self.device]
            self.modules[name] = torch.nn.parallel.DistributedDataParallel(
                module,
                device_ids=device_ids,
                find_unused_parameters=self.find_unused_parameters,
            )
        if sync:
            torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.raw_teacher)

    def _complete(self, ckpt):
        """Checkpoint predicate: written completely (see
        :func:`~speechbrain_atst.training.initialization.is_complete_checkpoint`).
        """
        required = [
            name
            for name in self.checkpointer.recoverables
            if not self.checkpointer.optional_recoverables.get(name, False)
            and "dataloader" not in name
        ]
        return is_complete_checkpoint(ckpt)

    def _remove_incomplete_checkpoints(self):
        """Deletes checkpoint folders left partial by a killed run.

        They would never be loaded (see :meth:`_complete`), but an empty
        ``CKPT.yaml`` makes SpeechBrain's checkpointer fail, and a partial
        folder with a good objective would be kept as the best checkpoint.
        Runs on the main process; the others wait.
        """
        required = [
            name
            for name in self.checkpointer.recoverables
            if not self.checkpointer.optional_recoverables.get(name, False)
            and "dataloader" not in name
        ]
        run_on_main(
            remove_incomplete_checkpoints,
            args=[self.checkpointer.checkpoints_dir],
        )

    def on_fit_start(self):
        """Wraps, builds the optimizer, resumes from the latest complete
        checkpoint, then checks the teacher."""
        self._compile()
        self._wrap_distributed()
        self.init_optimizers()
        if self.checkpointer is not None:
            self._remove_incomplete_checkpoints()
            self.checkpointer.recover_if_possible(ckpt_predicate=self._complete)
        if self.atst_frozen:
            for ps, pt in zip(
                self.raw_student.atst.parameters(),
                self.raw_teacher.atst.parameters(),
            ):
                if not torch.equal(ps, pt):
                    raise RuntimeError(
                        "Stage-1 training shares the frozen transformer "
                        "between student and teacher, but their weights "
                        "differ; initialise the teacher from the student"
                    )
        self._setup_atst_cache()
        world = (
            torch.distributed.get_world_size()
            if is_distributed_initialized()
            else 1
        )
        logger.info(
            f"Training stage {self.stage_n} on {world} processes: batches of "
            f"{self.batch_sizes} (real strong, synthetic, weak, unlabeled) "
            f"per process, {self.hparams.lr_scheduler.steps_per_epoch} "
            "optimizer steps per epoch"
        )

    def _setup_atst_cache(self):
        """Creates the stage-1 transformer cache if configured."""
        mode = getattr(self.hparams, "atst_cache", False)
        if not mode or not self.atst_frozen:
            return
        if mode is True or mode == "memory":
            self.atst_cache = EmbeddingCache()
        elif mode == "disk":
            folder = os.path.join(self.hparams.output_folder, "atst_cache")
            fingerprint = weights_fingerprint(self.raw_student.atst)
            if if_main_process():
                EmbeddingCache(folder, fingerprint)
            if is_distributed_initialized():
                torch.distributed.barrier()
            self.atst_cache = EmbeddingCache(folder, None)
            self.atst_cache.fingerprint = fingerprint
        else:
            raise ValueError(
                f"atst_cache must be False, 'memory' or 'disk', got {mode!r}"
            )

    def on_stage_start(self, stage, epoch=None):
        """Resets the accumulators of the stage.

        Arguments
        ---------
        stage : sb.Stage
            The stage.
        epoch : int, optional
            The epoch.
        """
        self._stage_t0 = time.time()
        if stage == sb.Stage.TRAIN:
            self._stats = {}
        else:
            self._valid = {
                "scores_student": {},
                "scores_teacher": {},
                "bce": {name: [0.0, 0] for name in VALID_SUBSETS},
            }

    def on_fit_batch_start(self, batch, should_step):
        """Sets the learning rates of the coming step; teacher mode.

        Arguments
        ---------
        batch : PaddedBatch
            The batch.
        should_step : bool
            Whether the optimizer steps after this batch.
        """
        self.hparams.lr_scheduler(self.optimizer, self.optimizer_step + 1)
        if getattr(self.hparams, "teacher_eval_mode", False):
            self.raw_teacher.eval()
        # Augmentation draws depend only on (seed, rank, step): reproducible,
        # different on each DDP process, and identical after a resume.
        key = (
            int(getattr(self.hparams, "seed", 0)),
            self.rank_index(),
            self.optimizer_step,
            self.step,
        )
        digest = hashlib.sha256(repr(key).encode()).digest()
        self.generator.manual_seed(int.from_bytes(digest[:8], "little") >> 1)

    def rank_index(self):
        """Rank of this process (0 without DDP).

        Returns
        -------
        int
            The rank.
        """
        if is_distributed_initialized():
            return torch.distributed.get_rank()
        return 0

    # ------------------------------------------------------------------
    # Forward
    # ------------------------------------------------------------------
    def _cache_keys(self, batch):
        """Keys ``<wav path>@<crop start>`` of the batch windows."""
        return [f"{w}@{int(s)}" for w, s in zip(batch.wav, batch.crop_start)]

    def _shared_embeddings(self, batch, atst_mel_fn):
        """Frozen-transformer outputs of the batch (cached if enabled)."""
        fe = self.modules.atst_features
        student = self.raw_student

        def encode(indices):
            mel = atst_mel_fn(indices)
            with torch.no_grad():
                return student.encode_atst(fe.normalize(mel))

        if self.atst_cache is None:
            return encode(list(range(len(batch.id))))
        return self.atst_cache.get_or_compute(
            self._cache_keys(batch), encode, device=self.device
        )

    def compute_forward(self, batch, stage):
        """Front-ends, augmentations and both models.

        Arguments
        ---------
        batch : PaddedBatch
            Items with ``sig``, ``strong``, ``weak``, ``crop_start``.
        stage : sb.Stage
            The stage.

        Returns
        -------
        dict
            Student and teacher outputs plus what the objectives need.
        """
        batch = batch.to(self.device)
        if stage == sb.Stage.TRAIN:
            return self._forward_train(batch)
        return self._forward_eval(batch)

    def _forward_eval(self, batch):
        """Plain forward of student and teacher (no augmentation)."""
        wav = batch.sig.data
        cnn_feats = self.modules.cnn_features(wav)
        if self.atst_frozen:
            emb = self._shared_embeddings(
                batch,
                lambda idx: self.modules.atst_features.spectrogram(wav[idx]),
            )
            student = self.raw_student(cnn_feats, atst_embeddings=emb)
            teacher = self.raw_teacher(cnn_feats, atst_embeddings=emb)
        else:
            atst_feats = self.modules.atst_features(wav)
            student = self.raw_student(cnn_feats, atst_feats)
            teacher = self.raw_teacher(cnn_feats, atst_feats)
        return {"student": student, "teacher": teacher}

    def _forward_train(self, batch):
        """Training forward: mixup, warping, student and teacher."""
        hp = self.hparams
        gen = self.generator
        wav = batch.sig.data
        if wav.shape[0] != sum(self.batch_sizes):
            raise ValueError(
                f"Training batch of {wav.shape[0]} items, expected "
                f"{sum(self.batch_sizes)} (batch_sizes {self.batch_sizes})"
            )
        sizes = self.slice_sizes
        n_strong, n_weak = sizes[0], sizes[1]
        cnn_fe, atst_fe = self.modules.cnn_features, self.modules.atst_features
        strong_y = batch.strong.data[:n_strong]
        weak_y = batch.weak.data[n_strong : n_strong + n_weak]

        plan = self.mixup.draw(sizes, gen)
        use_ict = bool(plan is not None and hp.use_ict)
        cnn_mel = cnn_fe.spectrogram(wav)
        s_cnn_mel = plan.apply(cnn_mel) if plan is not None else cnn_mel
        s_cnn = cnn_fe.normalize(s_cnn_mel)
        # The teacher sees the unmixed input under ICT, else the student's.
        t_cnn = cnn_fe.normalize(cnn_mel) if use_ict else s_cnn
        if plan is not None:
            strong_y = self._mix_slice(plan, 0, strong_y)
            weak_y = self._mix_slice(plan, n_strong, weak_y)

        mix_atst = plan is not None and bool(hp.mixup_atst)
        warp = self.freq_warp.active(gen)
        share = self.atst_frozen and not mix_atst and not warp
        if share:
            emb = self._shared_embeddings(
                batch, lambda idx: atst_fe.spectrogram(wav[idx])
            )
            student = self.modules.student(s_cnn, atst_embeddings=emb)
            with torch.no_grad():
                teacher = self.raw_teacher(t_cnn, atst_embeddings=emb)
        else:
            atst_mel = atst_fe.spectrogram(wav)
            s_atst = atst_fe.normalize(
                plan.apply(atst_mel) if mix_atst else atst_mel
            )
            if mix_atst and use_ict:
                t_atst = atst_fe.normalize(atst_mel)
            else:
                t_atst = s_atst
            if warp:
                s_atst = self.freq_warp.apply(s_atst, sizes, gen)
                t_atst = self.freq_warp.apply(t_atst, sizes, gen)
            student = self.modules.student(s_cnn, s_atst)
            with torch.no_grad():
                teacher = self.raw_teacher(t_cnn, t_atst)
        return {
            "student": student,
            "teacher": teacher,
            "plan": plan,
            "use_ict": use_ict,
            "strong_y": strong_y,
            "weak_y": weak_y,
            "warp": warp,
        }

    @staticmethod
    def _mix_slice(plan, start, targets):
        """Soft-mixes the targets of the slice starting at ``start``."""
        if targets.shape[0] == 0:
            return targets
        sl = plan.slice_at(start)
        return targets if sl is None else sl.mix_labels(targets)

    # ------------------------------------------------------------------
    # Objectives
    # ------------------------------------------------------------------
    def current_step(self):
        """The optimizer step being computed (from 1).

        Returns
        -------
        int
            ``optimizer_step + 1``.
        """
        return self.optimizer_step + 1

    def compute_objectives(self, predictions, batch, stage):
        """Supervised + consistency loss (train) or validation bookkeeping.

        Arguments
        ---------
        predictions : dict
            Output of :meth:`compute_forward`.
        batch : PaddedBatch
            The batch.
        stage : sb.Stage
            The stage.

        Returns
        -------
        torch.Tensor
            Scalar loss.
        """
        if stage != sb.Stage.TRAIN:
            return self._eval_objectives(predictions, batch, stage)
        hp = self.hparams
        strong_s, weak_s = predictions["student"]
        strong_t, weak_t = predictions["teacher"]
        n_strong, n_weak, _ = self.slice_sizes
        zero = strong_s.new_zeros(())
        loss_strong = (
            _bce(strong_s[:n_strong], predictions["strong_y"])
            if n_strong
            else zero
        )
        loss_weak = (
            _bce(weak_s[n_strong : n_strong + n_weak], predictions["weak_y"])
            if n_weak
            else zero
        )
        loss_sup = loss_strong + float(hp.weak_weight) * loss_weak

        weight = consistency_weight(
            self.current_step(),
            hp.lr_scheduler.warmup_steps or 0,
            float(hp.const_max),
        )
        cw = float(hp.consistency_weak_weight)
        if predictions["use_ict"]:
            loss_ict = _mse_fp32(
                ict_loss,
                strong_s,
                weak_s,
                strong_t,
                weak_t,
                predictions["plan"],
                weak_weight=cw,
            )
            loss_self = loss_ict / 6.0 * weight / 4.0
        elif hp.use_mean_teacher:
            loss_self = (
                _mse_fp32(
                    mean_teacher_loss,
                    strong_s,
                    weak_s,
                    strong_t,
                    weak_t,
                    weak_weight=cw,
                )
                * weight
            )
        else:
            loss_self = zero
        loss = loss_sup + loss_self
        predictions["stats"] = {
            "loss_strong": loss_strong.detach(),
            "loss_weak": loss_weak.detach(),
            "loss_self": loss_self.detach(),
            "ict_steps": float(predictions["use_ict"]),
            "warp_steps": float(predictions["warp"]),
            "cons_weight": weight,
        }
        return loss

    def _accumulate(self, values):
        """Running sums of training statistics (tensors stay on device)."""
        for key, value in values.items():
            total, count = self._stats.get(key, (0.0, 0))
            self._stats[key] = (total + value, count + 1)

    def _eval_objectives(self, predictions, batch, stage):
        """Stores scores and the teacher BCE of the labelled sets."""
        strong_s, weak_s = predictions["student"]
        strong_t, weak_t = predictions["teacher"]
        strong_y, weak_y = batch.strong.data, batch.weak.data
        valid = self._valid
        subsets = (
            batch.subset.tolist()
            if hasattr(batch, "subset")
            else [0] * len(batch.id)
        )
        st_np = strong_t.detach().float().cpu().numpy()
        ss_np = strong_s.detach().float().cpu().numpy()
        for i, (clip_id, subset) in enumerate(zip(batch.id, subsets)):
            if subset == 0:
                valid["scores_student"][clip_id] = ss_np[i]
                valid["scores_teacher"][clip_id] = st_np[i]
        losses = []
        for k, name in enumerate(VALID_SUBSETS):
            idx = [i for i, s in enumerate(subsets) if s == k]
            if not idx:
                continue
            idx_t = torch.tensor(idx, device=strong_t.device)
            if name == "weak_valid":
                pred, target = weak_t[idx_t], weak_y[idx_t]
            else:
                pred, target = strong_t[idx_t], strong_y[idx_t]
            bce = F.binary_cross_entropy(
                pred.float(), target.float(), reduction="sum"
            )
            acc = valid["bce"][name]
            acc[0] += float(bce)
            acc[1] += target.numel()
            losses.append(bce / target.numel())
        if not losses:
            return strong_t.new_zeros(())
        return torch.stack(losses).mean()

    # ------------------------------------------------------------------
    # Optimisation
    # ------------------------------------------------------------------
    def fit_batch(self, batch):
        """One training step; a non-finite loss skips the update.

        Arguments
        ---------
        batch : PaddedBatch
            The batch.

        Returns
        -------
        torch.Tensor
            The detached loss.
        """
        should_step = (self.step % self.grad_accumulation_factor) == 0
        self._step_skipped = False
        # BatchNorm statistics move during the forward pass: a batch with
        # a non-finite loss must not leave NaN in them.
        buffers = self._buffer_snapshot()
        self.on_fit_batch_start(batch, should_step)
        with self.no_sync(not should_step):
            with self.training_ctx:
                outputs = self.compute_forward(batch, sb.Stage.TRAIN)
                loss = self.compute_objectives(outputs, batch, sb.Stage.TRAIN)
            finite = self._all_finite(loss)
            if finite:
                scaled = self.scaler.scale(loss / self.grad_accumulation_factor)
                scaled.backward()
        if not finite:
            for buf, saved in buffers:
                buf.copy_(saved)
            self._handle_nonfinite(batch, loss)
            return loss.detach().cpu()
        self._accumulate(outputs.get("stats", {}))
        if should_step:
            self.optimizers_step()
        self.on_fit_batch_end(batch, outputs, loss, should_step)
        return loss.detach().cpu()

    @torch.no_grad()
    def _buffer_snapshot(self):
        """Copies of the student's and teacher's buffers (BatchNorm
        statistics: about a thousand numbers)."""
        return [
            (buf, buf.detach().clone())
            for model in (self.raw_student, self.raw_teacher)
            for buf in model.buffers()
        ]

    def check_finite_weights(self):
        """Raises if the student or the teacher holds NaN or inf.

        Called before every checkpoint save, so that a kept checkpoint
        never holds non-finite weights.

        Raises
        ------
        FloatingPointError
            Naming the first non-finite tensor.
        """
        for who, model in (
            ("student", self.raw_student),
            ("teacher", self.raw_teacher),
        ):
            tensors = list(model.named_parameters())
            tensors += list(model.named_buffers())
            for name, tensor in tensors:
                if tensor.is_floating_point() and not bool(
                    torch.isfinite(tensor).all()
                ):
                    raise FloatingPointError(
                        f"The {who}'s {name} holds NaN or inf values at "
                        f"epoch step {self.step} (optimizer step "
                        f"{self.optimizer_step}): the checkpoint is not "
                        "saved, so the last complete checkpoint stays the "
                        "one a rerun resumes from"
                    )

    def _save_intra_epoch_ckpt(self):
        """Intra-epoch checkpoint, after checking that weights are finite."""
        self.check_finite_weights()
        super()._save_intra_epoch_ckpt()

    def _all_finite(self, loss):
        """Whether the loss is finite on every process."""
        flag = torch.tensor(
            [1.0 if bool(torch.isfinite(loss.detach())) else 0.0],
            device=self.device,
        )
        if is_distributed_initialized():
            torch.distributed.all_reduce(
                flag, op=torch.distributed.ReduceOp.MIN
            )
        return bool(flag.item() > 0)

    def _handle_nonfinite(self, batch, loss):
        """Logs the batch of a non-finite loss; drops its gradients."""
        self._nonfinite_total += 1
        self.nonfinite_count += 1
        self._step_skipped = True
        for opt in self.optimizers_dict.values():
            opt.zero_grad(set_to_none=True)
        ids = list(batch.id)
        shown = ", ".join(ids[:20]) + (" ..." if len(ids) > 20 else "")
        message = (
            f"Non-finite training loss ({float(loss.detach())}) at epoch step "
            f"{self.step} (optimizer step {self.optimizer_step}); the batch "
            f"held: {shown}."
        )
        bad = self._nonfinite_inputs(batch)
        if bad:
            message += f" Non-finite input audio or features: {bad}."
        action = getattr(self.hparams, "nonfinite_action", "skip")
        if action == "stop" or self.nonfinite_count > self.nonfinite_patience:
            raise ValueError(
                message + f" Stopping ({self.nonfinite_count} non-finite "
                f"losses this epoch, nonfinite_patience="
                f"{self.nonfinite_patience}, nonfinite_action={action})."
            )
        logger.warning(message + " The update was skipped.")

    @torch.no_grad()
    def _nonfinite_inputs(self, batch):
        """Files of the batch whose samples or front-end features are not
        finite (e.g. samples so large that the spectrogram overflows)."""
        sig = batch.sig.data.to(self.device)
        finite = torch.isfinite(sig).all(1)
        for fe in (self.modules.cnn_features, self.modules.atst_features):
            finite &= torch.isfinite(fe(sig)).flatten(1).all(1)
        return ", ".join(
            wav for wav, ok in zip(batch.wav, finite.tolist()) if not ok
        )

    def optimizers_step(self):
        """Clips all groups (if configured), skips non-finite gradients,
        steps the optimizer."""
        opts = list(self.freeze_optimizers(self.optimizers_dict).values())
        for opt in opts:
            self.scaler.unscale_(opt)
        params = [
            p
            for opt in opts
            for group in opt.param_groups
            for p in group["params"]
            if p.grad is not None
        ]
        max_norm = self.max_grad_norm
        if max_norm is not None and float(max_norm) > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, float(max_norm))
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in params])
        self._last_grad_norm = float(norm)
        if not math.isfinite(self._last_grad_norm):
            if not self.scaler.is_enabled():
                logger.warning(
                    "Non-finite gradient norm at optimizer step "
                    f"{self.optimizer_step + 1}: update skipped"
                )
                for opt in opts:
                    opt.zero_grad(set_to_none=True)
                self._step_skipped = True
                return
        scale_before = (
            self.scaler.get_scale() if self.scaler.is_enabled() else 1
        )
        for opt in opts:
            self.scaler.step(opt)
        self.scaler.update()
        if self.scaler.is_enabled() and self.scaler.get_scale() < scale_before:
            self._step_skipped = True  # the scaler skipped inf gradients
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        if not self._step_skipped:
            self.optimizer_step += 1
            self._accumulate({"grad_norm": self._last_grad_norm})

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """EMA update of the teacher after each optimizer step.

        Arguments
        ---------
        batch : PaddedBatch
            The batch.
        outputs : dict
            Forward outputs.
        loss : torch.Tensor
            The loss.
        should_step : bool
            Whether the optimizer stepped.
        """
        if not should_step or self._step_skipped:
            return
        self.update_teacher()

    def ema_decay(self):
        """EMA decay after ``optimizer_step`` steps.

        Returns
        -------
        float
            ``min(1 - 1/(step + 1), ema_decay)`` with ``ema_warmup`` (stage
            1), else ``ema_decay``.
        """
        decay = float(self.hparams.ema_decay)
        if getattr(self.hparams, "ema_warmup", False):
            return stage1_ema_decay(self.optimizer_step, decay)
        return decay

    @torch.no_grad()
    def update_teacher(self):
        """Moves the teacher's parameters towards the student's.

        Parameters frozen in the student (the stage-1 transformer) are
        identical in both models and skipped; buffers are copied only when
        the teacher runs in eval mode (it keeps its own otherwise).
        """
        eval_mode = getattr(self.hparams, "teacher_eval_mode", False)
        ema_update(
            self.raw_teacher,
            self.raw_student,
            self.ema_decay(),
            buffers="copy" if eval_mode else "keep",
            trainable_only=True,
        )

    # ------------------------------------------------------------------
    # Epoch ends: logging, validation, checkpoints, test
    # ------------------------------------------------------------------
    def is_valid_epoch(self, epoch):
        """Whether validation runs after ``epoch``.

        Arguments
        ---------
        epoch : int
            The epoch (from 1).

        Returns
        -------
        bool
            Every ``valid_every`` epochs, at the last epoch, and always in
            debug mode.
        """
        if self.debug:
            return True
        every = max(int(getattr(self.hparams, "valid_every", 1)), 1)
        last = int(self.hparams.epoch_counter.limit)
        return epoch % every == 0 or epoch >= last

    def _fit_valid(self, valid_set, epoch, enable):
        """Validates only on validation epochs (see is_valid_epoch)."""
        if valid_set is not None and self.is_valid_epoch(epoch):
            super()._fit_valid(valid_set, epoch, enable)

    def _train_stats(self, stage_loss):
        """Means of the accumulated training statistics."""
        stats = {"loss": stage_loss}
        for key, (total, count) in self._stats.items():
            stats[key] = float(total) / max(count, 1)
        for key in ("ict_steps", "warp_steps"):
            if key in stats:
                stats[key] = round(stats[key], 3)
        stats["seconds"] = round(time.time() - self._stage_t0, 1)
        if self.atst_cache is not None:
            stats["atst_cache_hits"] = self.atst_cache.hits
            stats["atst_cache_misses"] = self.atst_cache.misses
        return stats

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs, validates, checkpoints and tests.

        Arguments
        ---------
        stage : sb.Stage
            The stage.
        stage_loss : float
            Average loss of the stage.
        epoch : int, optional
            The epoch.
        """
        if stage == sb.Stage.TRAIN:
            self.train_stats = self._train_stats(stage_loss)
            self._sync_teacher_buffers()
            if not self.is_valid_epoch(epoch) or self._valid_set_empty():
                self._log_epoch(epoch, None)
                self._save(epoch, None)
            return
        if stage == sb.Stage.VALID:
            valid_stats = self._valid_stats(stage_loss)
            self._log_epoch(epoch, valid_stats)
            self._save(epoch, valid_stats)
            return
        self._test_end(stage_loss)

    def _sync_teacher_buffers(self):
        """Gives every DDP process the teacher statistics of process 0.

        The teacher is not wrapped in DDP; in train mode each process
        updates its BatchNorm statistics with its own batches.
        """
        if not is_distributed_initialized():
            return
        for buf in self.raw_teacher.buffers():
            torch.distributed.broadcast(buf, src=0)

    def _valid_set_empty(self):
        """True when fit() was given no validation data."""
        return getattr(self, "_no_valid", False)

    def fit(self, epoch_counter, train_set, valid_set=None, **kwargs):
        """Trains; an empty validation set counts as none.

        Arguments
        ---------
        epoch_counter : EpochCounter
            The epochs.
        train_set : Dataset or DataLoader
            Training data.
        valid_set : Dataset or DataLoader, optional
            Validation data.
        **kwargs : dict
            As in :meth:`speechbrain.Brain.fit`.
        """
        if valid_set is not None and len(valid_set) == 0:
            valid_set = None
        self._no_valid = valid_set is None
        return super().fit(epoch_counter, train_set, valid_set, **kwargs)

    def _current_lrs(self):
        """Learning rate of the CNN and RNN groups and the first tfm one."""
        out = {}
        for group in self.optimizer.param_groups:
            name = group.get("name", "")
            if name in ("cnn", "rnn", "tfm_0"):
                out[f"lr_{name}"] = group["lr"]
        return out

    def _log_epoch(self, epoch, valid_stats):
        """Writes one line to the train log."""
        meta = {"epoch": epoch, "step": self.optimizer_step}
        meta.update(self._current_lrs())
        self.hparams.train_logger.log_stats(
            stats_meta=meta,
            train_stats=self.train_stats,
            valid_stats=valid_stats,
        )

    def _save(self, epoch, valid_stats):
        """End-of-epoch checkpoint: keep the best by objective + latest."""
        if self.checkpointer is None:
            return
        self.check_finite_weights()
        meta = {"epoch": int(epoch)}
        mode = objective_mode(self.stage_n)
        if valid_stats is not None and OBJECTIVE_KEY in valid_stats:
            meta[OBJECTIVE_KEY] = float(valid_stats[OBJECTIVE_KEY])
            meta["objective_mode"] = mode
            for key in (
                "teacher_psds1",
                "teacher_psds2",
                "student_psds1",
                "student_psds2",
            ):
                if key in valid_stats:
                    meta[key] = float(valid_stats[key])
        keys = {f"{mode}_keys": [OBJECTIVE_KEY]}
        self.checkpointer.save_and_keep_only(
            meta=meta,
            num_to_keep=int(getattr(self.hparams, "ckpt_keep", 1)),
            **keys,
        )

    def _valid_stats(self, stage_loss):
        """PSDS of student and teacher on synth_valid and the objective."""
        valid = self._valid
        stats = {"loss": stage_loss}
        means = {
            name: total / count
            for name, (total, count) in valid["bce"].items()
            if count
        }
        for name, value in means.items():
            stats[f"teacher_bce_{name}"] = value
        psds = run_on_main(
            self._synth_valid_psds,
            args=[valid["scores_student"], valid["scores_teacher"]],
        )
        stats.update(psds or {})
        if self.stage_n == 1:
            parts = [
                means[k] for k in ("weak_valid", "strong_valid") if k in means
            ]
            if not parts and "synth_valid" in means:
                parts = [means["synth_valid"]]
            if parts:
                stats[OBJECTIVE_KEY] = float(np.mean(parts))
        elif "teacher_psds1" in stats:
            stats[OBJECTIVE_KEY] = float(
                stats["teacher_psds1"] + stats["teacher_psds2"]
            )
        stats["seconds"] = round(time.time() - self._stage_t0, 1)
        return stats

    def _eval_set(self, name):
        """Ground truth and durations of an evaluation set, or None."""
        sets = getattr(self.hparams, "eval_sets", None) or {}
        entry = sets.get(name)
        if not entry:
            return None
        gt, dur = entry.get("ground_truth"), entry.get("durations")
        if not (gt and dur and os.path.isfile(gt) and os.path.isfile(dur)):
            return None
        return gt, dur

    def _psds(self, scores, name, median_windows, grid="clip"):
        """Score frames and metrics of raw scores on an evaluation set.

        See :func:`speechbrain_atst.evaluation.evaluate_clip_scores`;
        returns None when the set is not configured or nothing was scored.
        """
        files = self._eval_set(name)
        if files is None or not scores:
            return None
        frames, metrics = evaluation.evaluate_clip_scores(
            scores,
            evaluation.read_ground_truth(files[0]),
            evaluation.read_durations(files[1]),
            self.classes,
            median_windows,
            grid=grid,
            num_jobs=int(self.hparams.psds_jobs),
            name=name,
        )
        return None if metrics is None else (frames, metrics)

    def _synth_valid_psds(self, scores_student, scores_teacher):
        """PSDS of both models on synth_valid (runs on the main process)."""
        stats = {}
        windows = self.hparams.median_windows
        for who, scores in (
            ("teacher", scores_teacher),
            ("student", scores_student),
        ):
            out = self._psds(scores, "synth_valid", windows)
            if out is None:
                continue
            metrics = out[1]
            stats[f"{who}_psds1"] = float(metrics["psds1"])
            stats[f"{who}_psds2"] = float(metrics["psds2"])
            stats[f"{who}_intersection_f1"] = float(
                metrics["intersection_f1_macro"]
            )
        return stats

    def _test_end(self, stage_loss):
        """Writes test scores and metrics (main process)."""
        valid = self._valid
        metrics = run_on_main(
            self._write_test_outputs,
            args=[valid["scores_student"], valid["scores_teacher"]],
        )
        if metrics:
            flat = {"loss": stage_loss}
            for who in ("student", "teacher"):
                for key in ("psds1", "psds2", "intersection_f1_macro"):
                    if key in metrics.get(who, {}):
                        flat[f"{who}_{key}"] = metrics[who][key]
            self.hparams.train_logger.log_stats(
                stats_meta={"Test": "validation set", **self._ckpt_meta()},
                test_stats=flat,
            )
        self.test_metrics = metrics

    def _ckpt_meta(self):
        """Description of the checkpoint used for the test."""
        meta = getattr(self, "_loaded_ckpt_meta", None) or {}
        return {k: v for k, v in meta.items() if k in ("epoch", OBJECTIVE_KEY)}

    def on_evaluate_start(self, max_key=None, min_key=None):
        """Loads the best checkpoint (by the objective) for the test.

        Arguments
        ---------
        max_key : str, optional
            Meta key to maximise.
        min_key : str, optional
            Meta key to minimise.
        """
        if max_key is None and min_key is None:
            mode = objective_mode(self.stage_n)
            max_key = OBJECTIVE_KEY if mode == "max" else None
            min_key = OBJECTIVE_KEY if mode == "min" else None
        self._loaded_ckpt_meta = None
        if self.checkpointer is not None:
            ckpt = self.checkpointer.recover_if_possible(
                max_key=max_key, min_key=min_key, ckpt_predicate=self._complete
            )
            if ckpt is not None:
                self._loaded_ckpt_meta = dict(ckpt.meta)

    def _write_test_outputs(self, scores_student, scores_teacher):
        """Score TSVs and ``test/metrics.json`` of student and teacher.

        The clips are scored on the grid ``test_score_grid`` (``"clip"``:
        frames stop at each clip's end; ``"full"``: all 156 frames, as the
        official ATST-SED test).
        """
        out_dir = os.path.join(self.hparams.output_folder, "test")
        os.makedirs(out_dir, exist_ok=True)
        files = self._eval_set("validation")
        windows = self.hparams.median_windows
        grid = self.hparams.test_score_grid
        dur = evaluation.read_durations(files[1]) if files else {}
        metrics = {}
        for who, scores in (
            ("student", scores_student),
            ("teacher", scores_teacher),
        ):
            out = self._psds(scores, "validation", windows, grid=grid)
            frames = (
                out[0]
                if out is not None
                else evaluation.score_frames(
                    scores, self.classes, windows, dur, grid
                )
            )
            evaluation.write_scores(
                frames, os.path.join(out_dir, f"scores_{who}")
            )
            if out is not None:
                metrics[who] = {"model": who, **_jsonable(out[1])}
        if metrics:
            metrics["checkpoint"] = _jsonable(self._ckpt_meta())
            metrics["median_windows"] = list(windows)
            with open(
                os.path.join(out_dir, "metrics.json"), "w", encoding="utf-8"
            ) as fout:
                json.dump(metrics, fout, indent=2)
        return metrics


def _jsonable(obj):
    """Converts numpy scalars and containers for json.dump."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
