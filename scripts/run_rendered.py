"""Runs taskfleet exactly as its deployment files say, on this machine, and walks a user through it.

    run_rendered.py helm        the Helm chart, rendered with its default values
    run_rendered.py dapr-run    dapr.yaml, as `scripts/dapr-run` (`dapr run -f .`) starts it
    run_rendered.py all         both, one after the other (default)

Helm: `helm template` with the default values; then every object is taken as the cluster would
take it. The operator's Secrets (START.md: `taskfleet-secrets`, `redis`) come from
`scripts/run-rendered-secrets.yaml`, with this run's database and random secrets filled in. The
migration hook Job runs first. Every pod gets its own network namespace on one bridge, so its
localhost is its own as in a cluster (a pod that calls 127.0.0.1 for another service reaches
nothing); Service DNS names in its environment (`backend-api:8000`, `frontend.taskfleet.svc:3000`)
resolve to the selected pod's address and container port, and `postgres`/`redis` to the bridge's
gateway, where this machine's servers are forwarded. Each Deployment's container runs its rendered
command (the image's binary from `target/debug`; the frontend image's `node server.js` from the
standalone build) with exactly its rendered environment (`env`, `envFrom`, `secretKeyRef`,
`configMapKeyRef`, `fieldRef`, `$(VAR)`), the image's `ENV` and, for a pod with `dapr.io/enabled`,
what the injector adds to app containers: DAPR_HTTP_PORT=3500, DAPR_GRPC_PORT=50001, APP_PROTOCOL,
nothing else. One dev sidecar per Dapr-enabled pod, in Kubernetes mode, loads `k8s-dapr/` with the
pod's annotations (app-id, app-port, config, app-token-secret, api-token-secret) and its pod name;
the pod reaches it on its own localhost:3500. All sidecars live in one process and share one
broker, as every daprd shares one Redpanda, whose topics are `k8s-dapr/topics.txt`. The browser
reaches everything through the rendered Ingress, served as an ingress controller would (host and
path rules), at the UI's public URL (BETTER_AUTH_URL's host). Network namespaces need root (CI
runs as root).

dapr-run: the apps of dapr.yaml with the environment the dapr CLI gives them (its own, with the
tokens scripts/dapr-run exports, then `common.env`, the app's `env` and the CLI's APP_ID,
APP_PORT, DAPR_HTTP_PORT, ...), `cargo run -p X` as the binary it runs, and a dev sidecar in
standalone mode loading `dapr/components`. DATABASE_URL's database is replaced by this run's.
The UI is started as README says, beside it.

Then the journey, through the frontend's route handlers as a browser would: sign up, the page's
CSP allows the realtime URL, open a WebSocket and an SSE stream with tickets, add a task (both see
it), a reminder (pushed, listed), a daily task completed (its next occurrence is created once, a
day later, and pushed), the audit trail of all three with their actors, and (Helm) /mcp and its
metadata on the ingress host.

Exit status 0 when every step passed. Every process, the database and the temporary files are
removed at the end (KEEP_LOGS=1 keeps the logs of a failed run).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from websockets.sync.client import connect as ws_connect

ROOT = Path(__file__).resolve().parent.parent
BIN_DIR = Path(os.environ.get("TASKFLEET_BIN_DIR", ROOT / "target" / "debug"))
FRONTEND_STANDALONE = ROOT / "frontend" / ".next" / "standalone"
PG_BASE = os.environ.get("PG_BASE", "postgres://postgres@127.0.0.1:5432")
NAMESPACE = "taskfleet"
RELEASE = "taskfleet"
# Infrastructure the chart expects in the cluster, played by this machine's servers.
INFRASTRUCTURE = {"postgres": [5432], "redis": [6379]}
SCHEME_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "postgres": 5432, "postgresql": 5432, "redis": 6379}
READY_WITHIN = 180.0


class Failure(Exception):
    """A step of the run failed; the message says which and why."""


def log(message: str) -> None:
    print(f"[run-rendered {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def psql(sql: str, database: str = "postgres") -> None:
    subprocess.run(["psql", f"{PG_BASE}/{database}", "-qAtc", sql], check=True, capture_output=True)


# ---------------------------------------------------------------------------------------------
# Processes


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log_path: Path
    argv: list[str]
    env: dict[str, str]
    cwd: Path


@dataclass
class Run:
    """The processes, database and files of one run; `close` removes them all."""

    work: Path
    database: str
    procs: list[Proc] = field(default_factory=list)
    network: "PodNetwork | None" = None

    @classmethod
    def create(cls, label: str) -> "Run":
        prefix = os.environ.get("TASKFLEET_TEST_DB_PREFIX", "taskfleet_rendered_")
        database = f"{prefix}{label}_{uuid.uuid4().hex[:8]}".lower()
        psql(f'CREATE DATABASE "{database}"')
        work = Path(tempfile.mkdtemp(prefix=f"run-rendered-{label}-"))
        return cls(work=work, database=database)

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> Proc:
        log_path = self.work / f"{name}.log"
        out = open(log_path, "ab")
        popen = subprocess.Popen(argv, env=env, cwd=cwd or ROOT, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        out.close()
        proc = Proc(name, popen, log_path, argv, env, cwd or ROOT)
        self.procs.append(proc)
        return proc

    def kill(self, name: str) -> Proc:
        """SIGKILL, as when a container dies; `start_again` restarts it as the kubelet would."""
        proc = next(p for p in self.procs if p.name == name and p.popen.poll() is None)
        os.killpg(proc.popen.pid, signal.SIGKILL)
        proc.popen.wait()
        self.procs.remove(proc)
        return proc

    def start_again(self, proc: Proc) -> Proc:
        return self.start(proc.name, proc.argv, proc.env, proc.cwd)

    def check_alive(self) -> None:
        for proc in self.procs:
            code = proc.popen.poll()
            if code is not None and proc.name != "migrate":
                raise Failure(f"{proc.name} exited with status {code}:\n{tail(proc.log_path)}")

    def close(self, failed: bool) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                try:
                    os.killpg(proc.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.popen.wait()
        if self.network is not None:
            self.network.close()
        if failed:
            for proc in self.procs:
                print(f"---- {proc.name} (last lines of {proc.log_path.name})\n{tail(proc.log_path)}")
        try:
            psql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except subprocess.CalledProcessError as error:
            print(f"could not drop {self.database}: {error.stderr.decode().strip()}")
        if failed and os.environ.get("KEEP_LOGS") == "1":
            print(f"logs kept in {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until(what: str, probe, within: float, run: Run | None = None, every: float = 0.25):
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value:
            return value
        if run is not None:
            run.check_alive()
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {within:.0f} s waiting for {what}")
        time.sleep(every)


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def base_env() -> dict[str, str]:
    """What a container has before its own settings: a PATH (node) and nothing of this shell."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


