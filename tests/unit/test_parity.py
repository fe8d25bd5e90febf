"""Numerical parity of ATSTFrame and ATSTSED with the official code.

The fixtures were produced by the official ATST-SED implementation with a
small transformer (embed_dim 64, depth 2, 4 heads); see
tests/fixtures/README.md. The ``atst_parity`` fixture (tests/conftest.py)
rebuilds the official files from their compact store.

Authors
 * speechbrain-atst team 2026
"""

import pytest
import torch

from speechbrain_atst.lobes.atst_frame import ATSTFrame
from speechbrain_atst.lobes.atst_sed import ATSTSED

ARCH = {"embed_dim": 64, "depth": 2, "num_heads": 4}
ATOL = 1e-5


@pytest.fixture(scope="module")
def ref(atst_parity):
    return torch.load(atst_parity / "reference_io.pt", weights_only=True)


@pytest.fixture(scope="module")
def atst(atst_parity):
    path = atst_parity / "atst_frame_as2M_format.ckpt"
    return ATSTFrame.from_checkpoint(path, **ARCH).eval()


def _sed(folder, which):
    path = folder / "atst_sed_stage_format.ckpt"
    model = ATSTSED.from_official_checkpoint(
        path, which=which, atst_kwargs=dict(ARCH)
    )
    return model.eval()


def test_atst_frame_output(ref, atst):
    with torch.no_grad():
        out = atst(ref["atst_feats"])
    assert out.shape == (3, 250, 64)
    expected = ref["atst_out"].transpose(1, 2)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=0)


def test_atst_frame_output_short_clip(ref, atst):
    with torch.no_grad():
        out = atst(ref["atst_feats_short"])
    assert out.shape == (1, 105, 64)
    expected = ref["atst_out_short"].transpose(1, 2)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=0)


def test_atst_sed_student_outputs(ref, atst_parity):
    model = _sed(atst_parity, "student")
    with torch.no_grad():
        strong, weak = model(ref["cnn_feats"], ref["atst_feats"])
    assert strong.shape == (3, 156, 10)
    expected = ref["strong"].transpose(1, 2)
    torch.testing.assert_close(strong, expected, atol=ATOL, rtol=0)
    torch.testing.assert_close(weak, ref["weak"], atol=ATOL, rtol=0)


def test_atst_sed_precomputed_embeddings(ref, atst_parity):
    model = _sed(atst_parity, "student")
    with torch.no_grad():
        emb = model.encode_atst(ref["atst_feats"])
        strong, weak = model(ref["cnn_feats"], atst_embeddings=emb)
    expected = ref["strong"].transpose(1, 2)
    torch.testing.assert_close(strong, expected, atol=ATOL, rtol=0)
    torch.testing.assert_close(weak, ref["weak"], atol=ATOL, rtol=0)


def test_atst_sed_teacher_is_a_different_model(ref, atst_parity):
    student = _sed(atst_parity, "student")
    teacher = _sed(atst_parity, "teacher")
    with torch.no_grad():
        s_strong, s_weak = student(ref["cnn_feats"], ref["atst_feats"])
        t_strong, t_weak = teacher(ref["cnn_feats"], ref["atst_feats"])
    assert (s_strong - t_strong).abs().max() > 1e-3
    assert (s_weak - t_weak).abs().max() > 1e-3


@pytest.mark.parametrize("which", ["student", "teacher"])
def test_atst_frame_from_atst_sed_checkpoint(which, atst_parity):
    path = atst_parity / "atst_sed_stage_format.ckpt"
    atst = ATSTFrame.from_checkpoint(path, which=which, **ARCH)
    sed = _sed(atst_parity, which)
    for key, value in atst.state_dict().items():
        assert torch.equal(value, sed.atst.state_dict()[key]), key
