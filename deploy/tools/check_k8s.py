#!/usr/bin/env python3
"""Schema and policy check of the Kubernetes manifests in deploy/k8s (no cluster, no network).

Debian 12 packages neither kubeconform nor kubeval, and the Kubernetes OpenAPI schemas are not
available offline, so this checks a hand-written subset of the schema: the allowed keys of every
object level the manifests use (a misspelt key fails, as with a strict schema), the required
fields and their types, and the project's policy: non-root, read-only root file system, all
capabilities dropped, RuntimeDefault seccomp, resource requests and limits, /healthz and /readyz
probes over HTTPS, secrets mounted as files with no access for "other", consistent selectors,
ports, volumes and ConfigMap keys, a PodDisruptionBudget and a NetworkPolicy for every workload
(Deployments, Jobs and the Jobs of CronJobs).

Probes: a container whose INI file (mounted from a ConfigMap with subPath) sets [server]
tls_ca_file serves mutual TLS only on [server] port: every route, health included, needs a client
certificate the kubelet does not have. Its probes must then be tcpSocket probes on that port (an
httpGet probe could only pass if mutual TLS were weakened); every other container keeps the
httpGet /healthz and /readyz rule. A Deployment has at least 2 replicas, or exactly 1 as a
deliberate singleton: strategy Recreate and a PodDisruptionBudget that lets a drain evict it.
Exit 0 when clean, 1 with one line per problem.
"""
import configparser
import glob
import os
import re
import sys

import yaml

