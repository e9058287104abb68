#!/usr/bin/env python3
"""Every [section] key in the deployed authority.ini files is one the service knows.

The authority rejects unknown sections and keys at startup; this finds such a mistake in
deploy/ without starting it. Known keys are read from the key table of authority/config.cc
(entries of the form {"section", "key", ...}). Usage: check_ini_keys.py CONFIG_CC INI_OR_YAML...
(a YAML file is searched for an `authority.ini: |` or `warrant.ini: |` block, as in the Kubernetes
ConfigMaps; the warrant component's deploy files are checked against warrant/config.cc likewise).
"""
import re
import sys

import yaml


def ini_text(path):
    if path.endswith((".yaml", ".yml")):
        for doc in yaml.safe_load_all(open(path, encoding="utf-8")):
            data = (doc or {}).get("data") or {}
            for name in ("authority.ini", "warrant.ini"):
                if name in data:
                    return data[name]
        raise SystemExit(f"check_ini_keys: {path} has no authority.ini or warrant.ini")
    return open(path, encoding="utf-8").read()


def main():
    known = set(re.findall(r'\{"([a-z_]+)",\s*"([a-z_]+)"', open(sys.argv[1], encoding="utf-8").read()))
    if len(known) < 10:
        raise SystemExit("check_ini_keys: could not read the key table of " + sys.argv[1])
    errors = 0
    for path in sys.argv[2:]:
        section = None
        for n, line in enumerate(ini_text(path).splitlines(), 1):
            line = line.strip()
            if not line or line.startswith((";", "#")):
                continue
            m = re.fullmatch(r"\[([a-z_]+)\]", line)
            if m:
                section = m.group(1)
                continue
            key = line.split("=", 1)[0].strip()
            if (section, key) not in known:
                print(f"check_ini_keys: {path}:{n}: [{section}] {key} is not a key of the authority")
                errors += 1
    if not errors:
        print(f"check_ini_keys: {len(sys.argv) - 2} files, keys known to the authority")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
