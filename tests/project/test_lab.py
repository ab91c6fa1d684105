"""`make lab` starts JupyterLab on notebooks/ and the workbench kernel is there."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

from tests import ROOT



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_serves_the_notebooks_with_the_evaltools_kernel():
    port, token = _free_port(), "evaltools-test"
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --IdentityProvider.token={token}"
    proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/kernelspecs?token={token}", timeout=2) as r:
                    specs = json.load(r)
                break
            except OSError:
                assert proc.poll() is None, "make lab exited early"
                assert time.monotonic() < deadline, "JupyterLab did not answer within 60 s"
                time.sleep(0.5)
        assert "evaltools" in specs["kernelspecs"]
        assert specs["default"] == "evaltools"
        with urllib.request.urlopen(f"{base}/contents?token={token}", timeout=5) as r:
            names = {item["name"] for item in json.load(r)["content"]}
        assert {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} <= names
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
