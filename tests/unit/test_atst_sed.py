"""Tests of the CRNN parts and of the fused ATST-SED model.

Authors
 * speechbrain-atst team 2026
"""

import copy

import pytest
import torch

from speechbrain_atst.checkpoints import CheckpointError
from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
from speechbrain_atst.labels import FrameGrid
from speechbrain_atst.lobes.atst_frame import ATSTFrame
from speechbrain_atst.lobes.atst_sed import ATSTSED
from speechbrain_atst.lobes.crnn import CNN, attention_pooling

SMALL = {"embed_dim": 32, "depth": 1, "num_heads": 4}


def _perturbed(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(0.05 * torch.randn(tensor.shape, generator=gen))
    return model


def test_default_model_matches_the_paper():
    model = ATSTSED()
    atst_params = sum(p.numel() for p in model.atst.parameters())
    total = sum(p.numel() for p in model.parameters())
    assert atst_params == 85_419_264
    assert total == 86_646_500
    state = model.state_dict()
    assert len(state) == 223
    assert sum(k.startswith("atst_frame.atst.") for k in state) == 138
    assert state["cat_tf.weight"].shape == (128, 896)
    assert state["cnn.cnn.cg6.linear.weight"].shape == (128, 128)
    assert state["rnn.rnn.weight_ih_l1_reverse"].shape == (384, 256)
    assert state["atst_frame.atst.pos_embed"].shape == (1, 251, 768)
    assert "atst_frame.atst.blocks.11.attn.qkv.weight" in state
    assert "atst_frame.atst.blocks.11.attn.qkv.bias" not in state
    groups = model.atst.layer_groups()
    assert len(groups) == 14
    assert groups[0] == list(model.atst.norm_frame.parameters())
    assert groups[1] == list(model.atst.blocks[11].parameters())


def test_cnn_layers_follow_the_official_config():
    cnn = CNN()
    bn = cnn.cnn.batchnorm3
    assert bn.eps == 1e-3 and bn.momentum == 0.99
    assert isinstance(cnn.cnn.pooling1, torch.nn.AvgPool2d)
    assert cnn.cnn.dropout6.p == 0.5
    names = [n for n, _ in cnn.cnn.named_children()][:5]
    assert names == ["conv0", "batchnorm0", "cg0", "dropout0", "pooling0"]


@pytest.mark.parametrize("activation", ["glu", "relu"])
def test_other_cnn_activations(activation):
    cnn = CNN(
        nb_filters=(4, 8), pooling=((2, 4), (2, 32)), activation=activation
    )
    assert cnn(torch.randn(1, 1, 40, 128)).shape == (1, 8, 10, 1)
    with pytest.raises(ValueError, match="Unknown activation"):
        CNN(activation="tanh")


def test_attention_pooling_bounds():
    torch.manual_seed(0)
    strong = torch.rand(2, 20, 5)
    weak = attention_pooling(strong, torch.randn(2, 20, 5))
    assert weak.shape == (2, 5)
    assert bool((weak >= strong.amin(1) - 1e-6).all())
    assert bool((weak <= strong.amax(1) + 1e-6).all())


@pytest.mark.parametrize("n_samples", [160000, 67200])
def test_output_grid_matches_labels(n_samples):
    torch.manual_seed(0)
    model = ATSTSED(**SMALL).eval()
    wav = 0.1 * torch.randn(1, n_samples)
    with torch.no_grad():
        strong, weak = model(CNNFrontEnd()(wav), ATSTFrontEnd()(wav))
    assert strong.shape == (1, FrameGrid().model_frames(n_samples), 10)
    assert weak.shape == (1, 10)
    assert bool(((strong > 0) & (strong < 1)).all())


def test_embeddings_and_features_paths_agree():
    torch.manual_seed(0)
    model = ATSTSED(**SMALL).eval()
    cnn, atst = torch.rand(2, 128, 100), torch.rand(2, 64, 161)
    with torch.no_grad():
        direct = model(cnn, atst)
        cached = model(cnn, atst_embeddings=model.encode_atst(atst))
    for a, b in zip(direct, cached):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="exactly one"):
        model(cnn)
    with pytest.raises(ValueError, match="exactly one"):
        model(cnn, atst, atst_embeddings=model.encode_atst(atst))
    with pytest.raises(ValueError, match="expects 128 mel bins"):
        model(torch.rand(2, 64, 100), atst)
    with pytest.raises(ValueError, match="Batch sizes"):
        model(cnn, atst[:1])


