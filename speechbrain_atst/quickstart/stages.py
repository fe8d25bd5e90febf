"""The two training stages: the shipped recipe run in a subprocess.

Each stage runs ``train.py`` of the DESED recipe (see
:mod:`speechbrain_atst.quickstart.recipe`) in its folder, with its output
streamed and logged to ``logs/stage<N>.log``. An interrupted stage resumes
from its last checkpoint when the quickstart is run again (the recipe's
checkpointer); a finished one has ``test/metrics.json``.

Authors
 * speechbrain-atst team 2026
"""

import os
import shlex
from pathlib import Path

import speechbrain_atst
from speechbrain_atst.quickstart.layout import (
    QuickstartError,
    stage_done,
    stage_metrics_path,
)
from speechbrain_atst.quickstart.process import stream_command
from speechbrain_atst.quickstart.recipe import recipe_dir, stage_command


def child_env(environ=None):
    """Environment of the recipe subprocesses.

    The package of a source checkout is importable (the checkout first on
    ``PYTHONPATH``; never the parent folder of an installed package,
    site-packages, which ahead of the standard library would let old
    backports there, such as PyPI's "pathlib", shadow it), the output is
    unbuffered, and OpenMP threads sleep instead of spinning while they
    wait: on a CPU shared with other work, spinning threads make training
    several times slower; on an idle machine the cost is negligible.

    Arguments
    ---------
    environ : dict, optional
        The starting environment (``os.environ``).

    Returns
    -------
    dict
        The environment.

    Example
    -------
    >>> env = child_env({"PYTHONPATH": "/x"})
    >>> env["PYTHONPATH"].endswith(":/x"), env["OMP_WAIT_POLICY"]
    (True, 'PASSIVE')
    """
    env = dict(os.environ if environ is None else environ)
    root = Path(speechbrain_atst.__file__).resolve().parents[1]
    if (root / "setup.py").is_file():
        path = env.get("PYTHONPATH", "")
        env["PYTHONPATH"] = str(root) + (os.pathsep + path if path else "")
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def shown_command(cmd, recipe):
    """A stage's command as typed in the recipe folder.

    Arguments
    ---------
    cmd : list of str
        See :func:`~speechbrain_atst.quickstart.recipe.stage_command`.
    recipe : pathlib.Path
        The recipe folder.

    Returns
    -------
    str
        ``python train.py hparams/stageN.yaml --key=value...``.

    Example
    -------
    >>> from pathlib import Path
    >>> r = Path("/r")
    >>> shown_command(["py", "/r/train.py", "/r/hparams/s.yaml", "--a=1"], r)
    'python train.py hparams/s.yaml --a=1'
    """
    relative = [str(Path(c).relative_to(recipe)) for c in cmd[1:3]]
    return shlex.join(["python", *relative, *cmd[3:]])


def run_stage(stage, layout, seed, device, overrides):
    """Runs (or resumes) one training stage of the recipe.

    Arguments
    ---------
    stage : int
        1 or 2.
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.
    seed : int
        Training seed.
    device : str
        The device.
    overrides : dict
        Recipe overrides.

    Raises
    ------
    QuickstartError
        If the recipe fails or writes no test metrics.
    """
    cmd = stage_command(stage, layout, seed, device, overrides)
    log_path = layout["logs"] / f"stage{stage}.log"
    recipe = recipe_dir()
    print(f"$ cd {recipe}\n$ {shown_command(cmd, recipe)}", flush=True)
    status = stream_command(cmd, log_path, cwd=str(recipe), env=child_env())
    if status != 0:
        raise QuickstartError(
            f"Stage {stage} training failed (exit status {status}); its "
            f"output is in {log_path}. Rerun the quickstart to resume."
        )
    run_dir = layout[f"stage{stage}"]
    if not stage_done(run_dir):
        raise QuickstartError(
            f"Stage {stage} finished without {stage_metrics_path(run_dir)}; "
            f"see {log_path}"
        )
