"""`make lab`: JupyterLab on the whole project, notebooks/ open, the workbench kernel
with the environment of `evaltools run`, no news feed.

One server (started by `make lab` on 127.0.0.1, as a researcher would) serves every
check; code runs in a kernel started through the server's REST API and talked to over
its websocket, as JupyterLab itself does.
"""
import base64
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

from evaltools.run.execute import KERNEL_ENV, KERNEL_NAME
from tests import ROOT

TOKEN = "evaltools-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab():
    port = _free_port()
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --IdentityProvider.token={TOKEN}"
    proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(base, "/api/kernelspecs")
                break
            except OSError:
                assert proc.poll() is None, "make lab exited early"
                assert time.monotonic() < deadline, "JupyterLab did not answer within 60 s"
                time.sleep(0.5)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _request(base: str, path: str, method: str = "GET", body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{base}{path}", data=data, method=method,
                                 headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    return urllib.request.urlopen(req, timeout=30)


def _get(base: str, path: str):
    with _request(base, path) as r:
        body = r.read().decode()
        return json.loads(body) if r.headers.get_content_type() == "application/json" else (r.geturl(), body)


class _WebSocket:
    """The client side of RFC 6455, as much as a kernel channel needs (text frames, no
    extensions): the test extra declares no websocket client, and the server's is Tornado's."""

    def __init__(self, host: str, port: int, path: str, timeout: float = 60):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Authorization: token {TOKEN}\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.split(b"\r\n")[0].split()[1] == b"101", head.decode(errors="replace")

    def send(self, text: str) -> None:
        data, mask = text.encode(), os.urandom(4)
        n = len(data)
        size = bytes([0x80 | n]) if n < 126 else (bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536
                                                   else bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(bytes([0x81]) + size + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self) -> str:
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            if b0 & 0x0F in (0x9, 0xA):  # ping / pong: not a message
                continue
            parts.append(payload)
            if b0 & 0x80:
                return b"".join(parts).decode()

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            assert chunk, "the server closed the websocket"
            buf += chunk
        return buf

    def close(self) -> None:
        self.sock.close()


def _channels(base: str, kernel_id: str) -> _WebSocket:
    host, port = base.removeprefix("http://").split(":")
    return _WebSocket(host, int(port), f"/api/kernels/{kernel_id}/channels")


def _run(ws: _WebSocket, code: str, timeout: float = 60) -> str:
    """Execute ``code`` in the kernel behind ``ws``; return what it printed on stdout."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": uuid.uuid4().hex,
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    out, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
        elif kind == "error":
            raise AssertionError(f"the kernel raised {msg['content']['ename']}: {msg['content']['evalue']}")
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out)
    raise AssertionError(f"no answer from the kernel within {timeout} s")


def test_lab_opens_the_project_with_notebooks_open_and_no_news(lab):
    specs = _get(lab, "/api/kernelspecs")
    assert KERNEL_NAME in specs["kernelspecs"] and specs["default"] == KERNEL_NAME
    names = {item["name"] for item in _get(lab, "/api/contents")["content"]}
    assert {"params", "src", "notebooks", "README.md"} <= names, "Lab is not rooted at the project"
    nbs = {item["name"] for item in _get(lab, "/api/contents/notebooks")["content"]}
    assert {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} <= nbs
    url, page = _get(lab, "/")
    assert url.split("?")[0].endswith("/lab/tree/notebooks"), url  # the notebooks folder opens first
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    assert config["news"] == {"disabled": True}, "JupyterLab would fetch and offer its news feed"


def test_the_lab_kernel_runs_with_the_environment_of_evaltools_run(lab):
    """A notebook session on the evaltools kernel: PYTHONHASHSEED as in a run, hash("a") the
    same after a restart; then the study notebook's first cells run as JupyterLab runs them."""
    assert KERNEL_ENV == {"PYTHONHASHSEED": "0"}
    notebook = "notebooks/municipal_quality.ipynb"
    with _request(lab, "/api/sessions", "POST", {"path": notebook, "name": "municipal_quality.ipynb",
                                                "type": "notebook", "kernel": {"name": KERNEL_NAME}}) as r:
        session = json.load(r)
    kernel_id = session["kernel"]["id"]
    code = 'import os; print(os.environ.get("PYTHONHASHSEED"), hash("a"))'
    try:
        ws = _channels(lab, kernel_id)
        try:
            first = _run(ws, code).split()
        finally:
            ws.close()
        with _request(lab, f"/api/kernels/{kernel_id}/restart", "POST", {}) as r:
            assert r.status == 200
        ws = _channels(lab, kernel_id)
        try:
            second = _run(ws, code).split()
            cells = [c for c in _get(lab, f"/api/contents/{notebook}")["content"]["cells"] if c["cell_type"] == "code"]
            for cell in cells[:3]:  # imports, parameters, check_injected: a notebook executed through the API
                _run(ws, cell["source"], timeout=120)
            shown = _run(ws, "print(municipality, os.path.isdir(data_dir), os.getcwd())").split()
        finally:
            ws.close()
    finally:
        with _request(lab, f"/api/sessions/{session['id']}", "DELETE"):
            pass
    assert first[0] == second[0] == "0"
    assert first[1] == second[1], "hash('a') changed across a kernel restart"
    assert int(first[1]) == _hash_with_seed_0()
    assert shown[:2] == ["all", "True"] and shown[2] == str(ROOT / "notebooks")  # defaults resolve as in a run


def _hash_with_seed_0() -> int:
    """hash("a") in a fresh interpreter with PYTHONHASHSEED=0, independent of the kernel."""
    out = subprocess.run([sys.executable, "-c", 'print(hash("a"))'], capture_output=True, text=True,
                         env={**os.environ, "PYTHONHASHSEED": "0"}, check=True)
    return int(out.stdout)


def test_make_setup_registers_the_kernel_with_the_run_environment():
    """The install recipe (and so conda users' one line) writes KERNEL_ENV into kernel.json."""
    makefile = (ROOT / "Makefile").read_text()
    install = re.search(r"^define install\n(.*?)^endef", makefile, re.S | re.M).group(1)
    assert "-m evaltools.run.kernel" in install
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    assert spec.env == KERNEL_ENV
