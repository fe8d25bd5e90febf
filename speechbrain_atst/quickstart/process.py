"""A subprocess whose output is shown as it comes and kept in a log.

The training stages run the recipe in a subprocess; its output
(SpeechBrain's progress bars included) is copied to the terminal as it
comes and appended to a log file under the quickstart folder.

Authors
 * speechbrain-atst team 2026
"""

import codecs
import subprocess
import sys
from pathlib import Path

#: Bytes read from the subprocess at a time.
CHUNK_BYTES = 65536


def _stop(proc):
    """Ends a subprocess still running (terminate, then kill)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stream_command(cmd, log_path, cwd=None, env=None, out=None):
    """Runs a command, copying its output (stdout and stderr) as it comes.

    The output goes to ``out`` unchanged (progress bars included) and is
    appended to ``log_path``.

    Arguments
    ---------
    cmd : list of str
        The command.
    log_path : str or os.PathLike
        Log file (appended to).
    cwd : str or os.PathLike, optional
        Working directory.
    env : dict, optional
        Environment.
    out : file, optional
        Text stream to copy the output to (``sys.stdout``).

    Returns
    -------
    int
        The exit status.

    Example
    -------
    >>> import io, sys
    >>> buf = io.StringIO()
    >>> log = getfixture("tmp_path") / "log.txt"
    >>> stream_command([sys.executable, "-c", "print('hi')"], log, out=buf)
    0
    >>> buf.getvalue(), log.read_text()
    ('hi\\n', 'hi\\n')
    """
    out = sys.stdout if out is None else out
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            while chunk := proc.stdout.read1(CHUNK_BYTES):
                log.write(chunk)
                log.flush()
                out.write(decoder.decode(chunk))
                out.flush()
            out.write(decoder.decode(b"", final=True))
            return proc.wait()
        finally:
            _stop(proc)
            proc.stdout.close()
