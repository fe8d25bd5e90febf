"""Tests of SEDBrain: objectives against the formulas, EMA, parameter
groups, input routing (mixup shared across branches, ICT teacher inputs,
stage-1 transformer sharing), the handling of non-finite losses and the
hyperparameters it requires. The loss functions alone are tested in
test_losses.py.

Authors
 * speechbrain-atst team 2026
"""

import copy
import math

import pytest
import speechbrain as sb
import torch
import torch.nn.functional as F
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.utils.epoch_loop import EpochCounter

from speechbrain_atst.augment import FrequencyWarp, Mixup
from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
from speechbrain_atst.lobes.atst_sed import ATSTSED
from speechbrain_atst.training.brain import SEDBrain
from speechbrain_atst.training.schedules import WarmupCosineLR, exp_warmup

CLASSES = ["Dog", "Cat", "Speech"]
SAMPLES = 16000  # 1 s windows: 15 output frames
FRAMES = 15


@pytest.fixture(autouse=True)
def _threads():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def make_brain(tmp_path, stage=2, **overrides):
    """A tiny SEDBrain built without YAML."""
    torch.manual_seed(0)
    student = ATSTSED(n_classes=3, embed_dim=16, depth=2, num_heads=2)
    teacher = copy.deepcopy(student)
    sched = WarmupCosineLR(n_epochs=10, warmup_epochs=1, cos_down=stage == 2)
    sched.configure(4)
    hparams = {
        "stage": stage,
        "classes": CLASSES,
        "batch_sizes": [1, 1, 2, 2],
        "lr_scheduler": sched,
        "epoch_counter": EpochCounter(10),
        "cnn_lr": 1e-3,
        "rnn_lr": 2e-3,
        "tfm_lr": 2e-4,
        "tfm_lr_scale": 0.5,
        "tfm_trainable_layers": 0 if stage == 1 else 14,
        "const_max": 2.0 if stage == 1 else 70.0,
        "ema_decay": 0.999,
        "ema_warmup": stage == 1,
        "mixup": Mixup(alpha=0.2, prob=0.0),
        "mixup_atst": stage == 2,
        "freq_warp": FrequencyWarp(prob=0.0),
        "use_ict": stage == 2,
        "use_mean_teacher": True,
        "weak_weight": 1.0 if stage == 1 else 0.5,
        "consistency_weak_weight": 1.0 if stage == 1 else 0.5,
        "teacher_eval_mode": False,
        "valid_every": 1,
        "median_windows": [7, 7, 7],
        "output_folder": str(tmp_path),
        "seed": 1,
        "max_grad_norm": 0.0,
        "atst_cache": False,
        "nonfinite_action": "skip",
        "sync_batchnorm": True,
        "ckpt_keep": 1,
        "eval_sets": {},
        "psds_jobs": 1,
        "test_score_grid": "clip",
        "train_logger": None,
        "objective_mode": "min" if stage == 1 else "max",
        "objective_reduce": "mean" if stage == 1 else "sum",
        "objective_terms": (
            ["teacher_bce_weak_valid", "teacher_bce_strong_valid"]
            if stage == 1
            else ["teacher_psds1", "teacher_psds2"]
        ),
        "objective_fallback": [],
    }
    hparams.update(overrides)
    brain = SEDBrain(
        modules={
            "student": student,
            "teacher": teacher,
            "cnn_features": CNNFrontEnd(),
            "atst_features": ATSTFrontEnd(),
        },
        opt_class=lambda groups: torch.optim.Adam(groups),
        hparams=hparams,
        run_opts={"device": "cpu", "noprogressbar": True},
        checkpointer=None,
    )
    brain.init_optimizers()
    return brain


def make_batch(n=6, seed=0):
    """A training batch [1 real | 1 synth | 2 weak | 2 unlabeled]."""
    g = torch.Generator().manual_seed(seed)
    items = []
    for i in range(n):
        strong = torch.zeros(FRAMES, 3)
        weak = torch.zeros(3)
        if i < 2:
            strong[3 + i : 9, i] = 1.0
        elif i < 4:
            weak[i - 2] = 1.0
        items.append(
            {
                "id": f"clip{i}",
                "wav": f"/data/clip{i}.wav",
                "sig": 0.1 * torch.randn(SAMPLES, generator=g),
                "crop_start": 0,
                "strong": strong,
                "weak": weak,
            }
        )
    return PaddedBatch(items)


