#!/usr/bin/env python3
"""Project rules for the deployment artifacts that no schema expresses (issue 4).

Reads the Helm renderings given on the command line plus k8s-dapr/, dapr/components/,
dapr.yaml, .env.example, docker/ and crates/common/src/events.rs of this repository. Prints one
`PASS <rule>` or `FAIL <rule>: <why>` line per rule and exits 1 if any rule failed.
Usage: check_deploy_rules.py RENDERED.yaml...
"""
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
# docs/contract.md §2: app-id -> (app port, dev sidecar HTTP port)
SERVICES = {
    "backend-api": (8000, 3500),
    "websocket": (8001, 3501),
    "recurring": (8002, 3502),
    "notification": (8003, 3503),
    "audit": (8004, 3504),
}
# What the frontend (issue 5) reads until frontend/.env.example exists; PORT and HOSTNAME are
# the Next.js standalone server's own.
FRONTEND_ENV_FALLBACK = {"REALTIME_URL", "BETTER_AUTH_SECRET", "BETTER_AUTH_URL",
                         "DATABASE_URL", "PORT", "HOSTNAME"}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE|API_KEY|CREDENTIAL|DATABASE_URL", re.I)
SECRET_VALUE = re.compile(r"://[^/\s:@]+:[^@\s]+@|-----BEGIN|^[A-Za-z0-9+/_=-]{32,}$")
DAPR_REQUIRED = ["dapr.io/enabled", "dapr.io/app-id", "dapr.io/app-port", "dapr.io/config",
                 "dapr.io/log-as-json", "dapr.io/sidecar-cpu-request",
                 "dapr.io/sidecar-memory-request", "dapr.io/sidecar-cpu-limit",
                 "dapr.io/sidecar-memory-limit", "dapr.io/enable-app-health-check",
                 "dapr.io/app-health-check-path", "dapr.io/graceful-shutdown-seconds"]
DRAIN_SECONDS = 10  # SIGTERM -> exit, docs/contract.md §2

results = []


def rule(name):
    def register(fn):
        results.append((name, fn))
        return fn
    return register


def load_all(paths):
    docs = []
    for path in paths:
        for doc in yaml.safe_load_all(pathlib.Path(path).read_text()):
            if doc:
                docs.append(doc)
    return docs


def env_names(path):
    names = set()
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


# The rules that read rendered objects run once per rendering (default values, production
# values, ...): OBJECTS is rebound for each by main().
RENDERINGS = [(pathlib.Path(p).stem, load_all([p])) for p in sys.argv[1:]]
OBJECTS = []
DAPR_OBJECTS = load_all(sorted((ROOT / "k8s-dapr").glob("*.yaml"))) + \
    load_all(sorted((ROOT / "dapr/components").glob("*.yaml")))


def workloads():
    for obj in OBJECTS:
        if obj["kind"] in ("Deployment", "Job"):
            yield obj, obj["spec"]["template"]


def containers():
    for obj, template in workloads():
        for container in template["spec"].get("containers", []):
            yield obj, container


@rule("every Dapr component has top-level scopes naming known app-ids")
def components_scoped():
    problems = []
    for obj in DAPR_OBJECTS:
        if obj.get("kind") not in ("Component", "Resiliency"):
            continue
        scopes = obj.get("scopes") or []
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if not scopes:
            problems.append(f"{name} has no scopes")
        unknown = set(scopes) - set(SERVICES)
        if unknown:
            problems.append(f"{name} scopes unknown app-ids {sorted(unknown)}")
    return problems


@rule("local and cluster components define the same names and scopes")
def components_match():
    def index(paths):
        return {o["metadata"]["name"]: sorted(o.get("scopes") or [])
                for o in load_all(paths) if o.get("kind") == "Component"}
    local = index(sorted((ROOT / "dapr/components").glob("*.yaml")))
    cluster = index(sorted((ROOT / "k8s-dapr").glob("*.yaml")))
    return [f"{name}: local scopes {scopes} != cluster {cluster.get(name)}"
            for name, scopes in local.items() if cluster.get(name) != scopes]


