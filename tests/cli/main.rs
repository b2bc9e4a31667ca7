//! The integration tests: the real `stackform` binary, run in temporary
//! directories the way a user runs it.

mod acceptance;
mod bad_input;
mod crash;
mod examples;
mod fmt;
mod graph;
mod language;
mod markers;
mod modules;
mod openstack;
mod openstack_image;
mod openstack_network;
mod openstack_server;
mod parity;
mod workflow;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A working directory with configuration files, and ways to run
/// `stackform` in it.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace::new()
    }
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    #[track_caller]
    pub fn file(&self, name: &str, text: &str) -> &Self {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(path, text).expect("write file");
        self
    }

    pub fn remove(&self, name: &str) {
        let _ = std::fs::remove_file(self.dir.path().join(name));
    }

    pub fn read(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir.path().join(name)).ok()
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.path().join("state/default.json")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackform"));
        cmd.current_dir(self.dir.path())
            .args(args)
            .env_remove("NO_COLOR")
            .env("NO_COLOR", "1")
            .env_remove("TF_INPUT")
            .stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            // The developer's own variables and clouds stay out of tests.
            if k.starts_with("TF_VAR_") || k.starts_with("OS_") {
                cmd.env_remove(k);
            }
        }
        cmd
    }

    /// Runs `stackform` with `args` and no input.
    #[track_caller]
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run stackform"))
    }

    /// Runs `stackform` with `args`, feeding `stdin`.
    #[track_caller]
    pub fn run_with_input(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        Run::from(child.wait_with_output().expect("wait"))
    }

    /// Starts `stackform` and leaves it running with its stdin open.
    pub fn start(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    }
}

/// The result of one run, with assertions that show all output on
/// failure.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.code(0)
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, text: &str) -> &Self {
        assert!(
            !self.stdout.contains(text),
            "stdout has {text:?}\n--- stdout\n{}",
            self.stdout
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, text: &str) -> &Self {
        assert!(
            !self.stderr.contains(text),
            "stderr has {text:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Replaces what changes from run to run (UUIDs, temp paths, timings) so
/// output can be compared with a snapshot.
pub fn normalize(text: &str) -> String {
    let uuid = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .expect("regex");
    let elapsed = regex::Regex::new(r"after \d+(m\d+)?s").expect("regex");
    let text = uuid.replace_all(text, "<uuid>");
    elapsed.replace_all(&text, "after <t>").into_owned()
}
