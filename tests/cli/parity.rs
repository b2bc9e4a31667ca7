//! The parity suite: every case under `tests/parity/` is applied step by
//! step by stackform, and its plan summary, result line and `output
//! -json` are compared with what Terraform printed for the same files
//! (recorded in `case.json` by `tests/parity/record.py`). When `terraform`
//! is on PATH the case is also run with Terraform now and the two
//! `output -json` documents must be equal.

use super::{Workspace, normalize};
use serde_json::Value as J;
use std::path::{Path, PathBuf};
use std::process::Command;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("case.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Replaces the configuration files of `dest` with those of `src`
/// (subdirectories included), keeping the state.
fn use_step_files(src: &Path, dest: &Path) {
    for entry in std::fs::read_dir(dest).expect("read workspace") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name == "state"
            || name.starts_with("terraform.tfstate")
            || name.starts_with(".terraform")
        {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path).expect("remove old config dir");
        } else {
            std::fs::remove_file(&path).expect("remove old config file");
        }
    }
    copy_tree(src, dest);
}

fn copy_tree(src: &Path, dest: &Path) {
    for entry in std::fs::read_dir(src).expect("read step") {
        let entry = entry.expect("entry");
        let target = dest.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("create dir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy step file");
        }
    }
}

fn normalized_json(text: &str) -> J {
    serde_json::from_str(&normalize(text)).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn terraform() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("terraform"))
        .find(|p| p.is_file())
}

struct CaseRun {
    outputs: Vec<J>,
}

fn run_with_stackform(case: &Path, spec: &J) -> CaseRun {
    let name = case.file_name().unwrap().to_string_lossy().to_string();
    let ws = Workspace::new();
    let mut outputs = Vec::new();
    for (i, step) in spec["steps"].as_array().expect("steps").iter().enumerate() {
        if let Some(files) = step["files"].as_str() {
            use_step_files(&case.join(files), ws.path());
        }
        let args: Vec<&str> = step["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().expect("arg"))
            .collect();
        let mut cmd = ws.cmd(&args);
        if let Some(env) = step["env"].as_object() {
            for (k, v) in env {
                cmd = cmd.env(k, v.as_str().unwrap_or_default());
            }
        }
        let run = cmd.run();
        let what = format!("{name} step {}: stackform {}", i + 1, args.join(" "));
        assert_eq!(
            run.code, 0,
            "{what} failed\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        );
        let plan = step["plan"].as_str().expect("recorded plan line");
        assert!(
            run.stdout.contains(plan),
            "{what}: expected {plan:?}\n--- stdout\n{}",
            run.stdout
        );
        let result = step["result"].as_str().expect("recorded result line");
        assert!(
            run.stdout.contains(result),
            "{what}: expected {result:?}\n--- stdout\n{}",
            run.stdout
        );
        let out = ws.run(&["output", "-json", "-show-sensitive"]);
        assert_eq!(out.code, 0, "{what}: output -json failed: {}", out.stderr);
        let got = normalized_json(&out.stdout);
        assert_eq!(
            got, step["outputs"],
            "{what}: output -json differs from Terraform's recorded output"
        );
        outputs.push(got);
    }
    CaseRun { outputs }
}

fn run_with_terraform(terraform: &Path, case: &Path, spec: &J) -> CaseRun {
    let name = case.file_name().unwrap().to_string_lossy().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let tf = |args: &[&str], env: Option<&serde_json::Map<String, J>>| {
        let mut cmd = Command::new(terraform);
        cmd.current_dir(dir.path())
            .args(args)
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .env("CHECKPOINT_DISABLE", "1");
        if let Some(env) = env {
            for (k, v) in env {
                cmd.env(k, v.as_str().unwrap_or_default());
            }
        }
        let out = cmd.output().expect("run terraform");
        assert!(
            out.status.success(),
            "{name}: terraform {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut outputs = Vec::new();
    for step in spec["steps"].as_array().expect("steps") {
        // New files may call modules that Terraform must install first.
        if let Some(files) = step["files"].as_str() {
            use_step_files(&case.join(files), dir.path());
            tf(&["init", "-input=false", "-no-color"], None);
        }
        let mut args: Vec<&str> = step["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().expect("arg"))
            .collect();
        args.extend(["-no-color", "-input=false"]);
        tf(&args, step["env"].as_object());
        outputs.push(normalized_json(&tf(&["output", "-json"], None)));
    }
    CaseRun { outputs }
}

#[test]
fn parity_with_terraform() {
    let cases = cases();
    assert!(
        cases.len() >= 12,
        "the parity suite needs at least 12 cases, found {}",
        cases.len()
    );
    let terraform = terraform();
    if terraform.is_none() {
        eprintln!(
            "NOTICE: terraform is not on PATH: skipping the live comparison with Terraform; checking the recorded results only."
        );
    }
    for case in &cases {
        let spec: J = serde_json::from_str(
            &std::fs::read_to_string(case.join("case.json")).expect("case.json"),
        )
        .expect("valid case.json");
        let ours = run_with_stackform(case, &spec);
        if let Some(tf) = &terraform {
            let theirs = run_with_terraform(tf, case, &spec);
            assert_eq!(
                ours.outputs,
                theirs.outputs,
                "{}: output -json differs between stackform and terraform",
                case.display()
            );
        }
    }
    eprintln!(
        "parity: {} cases passed{}",
        cases.len(),
        if terraform.is_some() {
            ", each compared with a live terraform run"
        } else {
            " (recorded results only)"
        }
    );
}
