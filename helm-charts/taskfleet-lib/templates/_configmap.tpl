{{/* The service's non-secret settings; the Deployment reads it with envFrom. */}}
{{- define "taskfleet-lib.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "taskfleet-lib.name" . }}
  labels:
    {{- include "taskfleet-lib.labels" . | nindent 4 }}
data:
  {{- range $k, $v := (include "taskfleet-lib.env" . | fromYaml) }}
  {{ $k }}: {{ $v | toString | quote }}
  {{- end }}
{{- end }}
