{{/* The chart's name, and the release's name for its objects. */}}
{{- define "recovery.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "recovery.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; "component" is the role (api, relay, worker, migrate, search-attributes). */}}
{{- define "recovery.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{ include "recovery.selectorLabels" . }}
{{- end -}}

{{- define "recovery.selectorLabels" -}}
app.kubernetes.io/name: {{ include "recovery.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "recovery.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The environment every container shares: where it listens, Postgres,
Temporal (the go.temporal.io/sdk/contrib/envconfig names), the keys file,
then the plain settings of values.env and of the role.
*/}}
{{- define "recovery.env" -}}
{{- $v := .root.Values -}}
- name: RECOVERY_ADDR
  value: "0.0.0.0:8080"
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret: the secret holding DATABASE_URL" $v.database.existingSecret }}
      key: {{ $v.database.key }}
- name: TEMPORAL_ADDRESS
  value: {{ required "temporal.address" $v.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ required "temporal.namespace" $v.temporal.namespace | quote }}
{{- if $v.temporal.apiKey.existingSecret }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $v.temporal.apiKey.existingSecret }}
      key: {{ $v.temporal.apiKey.key }}
{{- end }}
{{- if or $v.temporal.tls.enabled $v.temporal.tls.existingSecret $v.temporal.apiKey.existingSecret }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- with $v.temporal.tls.existingSecret }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: {{ printf "%s/%s" $v.temporal.tls.mountPath $v.temporal.tls.certKey | quote }}
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: {{ printf "%s/%s" $v.temporal.tls.mountPath $v.temporal.tls.keyKey | quote }}
{{- if $v.temporal.tls.caKey }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: {{ printf "%s/%s" $v.temporal.tls.mountPath $v.temporal.tls.caKey | quote }}
{{- end }}
{{- end }}
{{- with $v.temporal.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- if $v.keys.existingSecret }}
- name: RECOVERY_KEYS_FILE
  value: {{ printf "%s/%s" $v.keys.mountPath $v.keys.key | quote }}
{{- end }}
{{- if and .component $v.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $v.tracing.otlpEndpoint | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "recovery-%s" .component | quote }}
{{- end }}
{{- range $name, $value := merge (dict) (.roleEnv | default dict) $v.env }}
{{- if or (has $name (list "RECOVERY_ADDR" "DATABASE_URL" "RECOVERY_KEYS_FILE")) (hasPrefix "TEMPORAL_" $name) }}
{{- fail (printf "env: %s is set by the chart (database, temporal, keys values)" $name) }}
{{- end }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* The secrets mounted as files: Temporal's client certificate, the keys document. */}}
{{- define "recovery.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  mountPath: {{ .Values.temporal.tls.mountPath }}
  readOnly: true
{{- end }}
{{- if .Values.keys.existingSecret }}
- name: keys
  mountPath: {{ .Values.keys.mountPath }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "recovery.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- with .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ . }}
    defaultMode: 0440
{{- end }}
{{- with .Values.keys.existingSecret }}
- name: keys
  secret:
    secretName: {{ . }}
    defaultMode: 0440
    items:
      - key: {{ $.Values.keys.key }}
        path: {{ $.Values.keys.key }}
{{- end }}
{{- end -}}

{{/* The pod-level settings every pod of the chart shares. */}}
{{- define "recovery.podSpec" -}}
automountServiceAccountToken: false
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  {{- include "recovery.volumes" . | nindent 2 }}
{{- end -}}
