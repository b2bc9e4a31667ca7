#!/usr/bin/env python3
"""Engine benchmark: stackform and Terraform side by side on the same file.

Writes the configuration below (a 20-network, N-server stack of
terraform_data) into fresh temporary directories and measures, for each
tool: `apply -auto-approve` from an empty state, then a no-op `plan` on the
applied state. Wall time is the median of the runs; peak RSS is the largest
resident set of the tool's process (from wait4). Then it prints the ratios,
and times a no-op plan of the same shape at a larger N for stackform alone.

Usage: scripts/bench.py [--n 2000] [--runs 3] [--big-n 10000]
       [--stackform target/release/stackform] [--terraform terraform]

Run it on demand (it is not part of the test pass). It builds stackform in
release mode first unless --stackform points at a binary. Without terraform
on PATH it measures stackform alone and says so.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CONFIG = """variable "n" { default = %d }
resource "terraform_data" "net" {
  count = 20
  input = { name = "net-${count.index}", cidr = cidrsubnet("10.0.0.0/8", 8, count.index) }
}
resource "terraform_data" "server" {
  count = var.n
  input = { name = format("srv-%%04d", count.index), net = terraform_data.net[count.index %% 20].output.name }
}
output "count" { value = length(terraform_data.server) }
"""


def run(cmd, cwd, env=None):
    """Runs cmd; returns (seconds, peak RSS in MiB). Fails loudly."""
    # stderr goes to a file: a pipe read only after the process ends would
    # fill up and stall it.
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"{' '.join(cmd)} failed in {cwd} (exit {proc.returncode}):\n{err.read().decode(errors='replace')}")
    return elapsed, usage.ru_maxrss / 1024.0


def workspace(n):
    d = tempfile.mkdtemp(prefix="stackform-bench-")
    with open(os.path.join(d, "main.tf"), "w") as f:
        f.write(CONFIG % n)
    return d


def measure(tool, binary, n, runs, env):
    """Median apply and plan wall times and peak RSS over `runs` rounds."""
    applies, plans, rss_apply, rss_plan = [], [], [], []
    for _ in range(runs):
        d = workspace(n)
        try:
            if tool == "terraform":
                run([binary, "init", "-input=false", "-no-color"], d, env)
            t, rss = run([binary, "apply", "-auto-approve", "-input=false", "-no-color"], d, env)
            applies.append(t)
            rss_apply.append(rss)
            t, rss = run([binary, "plan", "-input=false", "-no-color"], d, env)
            plans.append(t)
            rss_plan.append(rss)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return {
        "apply": statistics.median(applies),
        "plan": statistics.median(plans),
        "apply_rss": max(rss_apply),
        "plan_rss": max(rss_plan),
        "applies": applies,
        "plans": plans,
    }


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--big-n", type=int, default=10000)
    p.add_argument("--stackform", default=None)
    p.add_argument("--terraform", default=shutil.which("terraform"))
    args = p.parse_args()

    stackform = os.path.abspath(args.stackform) if args.stackform else None
    if stackform is None:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
        stackform = os.path.join(root, "target", "release", "stackform")
    env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null", CHECKPOINT_DISABLE="1", NO_COLOR="1")

    print(f"n = {args.n}, {args.runs} runs each, median wall time, peak RSS; {os.cpu_count()} CPUs")
    ours = measure("stackform", stackform, args.n, args.runs, env)
    rows = [("stackform", ours)]
    theirs = None
    if args.terraform:
        version = subprocess.run([args.terraform, "version"], capture_output=True, text=True, env=env).stdout.splitlines()[0]
        theirs = measure("terraform", args.terraform, args.n, args.runs, env)
        rows.append((version, theirs))
    else:
        print("NOTICE: terraform not found on PATH: measuring stackform alone")

    print(f"{'tool':<20} {'apply s':>9} {'apply MiB':>10} {'plan s':>9} {'plan MiB':>10}")
    for name, r in rows:
        print(f"{name:<20} {r['apply']:>9.3f} {r['apply_rss']:>10.1f} {r['plan']:>9.3f} {r['plan_rss']:>10.1f}")
    if theirs:
        print(
            f"ratios (terraform / stackform): apply {theirs['apply'] / ours['apply']:.1f}x faster, "
            f"plan {theirs['plan'] / ours['plan']:.1f}x faster; "
            f"peak RSS {ours['apply_rss'] / theirs['apply_rss']:.2f} (apply) and "
            f"{ours['plan_rss'] / theirs['plan_rss']:.2f} (plan) of terraform's"
        )

    big = measure("stackform", stackform, args.big_n, args.runs, env)
    print(
        f"stackform at n = {args.big_n}: apply {big['apply']:.3f} s ({big['apply_rss']:.1f} MiB), "
        f"no-op plan {big['plan']:.3f} s ({big['plan_rss']:.1f} MiB)"
    )


if __name__ == "__main__":
    main()
