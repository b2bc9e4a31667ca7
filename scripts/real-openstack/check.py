"""`harness.py check`: proves servers boot on the running clouds and that
the Nova actions stackform uses work with the fake compute driver.

1. On each cloud, the `openstack` CLI exactly as a person would run it:
   `server create --flavor m1.acctest --image cirros-acc --network private
   --wait`, then `server delete --wait`.
2. As demo, on a network and subnet demo creates itself.
3. As demo, through the REST API, one server taken through os-stop,
   os-start, pause, unpause, shelve, unshelve, resize + confirmResize,
   rebuild and changePassword, each timed from the request until the
   server settles (no task state).

Everything it creates is deleted, whatever happens. Prints one line per
step; exits 1 if a step did not end as expected.
"""

import json
import subprocess
import time

CHECK_PREFIX = "harness-check"


class Report:
    def __init__(self):
        self.failed = []

    def line(self, step, outcome, seconds=None, ok=True):
        took = f"{seconds:6.1f} s" if seconds is not None else " " * 8
        mark = "ok  " if ok else "FAIL"
        print(f"{mark} {took}  {step}: {outcome}", flush=True)
        if not ok:
            self.failed.append(step)


def run_check(paths, h):
    missing = [s.name for s in h.SERVICES if not s.own_pid(paths)]
    if missing:
        raise h.HarnessError(f"not running ({', '.join(missing)}): run `harness.py start` first")
    s = h.load_secrets(paths)
    env = h.clean_env(paths)
    env["OS_CLIENT_CONFIG_FILE"] = str(paths.clouds)
    report = Report()
    start = time.monotonic()

    def osc(cloud, *args):
        t = time.monotonic()
        out = subprocess.run([str(paths.bin / "openstack"), "--os-cloud", cloud, *args], capture_output=True, text=True, env=env)
        return out, time.monotonic() - t

    def cli_boot(cloud, network, name):
        out, took = osc(cloud, "server", "create", "--flavor", "m1.acctest", "--image", h.IMAGE_NAME, "--network", network,
                        "--wait", name, "-f", "json")
        if out.returncode != 0:
            report.line(f"{cloud}: server create --network {network} --wait", out.stderr.strip()[-300:], took, ok=False)
            return False
        server = json.loads(out.stdout)
        report.line(f"{cloud}: server create --network {network} --wait", f"{server['status']} {server.get('addresses')}",
                    took, ok=server["status"] == "ACTIVE")
        out, took = osc(cloud, "server", "delete", "--wait", name)
        report.line(f"{cloud}: server delete --wait", "gone" if out.returncode == 0 else out.stderr.strip()[-300:], took,
                    ok=out.returncode == 0)
        return True

    demo = h.Cloud("demo", s["demo"], "demo")
    nova = h.url_of("compute")
    try:
        cleanup(h, h.Cloud("admin", s["admin"], "admin"))
        cli_boot("stackform-demo", h.NETWORK_NAME, f"{CHECK_PREFIX}-demo")
        cli_boot("stackform-admin", h.NETWORK_NAME, f"{CHECK_PREFIX}-admin")

        net = f"{CHECK_PREFIX}-net"
        out, took = osc("stackform-demo", "network", "create", net, "-f", "json")
        report.line("stackform-demo: network create", "ok" if out.returncode == 0 else out.stderr.strip()[-300:], took,
                    ok=out.returncode == 0)
        out, took = osc("stackform-demo", "subnet", "create", "--network", net, "--subnet-range", "10.99.0.0/24",
                        f"{CHECK_PREFIX}-subnet", "-f", "json")
        report.line("stackform-demo: subnet create 10.99.0.0/24", "ok" if out.returncode == 0 else out.stderr.strip()[-300:],
                    took, ok=out.returncode == 0)
        cli_boot("stackform-demo", net, f"{CHECK_PREFIX}-own-net")

        actions(h, demo, nova, report)
    finally:
        cleanup(h, h.Cloud("admin", s["admin"], "admin"))
    total = time.monotonic() - start
    if report.failed:
        print(f"check: {len(report.failed)} step(s) failed in {total:.0f} s: {', '.join(report.failed)}")
        return 1
    print(f"check passed in {total:.0f} s")
    return 0


