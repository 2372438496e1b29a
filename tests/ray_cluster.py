"""A real Ray cluster on this machine for the tests: nodes started by the users' own `cluster/ray_start.sh`, on
loopback only, with free ports and a private temp folder, and every process stopped by its id."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

CLUSTER_DIR = Path(__file__).resolve().parents[1] / "cluster"
LOOPBACK = "127.0.0.1"
# The nodes' own address: Ray's `ray start` replaces 127.0.0.1 (only) by the machine's network address.
LOOPBACK_NODE = "127.0.0.2"
START_TIMEOUT_S = 120.0
STOP_GRACE_S = 10.0
# Variables of the test's own shell that would point the nodes at another cluster or token.
FOREIGN_ENV = ("RAY_", "NCCL_", "GLOO_")


def free_port() -> int:
    """A TCP port nobody listens on now (loopback)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def clean_environ(**extra: str) -> dict[str, str]:
    """This process's environment without Ray/NCCL variables, with this interpreter's `ray` first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


@dataclass
class LocalCluster:
    """A head node (and workers) on loopback; `auth`: token authentication with a token file of its own."""

    auth: bool = True
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dmray-", dir="/tmp")))
    port: int = field(default_factory=free_port)
    dashboard_port: int = field(default_factory=free_port)
    nodes: list[subprocess.Popen] = field(default_factory=list)
    killed: list[psutil.Process] = field(default_factory=list)  # trees of killed raylets, stopped at the end

    @property
    def token_file(self) -> Path:
        return self.root / "auth_token"

    @property
    def address(self) -> str:
        """The job API address, as `deepmath train --submit` takes it."""
        return f"http://{LOOPBACK}:{self.dashboard_port}"

    def environ(self, **extra: str) -> dict[str, str]:
        """The environment of a shell that holds this cluster's token (when it has one); HOME is private."""
        env = clean_environ(HOME=str(self.root / "home"), **extra)
        if self.auth:
            env["RAY_AUTH_TOKEN_PATH"] = str(self.token_file)
        return env

    def start_head(self, *ray_args: str) -> None:
        """`cluster/ray_start.sh` as the head; returns once the job API answers."""
        (self.root / "home").mkdir(exist_ok=True)
        if self.auth:
            self.token_file.write_text(secrets.token_hex(16))
            self.token_file.chmod(0o600)
        env = {
            "RAY_PORT": str(self.port),
            "RAY_DASHBOARD_PORT": str(self.dashboard_port),
            "RAY_DASHBOARD_HOST": LOOPBACK,
        }
        self._start(env, "--ray-client-server-port", str(free_port()), *ray_args)
        self._wait_for_nodes(1)

    def add_worker(self, *ray_args: str) -> None:
        """`cluster/ray_start.sh` as a worker joining the head; returns once it is listed alive."""
        self._start({"RAY_HEAD_ADDRESS": LOOPBACK, "RAY_PORT": str(self.port)}, *ray_args)
        self._wait_for_nodes(len(self.nodes))

    def _start(self, env: dict[str, str], *ray_args: str) -> None:
        log = (self.root / f"node{len(self.nodes)}.log").open("w")
        args = [
            f"--temp-dir={self.root / 'ray'}",
            f"--dashboard-agent-listen-port={free_port()}",
            "--disable-usage-stats",
            *ray_args,
        ]
        node_env = self.environ(RAY_NODE_IP=LOOPBACK_NODE, RAY_BLOCK="1", **env)
        self.nodes.append(
            subprocess.Popen(
                [str(CLUSTER_DIR / "ray_start.sh"), *args],
                env=node_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def log(self, node: int) -> str:
        """What `ray_start.sh` printed for node `node` (0: the head)."""
        return (self.root / f"node{node}.log").read_text()

    def _wait_for_nodes(self, count: int) -> None:
        from ray.util.state import list_nodes

        deadline = time.monotonic() + START_TIMEOUT_S
        last: Exception | None = None
        while time.monotonic() < deadline:
            if any(node.poll() is not None for node in self.nodes):
                raise RuntimeError(f"a Ray node exited:\n{self.log(len(self.nodes) - 1)[-3000:]}")
            try:
                with self.authenticated():
                    alive = [n for n in list_nodes(address=self.address) if n.state == "ALIVE"]
                if len(alive) >= count:
                    return
            except Exception as error:  # the dashboard is not up yet
                last = error
            time.sleep(1.0)
        raise TimeoutError(f"{count} Ray node(s) not alive after {START_TIMEOUT_S:.0f} s: {last}")

    def authenticated(self):
        """Within the block this test process talks to the cluster with its token (Ray reads its config here)."""
        return _ray_token(self.token_file if self.auth else None)

    def kill_raylet(self, node: int) -> int:
        """SIGKILL node `node`'s raylet (a lost node); returns its pid. The node's processes, orphaned by it, are
        remembered and stopped with the cluster."""
        tree = psutil.Process(self.nodes[node].pid).children(recursive=True)
        raylet = next(p for p in tree if p.name() == "raylet")
        self.killed += tree
        raylet.kill()
        return raylet.pid

    def stop(self) -> None:
        """SIGTERM each node's `ray start --block` (it stops its processes), then SIGKILL any left, by id."""
        processes = [p for p in self.killed if p.is_running()]
        for node in self.nodes:
            with _suppress_gone():
                parent = psutil.Process(node.pid)
                processes += [parent, *parent.children(recursive=True)]
        processes += [p for p in _processes_under(self.root) if p.pid not in {q.pid for q in processes}]
        for node in self.nodes:
            with _suppress_gone():
                os.kill(node.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(processes, timeout=STOP_GRACE_S)
        for process in alive:
            with _suppress_gone():
                process.kill()
        psutil.wait_procs(alive, timeout=STOP_GRACE_S)
        for node in self.nodes:
            node.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def two_nodes(*ray_args: str, auth: bool = True) -> Iterator[LocalCluster]:
    """A head and one worker, each started with `ray_args`, stopped (every process, by id) when the block ends."""
    local = LocalCluster(auth=auth)
    try:
        local.start_head(*ray_args)
        local.add_worker(*ray_args)
        yield local
    finally:
        local.stop()


class Watch:
    """Every 2 s while the block runs: the machine's used memory (MiB, as `free -m` counts it; the peak is kept),
    and `also()` (errors ignored: the state API may time out under load, it is asked again)."""

    def __init__(self, also: Callable[[], object] = lambda: None) -> None:
        self.also, self.peak = also, 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(2.0):
            free = subprocess.run(["free", "-m"], capture_output=True, text=True).stdout.splitlines()
            self.peak = max(self.peak, int(free[1].split()[2]))
            with contextlib.suppress(Exception):
                self.also()

    def __enter__(self) -> Watch:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def wait_until(condition: Callable[[], object], every_s: float = 2.0) -> object:
    """Poll `condition` until it holds; its value. No deadline: the test's timeout mark guards a hang."""
    while not (value := condition()):
        time.sleep(every_s)
    return value


def _processes_under(root: Path) -> list[psutil.Process]:
    """Processes whose command line names `root` (Ray's own, started outside the nodes' process trees)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(root) in part for part in process.info["cmdline"] or ()):
            found.append(process)
    return found


class _suppress_gone:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, value, traceback) -> bool:
        return kind is not None and issubclass(kind, psutil.NoSuchProcess | ProcessLookupError)


class _ray_token:
    """Set RAY_AUTH_MODE and RAY_AUTH_TOKEN_PATH in this process for a block, and make Ray's config read them."""

    def __init__(self, token_file: Path | None) -> None:
        self.values = (
            {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file)}
            if token_file
            else {"RAY_AUTH_MODE": "disabled", "RAY_AUTH_TOKEN_PATH": None}
        )

    def __enter__(self) -> None:
        self.saved = {key: os.environ.get(key) for key in self.values}
        _set_environ(self.values)

    def __exit__(self, *exc: object) -> None:
        _set_environ(self.saved)


def _set_environ(values: dict[str, str | None]) -> None:
    from ray._raylet import AuthenticationTokenLoader, Config

    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    Config.initialize("")  # Ray caches RAY_AUTH_MODE in its config, and the token in its loader
    AuthenticationTokenLoader.instance().reset_cache()
