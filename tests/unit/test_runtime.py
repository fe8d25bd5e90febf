"""The float32 matmul precision setting of the recipes.

Authors
 * speechbrain-atst team 2026
"""

import pytest
import torch

from speechbrain_atst.training.runtime import apply_matmul_precision


@pytest.fixture
def restore_precision():
    before = torch.get_float32_matmul_precision()
    cudnn = torch.backends.cudnn.allow_tf32
    yield
    torch.set_float32_matmul_precision(before)
    torch.backends.cudnn.allow_tf32 = cudnn


def test_highest_turns_tf32_off_everywhere(restore_precision):
    """SpeechBrain allows TF32 on import; "highest" really disables it."""
    import speechbrain  # noqa: F401  (its quirks enable TF32)

    assert apply_matmul_precision("highest") == "highest"
    assert not torch.backends.cuda.matmul.allow_tf32
    assert not torch.backends.cudnn.allow_tf32
    assert apply_matmul_precision("high") == "high"
    assert torch.backends.cuda.matmul.allow_tf32
    assert torch.backends.cudnn.allow_tf32


def test_unknown_precision_is_refused(restore_precision):
    with pytest.raises(ValueError, match="'tf32'"):
        apply_matmul_precision("tf32")