def _forward(brain, batch, seed=0):
    brain.generator.manual_seed(seed)
    out = brain.compute_forward(batch, sb.Stage.TRAIN)
    loss = brain.compute_objectives(out, batch, sb.Stage.TRAIN)
    return out, loss


def test_stage2_ict_objective_matches_formula(tmp_path):
    brain = make_brain(tmp_path, stage=2, mixup=Mixup(alpha=0.2, prob=1.0))
    brain.optimizer_step = 2  # step 3, inside the 4-step warmup
    batch = make_batch()
    out, loss = _forward(brain, batch)
    assert out["use_ict"] and out["plan"] is not None
    s, w = out["student"]
    ts, tw = out["teacher"]
    plan = out["plan"]
    y_strong = plan.slice_at(0).mix_labels(batch.strong.data[:2])
    y_weak = plan.slice_at(2).mix_labels(batch.weak.data[2:4])
    sup = F.binary_cross_entropy(s[:2], y_strong)
    sup = sup + 0.5 * F.binary_cross_entropy(w[2:4], y_weak)
    weight = 70.0 * exp_warmup(3, 4)
    ict = 0.0
    for sl in plan.slices:
        a, b = sl.start, sl.stop
        ict = ict + F.mse_loss(s[a:b], sl.mix_labels(ts[a:b]))
        ict = ict + 0.5 * F.mse_loss(w[a:b], sl.mix_labels(tw[a:b]))
    expected = sup + ict / 6.0 * weight / 4.0
    assert float(loss.detach()) == pytest.approx(
        float(expected.detach()), rel=1e-5
    )
    assert out["stats"]["cons_weight"] == pytest.approx(weight)


def test_stage2_mean_teacher_objective_matches_formula(tmp_path):
    brain = make_brain(tmp_path, stage=2)
    batch = make_batch(seed=1)
    out, loss = _forward(brain, batch)
    assert out["plan"] is None and not out["use_ict"]
    s, w = out["student"]
    ts, tw = out["teacher"]
    sup = F.binary_cross_entropy(s[:2], batch.strong.data[:2])
    sup = sup + 0.5 * F.binary_cross_entropy(w[2:4], batch.weak.data[2:4])
    weight = 70.0 * exp_warmup(1, 4)
    mt = F.mse_loss(s, ts) + 0.5 * F.mse_loss(w, tw)
    assert float(loss.detach()) == pytest.approx(
        float((sup + weight * mt).detach()), rel=1e-5
    )


def test_ablation_switches(tmp_path):
    batch = make_batch(seed=2)
    no_mt = make_brain(tmp_path, stage=2, use_mean_teacher=False)
    out, loss = _forward(no_mt, batch)
    assert float(out["stats"]["loss_self"]) == 0.0
    no_ict = make_brain(
        tmp_path, stage=2, use_ict=False, mixup=Mixup(alpha=0.2, prob=1.0)
    )
    out, loss = _forward(no_ict, batch)
    assert out["plan"] is not None and not out["use_ict"]
    assert float(out["stats"]["loss_self"]) > 0.0