@rule("every Rust service Deployment has the Dapr annotations, matching app-id and port")
def dapr_annotations():
    problems, seen = [], set()
    for obj, template in workloads():
        if obj["kind"] != "Deployment":
            continue
        name = obj["metadata"]["name"]
        ann = template["metadata"].get("annotations") or {}
        if name not in SERVICES and ann.get("dapr.io/enabled") != "true":
            continue
        seen.add(name)
        missing = [a for a in DAPR_REQUIRED if a not in ann]
        if missing:
            problems.append(f"{name}: missing {missing}")
            continue
        port = template["spec"]["containers"][0]["ports"][0]["containerPort"]
        expect = {"dapr.io/enabled": "true", "dapr.io/app-id": name,
                  "dapr.io/app-port": str(port), "dapr.io/log-as-json": "true",
                  "dapr.io/enable-app-health-check": "true",
                  "dapr.io/app-health-check-path": "/healthz"}
        if name in SERVICES:
            expect["dapr.io/app-port"] = str(SERVICES[name][0])
        for key, value in expect.items():
            if ann.get(key) != value:
                problems.append(f"{name}: {key}={ann.get(key)!r}, want {value!r}")
    missing = set(SERVICES) - seen
    if missing and OBJECTS:
        problems.append(f"no Deployment rendered for {sorted(missing)}")
    return problems


@rule("every Deployment has liveness and readiness probes (/healthz, /readyz for services)")
def probes():
    problems = []
    for obj, container in containers():
        if obj["kind"] != "Deployment":
            continue
        name = obj["metadata"]["name"]
        for kind in ("livenessProbe", "readinessProbe"):
            if kind not in container:
                problems.append(f"{name}: no {kind}")
        if name in SERVICES:
            live = container.get("livenessProbe", {}).get("httpGet", {}).get("path")
            ready = container.get("readinessProbe", {}).get("httpGet", {}).get("path")
            if (live, ready) != ("/healthz", "/readyz"):
                problems.append(f"{name}: probes {live}, {ready}")
    return problems


@rule("shutdown: grace period outlasts preStop sleep plus the 10 s drain")
def shutdown():
    problems = []
    for obj, template in workloads():
        if obj["kind"] != "Deployment":
            continue
        spec, name = template["spec"], obj["metadata"]["name"]
        grace = spec.get("terminationGracePeriodSeconds", 30)
        for container in spec["containers"]:
            sleep = (container.get("lifecycle", {}).get("preStop", {})
                     .get("sleep", {}).get("seconds"))
            if sleep is None:
                problems.append(f"{name}: no preStop sleep")
            elif grace <= sleep + DRAIN_SECONDS:
                problems.append(f"{name}: grace {grace}s <= preStop {sleep}s + {DRAIN_SECONDS}s")
    return problems


@rule("a PodDisruptionBudget exactly for Deployments with more than one replica")
def pdbs():
    pdb_names = {o["metadata"]["name"] for o in OBJECTS if o["kind"] == "PodDisruptionBudget"}
    problems = []
    for obj in OBJECTS:
        if obj["kind"] != "Deployment":
            continue
        name, many = obj["metadata"]["name"], obj["spec"].get("replicas", 1) > 1
        if many != (name in pdb_names):
            problems.append(f"{name}: replicas {obj['spec'].get('replicas')} but PDB {name in pdb_names}")
    return problems


@rule("no literal secrets in env vars, ConfigMaps or components")
def no_literal_secrets():
    problems = []
    for obj, container in containers():
        for env in container.get("env", []):
            value = env.get("value")
            if value is None:
                continue
            if SECRET_NAME.search(env["name"]) or SECRET_VALUE.search(str(value)):
                problems.append(f"{obj['metadata']['name']}: env {env['name']} is a literal")
    for obj in OBJECTS:
        if obj["kind"] == "ConfigMap":
            for key, value in (obj.get("data") or {}).items():
                if SECRET_NAME.search(key) or SECRET_VALUE.search(str(value)):
                    problems.append(f"ConfigMap {obj['metadata']['name']}: {key}")
        if obj["kind"] == "Secret" and obj["metadata"]["name"] not in token_secret_names():
            problems.append(f"the chart renders Secret {obj['metadata']['name']}; the operator creates them")
    for obj in DAPR_OBJECTS:
        if obj.get("kind") != "Component":
            continue
        for item in obj["spec"].get("metadata") or []:
            value = item.get("value")
            if value and (SECRET_NAME.search(item["name"]) or SECRET_VALUE.search(str(value))):
                problems.append(f"Component {obj['metadata']['name']}: {item['name']} is a literal")
    return problems