# ---------------------------------------------------------------------------------------------
# Pod network: a namespace per pod on one bridge; TCP forwards where the cluster has a proxy.


def pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for s_ in (source, target):
            try:
                s_.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve_forward(listen: tuple[str, int], target: tuple[str, int], ready: threading.Event | None = None) -> None:
    """Accepts on `listen` and pipes every connection to `target`, until the process ends."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(listen)
    server.listen(256)
    if ready is not None:
        ready.set()
    while True:
        client, _ = server.accept()
        try:
            upstream = socket.create_connection(target, timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()


def forward_in_background(listen: tuple[str, int], target: tuple[str, int]) -> None:
    ready = threading.Event()
    threading.Thread(target=serve_forward, args=(listen, target, ready), daemon=True).start()
    if not ready.wait(5):
        raise Failure(f"could not listen on {listen}")


def serve_ingress(listen: tuple[str, int], host: str, routes: list[tuple[str, str, tuple[str, int]]],
                  ready: threading.Event) -> None:
    """An ingress controller for one host: reads each connection's request head, picks the
    backend of the longest matching path (`Exact` or `Prefix`, as networking.k8s.io/v1 defines
    them), answers 404 for another host or no match, then pipes the connection through (so
    WebSocket upgrades and SSE streams pass). One request per connection: clients here send
    `Connection: close`."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(listen)
    server.listen(256)
    ready.set()

    def route(path: str):
        best = None
        for rule_path, kind, backend in routes:
            exact = kind == "Exact" and path == rule_path
            prefix = kind == "Prefix" and (rule_path == "/" or path == rule_path or path.startswith(rule_path.rstrip("/") + "/"))
            if (exact or prefix) and (best is None or len(rule_path) > len(best[0])):
                best = (rule_path, backend)
        return best[1] if best else None

    def handle(client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = client.recv(65536)
            if not chunk:
                client.close()
                return
            head += chunk
        lines = head.split(b"\r\n")
        target = lines[0].split(b" ")[1].decode(errors="replace") if len(lines[0].split(b" ")) > 1 else "/"
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.decode(errors="replace").partition(":") for line in lines[1:] if b":" in line)}
        backend = route(target.split("?", 1)[0]) if headers.get("host", "").split(":")[0] == host else None
        if backend is None:
            client.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            client.close()
            return
        try:
            upstream = socket.create_connection(backend, timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            client.close()
            return
        upstream.sendall(head)
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        pipe(upstream, client)

    while True:
        connection, _ = server.accept()
        threading.Thread(target=handle, args=(connection,), daemon=True).start()


def ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"ip {' '.join(args)}: {result.stderr.strip()}")


class PodNetwork:
    """A bridge with a gateway address on this machine, and a network namespace per pod."""

    def __init__(self):
        if os.geteuid() != 0 or not shutil.which("ip"):
            raise Failure("pods run in network namespaces: run as root, with iproute2 installed")
        self.tag = secrets.token_hex(2)
        used = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
        octet = next(n for n in range(100, 250) if f"10.213.{n}." not in used)
        self.prefix = f"10.213.{octet}"
        self.gateway = f"{self.prefix}.1"
        self.bridge = f"tfbr{self.tag}"
        self.namespaces: list[str] = []
        ip("link", "add", "name", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add_pod(self) -> tuple[str, str]:
        """A new pod's namespace and address."""
        index = len(self.namespaces) + 10
        namespace, host_end, pod_end = f"tf{self.tag}p{index}", f"tfh{self.tag}{index}", f"tfp{self.tag}{index}"
        address = f"{self.prefix}.{index}"
        ip("netns", "add", namespace)
        self.namespaces.append(namespace)
        ip("link", "add", host_end, "type", "veth", "peer", "name", pod_end)
        ip("link", "set", pod_end, "netns", namespace)
        ip("link", "set", host_end, "master", self.bridge)
        ip("link", "set", host_end, "up")
        ip("-n", namespace, "link", "set", "lo", "up")
        ip("-n", namespace, "addr", "add", f"{address}/24", "dev", pod_end)
        ip("-n", namespace, "link", "set", pod_end, "up")
        ip("-n", namespace, "route", "add", "default", "via", self.gateway)
        return namespace, address

    def close(self) -> None:
        for namespace in self.namespaces:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


# ---------------------------------------------------------------------------------------------
# Images: what each image runs, read from docker/*.Dockerfile, played by the local builds.


@dataclass
class Image:
    env: dict[str, str]
    cmd: list[str]
    workdir: str


def read_dockerfile(path: Path) -> Image:
    """The final stage's ENV, CMD and WORKDIR (the ones a container of the image starts with)."""
    env: dict[str, str] = {}
    cmd: list[str] = []
    workdir = "/"
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.upper().startswith("FROM "):
            env, cmd, workdir = {}, [], "/"
        elif line.upper().startswith("ENV "):
            for key, value in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)', line[4:]):
                env[key] = value.strip('"')
        elif line.upper().startswith("CMD "):
            cmd = json.loads(line[4:])
        elif line.upper().startswith("WORKDIR "):
            workdir = line[8:].strip()
    return Image(env=env, cmd=cmd, workdir=workdir)


