{{- define "llmgw-sync.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "llmgw-sync.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "llmgw-sync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ .Values.serviceAccount.name | default (include "llmgw-sync.fullname" .) }}{{- else -}}{{ .Values.serviceAccount.name | default "default" }}{{- end -}}
{{- end -}}

{{- /* llmgw's config as a map, whether given as a map or as the file's text (--set-file). */ -}}
{{- define "llmgw-sync.config" -}}
{{- $c := .Values.config | default dict -}}
{{- if kindIs "string" $c }}{{ $c = fromYaml $c }}{{ end -}}
{{- toYaml $c -}}
{{- end -}}

{{- /*
The gateway's master key, where `llmgw deploy` keeps it for this config: the Secret the config
names (secrets.master_key: {secret, key}), else the Secret llmgw manages (secrets.secret_name,
else <release>-llmgw-env) under the variable the chart kind reads (litellm-helm:
PROXY_MASTER_KEY, litellm: LITELLM_MASTER_KEY). masterKey.* in the values override it.
*/ -}}
{{- define "llmgw-sync.masterKey" -}}
{{- $c := include "llmgw-sync.config" . | fromYaml -}}
{{- $gw := $c.gateway | default dict -}}
{{- $secrets := $c.secrets | default dict -}}
{{- $ref := $secrets.master_key | default dict -}}
{{- $name := printf "%s-llmgw-env" ($gw.release | default "litellm") -}}
{{- if $secrets.secret_name }}{{ $name = $secrets.secret_name }}{{ end -}}
{{- $key := ternary "LITELLM_MASTER_KEY" "PROXY_MASTER_KEY" (eq ($gw.chart_kind | default "litellm-helm") "litellm") -}}
{{- if $ref.secret }}{{ $name = $ref.secret }}{{ $key = $ref.key }}{{ end -}}
secretName: {{ .Values.masterKey.secretName | default $name }}
secretKey: {{ .Values.masterKey.secretKey | default $key }}
env: {{ $ref.env | default "LITELLM_MASTER_KEY" }}
{{- end -}}

{{- /*
The namespaces the controller reads pods and services in, as a JSON list: modelNamespaces when
given, else those of the config: each listed model's (namespace:, else its engine's) and each
discover rule's. An existingConfigMap cannot be read here: then modelNamespaces is required.
*/ -}}
{{- define "llmgw-sync.modelNamespaces" -}}
{{- $out := list -}}
{{- if .Values.modelNamespaces -}}
{{- $out = .Values.modelNamespaces -}}
{{- else if .Values.existingConfigMap -}}
{{- fail "modelNamespaces is required with existingConfigMap: list the namespaces of the config's models and discover rules (the chart grants read rights in exactly those)" -}}
{{- else -}}
{{- $c := include "llmgw-sync.config" . | fromYaml -}}
{{- $models := $c.models | default dict -}}
{{- range $engine := list "vllm" "sglang" "tgi" "ollama" "tei" -}}
{{- range $m := (get $models $engine | default list) -}}
{{- $out = append $out ($m.namespace | default $engine) -}}
{{- end -}}
{{- end -}}
{{- range $rule := ($c.discover | default list) -}}
{{- range $ns := ($rule.namespaces | default list) -}}
{{- $out = append $out $ns -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson (uniq $out) -}}
{{- end -}}

{{- /*
The serving kinds the config's discover rules name in namespace .ns, as a JSON list (the
controller lists and watches exactly those there). servingKinds in the values overrides it
(with existingConfigMap the config cannot be read here).
*/ -}}
{{- define "llmgw-sync.kindsIn" -}}
{{- $out := list -}}
{{- if .ctx.Values.existingConfigMap -}}
{{- $out = .ctx.Values.servingKinds | default list -}}
{{- else -}}
{{- $c := include "llmgw-sync.config" .ctx | fromYaml -}}
{{- range $rule := ($c.discover | default list) -}}
{{- $kind := $rule.kind | default "Pod" -}}
{{- if and (ne $kind "Pod") (ne $kind "ProductionStack") (has $.ns ($rule.namespaces | default list)) -}}
{{- $out = append $out $kind -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson (uniq $out) -}}
{{- end -}}

{{- /* The API groups and resources of a serving kind (and what a pool is reached through). */ -}}
{{- define "llmgw-sync.kindRules" -}}
{{- $rules := dict
  "InferenceService" (list (dict "apiGroups" (list "serving.kserve.io") "resources" (list "inferenceservices")))
  "LLMInferenceService" (list (dict "apiGroups" (list "serving.kserve.io") "resources" (list "llminferenceservices")))
  "LeaderWorkerSet" (list (dict "apiGroups" (list "leaderworkerset.x-k8s.io") "resources" (list "leaderworkersets")))
  "InferencePool" (list
    (dict "apiGroups" (list "inference.networking.k8s.io" "inference.networking.x-k8s.io") "resources" (list "inferencepools"))
    (dict "apiGroups" (list "gateway.networking.k8s.io") "resources" (list "httproutes" "gateways")))
-}}
{{- toJson (get $rules .) -}}
{{- end -}}

