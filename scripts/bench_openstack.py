#!/usr/bin/env python3
"""OpenStack provider benchmark on devcloud, with its request counter.

Starts `stackform devcloud serve` (release build) on a free loopback port
and points stackform at it through the clouds.yaml it writes, then:

1. applies 50 networks with subnets and 500 servers (build time 0), and
   counts the API requests of a no-op `plan` of that stack (target: at
   most 20 in all, whatever the number of servers);
2. applies 100 servers with a 2 s build time at -parallelism=10: the bound
   parallelism sets is 100 / 10 x 2 s = 20 s (target: within 1.1x);
3. uploads a 1 GiB image with `openstack_images_image_v2` and compares
   stackform's peak RSS (target: under 64 MiB) and its throughput with
   `curl -T` of the same file to the same Glance endpoint (target: at
   least 80 %).

Usage: scripts/bench_openstack.py [--stackform target/release/stackform]
       [--servers 500] [--networks 50] [--upload-mib 1024]

Run it on demand; it is not part of the test pass. Figures are printed,
nothing is asserted.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def run(cmd, cwd, env):
    """Runs cmd; returns (seconds, peak RSS in MiB, stdout). Fails loudly."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.monotonic() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read().decode(errors="replace")
        if code != 0:
            err.seek(0)
            sys.exit(f"{' '.join(cmd)} failed (exit {code}):\n{stdout}\n{err.read().decode(errors='replace')}")
    return elapsed, usage.ru_maxrss / 1024.0, stdout