def local_command(repository: str, command: list[str], image: Image) -> tuple[list[str], Path]:
    """The rendered command (or the image's CMD) as a local process and its working directory."""
    argv = command or image.cmd
    if not argv:
        raise Failure(f"image {repository}: no command and no CMD")
    if repository == "taskfleet/frontend":
        if argv != ["node", "server.js"] or image.workdir != "/app":
            raise Failure(f"the frontend image runs {argv} in {image.workdir}; the runner knows `node server.js` in /app")
        if not (FRONTEND_STANDALONE / "server.js").exists():
            raise Failure(f"{FRONTEND_STANDALONE}/server.js is missing: build the UI first (frontend/scripts/build-standalone)")
        return [shutil.which("node") or "node", "server.js"], FRONTEND_STANDALONE
    match = re.fullmatch(r"/usr/local/bin/([a-z-]+)", argv[0])
    if not match or repository != f"taskfleet/{match.group(1)}":
        raise Failure(f"image {repository} runs {argv}; expected /usr/local/bin/<service> of taskfleet/<service>")
    binary = BIN_DIR / match.group(1)
    if not binary.exists():
        raise Failure(f"{binary} is missing: cargo build first")
    return [str(binary), *argv[1:]], ROOT


# ---------------------------------------------------------------------------------------------
# The rendered chart as the cluster reads it


def helm_template() -> list[dict]:
    helm = os.environ["HELM"]
    result = subprocess.run(
        [helm, "template", RELEASE, str(ROOT / "helm-charts" / "taskfleet"), "--namespace", NAMESPACE],
        capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"helm template failed:\n{result.stderr}")
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def operator_secrets(database: str) -> list[dict]:
    """The Secrets START.md has the operator create, filled in for this run."""
    text = (ROOT / "scripts" / "run-rendered-secrets.yaml").read_text()
    values = {
        "DATABASE": database,
        "JWT_SECRET": secrets.token_hex(32),
        "BETTER_AUTH_SECRET": secrets.token_hex(32),
    }
    for key, value in values.items():
        text = text.replace("${" + key + "}", value)
    return [d for d in yaml.safe_load_all(text) if d]


def secret_data(secret: dict) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    data.update(secret.get("stringData") or {})
    return data


class Cluster:
    def __init__(self, docs: list[dict], gateway: str):
        self.docs = docs
        self.secrets = {d["metadata"]["name"]: secret_data(d) for d in docs if d["kind"] == "Secret"}
        self.config_maps = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d["kind"] == "ConfigMap"}
        self.deployments = [d for d in docs if d["kind"] == "Deployment"]
        self.jobs = [d for d in docs if d["kind"] == "Job"]
        self.service_objects = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
        self.gateway = gateway
        # Deployment name -> its pod's address, filled in as the pods are created.
        self.addresses: dict[str, str] = {}

    def selected(self, selector: dict) -> dict | None:
        for deployment in self.deployments:
            labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                return deployment
        return None

    @staticmethod
    def container_port(pod: dict, target) -> int | None:
        for container in pod["spec"]["containers"]:
            for port in container.get("ports") or []:
                if target in (port.get("name"), port["containerPort"]):
                    return port["containerPort"]
        return None

    def endpoint(self, name: str, port: int) -> tuple[str, int]:
        """Where a connection to Service `name` on `port` lands: the selected pod's address and
        container port (kube-proxy), or the gateway for the infrastructure played locally."""
        if name in INFRASTRUCTURE:
            if port not in INFRASTRUCTURE[name]:
                raise Failure(f"{name}:{port}: the {name} Service listens on {sorted(INFRASTRUCTURE[name])}")
            return self.gateway, port
        service = self.service_objects[name]
        deployment = self.selected(service["spec"].get("selector") or {})
        if deployment is None:
            raise Failure(f"Service {name} selects no pod")
        for service_port in service["spec"]["ports"]:
            if service_port["port"] == port:
                target = self.container_port(deployment["spec"]["template"], service_port.get("targetPort", port))
                if target is None:
                    raise Failure(f"Service {name} port {port}: targetPort {service_port.get('targetPort')} is no container port")
                return self.addresses[deployment["metadata"]["name"]], target
        raise Failure(f"Service {name} has no port {port}")

    def resolve_dns(self, value: str) -> str:
        """Service names in URLs (`scheme://[user@]name[.ns[.svc[.cluster.local]]][:port]`), as
        the cluster's DNS and kube-proxy resolve them."""
        pattern = re.compile(
            r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<user>[^@/\s]*@)?(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(?P<port>\d+))?")

        def substitute(match: re.Match) -> str:
            name, _, rest = match.group("host").partition(".")
            known = name in self.service_objects or name in INFRASTRUCTURE
            if not known or rest not in ("", NAMESPACE, f"{NAMESPACE}.svc", f"{NAMESPACE}.svc.cluster.local"):
                return match.group(0)
            scheme = match.group("scheme")
            address, port = self.endpoint(name, int(match.group("port") or SCHEME_PORTS.get(scheme, 0)))
            return f"{scheme}://{match.group('user') or ''}{address}:{port}"

        return pattern.sub(substitute, value)

    def secret_value(self, name: str, key: str, optional: bool, where: str) -> str | None:
        secret = self.secrets.get(name)
        if secret is None or key not in secret:
            if optional:
                return None
            raise Failure(f"{where}: Secret {name} key {key} does not exist (the pod would stay in CreateContainerConfigError)")
        return secret[key]

    def container_env(self, pod: dict, container: dict, pod_name: str, image: Image, injected: dict[str, str]) -> dict[str, str]:
        where = f"container {container['name']}"
        env = dict(image.env)
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                name = source["configMapRef"]["name"]
                if name not in self.config_maps:
                    raise Failure(f"{where}: ConfigMap {name} does not exist")
                env.update(self.config_maps[name])
            if "secretRef" in source:
                name = source["secretRef"]["name"]
                if name not in self.secrets:
                    raise Failure(f"{where}: Secret {name} does not exist")
                env.update(self.secrets[name])
        for item in container.get("env") or []:
            name = item["name"]
            if "value" in item:
                env[name] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), str(item["value"]))
                continue
            source = item.get("valueFrom") or {}
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                value = self.secret_value(ref["name"], ref["key"], ref.get("optional", False), where)
            elif "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                value = self.config_maps.get(ref["name"], {}).get(ref["key"])
                if value is None and not ref.get("optional", False):
                    raise Failure(f"{where}: ConfigMap {ref['name']} key {ref['key']} does not exist")
            elif "fieldRef" in source:
                path = source["fieldRef"]["fieldPath"]
                value = {"metadata.name": pod_name, "metadata.namespace": NAMESPACE,
                         "status.podIP": "127.0.0.1", "spec.nodeName": "minikube"}.get(path)
                if value is None:
                    raise Failure(f"{where}: fieldRef {path} is not played by the runner")
            else:
                raise Failure(f"{where}: env {name} has a source the runner does not know: {source}")
            if value is not None:
                env[name] = value
        for name, value in injected.items():
            env.setdefault(name, value)  # the injector never overwrites a name the container has
        resolved = {name: self.resolve_dns(value) for name, value in env.items()}
        return {**base_env(), **resolved}


