{{/* Names and labels, one place (prometheus-community charts' convention). */}}

{{- define "pm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<chart>, or the release name when it already contains the chart name; at most 50
characters so that "<fullname>-provider-sync-migrate" stays within 63. */}}
{{- define "pm.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "pm.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pm.labels" -}}
helm.sh/chart: {{ include "pm.chart" . }}
app.kubernetes.io/name: {{ include "pm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: playlist-manager
{{- end -}}

{{- define "pm.releaseSelector" -}}
app.kubernetes.io/name: {{ include "pm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector of one service's serving pods: call with (dict "root" $ "name" $name). */}}
{{- define "pm.selectorLabels" -}}
{{ include "pm.releaseSelector" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Every pod that runs as service <name> (serving pods and its migration Job): network policies select on
this, Deployments and Services on app.kubernetes.io/component. */}}
{{- define "pm.serviceLabel" -}}
playlist-manager.io/service: {{ .name }}
{{- end -}}

{{- define "pm.serviceName" -}}
{{- printf "%s-%s" (include "pm.fullname" .root) .name -}}
{{- end -}}

{{- define "pm.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-secrets" (include "pm.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* <prefix>/<name>:<tag>; call with (dict "root" $ "name" $name "image" $svc.image). */}}
{{- define "pm.image" -}}
{{- $repository := .image.repository | default (printf "%s/%s" .root.Values.image.prefix .name) -}}
{{- printf "%s:%s" $repository (.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{/* provider-sync -> PROVIDER_SYNC (the variable names pm_contracts.services derives). */}}
{{- define "pm.envName" -}}
{{- . | upper | replace "-" "_" -}}
{{- end -}}

{{/* python package of a service: provider-sync -> pm_provider_sync */}}
{{- define "pm.package" -}}
{{- printf "pm_%s" (. | replace "-" "_") -}}
{{- end -}}

{{/* The restricted pod security context of every pod the chart runs. */}}
{{- define "pm.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "pm.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The environment of service <name>: call with (dict "root" $ "name" $name "svc" $svc). Secrets by
reference; only what the service reads (the gateway alone holds the identity signing key, export alone
the S3 credentials). */}}
{{- define "pm.env" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $secret := include "pm.secretName" $root -}}
- name: ENVIRONMENT
  value: {{ $v.environment | quote }}
- name: SERVICE_NAME
  value: {{ .name | quote }}
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: {{ .svc.port | quote }}
- name: LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: ENABLE_METRICS
  value: "true"
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ $v.kafka.bootstrapServers | quote }}
- name: KAFKA_TOPIC_PREFIX
  value: {{ $v.kafka.topicPrefix | quote }}
- name: KAFKA_REPLICATION_FACTOR
  value: {{ $v.kafka.replicationFactor | quote }}
{{- /* Where each service is reached: its url when set (also for a service this release does not run),
else its in-cluster Service. */}}
{{- range $other, $o := $v.services }}
{{- if or $o.enabled $o.url }}
- name: {{ include "pm.envName" $other }}_URL
  value: {{ $o.url | default (printf "http://%s:%v" (include "pm.serviceName" (dict "root" $root "name" $other)) $o.port) | quote }}
{{- end }}
{{- end }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: DATABASE_URL_{{ .svc.schema | upper }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: REDIS_URL
- name: SERVICE_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: SERVICE_TOKEN
- name: IDENTITY_PUBLIC_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: IDENTITY_PUBLIC_KEYS
{{- if or (eq .name "auth") (eq .name "gateway") }}
- name: API_BASE_URL
  value: {{ $v.apiBaseUrl | quote }}
- name: CORS_ORIGINS
  value: {{ $v.corsOrigins | quote }}
- name: JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: JWT_SECRET
{{- end }}
{{- if eq .name "gateway" }}
- name: IDENTITY_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: IDENTITY_SIGNING_KEY
- name: TRUSTED_PROXIES
  value: {{ $v.trustedProxies | quote }}
{{- end }}
{{- if eq .name "auth" }}
- name: MASTER_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: MASTER_KEY
{{- range $provider := list "spotify" "deezer" "tidal" "youtube" }}
{{- with dig $provider "clientId" "" ($v.providers | default dict) }}
- name: {{ upper $provider }}_CLIENT_ID
  value: {{ . | quote }}
- name: {{ upper $provider }}_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ upper $provider }}_CLIENT_SECRET
      optional: true
{{- end }}
{{- end }}
{{- end }}
{{- if .svc.s3 }}
- name: S3_ENDPOINT
  value: {{ $v.s3.endpoint | quote }}
{{- with $v.s3.publicEndpoint }}
- name: S3_PUBLIC_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: S3_BUCKET
  value: {{ $v.s3.bucket | quote }}
- name: S3_REGION
  value: {{ $v.s3.region | quote }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: AWS_ACCESS_KEY_ID
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: AWS_SECRET_ACCESS_KEY
{{- end }}
{{- if and .svc.internet $v.emulator.enabled }}
{{- $base := $v.emulator.url | default (printf "http://%s:%v" (include "pm.serviceName" (dict "root" $root "name" "provider-emulator")) $v.emulator.port) | trimSuffix "/" }}
{{- range $var, $host := dict "SPOTIFY_ACCOUNTS_URL" "accounts.spotify.com" "SPOTIFY_API_URL" "api.spotify.com" "DEEZER_CONNECT_URL" "connect.deezer.com" "DEEZER_API_URL" "api.deezer.com" "TIDAL_AUTH_URL" "auth.tidal.com" "TIDAL_LOGIN_URL" "login.tidal.com" "TIDAL_API_URL" "openapi.tidal.com" "GOOGLE_ACCOUNTS_URL" "accounts.google.com" "GOOGLE_OAUTH2_URL" "oauth2.googleapis.com" "YOUTUBE_API_URL" "www.googleapis.com" "MUSICBRAINZ_URL" "musicbrainz.org" }}
- name: {{ $var }}
  value: {{ printf "%s/%s" $base $host | quote }}
{{- end }}
{{- end }}
{{- range $key, $value := .svc.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* An egress rule to some CIDRs (any address when none) on some TCP ports. */}}
{{- define "pm.egressRule" -}}
- {{- if .cidrs }}
  to:
    {{- range .cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
  ports:
    {{- range .ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
{{- end -}}