def dapr_deployments():
    """(Deployment, pod annotations, app container) for every Deployment with a Dapr sidecar."""
    for obj, template in workloads():
        ann = template["metadata"].get("annotations") or {}
        if obj["kind"] != "Deployment" or ann.get("dapr.io/enabled") != "true":
            continue
        containers_ = template["spec"]["containers"]
        app = next((c for c in containers_ if c["name"] == obj["metadata"]["name"]), containers_[0])
        yield obj, ann, app


def secret_ref(container, name):
    """The secretKeyRef of env var `name` in `container`, or None."""
    for env in container.get("env", []):
        if env["name"] == name:
            return (env.get("valueFrom") or {}).get("secretKeyRef")
    return None


TOKEN_ANNOTATIONS = {"APP_API_TOKEN": "dapr.io/app-token-secret",
                     "DAPR_API_TOKEN": "dapr.io/api-token-secret"}


def token_secret_names():
    """The Secrets the Dapr token annotations of this rendering name."""
    return {ann[a] for _, ann, _ in dapr_deployments() for a in TOKEN_ANNOTATIONS.values() if a in ann}


@rule("every Dapr Deployment: app/API token annotations, the same Secrets as APP_API_TOKEN/DAPR_API_TOKEN in the app, APP_HOST")
def dapr_tokens():
    # The injector gives the token Secrets to daprd only; a service without APP_API_TOKEN
    # refuses to start (outside development), one with another value rejects every delivery.
    problems = []
    for obj, ann, app in dapr_deployments():
        name = obj["metadata"]["name"]
        for var, annotation in TOKEN_ANNOTATIONS.items():
            secret = ann.get(annotation)
            ref = secret_ref(app, var)
            if not secret:
                problems.append(f"{name}: no {annotation}")
            elif not ref:
                problems.append(f"{name}: {var} is not read from a secretKeyRef in container {app['name']}")
            elif (ref.get("name"), ref.get("key"), ref.get("optional", False)) != (secret, "token", False):
                problems.append(f"{name}: {var} from {ref.get('name')}/{ref.get('key')} (optional "
                                f"{ref.get('optional', False)}), but {annotation} is {secret} (key token)")
        host = [e for e in app.get("env", []) if e["name"] == "APP_HOST"]
        if not host:
            problems.append(f"{name}: no APP_HOST in the env of container {app['name']} (the services bind 127.0.0.1)")
        elif host[0].get("value") in (None, "127.0.0.1", "localhost", "::1"):
            problems.append(f"{name}: APP_HOST={host[0].get('value')!r}: probes, the Service and daprd cannot reach it")
    return problems


@rule("the chart's only Secrets: the Dapr token Secrets, generated once and kept (not hooks)")
def token_secrets():
    problems = []
    for obj in OBJECTS:
        if obj["kind"] != "Secret":
            continue
        name, ann = obj["metadata"]["name"], obj["metadata"].get("annotations") or {}
        if name not in token_secret_names():
            continue  # reported by the literal-secrets rule
        if set(obj.get("data") or {}) != {"token"} or obj.get("stringData"):
            problems.append(f"Secret {name}: keys {sorted(obj.get('data') or {})}, want only `token`")
        if ann.get("helm.sh/resource-policy") != "keep":
            problems.append(f"Secret {name}: no helm.sh/resource-policy: keep")
        if "helm.sh/hook" in ann:
            # A hook is recreated (before-hook-creation) on every upgrade; the token must
            # live with the release, its value carried over by lookup.
            problems.append(f"Secret {name}: is a Helm hook")
    # A literal token in the chart would render the same value every time; a generated one differs.
    seen = {}
    for label, objects in RENDERINGS:
        for obj in objects:
            if obj["kind"] == "Secret" and "token" in (obj.get("data") or {}):
                seen.setdefault(obj["metadata"]["name"], []).append((label, obj["data"]["token"]))
    for name, values in seen.items():
        tokens = [v for _, v in values]
        if len(tokens) != len(set(tokens)):
            problems.append(f"Secret {name}: the same token in several renderings {[l for l, _ in values]} (a literal?)")
    return problems