def pod_name_of(deployment: dict) -> str:
    return f"{deployment['metadata']['name']}-{secrets.token_hex(5)}-{secrets.token_hex(3)[:5]}"


def dapr_configurations(folder: Path) -> set[str]:
    names = set()
    for path in folder.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "Configuration":
                names.add(doc["metadata"]["name"])
    return names


def run_helm(run: Run) -> "Endpoints":
    network = PodNetwork()
    run.network = network
    docs = helm_template() + operator_secrets(run.database)
    cluster = Cluster(docs, network.gateway)
    frontend_image = read_dockerfile(ROOT / "docker" / "frontend.Dockerfile")
    rust_image = read_dockerfile(ROOT / "docker" / "rust.Dockerfile")
    # This machine's Postgres and Redis, where the pods find the `postgres` and `redis` Services.
    for ports in INFRASTRUCTURE.values():
        for port in ports:
            forward_in_background((network.gateway, port), ("127.0.0.1", port))

    def image_of(container: dict) -> tuple[str, Image]:
        repository = container["image"].rsplit(":", 1)[0]
        return repository, frontend_image if repository == "taskfleet/frontend" else rust_image

    def start_container(name: str, namespace: str, pod: dict, container: dict, pod_name: str, injected: dict[str, str]) -> Proc:
        repository, image = image_of(container)
        argv, cwd = local_command(repository, (container.get("command") or []) + (container.get("args") or []), image)
        env = cluster.container_env(pod, container, pod_name, image, injected)
        log(f"pod {pod_name}: {' '.join(argv)}")
        return run.start(name, ["ip", "netns", "exec", namespace, *argv], env, cwd)

    # Every Deployment's pod gets its namespace and address first: Services resolve to them.
    pods = {}
    for deployment in cluster.deployments:
        namespace, address = network.add_pod()
        cluster.addresses[deployment["metadata"]["name"]] = address
        pods[deployment["metadata"]["name"]] = (namespace, address, pod_name_of(deployment))

    # 1. The pre-install hook: migrations, in a pod of its own.
    for job in cluster.jobs:
        if "pre-install" not in job["metadata"].get("annotations", {}).get("helm.sh/hook", ""):
            continue
        namespace, _ = network.add_pod()
        pod = job["spec"]["template"]
        for container in pod["spec"]["containers"]:
            proc = start_container("migrate", namespace, pod, container, pod_name_of(job), {})
            try:
                code = proc.popen.wait(timeout=120)
            except subprocess.TimeoutExpired:
                raise Failure("the migration job did not finish within 120 s")
            if code != 0:
                raise Failure(f"the migration job failed ({code}):\n{tail(proc.log_path)}")

    # 2. The Deployments, with the injector's env and a sidecar per Dapr-enabled pod.
    configurations = dapr_configurations(ROOT / "k8s-dapr")
    sidecar_apps: list[str] = []
    sidecar_env = base_env()
    readiness: list[tuple[str, str]] = []
    for index, deployment in enumerate(cluster.deployments):
        name = deployment["metadata"]["name"]
        namespace, address, pod_name = pods[name]
        pod = deployment["spec"]["template"]
        annotations = pod["metadata"].get("annotations") or {}
        injected: dict[str, str] = {}
        if annotations.get("dapr.io/enabled") == "true":
            app_id = annotations.get("dapr.io/app-id") or name
            app_port = annotations.get("dapr.io/app-port")
            if not app_port:
                raise Failure(f"{app_id}: dapr.io/app-port is missing (daprd would never reach the app)")
            config = annotations.get("dapr.io/config")
            if config and config not in configurations:
                raise Failure(f"{app_id}: dapr.io/config {config} names no Configuration in k8s-dapr/")
            # daprd listens on the pod's localhost:3500; here the pod's 3500 leads to its sidecar.
            sidecar_port = free_port()
            run.start(f"{name}-localhost-3500", ["ip", "netns", "exec", namespace, sys.executable, __file__, "forward",
                                                 "127.0.0.1:3500", f"{network.gateway}:{sidecar_port}"], base_env())
            injected = {"DAPR_HTTP_PORT": "3500", "DAPR_GRPC_PORT": "50001",
                        "APP_PROTOCOL": annotations.get("dapr.io/app-protocol", "http")}
            spec = f"{app_id}:{app_port}:{sidecar_port},pod={pod_name},app-address={address}"
            if annotations.get("dapr.io/enable-app-health-check") == "true":
                spec += f",health={annotations.get('dapr.io/app-health-check-path', '/healthz')}"
                for annotation, option in (("dapr.io/app-health-probe-interval", "health-interval"),
                                           ("dapr.io/app-health-probe-timeout", "health-timeout"),
                                           ("dapr.io/app-health-threshold", "health-threshold")):
                    if annotations.get(annotation):
                        spec += f",{option}={annotations[annotation]}"
            for annotation, option, variable in (("dapr.io/app-token-secret", "app-token-env", f"APP_TOKEN_{index}"),
                                                 ("dapr.io/api-token-secret", "api-token-env", f"API_TOKEN_{index}")):
                secret = annotations.get(annotation)
                if secret:
                    sidecar_env[variable] = cluster.secret_value(secret, "token", False, f"{app_id} {annotation}") or ""
                    spec += f",{option}={variable}"
                else:
                    spec += f",{option}=NO_TOKEN_GIVEN"
            sidecar_apps.append(spec)
            readiness.append((f"{app_id}'s sidecar", f"http://{network.gateway}:{sidecar_port}/v1.0/healthz"))
        for container in pod["spec"]["containers"]:
            start_container(name, namespace, pod, container, pod_name, injected)
            probe = container.get("readinessProbe", {}).get("httpGet")
            if probe:
                port = cluster.container_port(pod, probe["port"])
                readiness.append((name, f"http://{address}:{port}{probe['path']}"))

    secrets_file = run.work / "kubernetes-secrets.yaml"
    secrets_file.write_text(yaml.safe_dump_all([d for d in docs if d["kind"] == "Secret"]))
    secrets_file.chmod(0o600)
    argv = [str(BIN_DIR / "dev-sidecar"), "--mode", "kubernetes", "--resources", str(ROOT / "k8s-dapr"),
            "--kubernetes-secrets", str(secrets_file), "--host-alias", "redis=127.0.0.1",
            "--broker-topics", str(ROOT / "k8s-dapr" / "topics.txt"), "--listen-address", network.gateway]
    for spec in sidecar_apps:
        argv += ["--app", spec]
    log(f"dev sidecar (kubernetes mode) for {len(sidecar_apps)} pods")
    run.start("dev-sidecar", argv, {**sidecar_env, "RUST_LOG": "info"})

    for what, url in readiness:
        wait_until(f"{what} ready ({url})", lambda url=url: http_status(url) in (200, 204), READY_WITHIN, run)

    # The Ingress, as the ingress controller serves it: browsers and this journey reach the
    # host's rules through it.
    ingresses = [d for d in docs if d["kind"] == "Ingress"]
    if len(ingresses) != 1:
        raise Failure(f"expected one Ingress in the rendered chart, found {len(ingresses)}")
    rule = ingresses[0]["spec"]["rules"][0]
    routes = []
    for path in rule["http"]["paths"]:
        service = path["backend"]["service"]
        routes.append((path["path"], path["pathType"], cluster.endpoint(service["name"], service["port"]["number"])))
    ingress_port = free_port()
    ready = threading.Event()
    threading.Thread(target=serve_ingress, args=(("127.0.0.1", ingress_port), rule["host"], routes, ready), daemon=True).start()
    ready.wait(5)
    frontend = next(d for d in cluster.deployments if d["metadata"]["name"] == "frontend")
    frontend_env = cluster.config_maps.get("frontend", {}).copy()
    frontend_env.update({e["name"]: e.get("value") for e in frontend["spec"]["template"]["spec"]["containers"][0].get("env") or []})
    ui = frontend_env["BETTER_AUTH_URL"]
    if re.sub(r"^https?://", "", ui).rstrip("/") != rule["host"]:
        raise Failure(f"BETTER_AUTH_URL {ui} is not the ingress host {rule['host']}: sign-in would refuse the browser's origin")
    log(f"ingress for {rule['host']} on 127.0.0.1:{ingress_port}: {[(p, k) for p, k, _ in routes]}")
    endpoints = Endpoints(ui=ui, realtime=frontend_env.get("REALTIME_URL") or "ws://127.0.0.1:8001",
                          connect=("127.0.0.1", ingress_port))
    return endpoints


