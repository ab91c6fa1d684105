"""`evaltools data check DATA | head`: when the reader of standard output has gone, a command
stops quietly (no "unexpected error", no traceback) with the shell's code for it, 141. The
handler is in `evaltools.cli.main`, shared by every command; `studies` is the cheapest that
writes to standard output."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import FIXTURES


def test_a_closed_pipe_ends_the_command_quietly():
    read, write = os.pipe()
    os.close(read)  # the reader (head) has gone before the first line
    try:
        proc = subprocess.run([str(Path(sys.executable).parent / "evaltools"), "--root", str(FIXTURES / "project"),
                               "studies"], stdout=write, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 141
