#!/usr/bin/env python3
"""Record Terraform's behaviour for the parity corpus.

For every case directory (or only the ones named on the command line) this
runs the case's steps with the real `terraform` binary in a scratch
directory and writes the observed "Plan: ..." line, the "Apply complete! ..."
/ "Destroy complete! ..." line and the `terraform output -json` object of each
step back into the case's case.json.

Usage: python3 tests/parity/record.py [--keep] [--verbose] [CASE...]

CASE is a case directory name (e.g. 01-count) or a path to one.
Python 3 standard library only.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TERRAFORM = os.environ.get("TERRAFORM", "terraform")

# Files and directories of the scratch directory that survive a change of
# step files: Terraform's state and what `terraform init` created.
KEEP = {"terraform.tfstate", "terraform.tfstate.backup", ".terraform", ".terraform.lock.hcl"}

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

STEP_KEY_ORDER = ["files", "args", "env", "plan", "result", "outputs"]
CASE_KEY_ORDER = ["about", "steps"]


class RecordError(Exception):
    pass


# ---------------------------------------------------------------------------
# JSON with numbers kept exactly as written (Terraform prints arbitrary
# precision numbers; a round trip through float could change them).


class Num:
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Num) and other.text == self.text

    def __repr__(self):
        return self.text


def loads(text):
    return json.loads(text, parse_int=Num, parse_float=Num, parse_constant=Num)


def dumps(value, indent=0):
    pad = "  " * (indent + 1)
    end = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            pad + json.dumps(str(k), ensure_ascii=False) + ": " + dumps(v, indent + 1)
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(pad + dumps(v, indent + 1) for v in value) + "\n" + end + "]"
    if isinstance(value, Num):
        return value.text
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    raise TypeError("cannot encode %r" % (value,))


def normalise_uuids(value):
    """Replace every UUID inside strings (and object keys) with "<uuid>"."""
    if isinstance(value, str):
        return UUID_RE.sub("<uuid>", value)
    if isinstance(value, list):
        return [normalise_uuids(v) for v in value]
    if isinstance(value, dict):
        return {normalise_uuids(k): normalise_uuids(v) for k, v in value.items()}
    return value


def ordered(obj, order):
    out = {k: obj[k] for k in order if k in obj}
    for k, v in obj.items():
        if k not in out:
            out[k] = v
    return out


# ---------------------------------------------------------------------------
# Running Terraform.


def base_env():
    # Nothing from the caller's environment may influence Terraform: drop all
    # TF_* variables (TF_VAR_*, TF_CLI_ARGS*, TF_LOG, TF_WORKSPACE, ...).
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env["TF_CLI_CONFIG_FILE"] = "/dev/null"
    env["CHECKPOINT_DISABLE"] = "1"
    return env


def run(argv, cwd, env, what):
    proc = subprocess.run(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    if proc.returncode != 0:
        raise RecordError(
            "%s failed (exit %d): %s\n--- stderr ---\n%s\n--- stdout ---\n%s"
            % (what, proc.returncode, " ".join(argv), proc.stderr.rstrip(), proc.stdout.rstrip())
        )
    return proc


def install_files(src, workdir):
    """Replace the configuration files of workdir with the files of src."""
    for name in os.listdir(workdir):
        if name in KEEP:
            continue
        path = os.path.join(workdir, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    for name in sorted(os.listdir(src)):
        if name in KEEP:
            raise RecordError("step directory %s must not contain %s" % (src, name))
        s = os.path.join(src, name)
        d = os.path.join(workdir, name)
        if os.path.isdir(s):
            shutil.copytree(s, d)
        else:
            shutil.copy2(s, d)


def extract(stdout, what):
    plan = None
    result = None
    for line in stdout.splitlines():
        line = line.rstrip()
        if line.startswith("Plan: "):
            if plan is not None:
                raise RecordError("%s: more than one Plan line" % what)
            plan = line
        elif line.startswith("No changes. "):
            if plan is not None:
                raise RecordError("%s: more than one Plan line" % what)
            plan = "No changes."
        elif line.startswith("Apply complete! ") or line.startswith("Destroy complete! "):
            result = line
    if plan is None:
        raise RecordError(
            "%s: no 'Plan: ...' or 'No changes.' line in Terraform's output "
            "(a step that changes only outputs prints neither; avoid such steps)\n"
            "--- stdout ---\n%s" % (what, stdout.rstrip())
        )
    if result is None:
        raise RecordError("%s: no 'Apply complete!' / 'Destroy complete!' line\n--- stdout ---\n%s"
                          % (what, stdout.rstrip()))
    return plan, result


def record_case(case_dir, keep=False, verbose=False):
    name = os.path.basename(case_dir.rstrip("/"))
    case_path = os.path.join(case_dir, "case.json")
    with open(case_path, encoding="utf-8") as f:
        original_text = f.read()
    case = loads(original_text)
    steps = case.get("steps")
    if not isinstance(steps, list) or not steps:
        raise RecordError("%s: case.json has no steps" % name)
    if "files" not in steps[0]:
        raise RecordError("%s: the first step must name its files" % name)

    workdir = tempfile.mkdtemp(prefix="parity-%s-" % name)
    try:
        new_steps = []
        for i, step in enumerate(steps, 1):
            what = "%s step %d" % (name, i)
            args = step.get("args")
            if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
                raise RecordError("%s: 'args' must be a non-empty list of strings" % what)
            step_env = step.get("env") or {}
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in step_env.items()):
                raise RecordError("%s: 'env' must map strings to strings" % what)
            env = base_env()
            env.update(step_env)

            if "files" in step:
                src = os.path.join(case_dir, step["files"])
                if not os.path.isdir(src):
                    raise RecordError("%s: no directory %s" % (what, src))
                install_files(src, workdir)
            # New files may call modules that Terraform must install first.
            if i == 1 or "files" in step:
                run([TERRAFORM, "init", "-input=false", "-no-color"], workdir, base_env(),
                    "%s: terraform init" % what)

            argv = [TERRAFORM] + args + ["-no-color", "-input=false"]
            proc = run(argv, workdir, env, what)
            if verbose:
                sys.stdout.write(proc.stdout)
            plan, result = extract(proc.stdout, what)

            out = run([TERRAFORM, "output", "-json"], workdir, base_env(),
                      "%s: terraform output -json" % what)
            outputs = normalise_uuids(loads(out.stdout))

            new_step = dict(step)
            new_step["plan"] = plan
            new_step["result"] = result
            new_step["outputs"] = outputs
            new_steps.append(ordered(new_step, STEP_KEY_ORDER))

        new_case = dict(case)
        new_case["steps"] = new_steps
        new_text = dumps(ordered(new_case, CASE_KEY_ORDER)) + "\n"
        changed = new_text != original_text
        if changed:
            with open(case_path, "w", encoding="utf-8") as f:
                f.write(new_text)
        plans = " | ".join(s["plan"] for s in new_steps)
        print("%-28s %d steps %s  [%s]" % (name, len(new_steps), "UPDATED  " if changed else "unchanged", plans))
        return changed
    finally:
        if keep:
            print("  kept %s" % workdir, file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def find_cases(names):
    if not names:
        return [
            os.path.join(HERE, d)
            for d in sorted(os.listdir(HERE))
            if os.path.isfile(os.path.join(HERE, d, "case.json"))
        ]
    cases = []
    for n in names:
        for cand in (n, os.path.join(HERE, n)):
            if os.path.isfile(os.path.join(cand, "case.json")):
                cases.append(os.path.abspath(cand))
                break
        else:
            raise RecordError("no such case: %s" % n)
    return cases


def main():
    ap = argparse.ArgumentParser(description="Record Terraform results into tests/parity/*/case.json")
    ap.add_argument("cases", nargs="*", metavar="CASE", help="case directory names (default: all)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directories")
    ap.add_argument("--verbose", "-v", action="store_true", help="echo Terraform's stdout")
    opts = ap.parse_args()
    try:
        cases = find_cases(opts.cases)
        if not cases:
            raise RecordError("no cases found under %s" % HERE)
        changed = 0
        for case_dir in cases:
            if record_case(case_dir, keep=opts.keep, verbose=opts.verbose):
                changed += 1
        print("recorded %d case(s), %d updated" % (len(cases), changed))
    except RecordError as e:
        print("record.py: error: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