def selects(selector, labels):
    if selector.get("matchExpressions"):
        return False  # not used by the chart; treat as not proven
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


@rule("every Deployment has a NetworkPolicy; no policy opens daprd's 50002 or all ports")
def network_policies():
    problems = []
    policies = [o for o in OBJECTS if o["kind"] == "NetworkPolicy"]
    for obj, template in workloads():
        if obj["kind"] != "Deployment":
            continue
        name, labels = obj["metadata"]["name"], template["metadata"].get("labels") or {}
        mine = [p for p in policies if selects(p["spec"].get("podSelector") or {}, labels)]
        if not any("Ingress" in (p["spec"].get("policyTypes") or ["Ingress"]) for p in mine):
            problems.append(f"{name}: no NetworkPolicy (Ingress) selects its pods")
        dapr = (template["metadata"].get("annotations") or {}).get("dapr.io/enabled") == "true"
        for policy in mine:
            for entry in policy["spec"].get("ingress") or []:
                ports = {str(p.get("port")) for p in entry.get("ports") or []}
                if not ports:
                    problems.append(f"NetworkPolicy/{policy['metadata']['name']}: an ingress rule without ports opens every port")
                elif dapr and "50002" in ports:
                    problems.append(f"NetworkPolicy/{policy['metadata']['name']}: opens daprd's 50002 (service invocation, unused)")
    return problems


@rule("the Dapr Configuration the sidecars load denies service invocation")
def invocation_denied():
    configs = {o["metadata"]["name"]: o for o in DAPR_OBJECTS if o.get("kind") == "Configuration"}
    problems = []
    for name in sorted({ann.get("dapr.io/config") for _, ann, _ in dapr_deployments()}):
        config = configs.get(name)
        if not config:
            problems.append(f"no Configuration {name} in k8s-dapr/")
            continue
        acl = config["spec"].get("accessControl") or {}
        if acl.get("defaultAction") != "deny" or not acl.get("trustDomain"):
            problems.append(f"Configuration/{name}: accessControl {acl} (want defaultAction deny, a trustDomain)")
        for policy in acl.get("policies") or []:
            problems.append(f"Configuration/{name}: invocation policy for {policy.get('appId')}; taskfleet uses no invocation")
    return problems


@rule("env var names in the charts are those the code reads (.env.example)")
def env_subset():
    rust = env_names(ROOT / ".env.example")
    front_file = ROOT / "frontend/.env.example"
    front = env_names(front_file) | {"PORT", "HOSTNAME"} if front_file.exists() else FRONTEND_ENV_FALLBACK
    problems = []
    for obj in OBJECTS:
        name = obj["metadata"]["name"]
        allowed = front if name == "frontend" else rust
        names = set()
        if obj["kind"] == "ConfigMap":
            names = set((obj.get("data") or {}).keys())
        elif obj["kind"] in ("Deployment", "Job"):
            for container in obj["spec"]["template"]["spec"]["containers"]:
                names |= {e["name"] for e in container.get("env", [])}
        unknown = names - allowed
        if unknown:
            problems.append(f"{obj['kind']}/{name}: {sorted(unknown)} not in its .env.example")
    return problems


@rule("each service runs its own binary from its own image; migrate hook uses backend-api")
def images_and_commands():
    problems = []
    deployments = {o["metadata"]["name"]: o for o in OBJECTS if o["kind"] == "Deployment"}
    for name in SERVICES:
        if name not in deployments:
            continue
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        if container.get("command") != [f"/usr/local/bin/{name}"]:
            problems.append(f"{name}: command {container.get('command')}")
        if container["image"].rsplit(":", 1)[0].split("/")[-1] != name:
            problems.append(f"{name}: image {container['image']} is not named after the service")
    jobs = [o for o in OBJECTS if o["kind"] == "Job"]
    for job in jobs:
        hooks = set(job["metadata"].get("annotations", {}).get("helm.sh/hook", "").split(","))
        container = job["spec"]["template"]["spec"]["containers"][0]
        if hooks != {"pre-install", "pre-upgrade"}:
            problems.append(f"job {job['metadata']['name']}: hooks {sorted(hooks)}")
        if container.get("args") != ["migrate"]:
            problems.append(f"job {job['metadata']['name']}: args {container.get('args')}")
        api = deployments.get("backend-api")
        if api and container["image"] != api["spec"]["template"]["spec"]["containers"][0]["image"]:
            problems.append(f"job image {container['image']} is not backend-api's")
        ann = job["spec"]["template"]["metadata"].get("annotations") or {}
        if ann.get("dapr.io/enabled") == "true":
            problems.append("the migrate Job must not get a sidecar (it would never complete)")
    if OBJECTS and not jobs:
        problems.append("no migration Job rendered")
    return problems


