{{/*
Only with more than one replica: a PDB with minAvailable 1 on a single replica would block
every node drain.
*/}}
{{- define "taskfleet-lib.pdb" -}}
{{- if gt (int .Values.replicaCount) 1 }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "taskfleet-lib.name" . }}
  labels:
    {{- include "taskfleet-lib.labels" . | nindent 4 }}
spec:
  minAvailable: {{ .Values.podDisruptionBudget.minAvailable | default 1 }}
  selector:
    matchLabels:
      {{- include "taskfleet-lib.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}
