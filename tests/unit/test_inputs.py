"""Tests of what student and teacher see in a training step, and of the
training loader.

Authors
 * speechbrain-atst team 2026
"""

from types import SimpleNamespace

import pytest
import torch

from speechbrain_atst.augment import FrequencyWarp, MixupPlan, SliceMix
from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
from speechbrain_atst.lobes.atst_sed import ATSTSED
from speechbrain_atst.training.inputs import (
    check_cache_mode,
    draw_seed,
    embedding_cache,
    frozen_embeddings,
    mix_targets,
    student_teacher_inputs,
)
from speechbrain_atst.training.loaders import training_loader

WAV = torch.randn(3, 16000, generator=torch.Generator().manual_seed(0))
PLAN = MixupPlan(
    [
        SliceMix(0, 2, 0.3, torch.tensor([1, 0])),
        SliceMix(2, 3, 0.5, torch.tensor([0])),
    ]
)


def test_ict_teacher_sees_the_unmixed_input():
    fe = CNNFrontEnd()
    mel = fe.spectrogram(WAV)
    student, teacher = student_teacher_inputs(fe, WAV, PLAN, use_ict=True)
    assert torch.allclose(student, fe.normalize(PLAN.apply(mel)))
    assert torch.allclose(teacher, fe.normalize(mel))
    # Mean teacher on a mixed step: the teacher sees the student's input.
    student, teacher = student_teacher_inputs(fe, WAV, PLAN, use_ict=False)
    assert teacher is student
    student, teacher = student_teacher_inputs(fe, WAV, None, use_ict=False)
    assert torch.allclose(student, fe.normalize(mel))


def test_transformer_inputs_mixed_then_warped_independently():
    fe = ATSTFrontEnd()
    mel = fe.spectrogram(WAV)
    student, teacher = student_teacher_inputs(
        fe, WAV, PLAN, True, None, [2, 1], None
    )
    assert torch.allclose(student, fe.normalize(PLAN.apply(mel)))
    assert torch.allclose(teacher, fe.normalize(mel))
    # Warping: one draw for the student, then one for the teacher.
    warp = FrequencyWarp(prob=1.0)
    gen = torch.Generator().manual_seed(3)
    student, teacher = student_teacher_inputs(
        fe, WAV, None, False, warp, [2, 1], gen
    )
    gen = torch.Generator().manual_seed(3)
    plain = fe.normalize(mel)
    assert torch.allclose(student, warp.apply(plain, [2, 1], gen))
    assert torch.allclose(teacher, warp.apply(plain, [2, 1], gen))
    assert not torch.allclose(student, teacher)


def test_draws_depend_on_seed_rank_and_step_only():
    seeds = {
        draw_seed(seed, rank, opt_step, step)
        for seed in (1, 2)
        for rank in (0, 1)
        for opt_step, step in ((0, 1), (1, 2), (1, 1))
    }
    assert len(seeds) == 12  # all different
    assert draw_seed(1, 0, 1, 2) == draw_seed(1, 0, 1, 2)  # after a resume
    assert 0 <= draw_seed(1, 0, 1, 2) < 2**63


def test_targets_mixed_with_their_slice_draw():
    strong = torch.tensor([[[0.0]], [[1.0]]])
    weak = torch.tensor([[1.0]])
    mixed_strong, mixed_weak = mix_targets(PLAN, strong, weak, n_strong=2)
    assert mixed_strong.flatten().tolist() == pytest.approx([0.7, 0.3])
    assert torch.equal(mixed_weak, weak)  # a slice of one item
    assert mix_targets(None, strong, weak, 2) == (strong, weak)


def test_frozen_transformer_runs_once_per_window(tmp_path):
    torch.manual_seed(0)
    model = ATSTSED(n_classes=2, embed_dim=8, depth=1, num_heads=2)
    calls = []
    model.atst.register_forward_hook(lambda *a: calls.append(1))
    batch = SimpleNamespace(
        id=["a", "b"],
        sig=SimpleNamespace(data=WAV[:2]),
        wav=["a.wav", "b.wav"],
        crop_start=torch.tensor([0, 160]),
    )
    fe = ATSTFrontEnd()
    plain = frozen_embeddings(batch, fe, model)
    for mode in ("memory", "disk"):
        calls.clear()
        cache = embedding_cache(mode, str(tmp_path), model.atst)
        first = frozen_embeddings(batch, fe, model, cache)
        again = frozen_embeddings(batch, fe, model, cache)
        assert calls == [1] and torch.equal(first, again)
        assert torch.allclose(first, plain)
    assert (tmp_path / "atst_cache").is_dir()
    assert embedding_cache(False, str(tmp_path), model.atst) is None
    with pytest.raises(ValueError, match="got 'gpu'"):
        check_cache_mode("gpu")


def test_training_batches_have_the_fixed_composition():
    subsets = [
        [{"subset": k, "i": i} for i in range(n)]
        for k, n in enumerate((4, 6, 8, 8))
    ]
    data = torch.utils.data.ConcatDataset(subsets)
    loader, sampler = training_loader(
        data, [1, 2, 2, 0], seed=0, batch_size=99, shuffle=True
    )
    assert len(sampler) == 3  # limited by the second subset: 6 // 2
    for batch in loader:
        assert [int(s) for s in batch.subset] == [0, 1, 1, 2, 2]
    # Another batch sampler replaces it.
    own = [[0, 1], [2, 3]]
    loader, sampler = training_loader(data, [1, 1, 1, 1], 0, batch_sampler=own)
    assert sampler is own and len(list(loader)) == 2