KINDS = {
    ("v1", "Namespace"), ("v1", "ServiceAccount"), ("v1", "ConfigMap"), ("v1", "Secret"),
    ("v1", "Service"), ("apps/v1", "Deployment"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
    ("policy/v1", "PodDisruptionBudget"), ("networking.k8s.io/v1", "NetworkPolicy"),
}
# Allowed keys per object level (a subset of the Kubernetes 1.27+ OpenAPI schema).
K = {
    "object": {"apiVersion", "kind", "metadata", "spec", "data", "stringData", "type",
               "automountServiceAccountToken", "immutable"},
    "metadata": {"name", "namespace", "labels", "annotations"},
    "deployment.spec": {"replicas", "selector", "template", "strategy", "revisionHistoryLimit",
                        "minReadySeconds", "progressDeadlineSeconds"},
    "job.spec": {"template", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished",
                 "completions", "parallelism"},
    "cronjob.spec": {"schedule", "timeZone", "jobTemplate", "concurrencyPolicy",
                     "startingDeadlineSeconds", "successfulJobsHistoryLimit",
                     "failedJobsHistoryLimit", "suspend"},
    "template": {"metadata", "spec"},
    "pod.spec": {"containers", "initContainers", "volumes", "securityContext", "serviceAccountName",
                 "automountServiceAccountToken", "enableServiceLinks", "terminationGracePeriodSeconds",
                 "topologySpreadConstraints", "affinity", "nodeSelector", "tolerations",
                 "restartPolicy", "priorityClassName"},
    "pod.securityContext": {"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "seccompProfile",
                            "supplementalGroups", "fsGroupChangePolicy"},
    "container": {"name", "image", "imagePullPolicy", "command", "args", "env", "ports",
                  "startupProbe", "livenessProbe", "readinessProbe", "resources", "securityContext",
                  "volumeMounts", "workingDir"},
    "container.securityContext": {"allowPrivilegeEscalation", "readOnlyRootFilesystem",
                                  "runAsNonRoot", "runAsUser", "runAsGroup", "privileged",
                                  "capabilities", "seccompProfile"},
    "probe": {"httpGet", "tcpSocket", "exec", "periodSeconds", "timeoutSeconds", "failureThreshold",
              "successThreshold", "initialDelaySeconds"},
    "httpGet": {"path", "port", "scheme", "httpHeaders"},
    "tcpSocket": {"port", "host"},
    "volumeMount": {"name", "mountPath", "subPath", "readOnly"},
    "volume": {"name", "configMap", "secret", "emptyDir", "persistentVolumeClaim", "projected"},
    "service.spec": {"type", "selector", "ports", "clusterIP", "sessionAffinity"},
    "servicePort": {"name", "port", "targetPort", "protocol"},
    "pdb.spec": {"minAvailable", "maxUnavailable", "selector"},
    "netpol.spec": {"podSelector", "policyTypes", "ingress", "egress"},
}


class Checker:
    def __init__(self):
        self.errors = []

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def keys(self, where, obj, level):
        if not isinstance(obj, dict):
            self.err(where, f"expected a mapping ({level})")
            return {}
        for k in obj:
            if k not in K[level]:
                self.err(where, f"unknown key {k!r} ({level})")
        return obj

    def need(self, where, obj, *fields):
        for f in fields:
            if f not in obj:
                self.err(where, f"missing {f}")


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def check_probe(c, where, probe, path, ports, mtls_port=None):
    c.keys(where, probe, "probe")
    if mtls_port is not None:
        tcp = probe.get("tcpSocket")
        if not tcp or "httpGet" in probe or "exec" in probe:
            c.err(where, f"the listener on {mtls_port} is mutual TLS only: must be a tcpSocket probe")
            return
        c.keys(where + ".tcpSocket", tcp, "tcpSocket")
        if tcp.get("port") not in ports:
            c.err(where, f"port {tcp.get('port')!r} is not a container port")
        elif ports.get(tcp.get("port")) != mtls_port:
            c.err(where, f"port {tcp.get('port')!r} is not the mutual-TLS listener ({mtls_port})")
        return
    get = probe.get("httpGet")
    if not get:
        c.err(where, "must be an httpGet probe")
        return
    c.keys(where + ".httpGet", get, "httpGet")
    if get.get("path") != path:
        c.err(where, f"path must be {path}")
    if get.get("scheme") != "HTTPS":
        c.err(where, "scheme must be HTTPS")
    if get.get("port") not in ports:
        c.err(where, f"port {get.get('port')!r} is not a container port")


def mtls_listener(c, where, text):
    """The [server] port of an INI file when that listener requires client certificates, else None."""
    ini = configparser.ConfigParser(comment_prefixes=(";", "#"), inline_comment_prefixes=None,
                                    interpolation=None, strict=True)
    try:
        ini.read_string(text)
    except configparser.Error as e:
        c.err(where, f"INI file does not parse: {e.__class__.__name__}")
        return None
    if not ini.has_section("server") or not ini.get("server", "tls_ca_file", fallback=""):
        return None
    port = ini.get("server", "port", fallback="")
    if not port.isdigit():
        c.err(where, "[server] tls_ca_file is set but [server] port is not a number")
        return None
    return int(port)


def check_job(c, where, spec, configmaps, secrets, workloads):
    tmpl = c.keys(where + ".template", spec.get("template", {}), "template")
    pod = tmpl.get("spec", {})
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        c.err(where, "restartPolicy must be Never or OnFailure")
    check_pod(c, where + ".template.spec", pod, configmaps, secrets, workload=False)
    workloads.append((where, (tmpl.get("metadata") or {}).get("labels") or {}, pod, None))


def check_pod(c, where, spec, configmaps, secrets_defined, workload=True):
    c.keys(where, spec, "pod.spec")
    if spec.get("automountServiceAccountToken") is not False:
        c.err(where, "automountServiceAccountToken must be false")
    psc = c.keys(where + ".securityContext", spec.get("securityContext", {}), "pod.securityContext")
    if psc.get("runAsNonRoot") is not True:
        c.err(where, "securityContext.runAsNonRoot must be true")
    if not isinstance(psc.get("runAsUser"), int) or psc.get("runAsUser") == 0:
        c.err(where, "securityContext.runAsUser must be a non-zero uid")
    if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        c.err(where, "securityContext.seccompProfile.type must be RuntimeDefault")
    volumes = {}
    for v in spec.get("volumes", []):
        c.keys(f"{where}.volumes", v, "volume")
        volumes[v.get("name")] = v
        if "secret" in v:
            mode = v["secret"].get("defaultMode", 0o644)
            if mode & 0o007:
                c.err(f"{where}.volumes.{v['name']}", f"secret defaultMode {oct(mode)} grants access to other")
    mounted = set()
    containers = spec.get("containers", [])
    if not containers:
        c.err(where, "no containers")
    for kind, group in (("container", containers), ("initContainer", spec.get("initContainers", []))):
        for ct in group:
            cw = f"{where}.{kind}[{ct.get('name')}]"
            c.keys(cw, ct, "container")
            c.need(cw, ct, "name", "image", "resources", "securityContext")
            if ":" not in str(ct.get("image", "")) or str(ct.get("image")).endswith(":latest"):
                c.err(cw, "image must carry a fixed tag")
            res = ct.get("resources", {})
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(part) or {}):
                        c.err(cw, f"resources.{part}.{r} missing")
            sc = c.keys(cw + ".securityContext", ct.get("securityContext", {}), "container.securityContext")
            if sc.get("allowPrivilegeEscalation") is not False:
                c.err(cw, "allowPrivilegeEscalation must be false")
            if sc.get("readOnlyRootFilesystem") is not True:
                c.err(cw, "readOnlyRootFilesystem must be true")
            if sc.get("privileged"):
                c.err(cw, "privileged")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                c.err(cw, "capabilities.drop must include ALL")
            if (sc.get("capabilities") or {}).get("add"):
                c.err(cw, "no capability may be added")
            ports = {}
            for p in ct.get("ports", []):
                ports[p.get("name")] = p.get("containerPort")
                ports[p.get("containerPort")] = p.get("containerPort")
            ct["_ports"] = ports
            mtls_port = None
            for m in ct.get("volumeMounts", []):
                c.keys(cw + ".volumeMounts", m, "volumeMount")
                c.need(cw + ".volumeMounts", m, "name", "mountPath")
                mounted.add(m.get("name"))
                v = volumes.get(m.get("name"))
                if v is None:
                    c.err(cw, f"volumeMount {m.get('name')!r} has no volume")
                    continue
                if ("secret" in v or "configMap" in v) and m.get("readOnly") is not True:
                    c.err(cw, f"volumeMount {m['name']} of a Secret/ConfigMap must be readOnly")
                if "subPath" in m and "configMap" in v:
                    cm = configmaps.get(v["configMap"].get("name"))
                    if cm is not None and m["subPath"] not in (cm.get("data") or {}):
                        c.err(cw, f"subPath {m['subPath']} is not a key of ConfigMap {v['configMap']['name']}")
                    elif cm is not None and m["subPath"].endswith(".ini"):
                        mtls_port = mtls_listener(c, cw, cm["data"][m["subPath"]]) or mtls_port
            if kind == "container" and workload:
                for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                    if probe not in ct:
                        c.err(cw, f"{probe} missing")
                    else:
                        check_probe(c, f"{cw}.{probe}", ct[probe], path, ports, mtls_port)
                if "startupProbe" in ct:
                    check_probe(c, f"{cw}.startupProbe", ct["startupProbe"], "/healthz", ports, mtls_port)
    for name in volumes:
        if name not in mounted:
            c.err(where, f"volume {name} is never mounted")
    for v in volumes.values():
        if "secret" in v:
            secrets_defined.setdefault("_used", set()).add(v["secret"].get("secretName"))