class _Recorder(torch.nn.Module):
    """Wraps a model and records the inputs of each call."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.calls = []

    def forward(self, cnn, atst=None, atst_embeddings=None):
        self.calls.append((cnn.detach().clone(), atst, atst_embeddings))
        return self.model(cnn, atst, atst_embeddings=atst_embeddings)


def test_mixup_shared_across_branches_and_ict_teacher_unmixed(tmp_path):
    brain = make_brain(tmp_path, stage=2, mixup=Mixup(alpha=0.2, prob=1.0))
    student = _Recorder(brain.modules.student)
    teacher = _Recorder(brain.raw_teacher)
    brain.modules.student = student
    brain.raw_teacher = teacher
    batch = make_batch(seed=3)
    out, _ = _forward(brain, batch)
    plan = out["plan"]
    wav = batch.sig.data
    cnn_fe, atst_fe = CNNFrontEnd(), ATSTFrontEnd()
    cnn_mel, atst_mel = cnn_fe.spectrogram(wav), atst_fe.spectrogram(wav)
    s_cnn, s_atst, _ = student.calls[0]
    t_cnn, t_atst, _ = teacher.calls[0]
    # Same coefficient and permutation on both branches (linear mels).
    assert torch.allclose(s_cnn, cnn_fe.normalize(plan.apply(cnn_mel)))
    assert torch.allclose(s_atst, atst_fe.normalize(plan.apply(atst_mel)))
    # ICT: the teacher sees the unmixed inputs.
    assert torch.allclose(t_cnn, cnn_fe.normalize(cnn_mel))
    assert torch.allclose(t_atst, atst_fe.normalize(atst_mel))
    assert not torch.allclose(s_cnn, t_cnn)


def test_stage1_mixes_cnn_only_and_runs_transformer_once(tmp_path):
    brain = make_brain(
        tmp_path, stage=1, mixup=Mixup(alpha=0.2, prob=1.0), atst_cache="memory"
    )
    brain.on_fit_start()  # creates the cache
    calls = []
    brain.raw_student.atst.register_forward_hook(lambda *a: calls.append(1))
    brain.raw_teacher.atst.register_forward_hook(lambda *a: calls.append(2))
    teacher = _Recorder(brain.raw_teacher)
    brain.raw_teacher = teacher
    batch = make_batch(seed=4)
    out, _ = _forward(brain, batch)
    assert out["plan"] is not None and not out["use_ict"]
    assert calls == [1]  # one transformer pass for student and teacher
    t_cnn, t_atst, emb = teacher.calls[0]
    assert t_atst is None and emb.shape == (6, 25, 16)
    # Stage 1: the teacher gets the student's (mixed) CNN input.
    cnn_fe = CNNFrontEnd()
    mel = cnn_fe.spectrogram(batch.sig.data)
    assert torch.allclose(t_cnn, cnn_fe.normalize(out["plan"].apply(mel)))
    # Cached: the next epoch does not run the transformer again, exactly.
    _forward(brain, batch, seed=1)
    assert calls == [1]
    assert brain.atst_cache.hits == 6 and brain.atst_cache.misses == 6
    assert torch.equal(teacher.calls[1][2], emb)


def test_frequency_warping_is_independent_for_teacher(tmp_path):
    brain = make_brain(tmp_path, stage=2, freq_warp=FrequencyWarp(prob=1.0))
    student = _Recorder(brain.modules.student)
    teacher = _Recorder(brain.raw_teacher)
    brain.modules.student, brain.raw_teacher = student, teacher
    batch = make_batch(seed=5)
    out, _ = _forward(brain, batch)
    assert out["warp"] and out["plan"] is None
    s_cnn, s_atst, _ = student.calls[0]
    t_cnn, t_atst, _ = teacher.calls[0]
    assert torch.equal(s_cnn, t_cnn)  # CNN input never warped
    assert s_atst.shape == t_atst.shape == (6, 64, 101)
    assert not torch.allclose(s_atst, t_atst)


def test_parameter_groups_and_frozen_parts(tmp_path):
    brain = make_brain(tmp_path, stage=2)
    groups = brain.optimizer.param_groups
    names = [g["name"] for g in groups]
    assert names == ["cnn", "rnn", "tfm_0", "tfm_1", "tfm_2", "tfm_3"]
    lrs = {g["name"]: g["max_lr"] for g in groups}
    assert lrs["cnn"] == 1e-3 and lrs["rnn"] == 2e-3
    for j in range(4):
        assert lrs[f"tfm_{j}"] == pytest.approx(2e-4 * 0.5**j)
    in_opt = {id(p) for g in groups for p in g["params"]}
    assert not in_opt & {id(p) for p in brain.raw_teacher.parameters()}
    assert not any(p.requires_grad for p in brain.raw_teacher.parameters())
    assert id(brain.raw_student.atst.mask_embed) not in in_opt
    cnn_ids = {id(p) for p in brain.raw_student.cnn.parameters()}
    assert {id(p) for p in groups[0]["params"]} == cnn_ids

    partial = make_brain(tmp_path, stage=2, tfm_trainable_layers=2)
    names = [g["name"] for g in partial.optimizer.param_groups]
    assert names == ["cnn", "rnn", "tfm_0", "tfm_1"]
    atst = partial.raw_student.atst
    assert all(p.requires_grad for p in atst.norm_frame.parameters())
    assert all(p.requires_grad for p in atst.blocks[-1].parameters())
    assert not any(p.requires_grad for p in atst.blocks[0].parameters())

    frozen = make_brain(tmp_path, stage=1)
    names = [g["name"] for g in frozen.optimizer.param_groups]
    assert names == ["cnn", "rnn"]
    assert not any(
        p.requires_grad for p in frozen.raw_student.atst.parameters()
    )


def test_teacher_ema_after_each_step(tmp_path):
    brain = make_brain(tmp_path, stage=1)
    student, teacher = brain.raw_student, brain.raw_teacher
    with torch.no_grad():
        for p in teacher.parameters():
            p.add_(1.0)
    before_t = [p.clone() for p in teacher.parameters()]
    s_params = [p.clone() for p in student.parameters()]
    brain.optimizer_step = 1  # after the first step: alpha = 0.5
    brain.update_teacher()
    for t0, s, t, sp in zip(
        before_t, s_params, teacher.parameters(), student.parameters()
    ):
        if sp.requires_grad:
            assert torch.allclose(t, 0.5 * t0 + 0.5 * s)
        else:  # frozen transformer: identical, left alone
            assert torch.equal(t, t0)
    # Stage 2: a fixed decay.
    stage2 = make_brain(tmp_path, stage=2)
    before_t = [p.clone() for p in stage2.raw_teacher.cnn.parameters()]
    with torch.no_grad():
        for p in stage2.raw_student.cnn.parameters():
            p.add_(1.0)
    stage2.optimizer_step = 1
    stage2.update_teacher()
    for t0, t, s in zip(
        before_t,
        stage2.raw_teacher.cnn.parameters(),
        stage2.raw_student.cnn.parameters(),
    ):
        assert torch.allclose(t, 0.999 * t0 + 0.001 * s)


def test_fit_batch_updates_and_teacher_follows(tmp_path):
    brain = make_brain(tmp_path, stage=1)
    before = [p.clone() for p in brain.raw_teacher.cnn.parameters()]
    brain.step = 1
    loss = brain.fit_batch(make_batch(seed=6))
    assert math.isfinite(float(loss)) and brain.optimizer_step == 1
    after = list(brain.raw_teacher.cnn.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before))


def test_nonfinite_loss_is_skipped_then_stops(tmp_path, monkeypatch, caplog):
    brain = make_brain(tmp_path, stage=1)
    brain.nonfinite_count = 0
    params = {k: v.clone() for k, v in brain.raw_student.named_parameters()}
    monkeypatch.setattr(
        brain,
        "compute_objectives",
        lambda *a, **k: torch.tensor(float("nan"), requires_grad=True),
    )
    brain.step = 1
    loss = brain.fit_batch(make_batch(seed=7))
    assert math.isnan(float(loss)) and brain.optimizer_step == 0
    for k, v in brain.raw_student.named_parameters():
        assert torch.equal(v, params[k])  # no update with a NaN loss
    stop = make_brain(tmp_path, stage=1, nonfinite_action="stop")
    stop.nonfinite_count = 0
    monkeypatch.setattr(
        stop,
        "compute_objectives",
        lambda *a, **k: torch.tensor(float("inf"), requires_grad=True),
    )
    stop.step = 1
    with pytest.raises(ValueError, match="clip0, clip1"):
        stop.fit_batch(make_batch(seed=7))


def test_gradient_clipping_covers_all_groups(tmp_path, monkeypatch):
    seen = []
    real = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *args, **kwargs):
        params = list(params)
        seen.append(({id(p) for p in params}, max_norm))
        return real(params, max_norm, *args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    brain = make_brain(tmp_path, stage=2, max_grad_norm=0.5)
    brain.step = 1
    brain.fit_batch(make_batch(seed=8))
    trainable = {
        id(p) for g in brain.optimizer.param_groups for p in g["params"]
    }
    assert len(seen) == 1 and seen[0][1] == 0.5
    assert seen[0][0] == trainable
    off = make_brain(tmp_path, stage=2)
    seen.clear()
    off.step = 1
    off.fit_batch(make_batch(seed=8))
    assert not seen  # clipping off by default (as in the paper)


def test_a_missing_hyperparameter_is_named(tmp_path):
    with pytest.raises(KeyError, match="needs the hyperparameters seed"):
        _brain_without(tmp_path, "seed")
    with pytest.raises(KeyError, match="objective_terms"):
        _brain_without(tmp_path, "objective_terms")


def _brain_without(tmp_path, key):
    """make_brain with one hyperparameter removed."""
    real = SEDBrain.__init__

    def init(self, *args, hparams=None, **kwargs):
        hparams = {k: v for k, v in hparams.items() if k != key}
        real(self, *args, hparams=hparams, **kwargs)

    try:
        SEDBrain.__init__ = init
        return make_brain(tmp_path)
    finally:
        SEDBrain.__init__ = real


class _Logger:
    """Records the train logger's calls."""

    def __init__(self):
        self.calls = []

    def log_stats(self, **kwargs):
        self.calls.append(kwargs)