class Cloud:
    """A `devcloud serve` child on a free loopback port."""

    def __init__(self, stackform, build_time):
        self.dir = tempfile.mkdtemp(prefix="stackform-bench-cloud-")
        self.proc = subprocess.Popen(
            [stackform, "devcloud", "serve", "--listen", "127.0.0.1:0", "--data", self.dir,
             "--build-time", str(build_time), "--delete-time", "0", "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            m = re.match(r"devcloud is listening on (\S+)", line)
            if m:
                self.url = m.group(1)
                break
        else:
            sys.exit("devcloud did not start")

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            text = r.read()
        return json.loads(text) if text else None

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["OS_CLIENT_CONFIG_FILE"] = os.path.join(self.dir, "clouds.yaml")
        env["OS_CLOUD"] = "devcloud"
        env["NO_COLOR"] = "1"
        return env

    def token(self):
        """An admin token, with the password from the clouds.yaml written."""
        with open(os.path.join(self.dir, "clouds.yaml")) as f:
            password = re.search(r'password: "([^"]+)"', f.read()).group(1)
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
        req = urllib.request.Request(self.url + "/identity/v3/auth/tokens",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return r.headers["X-Subject-Token"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


STACK = """
resource "openstack_networking_network_v2" "net" {
  count = %(networks)d
  name  = "bench-net-${count.index}"
}
resource "openstack_networking_subnet_v2" "net" {
  count      = %(networks)d
  network_id = openstack_networking_network_v2.net[count.index].id
  cidr       = cidrsubnet("10.0.0.0/8", 8, count.index)
}
resource "openstack_compute_instance_v2" "server" {
  count     = %(servers)d
  name      = format("bench-%%04d", count.index)
  image_id  = "%(image)s"
  flavor_id = "1"
  network {
    uuid = openstack_networking_network_v2.net[count.index %% %(networks)d].id
  }
  depends_on = [openstack_networking_subnet_v2.net]
}
"""

IMAGE = """
resource "openstack_images_image_v2" "base" {
  name             = "bench-base"
  local_file_path  = "%(path)s"
  container_format = "bare"
  disk_format      = "raw"
}
"""


def workspace(text):
    d = tempfile.mkdtemp(prefix="stackform-bench-")
    with open(os.path.join(d, "main.tf"), "w") as f:
        f.write(text)
    return d


def apply(stackform, d, env, parallelism=10):
    return run([stackform, "apply", "-auto-approve", "-input=false",
                f"-parallelism={parallelism}"], d, env)


def image_id(stackform, d, env):
    _, _, out = run([stackform, "show", "-json"], d, env)
    state = json.loads(out)
    for r in state["values"]["root_module"]["resources"]:
        if r["address"] == "openstack_images_image_v2.base":
            return r["values"]["id"]
    sys.exit("no image in the state")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stackform", default="target/release/stackform")
    ap.add_argument("--servers", type=int, default=500)
    ap.add_argument("--networks", type=int, default=50)
    ap.add_argument("--upload-mib", type=int, default=1024)
    args = ap.parse_args()
    if args.stackform == "target/release/stackform":
        subprocess.run(["cargo", "build", "--release", "--quiet"], check=True)
    stackform = os.path.abspath(args.stackform)
    print(f"OpenStack provider on devcloud, {os.cpu_count()} CPUs")

    # 1. No-op plan of a big stack: API requests.
    cloud = Cloud(stackform, 0)
    try:
        env = cloud.env()
        base = workspace(IMAGE % {"path": write_file(1)})
        apply(stackform, base, env)
        image = image_id(stackform, base, env)
        d = workspace(STACK % {"networks": args.networks, "servers": args.servers, "image": image})
        t, _, _ = apply(stackform, d, env)
        print(f"apply of {args.networks} networks + subnets and {args.servers} servers (build 0 s): {t:.1f} s")
        cloud.control("DELETE", "/devcloud/requests")
        t, rss, out = run([stackform, "plan", "-input=false", "-detailed-exitcode"], d, env)
        counted = cloud.control("GET", "/devcloud/requests")
        print(f"no-op plan: {t:.2f} s, {rss:.1f} MiB, {counted['total']} API requests (target <= 20)")
        for route, n in sorted(counted["requests"].items()):
            print(f"    {n:5d}  {route}")
    finally:
        cloud.stop()

    # 2. 100 servers with a 2 s build at -parallelism=10.
    cloud = Cloud(stackform, 2)
    try:
        env = cloud.env()
        base = workspace(IMAGE % {"path": write_file(1)})
        apply(stackform, base, env)
        image = image_id(stackform, base, env)
        d = workspace(STACK % {"networks": 1, "servers": 100, "image": image})
        t, _, _ = apply(stackform, d, env, parallelism=10)
        print(f"apply of 100 servers, 2 s build, -parallelism=10: {t:.1f} s "
              f"(bound 20 s; ratio {t / 20:.2f}, target <= 1.1)")
    finally:
        cloud.stop()

    # 3. A 1 GiB upload: stackform against curl -T, alternated, 3 runs each
    # (medians): this machine is noisy.
    cloud = Cloud(stackform, 0)
    try:
        env = cloud.env()
        path = write_file(args.upload_mib)
        size = args.upload_mib * 1024 * 1024
        ours, theirs, peaks = [], [], []
        for _ in range(3):
            d = workspace(IMAGE % {"path": path})
            t, rss, _ = apply(stackform, d, env)
            ours.append(t)
            peaks.append(rss)
            theirs.append(curl_upload(cloud, path))
        t, curl_t = statistics.median(ours), statistics.median(theirs)
        print(f"upload of {args.upload_mib} MiB (median of 3): stackform apply {t:.1f} s "
              f"({size / t / 2**20:.0f} MiB/s), peak RSS {max(peaks):.1f} MiB (target < 64); "
              f"curl -T {curl_t:.1f} s ({size / curl_t / 2**20:.0f} MiB/s); "
              f"stackform/curl throughput {curl_t / t:.2f} (target >= 0.8)")
    finally:
        cloud.stop()


_files = {}


def write_file(mib):
    """A file of `mib` MiB of zeros (sparse where the filesystem allows)."""
    if mib not in _files:
        fd, path = tempfile.mkstemp(prefix="stackform-bench-", suffix=".raw")
        os.ftruncate(fd, mib * 1024 * 1024)
        os.close(fd)
        _files[mib] = path
    return _files[mib]


def curl_upload(cloud, path):
    """Creates an image and times `curl -T` of the file into it."""
    token = cloud.token()
    req = urllib.request.Request(
        cloud.url + "/image/v2/images", method="POST",
        data=json.dumps({"name": "bench-curl", "disk_format": "raw",
                         "container_format": "bare"}).encode(),
        headers={"Content-Type": "application/json", "X-Auth-Token": token})
    with urllib.request.urlopen(req) as r:
        image = json.loads(r.read())["id"]
    start = time.monotonic()
    subprocess.run(["curl", "-sf", "-o", "/dev/null", "-X", "PUT", "-T", path,
                    "-H", f"X-Auth-Token: {token}",
                    "-H", "Content-Type: application/octet-stream",
                    f"{cloud.url}/image/v2/images/{image}/file"], check=True)
    return time.monotonic() - start


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in _files.values():
            os.unlink(p)
