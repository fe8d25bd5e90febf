"""Helpers of the training-recipe integration tests.

A tiny run of the recipe is a command line (:func:`train_command`), run
in a subprocess (:func:`run`: needed to kill it, or for ``torchrun``) or
in this process (:func:`run_inline`: the same ``main`` of ``train.py``
without the start-up of a new interpreter, about 5 s of imports).

Authors
 * speechbrain-atst team 2026
"""

import contextlib
import importlib.util
import io
import logging
import os
import random
import re
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np
import torch

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


def _train_module():
    """``recipes/DESED/SED/train.py`` as a module (loaded once)."""
    name = "desed_sed_train"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TRAIN_PY)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@contextlib.contextmanager
def _restored_process_state():
    """Restores what a run of the recipe changes in this process: logging
    (SpeechBrain points the root logger at the run's log.txt), the
    exception hook, environment, working directory, PyTorch threads and
    matmul precision, random generators."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    hook, environ, cwd = sys.excepthook, dict(os.environ), os.getcwd()
    threads = torch.get_num_threads()
    precision = torch.get_float32_matmul_precision()
    cudnn_tf32 = torch.backends.cudnn.allow_tf32
    rng = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        sys.excepthook = hook
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd)
        torch.set_num_threads(threads)
        torch.set_float32_matmul_precision(precision)
        torch.backends.cudnn.allow_tf32 = cudnn_tf32
        random.setstate(rng[0])
        np.random.set_state(rng[1])
        torch.set_rng_state(rng[2])


def run_inline(cmd, env=None):
    """Runs a one-process ``train_command`` in this process.

    ``main`` of ``train.py`` runs as the command would (working directory,
    arguments, output and exit status), warnings ignored as in
    ``recipe_env``; an uncaught error goes through the exception hook in
    force (SpeechBrain's, once the run has set it up: logged to the
    console and log.txt) as at the end of a process. The process state
    the run changes is restored afterwards.

    Arguments
    ---------
    cmd : list of str
        ``[python, train.py, hparams file, --key=value...]``.
    env : dict, optional
        Environment variables to set during the run.

    Returns
    -------
    subprocess.CompletedProcess
        ``returncode``, ``stdout`` and ``stderr`` of the run.
    """
    assert cmd[1] == str(TRAIN_PY), cmd
    main = _train_module().main
    out, err = io.StringIO(), io.StringIO()
    with _restored_process_state():
        os.environ.update(env or {})
        os.chdir(RECIPE_DIR)
        hook = sys.excepthook
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            try:
                main(list(cmd[2:]))
                code = 0
            except SystemExit as exit_:
                code = exit_.code
                if code is not None and not isinstance(code, int):
                    print(code, file=sys.stderr)
                    code = 1
                code = code or 0
            except Exception:
                code = 1
                if sys.excepthook is not hook:
                    sys.excepthook(*sys.exc_info())
                else:
                    traceback.print_exc()
    return subprocess.CompletedProcess(
        cmd, code, stdout=out.getvalue(), stderr=err.getvalue()
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