def _validate(brain, batch):
    """One validation pass over ``batch``; returns the logged stats."""
    brain.hparams.train_logger = _Logger()
    brain.train_stats = {"loss": 0.0}
    brain.modules.eval()
    brain.on_stage_start(sb.Stage.VALID, 1)
    brain.evaluate_batch(batch, sb.Stage.VALID)
    brain.on_stage_end(sb.Stage.VALID, 0.5, 1)
    return brain.hparams.train_logger.calls[-1]["valid_stats"]


def _valid_batch(subsets):
    """A validation batch whose items belong to ``subsets``."""
    batch = make_batch(n=len(subsets), seed=9)
    batch.subset = torch.tensor(subsets)
    return batch


def test_validation_objective_is_the_one_the_hparams_declare(tmp_path):
    # Stage 1: mean of the teacher's BCE on weak_valid and strong_valid.
    brain = make_brain(tmp_path, stage=1)
    stats = _validate(brain, _valid_batch([0, 1, 1, 2, 2, 2]))
    expected = (
        stats["teacher_bce_weak_valid"] + stats["teacher_bce_strong_valid"]
    ) / 2
    assert stats["objective"] == pytest.approx(expected)
    assert "teacher_bce_synth_valid" in stats
    # The same brain with a declared sum over one term.
    brain = make_brain(
        tmp_path,
        stage=1,
        objective_terms=["teacher_bce_synth_valid"],
        objective_reduce="sum",
    )
    stats = _validate(brain, _valid_batch([0, 1, 1, 2, 2, 2]))
    assert stats["objective"] == stats["teacher_bce_synth_valid"]
    # Neither term nor fallback computed: no objective.
    brain = make_brain(tmp_path, stage=1)
    stats = _validate(brain, _valid_batch([0, 0]))
    assert "objective" not in stats


