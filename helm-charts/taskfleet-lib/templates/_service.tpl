{{- define "taskfleet-lib.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "taskfleet-lib.name" . }}
  labels:
    {{- include "taskfleet-lib.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type | default "ClusterIP" }}
  selector:
    {{- include "taskfleet-lib.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.port }}
      targetPort: http
      protocol: TCP
{{- end }}
