{{/* Names and labels. */}}
{{- define "brigade.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "brigade.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "brigade.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "brigade.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* selectorLabels: dict "ctx" . "component" "api" */}}
{{- define "brigade.selectorLabels" -}}
app.kubernetes.io/name: {{ include "brigade.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "brigade.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "brigade.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "brigade.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "brigade.scheme" -}}
{{- if .Values.server.tlsSecret -}}https{{- else -}}http{{- end -}}
{{- end -}}

{{/* The component the Service sends to: the API pods, or the one pod. */}}
{{- define "brigade.serviceComponent" -}}
{{- if eq (include "brigade.postgres" .) "true" -}}api{{- else -}}server{{- end -}}
{{- end -}}

{{- define "brigade.apiAddress" -}}
{{- default (printf "%s://%s.%s.svc:%v" (include "brigade.scheme" .) (include "brigade.fullname" .) .Release.Namespace .Values.service.port) .Values.server.apiAddress -}}
{{- end -}}

{{/* "true" with database.type=postgres; fails on a type it does not know
and on settings that cannot work. */}}
{{- define "brigade.postgres" -}}
{{- $t := .Values.database.type -}}
{{- if eq $t "postgres" -}}
{{- if not (or .Values.database.postgres.existingSecret .Values.database.postgres.url) -}}
{{- fail "database.type=postgres needs the connection URL: set database.postgres.existingSecret (and secretKey) or database.postgres.url" -}}
{{- end -}}
{{- if not (or .Values.secretsKey.existingSecret .Values.secretsKey.value) -}}
{{- fail "database.type=postgres runs several processes that must share one secrets key: set secretsKey.existingSecret or secretsKey.value (64 hex characters, e.g. from `openssl rand -hex 32`)" -}}
{{- end -}}
true
{{- else if eq $t "sqlite" -}}
false
{{- else -}}
{{- fail (printf "database.type %q: use sqlite (one replica, a volume) or postgres (API replicas and a scheduler)" $t) -}}
{{- end -}}
{{- end -}}

{{- define "brigade.chartSecretName" -}}
{{- printf "%s-secrets" (include "brigade.fullname" .) -}}
{{- end -}}

{{/* Environment every server process gets: the database, root password and
secrets key, from Secrets (the server reads BRIGADE_<FLAG>). */}}
{{- define "brigade.env" -}}
{{- $chartSecret := include "brigade.chartSecretName" . -}}
{{- if eq (include "brigade.postgres" .) "true" }}
- name: BRIGADE_DATABASE
  valueFrom:
    secretKeyRef:
      name: {{ default $chartSecret .Values.database.postgres.existingSecret }}
      key: {{ if .Values.database.postgres.existingSecret }}{{ .Values.database.postgres.secretKey }}{{ else }}database-url{{ end }}
{{- end }}
{{- if or .Values.rootPassword.existingSecret .Values.rootPassword.value }}
- name: BRIGADE_ROOT_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default $chartSecret .Values.rootPassword.existingSecret }}
      key: {{ if .Values.rootPassword.existingSecret }}{{ .Values.rootPassword.secretKey }}{{ else }}root-password{{ end }}
{{- end }}
{{- if or .Values.secretsKey.existingSecret .Values.secretsKey.value }}
- name: BRIGADE_SECRETS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ default $chartSecret .Values.secretsKey.existingSecret }}
      key: {{ if .Values.secretsKey.existingSecret }}{{ .Values.secretsKey.secretKey }}{{ else }}secrets-key{{ end }}
{{- end }}
- name: BRIGADE_LOG_LEVEL
  value: {{ .Values.server.logLevel | quote }}
{{- with .Values.server.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A server pod: dict "ctx" . "component" "api|scheduler|server" "role" "api|scheduler|all" "substrate" bool "resources" {...} */}}
{{- define "brigade.podTemplate" -}}
{{- $ := .ctx -}}
metadata:
  labels:
    {{- include "brigade.labels" $ | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
  {{- with $.Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "brigade.serviceAccountName" $ }}
  automountServiceAccountToken: {{ .substrate }}
  {{- with $.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: brigade
      image: {{ include "brigade.image" $ }}
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      command: ["brigade", "server"]
      args:
        - --role={{ .role }}
        - --addr=:7745
        - --data-dir=/var/lib/brigade
        - --api-address={{ include "brigade.apiAddress" $ }}
        {{- if $.Values.server.tlsSecret }}
        - --tls-cert=/etc/brigade/tls/tls.crt
        - --tls-key=/etc/brigade/tls/tls.key
        {{- end }}
        {{- if .substrate }}
        - --substrate=kubernetes
        - --kube-workers={{ $.Values.substrate.workers }}
        - --kube-image={{ default (include "brigade.image" $) $.Values.substrate.image }}
        {{- with $.Values.substrate.namespacePrefix }}
        - --kube-namespace-prefix={{ . }}
        {{- end }}
        {{- with $.Values.substrate.storageClass }}
        - --kube-storage-class={{ . }}
        {{- end }}
        - --max-workers={{ $.Values.server.maxWorkers }}
        - --max-jobs={{ $.Values.server.maxJobs }}
        {{- else }}
        - --substrate=none
        {{- end }}
        {{- range $.Values.server.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        {{- include "brigade.env" $ | trim | nindent 8 }}
      ports:
        - name: http
          containerPort: 7745
      readinessProbe:
        httpGet: {path: /healthz, port: http, scheme: {{ include "brigade.scheme" $ | upper }}}
        periodSeconds: 5
        failureThreshold: 3
      livenessProbe:
        httpGet: {path: /healthz, port: http, scheme: {{ include "brigade.scheme" $ | upper }}}
        initialDelaySeconds: 30
        periodSeconds: 20
        failureThreshold: 6
      resources:
        {{- toYaml .resources | nindent 8 }}
      securityContext:
        {{- toYaml $.Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: /var/lib/brigade
        - name: tmp
          mountPath: /tmp
        {{- if $.Values.server.tlsSecret }}
        - name: tls
          mountPath: /etc/brigade/tls
          readOnly: true
        {{- end }}
  volumes:
    - name: data
      {{- if eq .component "server" }}
      persistentVolumeClaim:
        claimName: {{ default (printf "%s-data" (include "brigade.fullname" $)) $.Values.sqlite.persistence.existingClaim }}
      {{- else }}
      emptyDir: {}
      {{- end }}
    - name: tmp
      emptyDir: {}
    {{- if $.Values.server.tlsSecret }}
    - name: tls
      secret:
        secretName: {{ $.Values.server.tlsSecret }}
    {{- end }}
  {{- with $.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
