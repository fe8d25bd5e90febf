"""SEDBrain: two-stage mean-teacher / ICT training of ATST-SED.

The brain trains a student :class:`~speechbrain_atst.lobes.atst_sed.ATSTSED`
and keeps an exponential-moving-average (EMA) teacher, as the official
ATST-SED code does (Shao, Li, Li, ICASSP 2024). Each training step:

1. a batch ``[real strong | synthetic strong | weak | unlabeled]`` (the
   first two form the "strong" slice) is drawn by
   :class:`~speechbrain_atst.training.sampler.SubsetBatchSampler`;
2. with probability ``mixup.prob``, each slice is mixed with its own
   coefficient and permutation, on the CNN's linear mel (stage 1) or on
   both branches with the same draw (stage 2, ``mixup_atst``); labels are
   mixed soft (:mod:`~speechbrain_atst.training.inputs`);
3. the normalised transformer input is frequency-warped (stage 2,
   ``freq_warp``), independently for student and teacher;
4. the student and the teacher (no gradient; on the unmixed inputs when
   ICT applies) run; a frozen transformer (stage 1) runs once for both,
   optionally cached across epochs;
5. the loss is the supervised BCE plus the consistency term weighted by
   ``w(t) = const_max * r(step)``: interpolation consistency on mixed
   steps (``use_ict``), mean teacher otherwise (``use_mean_teacher``)
   (:mod:`~speechbrain_atst.training.losses`);
6. Adam updates the student's parameter groups, with layer-wise decay on
   the transformer (:mod:`~speechbrain_atst.training.param_groups`); a
   non-finite loss or gradient skips the update
   (:mod:`~speechbrain_atst.training.nonfinite`);
7. the teacher's parameters follow the student's by EMA
   (:mod:`~speechbrain_atst.training.ema`).

Every ``valid_every`` epochs (and at the last one), validation scores
student and teacher on synth_valid (PSDS) and computes the objective the
stage YAML declares (:mod:`~speechbrain_atst.training.objective`), which
ranks the checkpoints; the test pass writes score files and
``test/metrics.json`` (:mod:`~speechbrain_atst.training.testing`).

Authors
 * speechbrain-atst team 2026
"""

import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.utils.distributed import run_on_main
from speechbrain.utils.logger import get_logger

from speechbrain_atst.augment import FrequencyWarp, Mixup
from speechbrain_atst.checkpoints import (
    OBJECTIVE_KEY,
    is_complete_checkpoint,
    remove_incomplete_checkpoints,
)
from speechbrain_atst.labels import per_class_values
from speechbrain_atst.training import (
    distributed,
    inputs,
    losses,
    param_groups,
    scoring,
    testing,
)
from speechbrain_atst.training.dataio import TRAIN_SUBSETS
from speechbrain_atst.training.ema import ema_decay, ema_update
from speechbrain_atst.training.hparams import require
from speechbrain_atst.training.loaders import is_subset_concat, training_loader
from speechbrain_atst.training.nonfinite import (
    NonFiniteGuard,
    check_nonfinite_action,
)
from speechbrain_atst.training.objective import Objective
from speechbrain_atst.training.records import (
    SCORED_SUBSET,
    TrainingRecord,
    ValidationRecord,
)
from speechbrain_atst.training.sb_adapter import SpeechBrainAdapter
from speechbrain_atst.training.schedules import consistency_weight

logger = get_logger(__name__)


