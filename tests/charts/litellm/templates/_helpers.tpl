{{- define "litellm.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (default .Chart.Name .Values.nameOverride) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "litellm.configName" -}}
{{- if .Values.monolith.enabled -}}{{ include "litellm.fullname" . }}-config{{- else -}}{{ include "litellm.fullname" . }}-gateway-config{{- end -}}
{{- end -}}

{{/* The environment gateway and backend share: master key, database, Redis, extras. */}}
{{- define "litellm.env" -}}
- name: LITELLM_MASTER_KEY
  valueFrom: {secretKeyRef: {name: {{ .Values.masterKey.secretName | quote }}, key: {{ .Values.masterKey.secretKey | quote }}}}
- name: PROXY_MASTER_KEY
  valueFrom: {secretKeyRef: {name: {{ .Values.masterKey.secretName | quote }}, key: {{ .Values.masterKey.secretKey | quote }}}}
- name: DATABASE_HOST
  value: {{ required "database.writer.host is required" .Values.database.writer.host | quote }}
- name: DATABASE_NAME
  value: {{ required "database.writer.dbname is required" .Values.database.writer.dbname | quote }}
- name: DATABASE_PORT
  value: {{ .Values.database.writer.port | quote }}
{{- if not .Values.database.writer.useIAMAuth }}
- name: DATABASE_USERNAME
  valueFrom: {secretKeyRef: {name: {{ .Values.database.writer.passwordSecret.name | quote }}, key: {{ .Values.database.writer.passwordSecret.usernameKey | quote }}}}
- name: DATABASE_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ .Values.database.writer.passwordSecret.name | quote }}, key: {{ .Values.database.writer.passwordSecret.passwordKey | quote }}}}
{{- end }}
{{- if .Values.redis.host }}
- name: REDIS_HOST
  value: {{ .Values.redis.host | quote }}
- name: REDIS_PORT
  value: {{ .Values.redis.port | quote }}
{{- if .Values.redis.passwordSecret.name }}
- name: REDIS_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ .Values.redis.passwordSecret.name | quote }}, key: {{ .Values.redis.passwordSecret.passwordKey | quote }}}}
{{- end }}
{{- end }}
{{- end -}}