def test_frozen_atst_stage_one():
    torch.manual_seed(0)
    model = ATSTSED(**SMALL, freeze_atst=True)
    model.train()
    assert model.cnn.training and model.rnn.training
    assert not model.atst.training
    assert not any(p.requires_grad for p in model.atst.parameters())
    strong, weak = model(torch.rand(2, 128, 64), torch.rand(2, 64, 101))
    (strong.mean() + weak.mean()).backward()
    assert all(p.grad is None for p in model.atst.parameters())
    assert model.cnn.cnn.conv0.weight.grad is not None
    assert model.cat_tf.weight.grad is not None


def test_unfrozen_atst_stage_two():
    torch.manual_seed(0)
    model = ATSTSED(**SMALL, atst_grad_checkpointing=True).train()
    assert model.atst.training and model.atst.grad_checkpointing
    strong, _ = model(torch.rand(2, 128, 64), torch.rand(2, 64, 101))
    strong.mean().backward()
    grads = {n: p.grad is not None for n, p in model.atst.named_parameters()}
    assert grads.pop("mask_embed") is False
    assert all(grads.values())


def test_deepcopy_for_a_mean_teacher():
    student = ATSTSED(**SMALL, freeze_atst=True)
    teacher = copy.deepcopy(student).requires_grad_(False)
    teacher.train()
    assert not teacher.atst.training
    assert teacher.cnn.training
    cnn, atst = torch.rand(1, 128, 64), torch.rand(1, 64, 101)
    student.eval(), teacher.eval()
    with torch.no_grad():
        assert torch.equal(student(cnn, atst)[0], teacher(cnn, atst)[0])


def test_atst_ckpt_argument(tmp_path):
    atst = _perturbed(ATSTFrame(**SMALL), seed=1)
    path = tmp_path / "atst.ckpt"
    state = {"encoder.encoder." + k: v for k, v in atst.state_dict().items()}
    torch.save({"state_dict": state}, path)
    model = ATSTSED(**SMALL, atst_ckpt=str(path), freeze_atst=True)
    assert torch.equal(model.atst.pos_embed, atst.pos_embed)
    assert not model.atst.pos_embed.requires_grad


def _sed_checkpoints(student, teacher):
    thop = {"total_ops": torch.zeros(1), "cnn.total_params": torch.zeros(1)}
    s_state, t_state = student.state_dict(), teacher.state_dict()
    return {
        "top": {"sed_student": {**s_state, **thop}, "sed_teacher": t_state},
        "lightning": {
            "state_dict": {
                **{"sed_student." + k: v for k, v in s_state.items()},
                **{"sed_teacher." + k: v for k, v in t_state.items()},
                "sed_teacher.atst_frame.atst.total_ops": torch.zeros(1),
                "mel_spec.spectrogram.window": torch.zeros(4),
            },
            "epoch": 1,
        },
    }


@pytest.mark.parametrize("fmt", ["top", "lightning"])
def test_official_checkpoint_round_trip(tmp_path, fmt):
    torch.manual_seed(0)
    student = _perturbed(ATSTSED(**SMALL), 1).eval()
    teacher = _perturbed(ATSTSED(**SMALL), 2).eval()
    path = tmp_path / "stage.ckpt"
    torch.save(_sed_checkpoints(student, teacher)[fmt], path)
    cnn, atst = torch.rand(2, 128, 64), torch.rand(2, 64, 101)
    for which, source in (("student", student), ("teacher", teacher)):
        model = ATSTSED.from_official_checkpoint(
            path, which=which, atst_kwargs=dict(SMALL)
        ).eval()
        with torch.no_grad():
            for a, b in zip(model(cnn, atst), source(cnn, atst)):
                assert torch.equal(a, b)


def test_plain_state_dict_of_ours(tmp_path):
    source = _perturbed(ATSTSED(**SMALL, n_classes=3), 1)
    path = tmp_path / "ours.ckpt"
    torch.save(source.state_dict(), path)
    model = ATSTSED.from_official_checkpoint(
        path, atst_kwargs=dict(SMALL), n_classes=3, freeze_atst=True
    )
    assert torch.equal(model.dense.weight, source.dense.weight)
    assert not model.atst.pos_embed.requires_grad


def test_official_checkpoint_mismatches(tmp_path):
    path = tmp_path / "stage.ckpt"
    model = ATSTSED(**SMALL)
    torch.save(_sed_checkpoints(model, model)["top"], path)
    with pytest.raises(CheckpointError, match="dense.weight.*n_classes"):
        ATSTSED.from_official_checkpoint(
            path, atst_kwargs=dict(SMALL), n_classes=11
        )
    with pytest.raises(CheckpointError, match="missing.*blocks.1"):
        ATSTSED.from_official_checkpoint(
            path, atst_kwargs={**SMALL, "depth": 2}
        )
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"model.w": torch.zeros(1)}}, other)
    with pytest.raises(CheckpointError, match="other.ckpt.*no ATST-SED"):
        ATSTSED.from_official_checkpoint(other, atst_kwargs=dict(SMALL))
