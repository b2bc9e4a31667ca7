#!/usr/bin/env python3
"""Fidelity report: devcloud's answers against a real OpenStack's.

Runs one scenario with the stackform binary twice, once against a
`stackform devcloud serve` on loopback and once against a real cloud
(by default the `stackform-admin` cloud of the real-OpenStack harness,
scripts/real-openstack), each time recording every API answer with
STACKFORM_API_RECORD (service, method, path, status, content type and
the body's field names and types; never a value). It then compares the
two recordings endpoint by endpoint (ids in paths become {id}):

  status    the statuses seen differ
  ctype     the content types differ
  missing   a field the real service sends that devcloud does not
  extra     a field devcloud sends that the real service does not
  type      a field whose value types do not overlap
  only      an endpoint one side was asked and the other was not

Each difference is either fixed in devcloud or listed, with its reason,
in scripts/fidelity-allow.txt. The script prints every difference,
marks the allowed ones, and exits 1 when any is not allowed.

  python3 scripts/fidelity.py                      # run both, compare
  python3 scripts/fidelity.py --cloud NAME          # another real cloud
  python3 scripts/fidelity.py --compare A.jsonl B.jsonl   # devcloud, real

The real cloud is found as the OpenStack CLI finds it
(OS_CLIENT_CONFIG_FILE, or the harness's clouds.yaml when unset).
"""

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOW = os.path.join(ROOT, "scripts", "fidelity-allow.txt")
HARNESS_CLOUDS = os.path.join(ROOT, "target", "real-openstack", "clouds.yaml")

ID = re.compile(
    r"/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}|\d+)(?=/|$)")

# The scenario: every resource type, created, planned again, changed in
# place, and destroyed; then two requests the services refuse.
STACK = """
provider "openstack" {}

resource "openstack_images_image_v2" "img" {
  name             = "fid-img"
  local_file_path  = "tiny.qcow2"
  container_format = "bare"
  disk_format      = "qcow2"
  tags             = ["fid"]
  properties       = { os_distro = "cirros" }
}

resource "openstack_compute_flavor_v2" "small" {
  name        = "fid-small"
  ram         = 256
  vcpus       = 1
  disk        = 1
  extra_specs = { "hw:cpu_policy" = "%(cpu_policy)s" }
}

resource "openstack_networking_network_v2" "net" {
  name = "%(net_name)s"
  tags = ["fid"]
}

resource "openstack_networking_subnet_v2" "sub" {
  name            = "fid-sub"
  network_id      = openstack_networking_network_v2.net.id
  cidr            = "10.77.0.0/24"
  dns_nameservers = [%(dns)s]
  allocation_pool {
    start = "10.77.0.10"
    end   = "10.77.0.50"
  }
}

resource "openstack_compute_instance_v2" "vm" {
  name        = "fid-vm"
  image_id    = openstack_images_image_v2.img.id
  flavor_id   = openstack_compute_flavor_v2.small.id
  metadata    = { role = "%(role)s" }
  tags        = ["fid"]
  power_state = "%(power)s"
  network {
    uuid = openstack_networking_subnet_v2.sub.network_id
  }
}

data "openstack_images_image_v2" "found" {
  name       = "fid-img"
  depends_on = [openstack_images_image_v2.img]
}
"""

FIRST = {"cpu_policy": "shared", "net_name": "fid-net", "dns": '"10.77.0.2"',
         "role": "web", "power": "active"}
SECOND = {"cpu_policy": "dedicated", "net_name": "fid-net-2",
          "dns": '"10.77.0.2", "10.77.0.3"', "role": "api", "power": "shutoff"}

# Refused requests: a server on an image that does not exist (Nova 400)
# and raw bytes declared qcow2 (Glance's data inspection, 415).
REFUSED = """
provider "openstack" {}

resource "openstack_compute_instance_v2" "ghost" {
  name         = "fid-ghost"
  image_id     = "00000000-0000-4000-8000-000000000000"
  flavor_name  = "%(flavor)s"
  network_mode = "none"
}

resource "openstack_images_image_v2" "liar" {
  name             = "fid-liar"
  local_file_path  = "raw.img"
  container_format = "bare"
  disk_format      = "qcow2"
}
"""


def stackform_binary():
    """STACKFORM_BIN, or a fresh release build."""
    if os.environ.get("STACKFORM_BIN"):
        # Absolute, because the scenario runs stackform from scratch directories.
        return os.path.abspath(os.environ["STACKFORM_BIN"])
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "stackform")


def run(stackform, args, cwd, env, expect_ok=True):
    p = subprocess.run([stackform] + args, cwd=cwd, env=env, capture_output=True, text=True)
    if expect_ok and p.returncode not in (0, 2):
        sys.stderr.write(p.stdout + p.stderr)
        sys.exit(f"stackform {' '.join(args)} failed in {cwd}")
    return p