@rule("topics.txt lists every topic of common::events (dead-letter topics: the fleet test)")
def topics():
    code = (ROOT / "crates/common/src/events.rs").read_text()
    module = re.search(r"pub mod topics \{(.*?)\n\}", code, re.S)
    wanted = set(re.findall(r'pub const [A-Z_]+: &str = "([a-z-]+)";', module.group(1) if module else ""))
    listed = {line.strip() for line in (ROOT / "k8s-dapr/topics.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    if not wanted:
        return ["found no topic constants in events.rs"]
    # Each consuming service has its own dead-letter topics (<service>-<topic>-dlq); the fleet
    # test topics_txt_lists_every_topic_the_services_use checks them against the subscriptions.
    dlqs = {t for t in listed if t.endswith("-dlq")}
    problems = [f"missing topics {sorted(wanted - listed)}"] if wanted - listed else []
    problems += [f"{t} is no <service>-<topic>-dlq" for t in sorted(dlqs)
                 if not any(t.endswith(f"-{w}-dlq") for w in wanted)]
    return problems


@rule("dapr.yaml matches docs/contract.md §2 (app-ids, ports, sidecar ports, components, health path)")
def multi_app_run():
    run = yaml.safe_load((ROOT / "dapr.yaml").read_text())
    problems = []
    common = run.get("common") or {}
    apps = {a["appID"]: a for a in run.get("apps", [])}
    if set(apps) != set(SERVICES):
        problems.append(f"apps {sorted(apps)}")
    for name, (port, sidecar) in SERVICES.items():
        app = apps.get(name)
        if not app:
            continue
        merged = {**common, **app}
        if merged.get("appPort") != port or merged.get("daprHTTPPort") != sidecar:
            problems.append(f"{name}: appPort {merged.get('appPort')} daprHTTPPort {merged.get('daprHTTPPort')}")
        if merged.get("command") != ["cargo", "run", "--release", "-p", name]:
            problems.append(f"{name}: command {merged.get('command')}")
        if merged.get("appHealthCheckPath") != "/healthz":
            problems.append(f"{name}: appHealthCheckPath {merged.get('appHealthCheckPath')}")
        resources = merged.get("resourcesPath")
        if not resources or not (ROOT / resources).is_dir():
            problems.append(f"{name}: resourcesPath {resources} is not a folder")
        unknown = set((merged.get("env") or {})) - env_names(ROOT / ".env.example")
        if unknown:
            problems.append(f"{name}: env {sorted(unknown)} not in .env.example")
    return problems


@rule("Dockerfiles: locked release build of every service, distroless non-root, no HEALTHCHECK")
def dockerfiles():
    problems = []
    rust = (ROOT / "docker/rust.Dockerfile").read_text()
    code = "\n".join(l for l in rust.splitlines() if not l.lstrip().startswith("#"))
    final = re.findall(r"^FROM\s+(\S+)", code, re.M)
    if not final or not final[-1].startswith("gcr.io/distroless/cc-debian12:nonroot"):
        problems.append(f"rust: final stage is {final[-1:] }")
    for needle in ("--locked", "--release", "USER nonroot"):
        if needle not in code:
            problems.append(f"rust: no {needle}")
    for name in SERVICES:
        if f"-p {name}" not in code and name not in code:
            problems.append(f"rust: does not build {name}")
    front = (ROOT / "docker/frontend.Dockerfile").read_text()
    front_code = "\n".join(l for l in front.splitlines() if not l.lstrip().startswith("#"))
    users = re.findall(r"^USER\s+(\S+)", front_code, re.M)
    if not users or users[-1] in ("root", "0"):
        problems.append("frontend: does not end as a non-root USER")
    for text, label in ((code, "rust"), (front_code, "frontend")):
        if re.search(r"^HEALTHCHECK", text, re.M):
            problems.append(f"{label}: HEALTHCHECK (Kubernetes probes decide)")
    ignore = (ROOT / ".dockerignore").read_text()
    for entry in ("target", "node_modules", ".git", "frontend/.next"):
        if entry not in ignore:
            problems.append(f".dockerignore lacks {entry}")
    return problems


def components_named(name):
    return [o for o in DAPR_OBJECTS if o.get("kind") == "Component" and o["metadata"]["name"] == name]


def metadata_of(component):
    return {m["name"]: m.get("value") for m in component["spec"].get("metadata") or []}


@rule("the reminder cron binding reaches only notification, as an input binding")
def cron_scoped():
    problems = []
    for component in components_named("reminder-cron"):
        if component.get("scopes") != ["notification"]:
            problems.append(f"reminder-cron scopes {component.get('scopes')} (every replica of every scoped app ticks)")
        if metadata_of(component).get("direction") != "input":
            problems.append("reminder-cron lacks direction: input")
    return problems or ([] if components_named("reminder-cron") else ["no reminder-cron component"])


@rule("the broadcast pub/sub reaches only websocket and gives every pod (or local process) its own group")
def broadcast_scoped():
    # daprd resolves {podName} from POD_NAME, which the injector sets on Kubernetes; under
    # `dapr run` nothing sets it and daprd stops with a fatal error, so the local component
    # uses {uuid} (one group per daprd process) instead (docs/dapr-behaviour.md §5).
    problems = []
    cluster = load_all(sorted((ROOT / "k8s-dapr").glob("*.yaml")))
    local = load_all(sorted((ROOT / "dapr/components").glob("*.yaml")))
    for where, objects, wanted in (("k8s-dapr", cluster, "{podName}"), ("dapr/components", local, "{uuid}")):
        found = [o for o in objects if o.get("kind") == "Component"
                 and o["metadata"]["name"] == "pubsub-broadcast"]
        if not found:
            problems.append(f"no pubsub-broadcast component in {where}")
        for component in found:
            meta = metadata_of(component)
            group = meta.get("consumerGroup") or meta.get("consumerID") or ""
            if component.get("scopes") != ["websocket"]:
                problems.append(f"{where}: pubsub-broadcast scopes {component.get('scopes')}")
            if wanted not in group:
                problems.append(f"{where}: pubsub-broadcast group {group!r} lacks {wanted}")
            if where == "dapr/components" and "{podName}" in group:
                problems.append("dapr/components: {podName} is fatal under `dapr run` (no POD_NAME)")
    return problems


@rule("the main pub/sub neither starts new groups at the newest offset nor disables retries")
def main_pubsub_keeps_history():
    problems = []
    for component in components_named("pubsub"):
        meta = metadata_of(component)
        if meta.get("initialOffset") == "newest":
            problems.append("pubsub: initialOffset newest loses events published before a consumer's first start")
        if meta.get("consumerGroup"):
            problems.append("pubsub: a shared consumerGroup makes the services compete for each event")
    for obj in DAPR_OBJECTS:
        if obj.get("kind") == "Resiliency":
            for name, retry in (obj["spec"].get("policies", {}).get("retries") or {}).items():
                if str(retry.get("maxRetries")) == "0":
                    problems.append(f"Resiliency retry policy {name} has maxRetries: 0")
    return problems


# Where a subscription may go without a dead-letter topic: the dead-letter inbox itself (its
# failures must be redelivered, never parked further) and websocket's pushes (worthless later).
WITHOUT_DEAD_LETTERS = {"crates/common/src/dead_letters.rs", "crates/websocket/src/events.rs"}


@rule("the frontend image builds without a database (SKIP_AUTH_MIGRATIONS=1 before next build)")
def frontend_build_skips_auth_migrations():
    # scripts/test-frontend builds with SKIP_AUTH_MIGRATIONS=1 for the same reason: next build
    # runs instrumentation.ts, which would migrate Better Auth's tables (issue 11, item 7).
    text = (ROOT / "docker/frontend.Dockerfile").read_text()
    stages = re.split(r"(?m)^FROM ", text)
    build = next((stage for stage in stages if re.search(r"(?m)^RUN npm run build", stage)), "")
    before = build.split("RUN npm run build")[0]
    if not re.search(r"(?m)^(ENV|ARG)\b.*SKIP_AUTH_MIGRATIONS=1", before):
        return ["docker/frontend.Dockerfile: the build stage runs next build without SKIP_AUTH_MIGRATIONS=1"]
    runtime = stages[-1]
    if "SKIP_AUTH_MIGRATIONS" in runtime:
        return ["docker/frontend.Dockerfile: the runtime stage must migrate at start"]
    return []


@rule("no Component takes the name of daprd's built-in Kubernetes secret store")
def no_duplicate_builtin_secret_store():
    # On Kubernetes every daprd provisions a secret store named `kubernetes` itself (Dapr docs,
    # "Kubernetes secrets": "a secret store with the name kubernetes is automatically
    # provisioned"); a Component of that name is a duplicate and the sidecar does not start
    # (issue 11). `auth.secretStore: kubernetes` uses the built-in one.
    return [f"{path}: Component named kubernetes duplicates the built-in secret store"
            for path in sorted((ROOT / "k8s-dapr").glob("*.yaml"))
            for obj in load_all([path])
            if obj.get("kind") == "Component" and obj["metadata"].get("name") == "kubernetes"]


@rule("every subscription the services declare has a dead-letter topic, but the inbox and pushes")
def subscriptions_have_dead_letters():
    # Programmatic subscriptions are built by common::delivery::DaprSubscription::new, which
    # always sets the consumer's dead-letter topic; no crate may build the struct by hand.
    problems = []
    for path in (ROOT / "crates").glob("*/src/**/*.rs"):
        if path.name == "delivery.rs":
            continue
        text, name = path.read_text(), str(path.relative_to(ROOT))
        if re.search(r"DaprSubscription\s*\{", text):
            problems.append(f"{name} builds a DaprSubscription without DaprSubscription::new")
        if "without_dead_letters(" in text and name not in WITHOUT_DEAD_LETTERS:
            problems.append(f"{name} subscribes without a dead-letter topic")
    for obj in DAPR_OBJECTS:
        if obj.get("kind") == "Subscription" and not obj["spec"].get("deadLetterTopic"):
            problems.append(f"Subscription/{obj['metadata']['name']} has no deadLetterTopic")
    return problems


def quantity(value, cpu):
    text = str(value)
    if cpu:
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


# What runs beside taskfleet in the Minikube of START.md: Redpanda (1 core, 2.5 GiB per the
# values there), the Dapr control plane (about 0.5 CPU / 0.5 GiB requested) and the ingress
# controller (0.1 CPU / 90 MiB, Minikube's addon).
MINIKUBE_CPU, MINIKUBE_MEMORY = 4.0, 8 * 2**30
NEIGHBOURS_CPU, NEIGHBOURS_MEMORY = 1.0 + 0.5 + 0.1, 2.5 * 2**30 + 0.5 * 2**30 + 90 * 2**20


@rule("the whole install's requests (services + sidecars + Redis + Postgres) fit a 4-CPU / 8-GiB Minikube beside Redpanda")
def requests_fit():
    cpu = memory = 0.0
    for obj, template in workloads():
        if obj["kind"] != "Deployment":
            continue
        replicas = obj["spec"].get("replicas", 1)
        ann = template["metadata"].get("annotations") or {}
        for container in template["spec"].get("containers", []):
            requests = (container.get("resources") or {}).get("requests") or {}
            cpu += replicas * quantity(requests.get("cpu", "0"), True)
            memory += replicas * quantity(requests.get("memory", "0"), False)
        if ann.get("dapr.io/enabled") == "true":
            cpu += replicas * quantity(ann.get("dapr.io/sidecar-cpu-request", "0"), True)
            memory += replicas * quantity(ann.get("dapr.io/sidecar-memory-request", "0"), False)
    infrastructure = [ROOT / "k8s-dapr" / "redis.yaml", ROOT / "k8s-dapr" / "postgres.yaml"]
    for obj in load_all(infrastructure):
        if obj.get("kind") in ("Deployment", "StatefulSet"):
            for container in obj["spec"]["template"]["spec"]["containers"]:
                requests = (container.get("resources") or {}).get("requests") or {}
                cpu += quantity(requests.get("cpu", "0"), True)
                memory += quantity(requests.get("memory", "0"), False)
    if cpu + NEIGHBOURS_CPU > MINIKUBE_CPU or memory + NEIGHBOURS_MEMORY > MINIKUBE_MEMORY:
        return [f"requests {cpu:.2f} CPU / {memory / 2**30:.2f} GiB + neighbours exceed 4 CPU / 8 GiB"]
    return []


def plain_env(deployment_name):
    """A Deployment's literal env: its ConfigMaps (envFrom) and inline values."""
    config_maps = {o["metadata"]["name"]: o.get("data") or {} for o in OBJECTS if o["kind"] == "ConfigMap"}
    env = {}
    for obj, container in containers():
        if obj["kind"] != "Deployment" or obj["metadata"]["name"] != deployment_name:
            continue
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                env.update(config_maps.get(source["configMapRef"]["name"], {}))
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = str(item["value"])
    return env


@rule("the ingress host is the one the UI, /mcp and the calendar feed announce (BETTER_AUTH_URL, MCP_URL, MCP_ALLOWED_HOSTS, CALENDAR_URL)")
def ingress_host_agrees():
    ingresses = [o for o in OBJECTS if o["kind"] == "Ingress"]
    if not ingresses:
        return []
    spec = ingresses[0]["spec"]
    host = spec["rules"][0]["host"]
    origin = f"{'https' if spec.get('tls') else 'http'}://{host}"
    frontend, api = plain_env("frontend"), plain_env("backend-api")
    problems = []
    if frontend and frontend.get("BETTER_AUTH_URL") != origin:
        problems.append(f"frontend BETTER_AUTH_URL {frontend.get('BETTER_AUTH_URL')} != {origin} (sign-in refuses other origins)")
    if frontend.get("REALTIME_URL") and not frontend["REALTIME_URL"].startswith("/"):
        problems.append(f"frontend REALTIME_URL {frontend['REALTIME_URL']}: behind the ingress, /ws on the same host")
    for name, env in (("frontend", frontend), ("backend-api", api)):
        if env and env.get("MCP_URL") != f"{origin}/mcp":
            problems.append(f"{name} MCP_URL {env.get('MCP_URL')} != {origin}/mcp")
        # The feed tokens' audience: the UI signs for it, backend-api checks it.
        if env and env.get("CALENDAR_URL") != f"{origin}/calendar.ics":
            problems.append(f"{name} CALENDAR_URL {env.get('CALENDAR_URL')} != {origin}/calendar.ics")
    if api and host not in (api.get("MCP_ALLOWED_HOSTS") or "").split(","):
        problems.append(f"backend-api MCP_ALLOWED_HOSTS lacks {host}")
    paths = {(p["path"], p["backend"]["service"]["name"]) for p in spec["rules"][0]["http"]["paths"]}
    for needed in (("/", "frontend"), ("/ws", "websocket"), ("/api/sse", "websocket"), ("/mcp", "backend-api"),
                   ("/calendar.ics", "backend-api")):
        if needed not in paths:
            problems.append(f"the ingress does not route {needed[0]} to {needed[1]}")
    return problems


def main():
    global OBJECTS
    if not RENDERINGS:
        sys.exit("usage: check_deploy_rules.py RENDERED.yaml...")
    failed = 0
    for name, fn in results:
        problems = []
        for label, objects in RENDERINGS:
            OBJECTS = objects
            try:
                found = fn()
            except Exception as error:  # a crash in a rule is a failed rule, not a pass
                found = [f"{type(error).__name__}: {error}"]
            problems += [f"[{label}] {p}" for p in found if f"{p}" not in str(problems)]
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for problem in problems:
                print(f"       {problem}")
        else:
            print(f"PASS {name}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
