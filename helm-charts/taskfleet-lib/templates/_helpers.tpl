{{/*
The service's name: the chart's name, which is also the crate, binary, image, Dapr app-id and
Kubernetes Service name (docs/contract.md §1). Deliberately not prefixed with the release name, so that
other services and the browser can find `backend-api` under that exact name.
*/}}
{{- define "taskfleet-lib.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "taskfleet-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "taskfleet-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "taskfleet-lib.labels" -}}
{{ include "taskfleet-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | default .Chart.Version | quote }}
app.kubernetes.io/part-of: taskfleet
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* repository:tag, the tag defaulting to global.image.tag and then to the chart's appVersion. */}}
{{- define "taskfleet-lib.image" -}}
{{- $global := (.Values.global | default dict).image | default dict -}}
{{- $tag := .Values.image.tag | default $global.tag | default .Chart.AppVersion -}}
{{- printf "%s:%s" (required (printf "%s: image.repository is required" .Chart.Name) .Values.image.repository) $tag -}}
{{- end }}

{{- define "taskfleet-lib.pullPolicy" -}}
{{- $global := (.Values.global | default dict).image | default dict -}}
{{- .Values.image.pullPolicy | default $global.pullPolicy | default "IfNotPresent" -}}
{{- end }}

{{/* The Kubernetes Secret holding DATABASE_URL, JWT_SECRET, ...: created by the operator, never by the chart. */}}
{{- define "taskfleet-lib.secretName" -}}
{{- .Values.secretName | default ((.Values.global | default dict).secretName) | default "taskfleet-secrets" -}}
{{- end }}

{{/* The Dapr Configuration resource (k8s-dapr/configuration.yaml) the sidecar loads. */}}
{{- define "taskfleet-lib.daprConfig" -}}
{{- .Values.dapr.config | default ((.Values.global | default dict).daprConfig) | default "taskfleet-config" -}}
{{- end }}

{{/*
Non-secret environment: global.env (unless globalEnv is false, as for the frontend), then the
service's env, then the port variable from `port` so the process and the Service can never
disagree.
*/}}
{{- define "taskfleet-lib.env" -}}
{{- $global := dict -}}
{{- if .Values.globalEnv }}{{ $global = (.Values.global | default dict).env | default dict }}{{ end -}}
{{- $env := merge (dict) (.Values.env | default dict) $global -}}
{{- if .Values.appPortEnv -}}
{{- $_ := set $env .Values.appPortEnv (toString .Values.port) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end }}

{{/*
The Secrets (key `token`) holding the Dapr app token (daprd -> app, `dapr.io/app-token-secret`,
APP_API_TOKEN) and the Dapr API token (app -> daprd, `dapr.io/api-token-secret`,
DAPR_API_TOKEN). One of each per release, shared by every Dapr-enabled service: the operator's
own (global.daprTokens.*.existingSecret) or the one templates/_dapr-tokens.tpl creates.
Take the root context of any chart of the release (umbrella or service).
*/}}
{{- define "taskfleet-lib.appTokenSecret" -}}
{{- $tokens := (.Values.global | default dict).daprTokens | default dict -}}
{{- ($tokens.appTokenSecret | default dict).existingSecret | default (printf "%s-dapr-app-token" .Release.Name) -}}
{{- end }}

{{- define "taskfleet-lib.apiTokenSecret" -}}
{{- $tokens := (.Values.global | default dict).daprTokens | default dict -}}
{{- ($tokens.apiTokenSecret | default dict).existingSecret | default (printf "%s-dapr-api-token" .Release.Name) -}}
{{- end }}

{{/*
global.networkPolicy with its defaults (a service chart rendered on its own has no global):
enabled true, ingressNamespace ingress-nginx, monitoringNamespace monitoring. An explicit ""
namespace is kept (it means "none"), hence hasKey rather than `default`.
*/}}
{{- define "taskfleet-lib.networkPolicyGlobal" -}}
{{- $g := (.Values.global | default dict).networkPolicy | default dict -}}
enabled: {{ ternary $g.enabled true (hasKey $g "enabled") }}
ingressNamespace: {{ ternary $g.ingressNamespace "ingress-nginx" (hasKey $g "ingressNamespace") | default "" | quote }}
monitoringNamespace: {{ ternary $g.monitoringNamespace "monitoring" (hasKey $g "monitoringNamespace") | default "" | quote }}
{{- end }}