# ---------------------------------------------------------------------------------------------
# dapr.yaml (Multi-App Run)


def run_dapr(run: Run) -> "Endpoints":
    spec = yaml.safe_load((ROOT / "dapr.yaml").read_text())
    common = spec.get("common") or {}
    # scripts/dapr-run exports these; the dapr CLI hands its environment to every app and daprd.
    exported = {"APP_API_TOKEN": secrets.token_hex(32), "DAPR_API_TOKEN": secrets.token_hex(32),
                "JWT_SECRET": secrets.token_hex(32)}
    cli_env = {**base_env(), **exported}

    def with_run_database(env: dict[str, str]) -> dict[str, str]:
        if env.get("DATABASE_URL"):
            env["DATABASE_URL"] = re.sub(r"(postgres(?:ql)?://[^/]+)/[^/?]*", f"\\1/{run.database}", env["DATABASE_URL"])
        return env

    resources = {str(Path(common.get("resourcesPath", "")))} if common.get("resourcesPath") else set(common.get("resourcesPaths") or [])
    apps = spec["apps"]
    sidecar_apps = []
    readiness = []
    migrated = False
    for app in apps:
        app_dir = (ROOT / app["appDirPath"]).resolve()
        command = app["command"]
        match = re.fullmatch(r"cargo run(?: --release)?(?: --locked)? -p ([a-z-]+)", " ".join(command))
        if not match:
            raise Failure(f"{app['appID']}: command {command} is not `cargo run -p <package>`")
        binary = BIN_DIR / match.group(1)
        if not binary.exists():
            raise Failure(f"{binary} is missing: cargo build first")
        app_port = int(app["appPort"])
        dapr_port = int(app.get("daprHTTPPort") or free_port())
        env = {**cli_env, **{k: str(v) for k, v in (common.get("env") or {}).items()},
               **{k: str(v) for k, v in (app.get("env") or {}).items()},
               "APP_ID": app["appID"], "APP_PORT": str(app_port), "DAPR_HTTP_PORT": str(dapr_port),
               "DAPR_GRPC_PORT": str(app.get("daprGRPCPort") or free_port()), "DAPR_METRICS_PORT": str(free_port()),
               "APP_PROTOCOL": app.get("appProtocol", common.get("appProtocol", "http")), "APP_CHANNEL_ADDRESS": "127.0.0.1"}
        env = with_run_database(env)
        if not migrated:
            # The first step dapr.yaml's header asks for: `backend-api migrate`.
            proc = run.start("migrate", [str(BIN_DIR / "backend-api"), "migrate"], env, app_dir)
            if proc.popen.wait(timeout=120) != 0:
                raise Failure(f"backend-api migrate failed:\n{tail(proc.log_path)}")
            migrated = True
        if port_open(app_port) or port_open(dapr_port):
            raise Failure(f"port {app_port} or {dapr_port} is taken: stop what runs there first")
        log(f"app {app['appID']}: {binary.name} on {app_port}, daprd on {dapr_port}")
        run.start(app["appID"], [str(binary)], env, app_dir)
        sidecar = f"{app['appID']}:{app_port}:{dapr_port}"
        settings = {**common, **app}
        if settings.get("enableAppHealthCheck"):
            sidecar += f",health={settings.get('appHealthCheckPath', '/healthz')}"
            for key, option in (("appHealthProbeInterval", "health-interval"), ("appHealthProbeTimeout", "health-timeout"),
                                ("appHealthThreshold", "health-threshold")):
                if settings.get(key):
                    sidecar += f",{option}={settings[key]}"
        sidecar_apps.append(sidecar)
        health = app.get("appHealthCheckPath", common.get("appHealthCheckPath", "/healthz"))
        readiness.append((app["appID"], f"http://127.0.0.1:{app_port}{health}"))
        readiness.append((f"{app['appID']}'s daprd", f"http://127.0.0.1:{dapr_port}/v1.0/healthz/outbound"))
    argv = [str(BIN_DIR / "dev-sidecar"), "--mode", "standalone"]
    for path in sorted(resources):
        argv += ["--resources", str((ROOT / path).resolve())]
    for app in sidecar_apps:
        argv += ["--app", app]
    log("dev sidecar (standalone mode) for every app of dapr.yaml")
    run.start("dev-sidecar", argv, {**cli_env, "RUST_LOG": "info"})

    # The UI beside it (README): the standalone build, its database and secret, port 3000.
    jwks = (common.get("env") or {}).get("AUTH_JWKS_URL", "")
    ui_port = int(re.search(r":(\d+)/", jwks).group(1)) if jwks else 3000
    ui_env = with_run_database({**base_env(), "NODE_ENV": "production", "PORT": str(ui_port), "HOSTNAME": "127.0.0.1",
                                "DATABASE_URL": str((common.get("env") or {}).get("DATABASE_URL", "")),
                                "BETTER_AUTH_SECRET": secrets.token_hex(32), "BETTER_AUTH_URL": f"http://localhost:{ui_port}"})
    log(f"UI: node server.js on {ui_port}")
    run.start("frontend", [shutil.which("node") or "node", "server.js"], ui_env, FRONTEND_STANDALONE)
    readiness.append(("frontend", f"http://127.0.0.1:{ui_port}/"))
    for name, url in readiness:
        wait_until(f"{name} ready ({url})", lambda url=url: http_status(url) in (200, 204), READY_WITHIN, run)
    # The UI's REALTIME_URL is unset here: its default, fleet's and dapr.yaml's websocket port.
    return Endpoints(ui=f"http://localhost:{ui_port}", realtime="ws://127.0.0.1:8001")


