{{- define "taskfleet-lib.daprAnnotations" -}}
{{- $d := .Values.dapr -}}
dapr.io/enabled: "true"
dapr.io/app-id: {{ $d.appId | default (include "taskfleet-lib.name" .) | quote }}
dapr.io/app-port: {{ .Values.port | quote }}
dapr.io/app-protocol: {{ $d.appProtocol | quote }}
dapr.io/config: {{ include "taskfleet-lib.daprConfig" . | quote }}
dapr.io/log-level: {{ $d.logLevel | quote }}
dapr.io/log-as-json: {{ $d.logAsJson | toString | quote }}
dapr.io/enable-api-logging: {{ $d.enableApiLogging | toString | quote }}
dapr.io/enable-metrics: "true"
dapr.io/metrics-port: {{ $d.metricsPort | toString | quote }}
dapr.io/sidecar-cpu-request: {{ $d.sidecar.cpuRequest | quote }}
dapr.io/sidecar-memory-request: {{ $d.sidecar.memoryRequest | quote }}
dapr.io/sidecar-cpu-limit: {{ $d.sidecar.cpuLimit | quote }}
dapr.io/sidecar-memory-limit: {{ $d.sidecar.memoryLimit | quote }}
dapr.io/enable-app-health-check: {{ $d.appHealthCheck | toString | quote }}
dapr.io/app-health-check-path: {{ $d.appHealthCheckPath | quote }}
dapr.io/app-health-probe-interval: {{ $d.appHealthProbeInterval | toString | quote }}
dapr.io/app-health-threshold: {{ $d.appHealthThreshold | toString | quote }}
dapr.io/block-shutdown-duration: {{ $d.blockShutdownDuration | quote }}
dapr.io/graceful-shutdown-seconds: {{ $d.gracefulShutdownSeconds | toString | quote }}
{{- /*
The injector gives daprd APP_API_TOKEN (sent to the app as dapr-api-token with every delivery
and cron tick) and DAPR_API_TOKEN (required from the app on daprd's API) from
these Secrets' key `token`; the app container gets the same values from
"taskfleet-lib.daprTokenEnv" below, because the injector never puts them into it.
*/}}
dapr.io/app-token-secret: {{ include "taskfleet-lib.appTokenSecret" . | quote }}
dapr.io/api-token-secret: {{ include "taskfleet-lib.apiTokenSecret" . | quote }}
{{- end }}

{{/* The app container's half of the Dapr tokens: the same Secrets as the annotations above. */}}
{{- define "taskfleet-lib.daprTokenEnv" -}}
- name: APP_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "taskfleet-lib.appTokenSecret" . }}
      key: token
- name: DAPR_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "taskfleet-lib.apiTokenSecret" . }}
      key: token
{{- end }}

{{/*
Env names the chart sets itself: a value setting them too would be shadowed (env, global.env)
or duplicated (secretEnv, optionalSecretEnv), so it is refused.
*/}}
{{- define "taskfleet-lib.checkReservedEnv" -}}
{{- $reserved := list -}}
{{- with .Values.appHostEnv }}{{ $reserved = append $reserved . }}{{ end -}}
{{- if .Values.dapr.enabled }}{{ $reserved = concat $reserved (list "APP_API_TOKEN" "DAPR_API_TOKEN") }}{{ end -}}
{{- $global := .Values.global | default dict -}}
{{- $sources := dict "env" .Values.env "secretEnv" .Values.secretEnv "optionalSecretEnv" .Values.optionalSecretEnv -}}
{{- if .Values.globalEnv }}{{ $_ := set $sources "global.env" $global.env }}{{ $_ := set $sources "global.secretEnv" $global.secretEnv }}{{ end -}}
{{- range $source, $vars := $sources }}
{{- range $name := $reserved }}
{{- if hasKey ($vars | default dict) $name }}
{{- fail (printf "%s: %s.%s is set by the chart itself (appHost / global.daprTokens)" $.Chart.Name $source $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "taskfleet-lib.probe" -}}
httpGet:
  path: {{ .path }}
  port: http
initialDelaySeconds: {{ .initialDelaySeconds }}
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
failureThreshold: {{ .failureThreshold }}
{{- end }}

{{- define "taskfleet-lib.deployment" -}}
{{- $name := include "taskfleet-lib.name" . -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "taskfleet-lib.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "taskfleet-lib.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
  template:
    metadata:
      labels:
        {{- include "taskfleet-lib.labels" . | nindent 8 }}
      annotations:
        checksum/config: {{ include "taskfleet-lib.env" . | sha256sum }}
        {{- if .Values.metrics.scrape }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .Values.port | quote }}
        prometheus.io/path: {{ .Values.metrics.path | quote }}
        {{- end }}
        {{- if .Values.dapr.enabled }}
        {{- include "taskfleet-lib.daprAnnotations" . | nindent 8 }}
        {{- end }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ $name }}
          image: {{ include "taskfleet-lib.image" . | quote }}
          imagePullPolicy: {{ include "taskfleet-lib.pullPolicy" . }}
          {{- with .Values.command }}
          command:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .Values.args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ .Values.port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ $name }}
          {{- include "taskfleet-lib.checkReservedEnv" . }}
          {{- $secretEnv := .Values.secretEnv }}
          {{- if .Values.globalEnv }}
          {{- $secretEnv = merge (dict) .Values.secretEnv ((.Values.global | default dict).secretEnv | default dict) }}
          {{- end }}
          {{- if or .Values.appHostEnv .Values.dapr.enabled $secretEnv .Values.optionalSecretEnv }}
          env:
            {{- with .Values.appHostEnv }}
            - name: {{ . }}
              value: {{ $.Values.appHost | quote }}
            {{- end }}
            {{- if .Values.dapr.enabled }}
            {{- include "taskfleet-lib.daprTokenEnv" . | nindent 12 }}
            {{- end }}
            {{- range $envName, $key := $secretEnv }}
            - name: {{ $envName }}
              valueFrom:
                secretKeyRef:
                  name: {{ include "taskfleet-lib.secretName" $ }}
                  key: {{ $key }}
            {{- end }}
            {{- range $envName, $key := .Values.optionalSecretEnv }}
            - name: {{ $envName }}
              valueFrom:
                secretKeyRef:
                  name: {{ include "taskfleet-lib.secretName" $ }}
                  key: {{ $key }}
                  optional: true
            {{- end }}
          {{- end }}
          livenessProbe:
            {{- include "taskfleet-lib.probe" .Values.probes.liveness | nindent 12 }}
          readinessProbe:
            {{- include "taskfleet-lib.probe" .Values.probes.readiness | nindent 12 }}
          lifecycle:
            preStop:
              # `sleep` action (Kubernetes >= 1.30): the distroless image has no shell to exec.
              sleep:
                seconds: {{ .Values.preStopSleepSeconds }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