def main(folder):
    c = Checker()
    docs = []
    for path in sorted(glob.glob(os.path.join(folder, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            for i, d in enumerate(yaml.safe_load_all(f)):
                if d is not None:
                    docs.append((f"{os.path.basename(path)}#{i}", d))
    configmaps = {d["metadata"]["name"]: d for _, d in docs if d.get("kind") == "ConfigMap"}
    secrets = {}
    namespaces = {d["metadata"]["name"] for _, d in docs if d.get("kind") == "Namespace"}
    workloads, services, pdbs, netpols = [], [], [], []
    for where, d in docs:
        c.keys(where, d, "object")
        c.need(where, d, "apiVersion", "kind", "metadata")
        if (d.get("apiVersion"), d.get("kind")) not in KINDS:
            c.err(where, f"unknown apiVersion/kind {d.get('apiVersion')}/{d.get('kind')}")
            continue
        md = c.keys(where + ".metadata", d.get("metadata", {}), "metadata")
        c.need(where + ".metadata", md, "name")
        where = f"{where}({d['kind']}/{md.get('name')})"
        if d["kind"] != "Namespace":
            if md.get("namespace") not in namespaces:
                c.err(where, f"namespace {md.get('namespace')!r} is not defined in {folder}")
        kind = d["kind"]
        if kind == "Deployment":
            spec = c.keys(where + ".spec", d.get("spec", {}), "deployment.spec")
            c.need(where + ".spec", spec, "replicas", "selector", "template")
            replicas = spec.get("replicas")
            if not isinstance(replicas, int) or replicas < 1:
                c.err(where, "replicas must be an integer >= 1")
            elif replicas == 1 and (spec.get("strategy") or {}).get("type") != "Recreate":
                c.err(where, "replicas must be >= 2 (a PDB needs spare pods), or 1 with strategy Recreate")
            tmpl = c.keys(where + ".template", spec.get("template", {}), "template")
            labels = (tmpl.get("metadata") or {}).get("labels") or {}
            if not labels_match((spec.get("selector") or {}).get("matchLabels"), labels):
                c.err(where, "selector.matchLabels do not match the template labels")
            check_pod(c, where + ".template.spec", tmpl.get("spec", {}), configmaps, secrets)
            workloads.append((where, labels, tmpl.get("spec", {}), replicas))
        elif kind == "Job":
            spec = c.keys(where + ".spec", d.get("spec", {}), "job.spec")
            check_job(c, where, spec, configmaps, secrets, workloads)
        elif kind == "CronJob":
            spec = c.keys(where + ".spec", d.get("spec", {}), "cronjob.spec")
            c.need(where + ".spec", spec, "schedule", "jobTemplate", "concurrencyPolicy")
            fields = str(spec.get("schedule", "")).split()
            if len(fields) != 5 or not all(re.fullmatch(r"[0-9*/,-]+", f) for f in fields):
                c.err(where, f"schedule {spec.get('schedule')!r} is not a five-field cron expression")
            if spec.get("concurrencyPolicy") not in ("Allow", "Forbid", "Replace"):
                c.err(where, "concurrencyPolicy must be Allow, Forbid or Replace")
            for f in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
                if f in spec and (not isinstance(spec[f], int) or spec[f] < 0):
                    c.err(where, f"{f} must be a non-negative integer")
            jt = c.keys(where + ".jobTemplate", spec.get("jobTemplate", {}), "template")
            c.need(where + ".jobTemplate", jt, "spec")
            jspec = c.keys(where + ".jobTemplate.spec", jt.get("spec", {}), "job.spec")
            check_job(c, where + ".jobTemplate.spec", jspec, configmaps, secrets, workloads)
        elif kind == "Service":
            spec = c.keys(where + ".spec", d.get("spec", {}), "service.spec")
            for p in spec.get("ports", []):
                c.keys(where + ".ports", p, "servicePort")
                c.need(where + ".ports", p, "name", "port", "targetPort")
            services.append((where, spec))
        elif kind == "PodDisruptionBudget":
            spec = c.keys(where + ".spec", d.get("spec", {}), "pdb.spec")
            if ("minAvailable" in spec) == ("maxUnavailable" in spec):
                c.err(where, "exactly one of minAvailable / maxUnavailable")
            pdbs.append((where, spec))
        elif kind == "NetworkPolicy":
            spec = c.keys(where + ".spec", d.get("spec", {}), "netpol.spec")
            c.need(where + ".spec", spec, "podSelector", "policyTypes")
            netpols.append((where, spec))
        elif kind == "Secret":
            secrets[md.get("name")] = d
            if "data" in d and "stringData" in d:
                c.err(where, "use either data or stringData")
    for where, spec in services:
        targets = [w for w in workloads if labels_match(spec.get("selector"), w[1])]
        if not targets:
            c.err(where, "selector matches no workload")
        for p in spec.get("ports", []):
            if not any(p.get("targetPort") in ct.get("_ports", {})
                       for _, _, pod, _ in targets for ct in pod.get("containers", [])):
                c.err(where, f"targetPort {p.get('targetPort')!r} is no container port")
    for where, labels, pod, replicas in workloads:
        budgets = [s for _, s in pdbs if labels_match((s.get("selector") or {}).get("matchLabels"), labels)]
        if "Deployment" in where and not budgets:
            c.err(where, "no PodDisruptionBudget selects it")
        if replicas == 1 and not any(s.get("maxUnavailable", 0) not in (0, "0%") or s.get("minAvailable") in (0, "0%")
                                     for s in budgets):
            c.err(where, "a single replica needs a PodDisruptionBudget that allows its eviction "
                  "(maxUnavailable >= 1): one that does not blocks every node drain")
        own = [s for _, s in netpols if (s.get("podSelector") or {}).get("matchLabels")
               and labels_match(s["podSelector"]["matchLabels"], labels)]
        if not own:
            c.err(where, "no NetworkPolicy of its own")
    if not any(s.get("podSelector") == {} and set(s.get("policyTypes", [])) == {"Ingress", "Egress"}
               for _, s in netpols):
        c.err(folder, "no default-deny NetworkPolicy (podSelector {} with Ingress and Egress)")
    for where, spec in pdbs:
        if not any(labels_match((spec.get("selector") or {}).get("matchLabels"), w[1]) for w in workloads):
            c.err(where, "selector matches no workload")
    for e in c.errors:
        print(f"check_k8s: {e}")
    if not c.errors:
        print(f"check_k8s: {len(docs)} objects in {folder}: ok")
    return 1 if c.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "deploy/k8s"))