def make_images(d):
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", os.path.join(d, "tiny.qcow2"), "64M"],
                   check=True)
    with open(os.path.join(d, "raw.img"), "wb") as f:
        f.write(b"\0" * 65536)


def scenario(stackform, env, recording, flavor_for_refused):
    """Runs the scenario with `env` (OS_CLOUD and OS_CLIENT_CONFIG_FILE
    set), recording into `recording`."""
    env = dict(env, STACKFORM_API_RECORD=recording, NO_COLOR="1")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stackform-fidelity-") as d:
        make_images(d)
        for values in (FIRST, SECOND):
            with open(os.path.join(d, "main.tf"), "w") as f:
                f.write(STACK % values)
            run(stackform, ["apply", "-auto-approve"], d, env)
            p = run(stackform, ["plan", "-detailed-exitcode"], d, env)
            if p.returncode != 0:
                sys.stderr.write(p.stdout)
                sys.exit("the scenario does not re-plan to no changes")
        run(stackform, ["destroy", "-auto-approve"], d, env)
    with tempfile.TemporaryDirectory(prefix="stackform-fidelity-") as d:
        make_images(d)
        with open(os.path.join(d, "main.tf"), "w") as f:
            f.write(REFUSED % {"flavor": flavor_for_refused})
        p = run(stackform, ["apply", "-auto-approve"], d, env, expect_ok=False)
        if p.returncode == 0:
            sys.exit("the refused requests were accepted")
        run(stackform, ["destroy", "-auto-approve"], d, env)
    return time.monotonic() - started


