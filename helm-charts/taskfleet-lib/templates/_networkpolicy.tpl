{{/*
Who may connect to a service's pod (Ingress only; egress is not restricted here). Once a
policy selects a pod, every connection it does not allow is dropped, so this lists all that
is needed:

- `port` (the app): from the pods named in networkPolicy.fromApps (e.g. the frontend, which
  forwards the browser's calls with the user's JWT); from the ingress controller's namespace
  for services with fromIngress (what browsers reach directly); from the monitoring namespace
  when Prometheus scrapes the app (metrics.scrape: the pod's prometheus.io/port is the app
  port); from anywhere with fromAnywhere, with fromIngress and no ingress namespace, or when
  the Service is a NodePort/LoadBalancer (exposed outside the cluster by choice). With none
  of these the app port is closed to the network: recurring gets its work only from its own
  daprd.
- daprd's metrics port (dapr.metricsPort, 9090): from the monitoring namespace.
- Nothing else of daprd. Its HTTP and gRPC APIs (3500, 50001) listen on localhost only
  (dapr.io/sidecar-listen-addresses defaults to [::1],127.0.0.1). Its internal gRPC port
  50002 carries service invocation and actor calls from other sidecars; taskfleet uses
  neither (the Dapr Configuration denies invocation), so it stays closed. The control plane
  (operator, sentry, placement, scheduler in dapr-system) never connects to a sidecar: daprd
  dials them, which is egress.

Not affected by any NetworkPolicy: daprd -> app deliveries and app -> daprd calls (localhost,
inside the pod); `kubectl port-forward` (enters the pod's network namespace); kubelet probes
(from the pod's own node, which the Kubernetes NetworkPolicy model always allows, and
common CNIs such as Calico and Cilium implement it so). Enforcement needs a CNI that
implements NetworkPolicy; without one these objects are accepted and do nothing.
*/}}
{{- define "taskfleet-lib.networkpolicy" -}}
{{- $np := .Values.networkPolicy -}}
{{- $g := include "taskfleet-lib.networkPolicyGlobal" . | fromYaml -}}
{{- if and $g.enabled $np.enabled }}
{{- $appPeers := list -}}
{{- range $app := $np.fromApps }}
{{- $appPeers = append $appPeers (dict "podSelector" (dict "matchLabels" (dict "app.kubernetes.io/name" $app "app.kubernetes.io/instance" $.Release.Name))) }}
{{- end }}
{{- if and $np.fromIngress $g.ingressNamespace }}
{{- $appPeers = append $appPeers (dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" $g.ingressNamespace))) }}
{{- end }}
{{- $monitoring := list -}}
{{- with $g.monitoringNamespace }}
{{- $monitoring = list (dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" .))) }}
{{- end }}
{{- if .Values.metrics.scrape }}
{{- $appPeers = concat $appPeers $monitoring }}
{{- end }}
{{- $anywhere := or $np.fromAnywhere (and $np.fromIngress (not $g.ingressNamespace)) (has (.Values.service.type | default "ClusterIP") (list "NodePort" "LoadBalancer")) -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "taskfleet-lib.name" . }}
  labels:
    {{- include "taskfleet-lib.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "taskfleet-lib.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress]
  {{- if or $anywhere $appPeers (and .Values.dapr.enabled $monitoring) }}
  ingress:
    {{- if $anywhere }}
    # The app port from any source.
    - ports:
        - {port: {{ .Values.port }}, protocol: TCP}
    {{- else if $appPeers }}
    # The app port from the callers this service has.
    - ports:
        - {port: {{ .Values.port }}, protocol: TCP}
      from:
        {{- toYaml $appPeers | nindent 8 }}
    {{- end }}
    {{- if and .Values.dapr.enabled $monitoring }}
    # daprd's Prometheus metrics. (Its internal gRPC port 50002, for service invocation
    # between sidecars, stays closed: taskfleet does not use service invocation.)
    - ports:
        - {port: {{ .Values.dapr.metricsPort }}, protocol: TCP}
      from:
        {{- toYaml $monitoring | nindent 8 }}
    {{- end }}
  {{- else }}
  # No source may connect: the pod talks only to its own daprd, over localhost.
  ingress: []
  {{- end }}
{{- end }}
{{- end }}