def test_teacher_bce_of_each_validation_subset(tmp_path):
    brain = make_brain(tmp_path, stage=2)
    batch = _valid_batch([0, 1, 2, 2, 1, 0])
    brain.modules.eval()  # as Brain.fit does for validation
    brain.on_stage_start(sb.Stage.VALID, 1)
    loss = brain.evaluate_batch(batch, sb.Stage.VALID)
    out = brain.compute_forward(batch, sb.Stage.VALID)
    strong_t, weak_t = out["teacher"]
    weak = F.binary_cross_entropy(weak_t[[1, 4]], batch.weak.data[[1, 4]])
    synth = F.binary_cross_entropy(strong_t[[0, 5]], batch.strong.data[[0, 5]])
    means = brain.record.bce_means()
    assert means["weak_valid"] == pytest.approx(float(weak), rel=1e-5)
    assert means["synth_valid"] == pytest.approx(float(synth), rel=1e-5)
    assert sorted(brain.record.scores["teacher"]) == ["clip0", "clip5"]
    assert float(loss) == pytest.approx(
        sum(means.values()) / len(means), rel=1e-5
    )


def test_training_keeps_the_thread_count(tmp_path, monkeypatch):
    """The model never changes PyTorch's threads (train.py decides)."""
    brain = make_brain(tmp_path, stage=1)

    def refuse(n):
        raise AssertionError("set_num_threads called during training")

    monkeypatch.setattr(torch, "set_num_threads", refuse)
    brain.step = 1
    brain.fit_batch(make_batch(seed=10))
    brain.on_stage_start(sb.Stage.VALID, 1)
    brain.evaluate_batch(_valid_batch([0, 1, 2]), sb.Stage.VALID)
