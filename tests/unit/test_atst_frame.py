"""Tests of the ATST-Frame transformer and of its checkpoint loading.

Authors
 * speechbrain-atst team 2026
"""

import math

import pytest
import torch

from speechbrain_atst.checkpoints import CheckpointError
from speechbrain_atst.lobes.atst_frame import (
    ATSTFrame,
    Attention,
    PatchEmbed,
)

SMALL = {"embed_dim": 32, "depth": 2, "num_heads": 4}


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(1)
    return ATSTFrame(**SMALL).eval()


def _perturbed(model, seed):
    """Random non-default values everywhere (LayerNorms included)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.1 * torch.randn(param.shape, generator=gen))
    return model


def test_output_shape_and_trailing_frames(small_model):
    feats = torch.randn(2, 64, 1003)
    with torch.no_grad():
        out = small_model(feats)
        trimmed = small_model(feats[:, :, :1000])
    assert out.shape == (2, 250, 32)
    assert torch.equal(out, trimmed)


def test_short_input_uses_the_first_positions():
    # Without blocks, token t only depends on its patch and position t + 1.
    model = ATSTFrame(embed_dim=16, depth=0, num_heads=2).eval()
    feats = torch.randn(1, 64, 1001)
    with torch.no_grad():
        full = model(feats)
        short = model(feats[:, :, :421])
    assert short.shape == (1, 105, 16)
    torch.testing.assert_close(short, full[:, :105])
    expected = model.norm_frame(
        model.patch_embed(feats[:, :, :8]) + model.pos_embed[:, 1:3]
    )
    torch.testing.assert_close(full[:, :2], expected.detach())


def test_patch_order_is_mel_major():
    torch.manual_seed(0)
    embed = PatchEmbed(patch_h=64, patch_w=4, embed_dim=8)
    conv = torch.nn.Conv2d(1, 8, kernel_size=(64, 4), stride=(64, 4))
    with torch.no_grad():
        conv.weight.copy_(embed.patch_embed.weight.reshape(8, 1, 64, 4))
        conv.bias.copy_(embed.patch_embed.bias)
        feats = torch.randn(2, 64, 41)
        expected = conv(feats[:, None]).squeeze(2).transpose(1, 2)
        torch.testing.assert_close(embed(feats), expected)


def test_attention_matches_explicit_softmax():
    torch.manual_seed(0)
    attn = Attention(16, num_heads=4)
    x = torch.randn(2, 7, 16)
    qkv = attn.qkv(x).reshape(2, 7, 3, 4, 4).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    weights = (q @ k.transpose(-2, -1) / math.sqrt(4)).softmax(-1)
    expected = attn.proj((weights @ v).transpose(1, 2).reshape(2, 7, 16))
    torch.testing.assert_close(attn(x), expected, atol=1e-6, rtol=0)


def test_too_long_input_is_refused(small_model):
    with torch.no_grad():
        assert small_model(torch.randn(1, 64, 1003)).shape[1] == 250
    with pytest.raises(ValueError, match="at most 250 tokens.*10 s"):
        small_model(torch.randn(1, 64, 1004))


@pytest.mark.parametrize("shape", [(1, 128, 100), (64, 100), (1, 64, 3)])
def test_bad_input_shapes(small_model, shape):
    with pytest.raises(ValueError, match="ATSTFrame"):
        small_model(torch.randn(*shape))


def test_heads_must_divide_dim():
    with pytest.raises(ValueError, match="not divisible"):
        ATSTFrame(embed_dim=30, depth=1, num_heads=4)


def test_state_dict_keys_are_official():
    keys = list(ATSTFrame(**SMALL).state_dict())
    assert keys[:4] == [
        "mask_embed",
        "pos_embed",
        "patch_embed.patch_embed.weight",
        "patch_embed.patch_embed.bias",
    ]
    assert keys[-2:] == ["norm_frame.weight", "norm_frame.bias"]
    block = [k[len("blocks.1.") :] for k in keys if k.startswith("blocks.1.")]
    assert block == [
        "norm1.weight",
        "norm1.bias",
        "attn.qkv.weight",
        "attn.proj.weight",
        "attn.proj.bias",
        "norm2.weight",
        "norm2.bias",
        "mlp.fc1.weight",
        "mlp.fc1.bias",
        "mlp.fc2.weight",
        "mlp.fc2.bias",
    ]
    assert len(keys) == 6 + 11 * SMALL["depth"]
    assert ATSTFrame(**SMALL).pos_embed.shape == (1, 251, 32)


def test_layer_groups_partition_parameters_top_down():
    model = ATSTFrame(embed_dim=16, depth=3, num_heads=2)
    groups = model.layer_groups()
    assert len(groups) == 3 + 2
    ids = [id(p) for group in groups for p in group]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())
    assert len(set(ids)) == len(ids)
    assert groups[0] == list(model.norm_frame.parameters())
    assert groups[1] == list(model.blocks[2].parameters())
    assert groups[3] == list(model.blocks[0].parameters())
    assert any(p is model.pos_embed for p in groups[-1])
    assert any(p is model.mask_embed for p in groups[-1])


def test_freeze_keeps_eval_mode_and_no_grad():
    model = ATSTFrame(**SMALL, drop_rate=0.5, freeze=True)
    model.train()
    assert not model.training
    assert not any(m.training for m in model.modules())
    assert not any(p.requires_grad for p in model.parameters())
    feats = torch.randn(1, 64, 40, requires_grad=True)
    out = model(feats)
    assert out.grad_fn is None
    assert torch.equal(out, model(feats))  # no dropout


def test_unfreeze_enables_gradients():
    model = ATSTFrame(**SMALL, freeze=True)
    model.set_freeze(False)
    model.train()
    assert model.training
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    names = {n for n, _ in model.named_parameters()}
    assert trainable == names - {"mask_embed"}
    model(torch.randn(1, 64, 40)).sum().backward()
    assert all(
        p.grad is not None for p in model.parameters() if p.requires_grad
    )


def test_grad_checkpointing_gives_same_values_and_grads():
    torch.manual_seed(0)
    ref = ATSTFrame(**SMALL).train()
    ckpt = ATSTFrame(**SMALL, grad_checkpointing=True).train()
    ckpt.load_state_dict(ref.state_dict())
    feats = torch.randn(2, 64, 80)
    out_ref, out_ckpt = ref(feats), ckpt(feats)
    torch.testing.assert_close(out_ckpt, out_ref)
    out_ref.square().sum().backward()
    out_ckpt.square().sum().backward()
    for (name, p_ref), p_ckpt in zip(ref.named_parameters(), ckpt.parameters()):
        if p_ref.requires_grad:
            torch.testing.assert_close(p_ckpt.grad, p_ref.grad, msg=name)


def test_drop_path_is_active_only_in_training():
    torch.manual_seed(0)
    model = ATSTFrame(**SMALL, drop_path=0.9)
    feats = torch.randn(8, 64, 40)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(feats), model(feats))
        model.train()
        assert not torch.equal(model(feats), model(feats))


def _formats(state, other):
    """The same ATSTFrame weights in every supported checkpoint layout."""
    junk = torch.zeros(3)
    ssl = {}
    for key, value in state.items():
        if key.startswith("norm_frame."):
            key = "norm." + key[len("norm_frame.") :]
        ssl["model.teacher.encoder." + key] = value
    ssl["model.teacher.encoder.cls_token"] = junk
    ssl["model.student.encoder.pos_embed"] = junk
    sed = {"atst_frame.atst." + k: v for k, v in state.items()}
    sed.update(
        {"cnn.cnn.conv0.weight": junk, "atst_frame.atst.total_ops": junk}
    )
    sed_other = {"atst_frame.atst." + k: v for k, v in other.items()}
    return {
        "plain": dict(state),
        "as2M": {
            "state_dict": {
                **{"encoder.encoder." + k: v for k, v in state.items()},
                "head.1.weight": junk,
                "head.1.bias": junk,
            },
            "epoch": 3,
        },
        "ssl": {"state_dict": ssl},
        "c2f": {
            "state_dict": {
                **{
                    "encoder.encoder.frame_encoder." + k: v
                    for k, v in state.items()
                },
                "encoder.encoder.teacher_module.pos_embed": junk,
            }
        },
        "sed_top": {"sed_teacher": sed, "sed_student": sed_other},
        "sed_lightning": {
            "state_dict": {
                **{"sed_teacher." + k: v for k, v in sed.items()},
                **{"sed_student." + k: v for k, v in sed_other.items()},
                "mel_spec.mel_scale.fb": junk,
            }
        },
        "ours_sed": sed,
        "thop": {**state, "blocks.0.total_params": junk, "total_ops": junk},
    }


@pytest.mark.parametrize(
    "fmt",
    [
        "plain",
        "as2M",
        "ssl",
        "c2f",
        "sed_top",
        "sed_lightning",
        "ours_sed",
        "thop",
    ],
)
def test_round_trip_through_every_format(tmp_path, fmt):
    torch.manual_seed(3)
    source = _perturbed(ATSTFrame(**SMALL), seed=3).eval()
    other = _perturbed(ATSTFrame(**SMALL), seed=4).state_dict()
    path = tmp_path / f"{fmt}.ckpt"
    torch.save(_formats(source.state_dict(), other)[fmt], path)
    loaded = ATSTFrame.from_checkpoint(path, **SMALL).eval()
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    feats = torch.randn(2, 64, 101)
    with torch.no_grad():
        assert torch.equal(loaded(feats), source(feats))


@pytest.mark.parametrize("fmt", ["sed_top", "sed_lightning"])
def test_student_of_atst_sed_checkpoint(tmp_path, fmt):
    state = _perturbed(ATSTFrame(**SMALL), seed=5).state_dict()
    other = _perturbed(ATSTFrame(**SMALL), seed=6).state_dict()
    path = tmp_path / "sed.ckpt"
    torch.save(_formats(state, other)[fmt], path)
    student = ATSTFrame.from_checkpoint(path, which="student", **SMALL)
    assert torch.equal(student.pos_embed, other["pos_embed"])
    with pytest.raises(ValueError, match="student' or 'teacher"):
        ATSTFrame.from_checkpoint(path, which="ema", **SMALL)


def test_atst_sed_checkpoint_without_the_requested_model(tmp_path):
    state = {"atst_frame.atst." + k: v for k, v in _encoder_state().items()}
    path = tmp_path / "student_only.ckpt"
    torch.save({"sed_student": state}, path)
    with pytest.raises(CheckpointError, match="no ATST-SED teacher"):
        ATSTFrame.from_checkpoint(path, **SMALL)
    assert ATSTFrame.from_checkpoint(path, which="student", **SMALL)


def test_load_pretrained_keeps_frozen_state(tmp_path):
    path = tmp_path / "w.ckpt"
    torch.save(ATSTFrame(**SMALL).state_dict(), path)
    model = ATSTFrame(**SMALL, freeze=True).load_pretrained(path)
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.train().training


def test_wrong_depth_lists_missing_keys(tmp_path):
    path = tmp_path / "w.ckpt"
    torch.save({"state_dict": _encoder(ATSTFrame(**SMALL))}, path)
    with pytest.raises(CheckpointError) as err:
        ATSTFrame.from_checkpoint(path, embed_dim=32, depth=3, num_heads=4)
    message = str(err.value)
    assert str(path) in message
    assert "missing" in message and "blocks.2.norm1.weight" in message
    assert "depth=2" in message


def test_wrong_width_reports_shapes(tmp_path):
    path = tmp_path / "w.ckpt"
    torch.save({"state_dict": _encoder(ATSTFrame(**SMALL))}, path)
    with pytest.raises(CheckpointError, match="another shape.*embed_dim=32"):
        ATSTFrame.from_checkpoint(path, embed_dim=16, depth=2, num_heads=4)


def test_unexpected_keys_are_listed(tmp_path):
    path = tmp_path / "w.ckpt"
    state = ATSTFrame(**SMALL).state_dict()
    state["prompt_embed"] = torch.zeros(1)
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="unexpected: prompt_embed"):
        ATSTFrame.from_checkpoint(path, **SMALL)


def test_unrelated_checkpoint_is_refused(tmp_path):
    path = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"model.fc.weight": torch.zeros(2)}}, path)
    with pytest.raises(CheckpointError, match="missing.*unexpected"):
        ATSTFrame.from_checkpoint(path, **SMALL)


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / "cut.ckpt"
    torch.save({"state_dict": _encoder(ATSTFrame(**SMALL))}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.ckpt.*truncated"):
        ATSTFrame.from_checkpoint(path, **SMALL)


def _encoder(model):
    return {"encoder.encoder." + k: v for k, v in model.state_dict().items()}


def _encoder_state():
    return ATSTFrame(**SMALL).state_dict()
