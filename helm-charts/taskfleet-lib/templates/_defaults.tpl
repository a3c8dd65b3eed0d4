{{/*
Defaults every service shares. A service chart's values.yaml names only what differs (port,
command, image); anything here can be overridden per service from the umbrella's values.
*/}}
{{- define "taskfleet-lib.defaults" -}}
replicaCount: 1
image:
  repository: ""
  tag: ""
  pullPolicy: ""
command: []
args: []
port: 0   # every service chart sets its own
# The env var the process reads its port from; rendered into the ConfigMap from `port`.
appPortEnv: APP_PORT
# The env var the process reads its bind address from, and that address: rendered into the
# container's env. The Rust services bind 127.0.0.1 unless APP_HOST says otherwise, and a pod
# must be reachable on its IP by the kubelet's probes, the Service and (for deliveries) daprd.
appHostEnv: APP_HOST
appHost: "0.0.0.0"
# Whether global.env and global.secretEnv (what the Rust services share) apply to this chart.
globalEnv: true
env: {}
# Env var name -> key in the Kubernetes Secret (global.secretName); read with secretKeyRef.
secretEnv: {}
# The same for keys the Secret may lack (secretKeyRef optional: the variable is then unset),
# e.g. backend-api's ASSISTANT_API_KEY: no key, no assistant.
optionalSecretEnv: {}
service:
  type: ClusterIP
resources:
  requests: {cpu: 50m, memory: 64Mi}
  limits: {cpu: 500m, memory: 256Mi}
probes:
  liveness:
    path: /healthz
    initialDelaySeconds: 2
    periodSeconds: 10
    timeoutSeconds: 2
    failureThreshold: 3
  readiness:
    path: /readyz
    initialDelaySeconds: 2
    periodSeconds: 5
    timeoutSeconds: 2
    failureThreshold: 3
# The services drain for 8 s after SIGTERM and exit within 10 s; the grace period covers the
# preStop sleep (endpoints removal propagating to kube-proxy and ingress) plus that drain.
terminationGracePeriodSeconds: 20
preStopSleepSeconds: 5
podDisruptionBudget:
  minAvailable: 1
podSecurityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile: {type: RuntimeDefault}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities: {drop: [ALL]}
podAnnotations: {}
# Who may open connections to this pod (templates/_networkpolicy.tpl). Namespaces and the
# global switch are under global.networkPolicy in the umbrella's values.yaml.
networkPolicy:
  enabled: true
  # app.kubernetes.io/name of the pods of this release (same namespace) that may connect to `port`.
  fromApps: []
  # Whether the ingress controller's namespace (global.networkPolicy.ingressNamespace) may
  # connect to `port`: for what browsers reach directly. With ingressNamespace "" (no ingress
  # controller) such a service accepts `port` from anywhere.
  fromIngress: false
  # `port` open to every source (as it also is when service.type is NodePort or LoadBalancer:
  # a service exposed outside the cluster by choice).
  fromAnywhere: false
nodeSelector: {}
tolerations: []
affinity: {}
metrics:
  scrape: true
  path: /metrics
dapr:
  enabled: true
  appId: ""
  config: ""
  appProtocol: http
  logLevel: info
  logAsJson: true
  enableApiLogging: false
  appHealthCheck: true
  appHealthCheckPath: /healthz
  appHealthProbeInterval: 5
  appHealthThreshold: 3
  # daprd keeps serving the app (publish, state) for this long after SIGTERM, while the app
  # drains, then shuts down gracefully within gracefulShutdownSeconds.
  blockShutdownDuration: 5s
  gracefulShutdownSeconds: 10
  # daprd's Prometheus port (dapr.io/metrics-port); the NetworkPolicy opens it to
  # global.networkPolicy.monitoringNamespace.
  metricsPort: 9090
  # The app token and API token Secrets are not per service: see global.daprTokens in the
  # umbrella's values.yaml and "taskfleet-lib.appTokenSecret" in _helpers.tpl.
  sidecar:
    cpuRequest: 50m
    memoryRequest: 64Mi
    cpuLimit: 300m
    memoryLimit: 256Mi
{{- end }}

{{/*
The root context with .Values replaced by defaults ⊕ the chart's values: every other template
of the library takes this context, so no template needs its own `default`.
*/}}
{{- define "taskfleet-lib.context" -}}
{{- $defaults := fromYaml (include "taskfleet-lib.defaults" .) -}}
{{- $values := mergeOverwrite $defaults (deepCopy .Values) -}}
{{- if or (not (kindIs "float64" $values.port)) (lt (int $values.port) 1) (gt (int $values.port) 65535) }}
{{- fail (printf "%s: port must be a number in 1..65535" .Chart.Name) }}
{{- end -}}
{{- toYaml $values -}}
{{- end }}

{{/* Everything one service needs. A service chart's only template is: include "taskfleet-lib.all" . */}}
{{- define "taskfleet-lib.all" -}}
{{- $ctx := dict "Values" (include "taskfleet-lib.context" . | fromYaml) "Chart" .Chart "Release" .Release "Capabilities" .Capabilities "Template" .Template -}}
{{ include "taskfleet-lib.configmap" $ctx }}
---
{{ include "taskfleet-lib.service" $ctx }}
---
{{ include "taskfleet-lib.deployment" $ctx }}
{{- with (include "taskfleet-lib.pdb" $ctx | trim) }}
---
{{ . }}
{{- end }}
{{- with (include "taskfleet-lib.networkpolicy" $ctx | trim) }}
---
{{ . }}
{{- end }}
{{- end }}