class SEDBrain(SpeechBrainAdapter, NonFiniteGuard, sb.Brain):
    """Brain for ATST-SED training (both stages; see the module docstring).

    Expected ``modules``: ``student`` and ``teacher`` (:class:`ATSTSED`),
    ``cnn_features`` (:class:`~speechbrain_atst.features.CNNFrontEnd`),
    ``atst_features`` (:class:`~speechbrain_atst.features.ATSTFrontEnd`).
    Expected hparams: :attr:`HPARAMS` (see
    ``recipes/DESED/SED/hparams/stage*.yaml``); a missing one is an error
    naming it.
    """

    #: The hyperparameters the brain reads (besides SpeechBrain's run
    #: options such as ``max_grad_norm`` and ``nonfinite_patience``).
    HPARAMS = (
        *("seed", "classes", "batch_sizes", "lr_scheduler", "epoch_counter"),
        *("cnn_lr", "rnn_lr", "tfm_lr", "tfm_lr_scale"),
        *("tfm_trainable_layers", "const_max", "ema_decay", "ema_warmup"),
        *("mixup", "mixup_atst", "freq_warp", "use_ict", "use_mean_teacher"),
        *("weak_weight", "consistency_weak_weight", "teacher_eval_mode"),
        *("valid_every", "median_windows", "eval_sets", "psds_jobs"),
        *("test_score_grid", "output_folder", "train_logger", "ckpt_keep"),
        *("atst_cache", "nonfinite_action", "sync_batchnorm"),
        *Objective.HPARAMS,
    )
    #: The evaluation set (``eval_sets`` key) of validation's PSDS.
    VALID_SET = SCORED_SUBSET
    #: The evaluation set of the test pass.
    TEST_SET = testing.TEST_SET
    #: Validation statistics stored in the checkpoints' meta.
    CHECKPOINT_STATS = (
        *("teacher_psds1", "teacher_psds2"),
        *("student_psds1", "student_psds2"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hp = self.hparams
        require(hp, self.HPARAMS, "SEDBrain")
        self.raw_student = self.modules.student
        self.raw_teacher = self.modules.teacher
        self.classes = list(hp.classes)
        self.batch_sizes = [int(b) for b in hp.batch_sizes]
        if len(self.batch_sizes) != len(TRAIN_SUBSETS):
            raise ValueError(
                "batch_sizes must list [real strong, synthetic, weak, "
                f"unlabeled] counts, got {self.batch_sizes}"
            )
        n_strong = self.batch_sizes[0] + self.batch_sizes[1]
        self.slice_sizes = [n_strong, *self.batch_sizes[2:]]
        self.mixup = hp.mixup or Mixup(prob=0.0)
        self.freq_warp = hp.freq_warp or FrequencyWarp(prob=0.0)
        windows = per_class_values(hp.median_windows, self.classes)
        self.median_windows = [int(w) for w in windows]
        self.objective = Objective.from_hparams(hp)
        check_nonfinite_action(hp.nonfinite_action)
        inputs.check_cache_mode(hp.atst_cache)
        self.atst_frozen = int(hp.tfm_trainable_layers) == 0
        param_groups.set_trainable(
            self.raw_student, self.raw_teacher, hp.tfm_trainable_layers
        )
        self.generator = torch.Generator()
        self.atst_cache = None
        self.record = TrainingRecord()
        self._no_valid = False
        self._tested_ckpt_meta = {}
        self._configured = True
        self.print_trainable_parameters()

    def print_trainable_parameters(self):
        """Logs the parameter counts once the frozen parts are set."""
        if getattr(self, "_configured", False):
            super().print_trainable_parameters()

    def guarded_models(self):
        """The models whose buffers a non-finite loss must not change and
        whose weights are checked before saving.

        Returns
        -------
        dict
            ``{"student": ..., "teacher": ...}``.
        """
        return {"student": self.raw_student, "teacher": self.raw_teacher}

    # ------------------------------------------------------------ set-up ---
    def init_optimizers(self):
        """Adam over the student's trainable parameter groups only."""
        hp = self.hparams
        self.optimizer = self.opt_class(
            param_groups.optimizer_groups(
                self.raw_student,
                hp.cnn_lr,
                hp.rnn_lr,
                hp.tfm_lr,
                hp.tfm_lr_scale,
                hp.tfm_trainable_layers,
            )
        )
        self.optimizers_dict = {"optimizer": self.optimizer}
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("optimizer", self.optimizer)

    def make_dataloader(
        self, dataset, stage, ckpt_prefix="dataloader-", **loader_kwargs
    ):
        """Builds loaders; the training one draws fixed per-subset batches.

        For ``Stage.TRAIN`` and a ``ConcatDataset`` of the four training
        subsets, a :class:`SubsetBatchSampler` with ``batch_sizes``
        (DDP-aware, reseeded every epoch by ``fit``) replaces Brain's
        sampling; the LR schedule learns the epoch length.

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
        if stage != sb.Stage.TRAIN or not is_subset_concat(dataset):
            if is_subset_concat(dataset):
                loader_kwargs.setdefault("collate_fn", PaddedBatch)
            return super().make_dataloader(
                dataset, stage, ckpt_prefix=ckpt_prefix, **loader_kwargs
            )
        loader, self.train_sampler = training_loader(
            dataset, self.batch_sizes, self.hparams.seed, **loader_kwargs
        )
        if self.checkpointer is not None and ckpt_prefix is not None:
            self.checkpointer.add_recoverable(ckpt_prefix + stage.name, loader)
        steps = max(len(self.train_sampler) // self.grad_accumulation_factor, 1)
        self.hparams.lr_scheduler.configure(steps)
        return loader

    def wrap_distributed(self):
        """Wraps the student in DDP (see
        :func:`~speechbrain_atst.training.distributed.wrap_trainable`)."""
        distributed.wrap_trainable(
            self.modules,
            self.device,
            self.hparams.sync_batchnorm,
            self.find_unused_parameters,
            also_sync=[self.raw_teacher],
        )

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

    def on_fit_start(self):
        """Deletes partial checkpoints, then SpeechBrain's start (compile,
        DDP, optimizer, resume from the latest checkpoint); checks the
        shared transformer and sets up its cache."""
        if self.checkpointer is not None:
            run_on_main(
                remove_incomplete_checkpoints,
                args=[self.checkpointer.checkpoints_dir],
            )
        super().on_fit_start()
        if self.atst_frozen:
            param_groups.check_shared_transformer(
                self.raw_student, self.raw_teacher
            )
            self.atst_cache = inputs.embedding_cache(
                self.hparams.atst_cache,
                self.hparams.output_folder,
                self.raw_student.atst,
            )
        logger.info(
            f"Training on {distributed.world_size()} processes: batches of "
            f"{self.batch_sizes} (real strong, synthetic, weak, unlabeled) "
            f"per process, {self.hparams.lr_scheduler.steps_per_epoch} "
            f"optimizer steps per epoch; objective: {self.objective.describe()}"
        )

    def on_stage_start(self, stage, epoch=None):
        """Starts the record of the stage.

        Arguments
        ---------
        stage : sb.Stage
            The stage.
        epoch : int, optional
            The epoch.
        """
        if stage == sb.Stage.TRAIN:
            self.record = TrainingRecord()
        else:
            self.record = ValidationRecord()

    def on_fit_batch_start(self, batch, should_step):
        """Learning rates of the coming step, teacher mode, random draws.

        Arguments
        ---------
        batch : PaddedBatch
            The batch.
        should_step : bool
            Whether the optimizer steps after this batch.
        """
        self.hparams.lr_scheduler(self.optimizer, self.optimizer_step + 1)
        if self.hparams.teacher_eval_mode:
            self.raw_teacher.eval()
        self.generator.manual_seed(
            inputs.draw_seed(
                self.hparams.seed,
                distributed.rank(),
                self.optimizer_step,
                self.step,
            )
        )

    # ----------------------------------------------------------- forward ---
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
            ``student`` and ``teacher`` outputs; in training also the
            mixup ``plan``, ``use_ict``, ``warp`` and the (mixed) targets.
        """
        batch = batch.to(self.device)
        wav = batch.sig.data
        cnn_fe, atst_fe = self.modules.cnn_features, self.modules.atst_features
        if stage != sb.Stage.TRAIN:  # no augmentation
            cnn = cnn_fe(wav)
            emb = self._frozen_embeddings(batch) if self.atst_frozen else None
            atst = None if self.atst_frozen else atst_fe(wav)
            return {
                "student": self.raw_student(cnn, atst, atst_embeddings=emb),
                "teacher": self.raw_teacher(cnn, atst, atst_embeddings=emb),
            }
        if wav.shape[0] != sum(self.batch_sizes):
            raise ValueError(
                f"Training batch of {wav.shape[0]} items, expected "
                f"{sum(self.batch_sizes)} (batch_sizes {self.batch_sizes})"
            )
        hp, gen, sizes = self.hparams, self.generator, self.slice_sizes
        plan = self.mixup.draw(sizes, gen)
        if plan is not None:
            plan.to(self.device)
        use_ict = bool(plan is not None and hp.use_ict)
        s_cnn, t_cnn = inputs.student_teacher_inputs(cnn_fe, wav, plan, use_ict)
        strong_y, weak_y = inputs.mix_targets(
            plan,
            batch.strong.data[: sizes[0]],
            batch.weak.data[sizes[0] : sizes[0] + sizes[1]],
            sizes[0],
        )
        mix_atst = plan is not None and bool(hp.mixup_atst)
        warp = self.freq_warp.active(gen)
        s_atst = t_atst = emb = None
        if self.atst_frozen and not mix_atst and not warp:
            emb = self._frozen_embeddings(batch)
        else:
            s_atst, t_atst = inputs.student_teacher_inputs(
                atst_fe,
                wav,
                plan if mix_atst else None,
                use_ict,
                self.freq_warp if warp else None,
                sizes,
                gen,
            )
        student = self.modules.student(s_cnn, s_atst, atst_embeddings=emb)
        with torch.no_grad():
            teacher = self.raw_teacher(t_cnn, t_atst, atst_embeddings=emb)
        return {
            "student": student,
            "teacher": teacher,
            "plan": plan,
            "use_ict": use_ict,
            "strong_y": strong_y,
            "weak_y": weak_y,
            "warp": warp,
        }

    def _frozen_embeddings(self, batch):
        """The frozen transformer's outputs, shared by both models."""
        return inputs.frozen_embeddings(
            batch,
            self.modules.atst_features,
            self.raw_student,
            self.atst_cache,
            self.device,
        )

    def compute_objectives(self, predictions, batch, stage):
        """Supervised + consistency loss (train) or validation record.

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
        student, teacher = predictions["student"], predictions["teacher"]
        if stage != sb.Stage.TRAIN:
            return self.record.add_batch(batch, student, teacher)
        hp = self.hparams
        loss_strong, loss_weak = losses.supervised_bce(
            *student,
            predictions["strong_y"],
            predictions["weak_y"],
            *self.slice_sizes[:2],
        )
        loss_sup = loss_strong + float(hp.weak_weight) * loss_weak
        weight = consistency_weight(
            self.optimizer_step + 1,
            hp.lr_scheduler.warmup_steps or 0,
            float(hp.const_max),
        )
        teacher_weak = float(hp.consistency_weak_weight)
        if predictions["use_ict"]:
            loss_self = losses.ict_consistency(
                *student, *teacher, predictions["plan"], weight, teacher_weak
            )
        elif hp.use_mean_teacher:
            loss_self = losses.mean_teacher_consistency(
                *student, *teacher, weight, teacher_weak
            )
        else:
            loss_self = student[0].new_zeros(())
        predictions["stats"] = {
            "loss_strong": loss_strong.detach(),
            "loss_weak": loss_weak.detach(),
            "loss_self": loss_self.detach(),
            "ict_steps": float(predictions["use_ict"]),
            "warp_steps": float(predictions["warp"]),
            "cons_weight": weight,
        }
        return loss_sup + loss_self

    # ------------------------------------------------------ optimisation ---
    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Records the step's statistics; EMA update of the teacher after
        each optimizer step.

        Arguments
        ---------
        batch : PaddedBatch
            The batch.
        outputs : dict
            Forward outputs (and the ``stats`` of the objectives).
        loss : torch.Tensor
            The loss.
        should_step : bool
            Whether the optimizer stepped.
        """
        self.record.add(outputs.get("stats", {}))
        if should_step and not self.step_skipped:
            self.record.add({"grad_norm": self.last_grad_norm})
            self.update_teacher()

    def update_teacher(self):
        """Moves the teacher's parameters towards the student's.

        Parameters frozen in the student (the stage-1 transformer) are
        identical in both models and skipped; buffers are copied only when
        the teacher runs in eval mode (it keeps its own otherwise).
        """
        hp = self.hparams
        ema_update(
            self.raw_teacher,
            self.raw_student,
            ema_decay(self.optimizer_step, hp.ema_decay, hp.ema_warmup),
            buffers="copy" if hp.teacher_eval_mode else "keep",
            trainable_only=True,
        )

    # -------------------------------------------------------- epoch ends ---
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
        hp = self.hparams
        every = max(int(hp.valid_every), 1)
        return epoch % every == 0 or epoch >= int(hp.epoch_counter.limit)

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
            self.train_stats = self.record.epoch_stats(stage_loss)
            if self.atst_cache is not None:
                self.train_stats["atst_cache_hits"] = self.atst_cache.hits
                self.train_stats["atst_cache_misses"] = self.atst_cache.misses
            # The teacher (not in DDP) updated its BatchNorm statistics
            # with each process's batches: every process takes rank 0's.
            distributed.broadcast_buffers(self.raw_teacher)
            if not self.is_valid_epoch(epoch) or self._no_valid:
                self._end_epoch(epoch, None)
        elif stage == sb.Stage.VALID:
            self._end_epoch(epoch, self._valid_stats(stage_loss))
        else:
            self._end_test(stage_loss)

    def _valid_stats(self, stage_loss):
        """Teacher BCE per subset, PSDS of both models on synth_valid and
        the objective."""
        hp = self.hparams
        stats = scoring.validation_stats(
            self.record,
            stage_loss,
            scoring.eval_set_files(hp.eval_sets, self.VALID_SET),
            self.classes,
            self.median_windows,
            int(hp.psds_jobs),
        )
        objective = self.objective(stats)
        if objective is not None:
            stats[OBJECTIVE_KEY] = objective
        stats["seconds"] = self.record.seconds()
        return stats

    def _end_epoch(self, epoch, valid_stats):
        """Logs the epoch, then saves a checkpoint (kept: the best by the
        objective and the latest) once the weights are found finite."""
        meta = {"epoch": epoch, "step": self.optimizer_step}
        meta.update(param_groups.logged_learning_rates(self.optimizer))
        self.hparams.train_logger.log_stats(
            stats_meta=meta,
            train_stats=self.train_stats,
            valid_stats=valid_stats,
        )
        if self.checkpointer is None:
            return
        self.check_finite_weights()
        self.checkpointer.save_and_keep_only(
            meta=self.objective.checkpoint_meta(
                epoch, valid_stats, keep=self.CHECKPOINT_STATS
            ),
            num_to_keep=int(self.hparams.ckpt_keep),
            **self.objective.keep_keys(),
        )

    def on_evaluate_start(self, max_key=None, min_key=None):
        """Loads the best complete checkpoint (by the objective by default).

        Arguments
        ---------
        max_key : str, optional
            Meta key to maximise.
        min_key : str, optional
            Meta key to minimise.
        """
        keys = {"max_key": max_key, "min_key": min_key}
        if max_key is None and min_key is None:
            keys = self.objective.checkpoint_keys()
        self._tested_ckpt_meta = {}
        if self.checkpointer is not None:
            ckpt = self.checkpointer.recover_if_possible(
                **keys, ckpt_predicate=is_complete_checkpoint
            )
            if ckpt is not None:
                self._tested_ckpt_meta = {
                    k: v
                    for k, v in ckpt.meta.items()
                    if k in ("epoch", OBJECTIVE_KEY)
                }

    def _end_test(self, stage_loss):
        """Writes the test scores and metrics (main process), logs them."""
        hp = self.hparams
        metrics = run_on_main(
            testing.write_test_outputs,
            args=[
                hp.output_folder,
                self.record.scores,
                scoring.eval_set_files(hp.eval_sets, self.TEST_SET),
                self.classes,
                self.median_windows,
                hp.test_score_grid,
                int(hp.psds_jobs),
                self._tested_ckpt_meta,
            ],
        )
        if metrics:
            hp.train_logger.log_stats(
                stats_meta={
                    "Test": f"{self.TEST_SET} set",
                    **self._tested_ckpt_meta,
                },
                test_stats=testing.logged_test_stats(metrics, stage_loss),
            )
        self.test_metrics = metrics
