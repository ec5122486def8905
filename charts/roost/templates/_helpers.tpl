{{/* Names and labels shared by every object of the chart. */}}

{{- define "roost.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-roost, or the release name alone when it already says roost. */}}
{{- define "roost.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "roost.selectorLabels" -}}
app.kubernetes.io/name: {{ include "roost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "roost.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "roost.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: roost
{{- end }}

{{- define "roost.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "roost.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The namespaces a Role is granted in: watch.namespaces, or the release namespace. */}}
{{- define "roost.watchedNamespaces" -}}
{{- $namespaces := .Values.watch.namespaces | default (list .Release.Namespace) }}
{{- toJson $namespaces }}
{{- end }}

{{- define "roost.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The rules the operator needs in a namespace it watches: exactly what
operator/roost/adapters/kube.py, the traffic providers and kopf call.
*/}}
{{- define "roost.namespacedRules" -}}
# ModelDeployments and SLOPolicies: kopf lists and watches them and patches
# annotations (progress, diff base) and finalizers on the object itself.
- apiGroups: ["roost.dev"]
  resources: ["modeldeployments", "slopolicies"]
  verbs: ["list", "watch", "patch"]
# Status is a subresource: kopf patches it separately.
- apiGroups: ["roost.dev"]
  resources: ["modeldeployments/status", "slopolicies/status"]
  verbs: ["patch"]
# Owned objects carry ownerReferences with blockOwnerDeletion; clusters with the
# OwnerReferencesPermissionEnforcement admission plugin require update on the owner's finalizers.
- apiGroups: ["roost.dev"]
  resources: ["modeldeployments/finalizers"]
  verbs: ["update"]
# One Deployment per revision: list and watch (ready replicas, roost.adapters.deployments;
# a GET per tick without them), read, server-side apply (a patch,
# which also needs create when the object is new), relabel on promotion (patch),
# delete the old revision.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
{{- if has "replicas" .Values.trafficProviders }}
# The replica-ratio traffic provider splits traffic by scaling the two Deployments.
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["patch"]
{{- end }}
# Services <name>, <name>-stable, <name>-canary: server-side apply only.
- apiGroups: [""]
  resources: ["services"]
  verbs: ["create", "patch"]
# HPAs <name>-stable and <name>-canary (spec.autoscaling): apply, delete the canary's;
# list Roost's own (by label) to read whether they can read their metric.
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["list", "create", "patch", "delete"]
{{- if has "gatewayAPI" .Values.trafficProviders }}
# HTTPRoute weights: read, then replace with the read resourceVersion.
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "update"]
{{- end }}
{{- if has "istio" .Values.trafficProviders }}
# VirtualService weights: read, then replace with the read resourceVersion.
- apiGroups: ["networking.istio.io"]
  resources: ["virtualservices"]
  verbs: ["get", "update"]
{{- end }}
# An Event per decision (kopf posts core/v1 Events).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- with .Values.prometheus.secretNames }}
# Only the Secrets named in spec.prometheus of the ModelDeployments, by name.
- apiGroups: [""]
  resources: ["secrets"]
  resourceNames: {{ toJson . }}
  verbs: ["get"]
{{- end }}
{{- if and .Values.peering.enabled (not .Values.watch.allNamespaces) }}
# kopf peering between replicas, per watched namespace.
- apiGroups: ["kopf.dev"]
  resources: ["kopfpeerings"]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
{{- end }}

{{/* Cluster-scoped reads kopf needs in every mode: it follows namespaces and CRDs. */}}
{{- define "roost.clusterRules" -}}
# kopf scans namespaces (to match the watched ones) and CRDs (to find its resources).
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- if and .Values.peering.enabled .Values.watch.allNamespaces }}
# kopf peering between replicas, cluster-wide.
- apiGroups: ["kopf.dev"]
  resources: ["clusterkopfpeerings"]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
{{- end }}