def wait_settled(demo, nova, server_id, want, timeout=180):
    """Polls until the server has status `want` and no task state, or is
    in ERROR, or the time is up. Returns the last server body."""
    deadline = time.monotonic() + timeout
    while True:
        server = demo.get(f"{nova}/servers/{server_id}")["server"]
        settled = server.get("OS-EXT-STS:task_state") is None
        if server["status"] == "ERROR" or (server["status"] == want and settled) or time.monotonic() > deadline:
            return server
        time.sleep(0.5)


def describe(server):
    text = server["status"]
    if server.get("fault"):
        text += f" (fault: {server['fault'].get('message')})"
    return text


def actions(h, demo, nova, report):
    image_id = demo.get(f"{h.url_of('image')}/v2/images?name={h.IMAGE_NAME}")["images"][0]["id"]
    net_id = demo.get(f"{h.url_of('network')}/v2.0/networks?name={h.NETWORK_NAME}")["networks"][0]["id"]
    t = time.monotonic()
    server = demo.call("POST", f"{nova}/servers", {"server": {
        "name": f"{CHECK_PREFIX}-actions", "imageRef": image_id, "flavorRef": "99", "networks": [{"uuid": net_id}]}})[2]["server"]
    sid = server["id"]
    server = wait_settled(demo, nova, sid, "ACTIVE")
    report.line("demo REST: POST /servers", describe(server), time.monotonic() - t, ok=server["status"] == "ACTIVE")
    if server["status"] != "ACTIVE":
        return

    steps = [
        ("os-stop", {"os-stop": None}, "SHUTOFF"),
        ("os-start", {"os-start": None}, "ACTIVE"),
        ("pause", {"pause": None}, "PAUSED"),
        ("unpause", {"unpause": None}, "ACTIVE"),
        ("shelve", {"shelve": None}, "SHELVED_OFFLOADED"),
        ("unshelve", {"unshelve": None}, "ACTIVE"),
        ("resize to m1.resize", {"resize": {"flavorRef": "98"}}, "VERIFY_RESIZE"),
        ("confirmResize", {"confirmResize": None}, "ACTIVE"),
        ("rebuild", {"rebuild": {"imageRef": image_id}}, "ACTIVE"),
        ("changePassword", {"changePassword": {"adminPass": "harness-check-Pa55"}}, "ACTIVE"),
    ]
    for name, body, want in steps:
        t = time.monotonic()
        try:
            status = demo.call("POST", f"{nova}/servers/{sid}/action", body)[0]
            answer = f"HTTP {status}"
        except h.HttpError as e:
            report.line(f"demo REST: {name}", f"HTTP {e.status} {e.body.strip()[:300]}", time.monotonic() - t, ok=False)
            continue
        server = wait_settled(demo, nova, sid, want)
        outcome = f"{answer}, then {describe(server)}"
        if name == "confirmResize":
            outcome += f", flavor {server['flavor'].get('original_name')}"
        report.line(f"demo REST: {name}", outcome, time.monotonic() - t, ok=server["status"] == want)
        if server["status"] == "ERROR":
            return


def cleanup(h, admin):
    """Deletes whatever an earlier or this check left: servers first (their
    ports keep the network in use), then the shelve snapshots, the subnet
    and the network."""
    nova = h.url_of("compute")
    neutron = h.url_of("network")
    glance = h.url_of("image")
    servers = [sv for sv in admin.get(f"{nova}/servers?all_tenants=1&name=^{CHECK_PREFIX}")["servers"]]
    for sv in servers:
        admin.call("DELETE", f"{nova}/servers/{sv['id']}")
    deadline = time.monotonic() + 120
    while servers and time.monotonic() < deadline:
        servers = admin.get(f"{nova}/servers?all_tenants=1&name=^{CHECK_PREFIX}")["servers"]
        time.sleep(0.5)
    for image in admin.get(f"{glance}/v2/images?limit=1000")["images"]:
        if image["name"].startswith(f"{CHECK_PREFIX}"):
            admin.call("DELETE", f"{glance}/v2/images/{image['id']}")
    for subnet in admin.get(f"{neutron}/v2.0/subnets?name={CHECK_PREFIX}-subnet")["subnets"]:
        admin.call("DELETE", f"{neutron}/v2.0/subnets/{subnet['id']}")
    for net in admin.get(f"{neutron}/v2.0/networks?name={CHECK_PREFIX}-net")["networks"]:
        admin.call("DELETE", f"{neutron}/v2.0/networks/{net['id']}")
