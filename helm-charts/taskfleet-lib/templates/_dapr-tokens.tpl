{{/*
The Dapr token Secrets of a release (rendered once, by the umbrella chart's
templates/dapr-tokens.yaml): the app token (daprd proves itself to the app on internal routes:
deliveries, cron ticks) and the API token (the app proves itself to its daprd), key `token`,
48 random alphanumerics each. Nothing is rendered for a Secret the operator brings
(global.daprTokens.*.existingSecret).

Created once, then kept:
- `lookup` finds the Secret on every later upgrade and the same value is rendered again, so
  the token never changes under running pods.
- `helm.sh/resource-policy: keep`: `helm uninstall` leaves the Secret, and a reinstall of the
  same release adopts it and reuses its value.
- `immutable: true`: an upgrade that would render another value (lookup without cluster
  access) fails instead of changing the token.
- Without a cluster (`helm template`, client-side dry runs) lookup finds nothing, so a fresh
  random value is rendered each time; GitOps tools that render offline should use
  existingSecret instead.
Rotate: delete the Secret, `helm upgrade` (a new value is generated), then
`kubectl rollout restart deploy` (app and daprd of a pod read the value when they start).
The migration hook Job needs no token (`backend-api migrate` reads only DATABASE_URL), so the
Secrets need not exist before the pre-install hooks.
*/}}
{{- define "taskfleet-lib.daprTokenSecrets" -}}
{{- $tokens := (.Values.global | default dict).daprTokens | default dict -}}
{{- range $kind := list "app" "api" }}
{{- $settings := index $tokens (printf "%sTokenSecret" $kind) | default dict }}
{{- if not $settings.existingSecret }}
{{- $name := include (printf "taskfleet-lib.%sTokenSecret" $kind) $ }}
{{- $existing := (lookup "v1" "Secret" $.Release.Namespace $name).data | default dict }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ $name }}
  labels:
    app.kubernetes.io/name: {{ printf "dapr-%s-token" $kind }}
    app.kubernetes.io/instance: {{ $.Release.Name }}
    app.kubernetes.io/part-of: taskfleet
    app.kubernetes.io/managed-by: {{ $.Release.Service }}
  annotations:
    helm.sh/resource-policy: keep
type: Opaque
immutable: true
data:
  token: {{ $existing.token | default (randAlphaNum 48 | b64enc) | quote }}
{{- end }}
{{- end }}
{{- end }}