# ---------------------------------------------------------------------------------------------
# The journey, through the UI's route handlers


@dataclass
class Endpoints:
    ui: str        # the URL the browser opens (BETTER_AUTH_URL)
    realtime: str  # REALTIME_URL: the browser's WebSocket endpoint (a path: the UI's host)
    # Where the UI's host name leads (the ingress), when it does not resolve here.
    connect: tuple[str, int] | None = None

    def realtime_url(self) -> str:
        if self.realtime.startswith("/"):
            return re.sub(r"^http", "ws", self.ui.rstrip("/")) + self.realtime
        return self.realtime

    def route(self, url: str) -> tuple[str, dict[str, str], tuple[str, int] | None]:
        """The URL to open, extra headers, and the socket address for `url` (a URL of the UI's
        host goes to `connect` with its Host header, as DNS would lead a browser there)."""
        ui_host = re.sub(r"^\w+://", "", self.ui).split("/", 1)[0]
        scheme, rest = url.split("://", 1)
        host = rest.split("/", 1)[0]
        if self.connect is None or host != ui_host:
            return url, {}, None
        local = f"{scheme}://{self.connect[0]}:{self.connect[1]}" + rest[len(host):]
        return local, {"Host": ui_host}, self.connect


class Browser:
    """Cookies and the Origin header, as a browser on the UI's page sends them."""

    def __init__(self, endpoints: "Endpoints"):
        self.endpoints = endpoints
        self.ui = endpoints.ui.rstrip("/")
        self.cookies: dict[str, str] = {}
        self.last_headers = None
        self.last_status = 0

    def call(self, method: str, path: str, body=None, expect: tuple[int, ...] = (200,)):
        data = json.dumps(body).encode() if body is not None else None
        url, extra, _ = self.endpoints.route(self.ui + path)
        request = urllib.request.Request(url, data=data, method=method, headers=extra)
        request.add_header("Origin", self.ui)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            response = urllib.request.urlopen(request, timeout=20)
            status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, raw = error.code, error.headers, error.read()
        self.last_headers = headers
        self.last_status = status
        for cookie in headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        text = raw.decode(errors="replace")
        if status not in expect:
            raise Failure(f"{method} {path} answered {status} (expected {expect}): {text[:500]}")
        try:
            return json.loads(text) if text else None
        except json.JSONDecodeError:
            return text


