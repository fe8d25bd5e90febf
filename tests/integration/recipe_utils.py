"""Helpers of the training-recipe integration tests.

Authors
 * speechbrain-atst team 2026
"""

import re
import subprocess
import sys
from pathlib import Path

from speechbrain_atst.training.recipe_args import overrides_from_yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPE_DIR = REPO_ROOT / "recipes" / "DESED" / "SED"
TRAIN_PY = RECIPE_DIR / "train.py"
TINY_YAML = Path(__file__).resolve().parent / "tiny.yaml"


def tiny_overrides(**extra):
    """``--key=value`` arguments of tiny.yaml updated with ``extra``.

    Arguments
    ---------
    **extra
        Keys to add or replace.

    Returns
    -------
    list of str
        Command-line arguments.
    """
    return overrides_from_yaml(TINY_YAML, **extra)


def train_command(stage, data, output_folder, nproc=1, port=None, **extra):
    """Command line of a tiny run of the recipe.

    Arguments
    ---------
    stage : int
        1 or 2.
    data : dict
        ``data_folder``, ``manifest_folder`` and ``classes``.
    output_folder : str or Path
        Run folder.
    nproc : int
        Processes (``torchrun`` if more than 1, gloo backend).
    port : int, optional
        torchrun master port.
    **extra
        More overrides.

    Returns
    -------
    list of str
        The command.
    """
    classes = data["classes"]
    extra.setdefault("median_windows", [7] * len(classes))
    args = [
        str(RECIPE_DIR / "hparams" / f"stage{stage}.yaml"),
        f"--data_folder={data['data_folder']}",
        f"--manifest_folder={data['manifest_folder']}",
        f"--output_folder={output_folder}",
        "--classes=[" + ",".join(classes) + "]",
        "--device=cpu",
        "--noprogressbar",
        *tiny_overrides(**extra),
    ]
    if nproc == 1:
        return [sys.executable, str(TRAIN_PY), *args]
    launcher = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc_per_node={nproc}",
        f"--master_port={port or 29517}",
        str(TRAIN_PY),
    ]
    return [*launcher, *args, "--distributed_backend=gloo"]


def run(cmd, env, timeout=600):
    """Runs a command; returns the CompletedProcess (output captured)."""
    return subprocess.run(
        cmd,
        env=env,
        cwd=str(RECIPE_DIR),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tail(proc, n=3000):
    """End of a process's output, for assertion messages."""
    return (proc.stdout + proc.stderr)[-n:]


def logged_values(train_log, key):
    """Values of ``key`` in a train log, in order.

    Arguments
    ---------
    train_log : str or Path
        ``train_log.txt``.
    key : str
        E.g. ``"valid teacher_psds1"``.

    Returns
    -------
    list of float
        The values.
    """
    text = Path(train_log).read_text(encoding="utf-8")
    pattern = re.escape(key) + r": ([-+0-9.e]+)"
    return [float(v) for v in re.findall(pattern, text)]
