#!/usr/bin/env python3
"""Structural check of deploy/compose.yaml (no container engine needed).

Checks the keys against the parts of the Compose specification the file uses, that every
reference (depends_on, networks, volumes, configs, secrets) names something defined, that config
files exist and that every secret file is one deploy/compose/make-secrets.sh creates (pass the
folder it wrote with --secrets-dir), that the RealDID services carry the hardening settings, that
/metrics is never published and that every /run/secrets path in authority.ini or warrant.ini is
mounted into the service that reads it.
Exit 0 when clean, 1 with one line per problem.
"""
import argparse
import os
import re
import sys

import yaml

TOP = {"name", "services", "networks", "volumes", "configs", "secrets"}
SERVICE = {"image", "build", "command", "entrypoint", "environment", "depends_on", "configs",
           "secrets", "volumes", "networks", "network_mode", "ports", "healthcheck", "restart",
           "read_only", "user", "cap_drop", "cap_add", "security_opt", "tmpfs", "ulimits",
           "profiles", "working_dir", "labels", "stop_grace_period", "stop_signal", "init"}
HEALTH = {"test", "interval", "timeout", "retries", "start_period", "disable"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
RESTART = {"no", "always", "on-failure", "unless-stopped"}
REALDID_IMAGE = re.compile(r"^realdid:")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("compose")
    ap.add_argument("--secrets-dir", help="folder written by make-secrets.sh")
    args = ap.parse_args()
    base = os.path.dirname(os.path.abspath(args.compose))
    errors = []
    err = errors.append
    with open(args.compose, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    for k in doc:
        if k not in TOP and not k.startswith("x-"):
            err(f"top level: unknown key {k!r}")
    services = doc.get("services") or {}
    defined = {kind: set((doc.get(kind) or {}).keys())
               for kind in ("networks", "volumes", "configs", "secrets")}
    for kind in ("configs", "secrets"):
        for name, spec in (doc.get(kind) or {}).items():
            path = spec.get("file")
            if not path:
                err(f"{kind}.{name}: needs file")
                continue
            if kind == "configs" and not os.path.isfile(os.path.join(base, path)):
                err(f"configs.{name}: {path} does not exist")
            if kind == "secrets":
                if not path.startswith("./compose/secrets/"):
                    err(f"secrets.{name}: {path} is not under ./compose/secrets/")
                elif args.secrets_dir and not os.path.isfile(
                        os.path.join(args.secrets_dir, os.path.basename(path))):
                    err(f"secrets.{name}: make-secrets.sh does not create {os.path.basename(path)}")
    used = {kind: set() for kind in defined}
    for sname, svc in services.items():
        where = f"services.{sname}"
        for k in svc:
            if k not in SERVICE:
                err(f"{where}: unknown key {k!r}")
        if "image" not in svc and "build" not in svc:
            err(f"{where}: needs image or build")
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        for d, spec in deps.items():
            if d not in services:
                err(f"{where}.depends_on: unknown service {d!r}")
            if (spec or {}).get("condition", "service_started") not in CONDITIONS:
                err(f"{where}.depends_on.{d}: bad condition")
        if "restart" in svc and str(svc["restart"]) not in RESTART:
            err(f"{where}.restart: {svc['restart']!r}")
        for k in (svc.get("healthcheck") or {}):
            if k not in HEALTH:
                err(f"{where}.healthcheck: unknown key {k!r}")
        if "network_mode" in svc and "networks" in svc:
            err(f"{where}: network_mode and networks exclude each other")
        for n in svc.get("networks") or []:
            used["networks"].add(n)
            if n not in defined["networks"]:
                err(f"{where}.networks: undefined network {n!r}")
        for v in svc.get("volumes") or []:
            src = v.split(":")[0]
            if src.startswith(".") or src.startswith("/"):
                if not os.path.exists(os.path.join(base, src)):
                    err(f"{where}.volumes: bind source {src} does not exist")
            else:
                used["volumes"].add(src)
                if src not in defined["volumes"]:
                    err(f"{where}.volumes: undefined volume {src!r}")
        mounted_secrets = set()
        for kind in ("configs", "secrets"):
            for ref in svc.get(kind) or []:
                name = ref["source"] if isinstance(ref, dict) else ref
                used[kind].add(name)
                if name not in defined[kind]:
                    err(f"{where}.{kind}: undefined {kind[:-1]} {name!r}")
                if kind == "secrets":
                    mounted_secrets.add(ref.get("target", name) if isinstance(ref, dict) else name)
                if kind == "configs" and isinstance(ref, dict) and ref.get("target") in (
                        "/etc/realdid/authority.ini", "/etc/realdid/warrant.ini"):
                    ini = os.path.join(base, doc["configs"][name]["file"])
                    with open(ini, encoding="utf-8") as f:
                        for p in re.findall(r"/run/secrets/([\w.-]+)", f.read()):
                            svc.setdefault("_ini_secrets", set()).add(p)
        for p in svc.get("_ini_secrets", set()):
            if p not in mounted_secrets:
                err(f"{where}: its .ini names /run/secrets/{p}, which is not mounted")
        for port in svc.get("ports") or []:
            if str(port).split(":")[-1] == "9464":
                err(f"{where}.ports: /metrics (9464) must not be published")
        image = str(svc.get("image", ""))
        if REALDID_IMAGE.match(image) or sname == "prometheus":
            if svc.get("read_only") is not True:
                err(f"{where}: read_only must be true")
            if not str(svc.get("user", "")).split(":")[0].isdigit() or str(svc.get("user")).startswith("0:"):
                err(f"{where}: user must be a numeric non-root uid")
            if "ALL" not in (svc.get("cap_drop") or []):
                err(f"{where}: cap_drop must include ALL")
            if svc.get("cap_add"):
                err(f"{where}: no capability may be added")
            if "no-new-privileges:true" not in (svc.get("security_opt") or []):
                err(f"{where}: security_opt must include no-new-privileges:true")
        if REALDID_IMAGE.match(image):
            if str((svc.get("ulimits") or {}).get("core", "")) != "0":
                err(f"{where}: ulimits.core must be 0 (no core dumps with secrets)")
    for s in ("postgres", "db-bootstrap", "migrate", "token-init", "ctid-sim", "authority", "warrant",
              "prometheus"):
        if s not in services:
            err(f"services: the stack needs {s!r}")
    for kind in defined:
        for name in defined[kind] - used[kind]:
            err(f"{kind}.{name}: defined but never used")
    for e in errors:
        print(f"check_compose: {e}")
    if not errors:
        print(f"check_compose: {len(services)} services, "
              f"{sum(len(v) for v in defined.values())} networks/volumes/configs/secrets: ok")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