class Pushes:
    """Collects what one realtime connection receives."""

    def __init__(self, name: str):
        self.name = name
        self.items: list[dict] = []
        self.lock = threading.Lock()

    def add(self, item: dict) -> None:
        with self.lock:
            self.items.append(item)

    def find(self, predicate) -> dict | None:
        with self.lock:
            return next((item for item in self.items if predicate(item)), None)

    def wait(self, what: str, predicate, within: float, run: Run) -> dict:
        return wait_until(f"{what} on the {self.name}", lambda: self.find(predicate), within, run)


def open_websocket(url: str, endpoints: "Endpoints", pushes: Pushes, stop: threading.Event) -> threading.Thread:
    _, _, address = endpoints.route(url.replace("ws", "http", 1))
    sock = socket.create_connection(address, timeout=10) if address else None
    socket_ = ws_connect(url, open_timeout=10, sock=sock)

    def read():
        with socket_:
            while not stop.is_set():
                try:
                    message = socket_.recv(timeout=0.5)
                except TimeoutError:
                    continue
                except Exception:
                    return
                try:
                    pushes.add(json.loads(message))
                except (TypeError, json.JSONDecodeError):
                    pass

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def open_sse(url: str, endpoints: "Endpoints", pushes: Pushes, stop: threading.Event) -> threading.Thread:
    local, extra, _ = endpoints.route(url)
    response = urllib.request.urlopen(urllib.request.Request(local, headers={"Accept": "text/event-stream", **extra}), timeout=60)
    if response.status != 200:
        raise Failure(f"SSE answered {response.status}")

    def read():
        with response:
            while not stop.is_set():
                try:
                    line = response.readline()
                except OSError:
                    return
                if not line:
                    return
                text = line.decode(errors="replace").rstrip("\r\n")
                if text.startswith("data:"):
                    try:
                        pushes.add(json.loads(text[5:].strip()))
                    except json.JSONDecodeError:
                        pass

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def journey(endpoints: Endpoints, run: Run) -> None:
    browser = Browser(endpoints)
    email = f"rendered-{uuid.uuid4().hex[:10]}@example.com"
    browser.call("POST", "/api/auth/sign-up/email", {"email": email, "password": "a long enough password 1", "name": "Rendered Run"})
    log(f"signed up {email}")
    # The page's CSP lets the browser reach exactly the realtime URL the server runs with.
    browser.call("GET", "/sign-in")
    csp = browser.last_headers.get("Content-Security-Policy") or ""
    if endpoints.realtime.startswith("/"):
        expected = "connect-src 'self';"
    else:
        origin = re.match(r"^(\w+)://([^/]+)", endpoints.realtime)
        expected = f"connect-src 'self' {origin.group(1)}://{origin.group(2)} http://{origin.group(2)}"
    if expected not in csp:
        raise Failure(f"the UI's Content-Security-Policy lacks `{expected}`: {csp}")
    token = browser.call("GET", "/api/auth/token")
    if not isinstance(token, dict) or not token.get("token"):
        raise Failure(f"/api/auth/token gave no JWT: {token}")

    realtime = endpoints.realtime_url()
    if not realtime.rstrip("/").endswith("/ws"):
        realtime = realtime.rstrip("/") + "/ws"
    sse_url = re.sub(r"^ws", "http", realtime).rsplit("/ws", 1)[0] + "/api/sse"
    stop = threading.Event()
    socket_pushes, stream_pushes = Pushes("WebSocket"), Pushes("SSE stream")
    threads = []
    try:
        ticket = browser.call("POST", "/api/realtime/ticket")["ticket"]
        threads.append(open_websocket(f"{realtime}?token={ticket}", endpoints, socket_pushes, stop))
        ticket = browser.call("POST", "/api/realtime/ticket")["ticket"]
        threads.append(open_sse(f"{sse_url}?token={ticket}", endpoints, stream_pushes, stop))
        log(f"WebSocket ({realtime}) and SSE ({sse_url}) connected with tickets")

        # Add a task with a reminder a few seconds ahead: both connections see it, then the reminder.
        remind_at = datetime.now(timezone.utc) + timedelta(seconds=4)
        task = browser.call("POST", "/api/tasks", {"title": "Pay rent", "reminder_at": rfc3339(remind_at), "priority": "high"}, expect=(201,))
        task_id = task["id"]
        for pushes in (socket_pushes, stream_pushes):
            pushes.wait("task.created", lambda p: p.get("type") == "task.created" and p.get("task_id") == task_id, 30, run)
        log("the new task was pushed to both connections")
        socket_pushes.wait("reminder.due", lambda p: p.get("type") == "reminder.due" and p.get("task_id") == task_id, 90, run)
        notifications = browser.call("GET", "/api/notifications")
        if not any(n.get("task_id") == task_id for n in notifications.get("items", [])):
            raise Failure(f"the reminder is not in /api/notifications: {notifications}")
        log("the reminder fired and is listed in the notifications")

        # A daily task, completed: recurring creates the next occurrence once, and it is pushed.
        due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=2)
        daily = browser.call("POST", "/api/tasks", {"title": "Water the plants", "due_date": rfc3339(due), "recurring_rule": "daily"}, expect=(201,))
        browser.call("POST", f"/api/tasks/{daily['id']}/complete")
        pushed = socket_pushes.wait("the next occurrence", lambda p: p.get("type") == "task.created" and p.get("task_id") != daily["id"]
                                    and (p.get("task") or {}).get("title") == "Water the plants", 60, run)
        next_id = pushed["task_id"]
        pending = browser.call("GET", "/api/tasks?status=pending&q=Water")
        occurrences = [t for t in pending["items"] if t["title"] == "Water the plants"]
        if [t["id"] for t in occurrences] != [next_id]:
            raise Failure(f"expected exactly one next occurrence {next_id}, found {occurrences}")
        next_due = datetime.fromisoformat(occurrences[0]["due_date"].replace("Z", "+00:00"))
        if next_due - due != timedelta(days=1):
            raise Failure(f"the next occurrence is due {next_due}, not a day after {due}")
        log("completing the daily task created its next occurrence, due a day later")

        # The audit trail: the user's changes and recurring's creation, each once.
        def trail(task: str, wanted: set[str]):
            def probe():
                # 502/503 while audit is restarting (after the kill below): not yet.
                page = browser.call("GET", f"/api/audit?task_id={task}", expect=(200, 502, 503))
                entries = page.get("items", []) if browser.last_status == 200 else []
                return entries if entries and wanted <= {e["event_type"] for e in entries} else None
            return wait_until(f"the audit trail of {task} to hold {sorted(wanted)}", probe, 30, run)

        trail(task_id, {"task-created"})
        entries = trail(daily["id"], {"task-created", "task-completed"})
        if any(e["actor"] != "user" for e in entries):
            raise Failure(f"the user's own changes are recorded with another actor: {entries}")
        created = trail(next_id, {"task-created"})
        if [e["actor"] for e in created] != ["recurring"]:
            raise Failure(f"the next occurrence's creation should be recorded once, by recurring: {created}")
        log("the audit trail holds every change with its actor")

        # A consumer down, then back: audit is killed while tasks change; its sidecar retries
        # the deliveries (the shipped Resiliency) until it is back, and nothing is lost.
        dead = run.kill("audit")
        changed = [browser.call("POST", "/api/tasks", {"title": f"While audit is down {n}"}, expect=(201,))["id"] for n in range(3)]
        time.sleep(2)  # the outage: deliveries fail meanwhile
        run.start_again(dead)
        for task in changed:
            trail(task, {"task-created"})
        log("audit was killed and restarted: the changes made meanwhile are all in the trail")

        if endpoints.connect is not None:
            # Agents reach /mcp on the same host: its metadata names the URL tokens must carry.
            metadata = browser.call("GET", "/.well-known/oauth-protected-resource/mcp")
            if metadata.get("resource") != endpoints.ui.rstrip("/") + "/mcp":
                raise Failure(f"/mcp announces {metadata.get('resource')}, not {endpoints.ui}/mcp")
            browser.call("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "ping"}, expect=(401,))
            challenge = browser.last_headers.get("WWW-Authenticate") or ""
            if "resource_metadata=" not in challenge:
                raise Failure(f"/mcp without a token gave no resource metadata: {challenge!r}")
            log("/mcp answers through the ingress with its metadata")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=3)


def main() -> int:
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which == "forward":  # forward LISTEN_HOST:PORT TARGET_HOST:PORT (run inside a pod's namespace)
        listen, target = (arg.rsplit(":", 1) for arg in sys.argv[2:4])
        serve_forward((listen[0], int(listen[1])), (target[0], int(target[1])))
        return 0
    modes = {"helm": [("helm", run_helm)], "dapr-run": [("dapr_run", run_dapr)],
             "all": [("helm", run_helm), ("dapr_run", run_dapr)]}.get(which)
    if modes is None:
        print(__doc__)
        return 2
    failures = 0
    for label, start in modes:
        log(f"== {label}")
        run = Run.create(label)
        failed = True
        try:
            endpoints = start(run)
            journey(endpoints, run)
            failed = False
            log(f"== {label}: the whole journey passed")
        except Failure as failure:
            print(f"FAIL {label}: {failure}", flush=True)
        finally:
            run.close(failed)
        failures += failed
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
