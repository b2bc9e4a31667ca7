//! The formatter against a corpus: every file under `tests/fmt/input`
//! must come out byte for byte as `tests/fmt/expected` holds it (which
//! `terraform fmt` wrote), format to itself again, and, when `terraform`
//! is on PATH, agree with what `terraform fmt -` says today.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fmt/input");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus directory")
        .map(|e| e.expect("a corpus entry").path())
        .collect();
    files.sort();
    files
}

fn expected(input: &Path) -> String {
    let name = input.file_name().expect("a file name");
    let path = input
        .parent()
        .and_then(Path::parent)
        .expect("tests/fmt")
        .join("expected")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn show_difference(name: &str, want: &str, got: &str) -> String {
    let diff = similar::TextDiff::from_lines(want, got)
        .unified_diff()
        .header("expected", "stackform")
        .to_string();
    format!("{name}:\n{diff}")
}

#[test]
fn the_corpus_is_large_enough_to_mean_something() {
    assert!(corpus().len() >= 40, "{} files", corpus().len());
}

#[test]
fn every_corpus_file_formats_as_terraform_fmt_did() {
    let mut failures = Vec::new();
    for input in corpus() {
        let name = input.display().to_string();
        let text = std::fs::read_to_string(&input).expect("a corpus file");
        let want = expected(&input);
        let got = stackform::config::fmt::format(&text);
        if got != want {
            failures.push(show_difference(&name, &want, &got));
            continue;
        }
        let again = stackform::config::fmt::format(&got);
        if again != got {
            failures.push(format!(
                "{name} (formatted twice):\n{}",
                show_difference(&name, &got, &again)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `terraform fmt -` on the input, or None when terraform is absent.
fn terraform_fmt(text: &str) -> Option<String> {
    use std::io::Write;
    let mut child = Command::new("terraform")
        .args(["fmt", "-"])
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .expect("a stdin pipe")
        .write_all(text.as_bytes())
        .expect("terraform reads its input");
    let out = child.wait_with_output().expect("terraform runs");
    assert!(
        out.status.success(),
        "terraform fmt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("UTF-8 from terraform"))
}

#[test]
fn every_corpus_file_formats_as_terraform_fmt_does_today() {
    let mut failures = Vec::new();
    for input in corpus() {
        let text = std::fs::read_to_string(&input).expect("a corpus file");
        let Some(want) = terraform_fmt(&text) else {
            eprintln!(
                "!!! terraform is not on PATH: the corpus is checked against its recorded output only"
            );
            return;
        };
        let got = stackform::config::fmt::format(&text);
        if got != want {
            failures.push(show_difference(&input.display().to_string(), &want, &got));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