class DevCloud:
    """`stackform devcloud serve` on a free loopback port."""

    def __init__(self, stackform):
        self.dir = tempfile.mkdtemp(prefix="stackform-fidelity-cloud-")
        self.proc = subprocess.Popen(
            [stackform, "devcloud", "serve", "--listen", "127.0.0.1:0", "--data", self.dir,
             "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            if line.startswith("devcloud is listening on"):
                break
        else:
            sys.exit("devcloud did not start")

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["OS_CLIENT_CONFIG_FILE"] = os.path.join(self.dir, "clouds.yaml")
        env["OS_CLOUD"] = "devcloud"
        return env

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- comparison ----------------------------------------------------------

def endpoint(line):
    return f"{line['service']} {line['method']} {ID.sub('/{id}', line['path'])}"


def load(path):
    """Endpoint → {statuses, content types, merged body shape per status
    class (success or error)}."""
    seen = {}
    with open(path) as f:
        for raw in f:
            line = json.loads(raw)
            e = seen.setdefault(endpoint(line), {"status": set(), "ctype": set(), "ok": None,
                                                 "error": None})
            e["status"].add(line["status"])
            if line["body"] is not None:
                e["ctype"].add(line["content_type"])
            key = "ok" if line["status"] < 400 else "error"
            e[key] = merge(e[key], line["body"])
    return seen


def merge(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(out[k], v) if k in out else v
        return out
    if isinstance(a, list) and isinstance(b, list):
        items = [x for x in a + b]
        merged = None
        for x in items:
            merged = merge(merged, x)
        return [merged] if merged is not None else []
    if a == b:
        return a
    return "|".join(sorted(set(str(a).split("|")) | set(str(b).split("|"))))


def types(shape):
    if isinstance(shape, dict):
        return {"object"}
    if isinstance(shape, list):
        return {"array"}
    return set(str(shape).split("|"))


# Objects whose keys are data (network names, metadata keys), not fields:
# their values are compared as one shape.
DATA_KEYED = ("addresses", "metadata", "extra_specs")


def values_shape(obj):
    merged = None
    for v in obj.values():
        merged = merge(merged, v)
    return merged


def compare_shapes(dev, real, path, out):
    """Differences between two shapes, as (kind, field path, detail)."""
    if (isinstance(dev, dict) and isinstance(real, dict)
            and path.rsplit(".", 1)[-1] in DATA_KEYED):
        d, r = values_shape(dev), values_shape(real)
        if d is not None and r is not None:
            compare_shapes(d, r, path + ".*", out)
        return
    if isinstance(dev, dict) and isinstance(real, dict):
        for k in sorted(set(dev) | set(real)):
            p = f"{path}.{k}"
            if k not in dev:
                out.append(("missing", p, f"real: {describe(real[k])}"))
            elif k not in real:
                out.append(("extra", p, f"devcloud: {describe(dev[k])}"))
            else:
                compare_shapes(dev[k], real[k], p, out)
        return
    if isinstance(dev, list) and isinstance(real, list):
        if dev and real:
            compare_shapes(dev[0], real[0], path + "[]", out)
        return
    td, tr = types(dev), types(real)
    # null only says a value was absent on one side's objects.
    if not (td - {"null"}) or not (tr - {"null"}) or (td & tr) - {"null"}:
        return
    out.append(("type", path, f"devcloud {describe(dev)}, real {describe(real)}"))


def describe(shape):
    if isinstance(shape, dict):
        return "object"
    if isinstance(shape, list):
        return "array"
    return str(shape)


def differences(dev, real):
    found = []
    for ep in sorted(set(dev) | set(real)):
        if ep not in dev:
            found.append((ep, "only", "-", "only the real service was asked"))
            continue
        if ep not in real:
            found.append((ep, "only", "-", "only devcloud was asked"))
            continue
        d, r = dev[ep], real[ep]
        if d["status"] != r["status"]:
            found.append((ep, "status", "-",
                          f"devcloud {sorted(d['status'])}, real {sorted(r['status'])}"))
        if d["ctype"] and r["ctype"] and d["ctype"] != r["ctype"]:
            found.append((ep, "ctype", "-",
                          f"devcloud {sorted(d['ctype'])}, real {sorted(r['ctype'])}"))
        for part in ("ok", "error"):
            if d[part] is None or r[part] is None:
                continue
            out = []
            compare_shapes(d[part], r[part], "body", out)
            found.extend((ep, kind, field, detail) for kind, field, detail in out)
    return found


def allow_list():
    """(endpoint glob, kind, field glob, reason) per line of the allow
    list: `ENDPOINT | KIND | FIELD | REASON`."""
    rules = []
    if not os.path.exists(ALLOW):
        return rules
    with open(ALLOW) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) != 4 or not parts[3]:
                sys.exit(f"{ALLOW}:{n}: want ENDPOINT | KIND | FIELD | REASON")
            rules.append(tuple(parts))
    return rules


def allowed(diff, rules):
    ep, kind, field, _ = diff
    for rule in rules:
        if (fnmatch.fnmatchcase(ep, rule[0]) and rule[1] in (kind, "*")
                and fnmatch.fnmatchcase(field, rule[2])):
            return rule[3]
    return None


def report(dev_path, real_path):
    dev, real = load(dev_path), load(real_path)
    rules = allow_list()
    found = differences(dev, real)
    common = sorted(set(dev) & set(real))
    print(f"endpoints: {len(common)} asked of both, {len(set(real) - set(dev))} only of the real "
          f"services, {len(set(dev) - set(real))} only of devcloud")
    unexplained = 0
    current = None
    for diff in found:
        ep, kind, field, detail = diff
        if ep != current:
            print(f"\n{ep}")
            current = ep
        reason = allowed(diff, rules)
        mark = "allowed" if reason else "DIFFERS"
        unexplained += reason is None
        print(f"  {mark:8} {kind:8} {field} ({detail})" + (f"  -- {reason}" if reason else ""))
    same = [ep for ep in common if not any(d[0] == ep for d in found)]
    print(f"\n{len(same)} endpoints answer alike: " + ", ".join(same))
    print(f"{len(found)} differences, {len(found) - unexplained} allowed, "
          f"{unexplained} not explained")
    return unexplained


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cloud", default="stackform-admin", help="the real cloud's name")
    ap.add_argument("--compare", nargs=2, metavar=("DEVCLOUD", "REAL"),
                    help="compare two recordings instead of running the scenario")
    ap.add_argument("--keep", metavar="DIR", help="keep the recordings in DIR")
    args = ap.parse_args()
    if args.compare:
        sys.exit(1 if report(*args.compare) else 0)

    stackform = stackform_binary()
    out = args.keep or tempfile.mkdtemp(prefix="stackform-fidelity-")
    os.makedirs(out, exist_ok=True)
    dev_rec, real_rec = os.path.join(out, "devcloud.jsonl"), os.path.join(out, "real.jsonl")
    for p in (dev_rec, real_rec):
        if os.path.exists(p):
            os.remove(p)

    cloud = DevCloud(stackform)
    try:
        dev_time = scenario(stackform, cloud.env(), dev_rec, "m1.tiny")
    finally:
        cloud.stop()

    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = os.environ.get("OS_CLIENT_CONFIG_FILE", HARNESS_CLOUDS)
    env["OS_CLOUD"] = args.cloud
    if not os.path.exists(env["OS_CLIENT_CONFIG_FILE"]):
        sys.exit(f"no clouds.yaml at {env['OS_CLIENT_CONFIG_FILE']}: start the harness "
                 "(python3 scripts/real-openstack/harness.py start) or set OS_CLIENT_CONFIG_FILE")
    real_time = scenario(stackform, env, real_rec, "m1.acctest")
    print(f"scenario: devcloud {dev_time:.1f} s, real services {real_time:.1f} s "
          f"(recordings in {out})")
    sys.exit(1 if report(dev_rec, real_rec) else 0)


if __name__ == "__main__":
    main()
