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
mod robustness;
mod secrets;
mod workflow;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;

/// A working directory with configuration files, and ways to run
/// `stackform` in it.
///
/// Every command run through it is checked for secrets: its stdout and
/// stderr, the configuration it generates (`-generate-config-out`) and
/// the API record it keeps (`STACKFORM_API_RECORD`) must not hold any
/// value the test knows to be secret, or the test fails naming the
/// command. Known secrets are the credentials of every `clouds.yaml` in
/// the workspace (devcloud writes its users' passwords there) or named by
/// `OS_CLIENT_CONFIG_FILE`, the `OS_PASSWORD`-like variables a command is
/// given, and the values a test registers with [`Workspace::secret`]
/// (those it gives sensitive variables). The plan file a command writes
/// (`-out`) must not hold any credential either; it does hold the values
/// of sensitive variables and attributes, which applying it needs (and
/// is written 0600 for). The state file holds secrets by design and is
/// not checked.
pub struct Workspace {
    dir: tempfile::TempDir,
    secrets: Mutex<Vec<Secret>>,
}

/// A value no output may show, and what it is, for the failure message.
#[derive(Clone, Debug, PartialEq)]
struct Secret {
    what: String,
    value: String,
    /// A sensitive value a saved plan carries to apply it; credentials
    /// are never in a plan.
    planned: bool,
}

/// Environment variables whose values are credentials.
const SECRET_ENV: &[&str] = &[
    "OS_PASSWORD",
    "OS_TOKEN",
    "OS_AUTH_TOKEN",
    "OS_APPLICATION_CREDENTIAL_SECRET",
];

/// `clouds.yaml` keys whose values are credentials.
const SECRET_KEYS: &[&str] = &["password", "token", "application_credential_secret"];

/// Shorter values would match ordinary text by chance.
const MIN_SECRET_LEN: usize = 6;

impl Default for Workspace {
    fn default() -> Self {
        Workspace::new()
    }
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
            secrets: Mutex::new(Vec::new()),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Registers `value` as a secret that no later command may show.
    #[track_caller]
    pub fn secret(&self, value: &str) -> &Self {
        assert!(
            value.len() >= MIN_SECRET_LEN,
            "a secret of at least {MIN_SECRET_LEN} characters, so it cannot match by chance"
        );
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Secret {
                what: "a secret the test registered".into(),
                value: value.into(),
                planned: true,
            });
        self
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

    /// A command to run `stackform` with `args`, to be given more
    /// environment or input before it runs.
    pub fn cmd(&self, args: &[&str]) -> Cmd<'_> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stackform"));
        command
            .current_dir(self.dir.path())
            .args(args)
            .env_remove("NO_COLOR")
            .env("NO_COLOR", "1")
            .env_remove("TF_INPUT")
            .stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            // The developer's own variables and clouds stay out of tests.
            if k.starts_with("TF_VAR_") || k.starts_with("OS_") {
                command.env_remove(k);
            }
        }
        Cmd {
            ws: self,
            args: args.iter().map(|a| a.to_string()).collect(),
            command,
            input: None,
            env: Vec::new(),
        }
    }

    /// Runs `stackform` with `args` and no input.
    #[track_caller]
    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd(args).run()
    }

    /// Runs `stackform` with `args`, feeding `stdin`.
    #[track_caller]
    pub fn run_with_input(&self, args: &[&str], stdin: &str) -> Run {
        self.cmd(args).input(stdin).run()
    }

    /// Starts `stackform` and leaves it running with its stdin open.
    pub fn start(&self, args: &[&str]) -> Started<'_> {
        self.cmd(args).start()
    }

    /// The secrets known now: registered ones, those of every
    /// `clouds.yaml` in the workspace or in `more_files`, and those of
    /// the environment `env`.
    fn known_secrets(&self, more_files: &[PathBuf], env: &[(String, OsString)]) -> Vec<Secret> {
        let mut known = self
            .secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut files = more_files.to_vec();
        find_clouds_yaml(self.path(), 4, &mut files);
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            known.extend(
                credentials_in_yaml(&text)
                    .into_iter()
                    .map(|(key, value)| Secret {
                        what: format!("the {key} in {}", file.display()),
                        value,
                        planned: false,
                    }),
            );
        }
        for (k, v) in env {
            if SECRET_ENV.contains(&k.as_str()) {
                known.push(Secret {
                    what: format!("the value of {k}"),
                    value: v.to_string_lossy().into_owned(),
                    planned: false,
                });
            }
        }
        known.retain(|s| s.value.len() >= MIN_SECRET_LEN);
        known.dedup();
        known
    }
}

/// Collects the `clouds.yaml` files under `dir`, `depth` levels down.
fn find_clouds_yaml(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && depth > 0 {
            find_clouds_yaml(&path, depth - 1, out);
        } else if entry.file_name() == "clouds.yaml" {
            out.push(path);
        }
    }
}

/// (key, value) of each credential line (`password: "..."`) of a
/// `clouds.yaml`.
fn credentials_in_yaml(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.trim().split_once(':')?;
            let key = key.trim().trim_matches(['"', '\'']);
            let value = value.trim().trim_matches(['"', '\'']);
            (SECRET_KEYS.contains(&key) && !value.is_empty())
                .then(|| (key.to_string(), value.to_string()))
        })
        .collect()
}

/// One `stackform` command, run through its workspace so that what it
/// prints and writes is checked for secrets.
pub struct Cmd<'w> {
    ws: &'w Workspace,
    args: Vec<String>,
    command: Command,
    input: Option<String>,
    env: Vec<(String, OsString)>,
}

impl<'w> Cmd<'w> {
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value.as_ref());
        self.env
            .push((key.to_string(), value.as_ref().to_os_string()));
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.command.env_remove(key);
        self.env.retain(|(k, _)| k != key);
        self
    }

    /// Text fed to stdin.
    pub fn input(mut self, text: &str) -> Self {
        self.input = Some(text.to_string());
        self
    }

    /// Runs the command to its end.
    #[track_caller]
    pub fn run(mut self) -> Run {
        let run = match self.input.take() {
            None => Run::from(self.command.output().expect("run stackform")),
            Some(text) => {
                let mut child = self
                    .command
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn");
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(text.as_bytes())
                    .expect("write stdin");
                Run::from(child.wait_with_output().expect("wait"))
            }
        };
        self.check(&run);
        run
    }

    /// Starts the command and leaves it running with its stdin open.
    pub fn start(mut self) -> Started<'w> {
        let child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        Started {
            cmd: self,
            child: Some(child),
        }
    }

    /// The files this command writes that are checked: each with
    /// whether it is a saved plan, which may hold sensitive values.
    fn written_files(&self) -> Vec<(PathBuf, bool)> {
        // Paths in arguments are relative to -chdir's directory.
        let dir = self
            .args
            .iter()
            .find_map(|a| a.trim_start_matches('-').strip_prefix("chdir="))
            .map_or_else(|| self.ws.path().to_path_buf(), |d| self.ws.path().join(d));
        let mut files = Vec::new();
        let mut args = self.args.iter();
        while let Some(arg) = args.next() {
            if !arg.starts_with('-') {
                continue;
            }
            let flag = arg.trim_start_matches('-');
            for (name, plan) in [("out", true), ("generate-config-out", false)] {
                if let Some(file) = flag.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                    files.push((dir.join(file), plan));
                } else if flag == name {
                    files.extend(args.next().map(|f| (dir.join(f), plan)));
                }
            }
        }
        files.extend(
            self.env
                .iter()
                .filter(|(k, _)| k == "STACKFORM_API_RECORD")
                .map(|(_, v)| (self.ws.path().join(v), false)),
        );
        files
    }

    /// Fails the test when the run's output, or a file it wrote, shows a
    /// known secret.
    #[track_caller]
    fn check(&self, run: &Run) {
        let config_files: Vec<PathBuf> = self
            .env
            .iter()
            .filter(|(k, _)| k == "OS_CLIENT_CONFIG_FILE")
            .map(|(_, v)| self.ws.path().join(v))
            .collect();
        let secrets = self.ws.known_secrets(&config_files, &self.env);
        let mut places = vec![
            ("stdout".to_string(), run.stdout.clone(), false),
            ("stderr".to_string(), run.stderr.clone(), false),
        ];
        for (file, plan) in self.written_files() {
            if let Ok(bytes) = std::fs::read(&file) {
                places.push((
                    file.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                    plan,
                ));
            }
        }
        for (place, text, plan) in &places {
            for secret in secrets.iter().filter(|s| !(*plan && s.planned)) {
                assert!(
                    !text.contains(&secret.value),
                    "`stackform {}` shows {} in {place}\n--- stdout\n{}\n--- stderr\n{}",
                    self.args.join(" "),
                    secret.what,
                    run.stdout,
                    run.stderr
                );
            }
        }
    }
}

/// A command left running; what it printed is checked when it ends.
pub struct Started<'w> {
    cmd: Cmd<'w>,
    child: Option<Child>,
}

impl Started<'_> {
    /// Writes `text` to the command's stdin; a command that has ended
    /// no longer reads it.
    pub fn write_stdin(&mut self, text: &str) {
        if let Some(stdin) = self.child.as_mut().and_then(|c| c.stdin.as_mut()) {
            let _ = stdin.write_all(text.as_bytes());
        }
    }

    /// Closes the command's stdin, as at the end of the input.
    pub fn close_stdin(&mut self) {
        if let Some(child) = self.child.as_mut() {
            drop(child.stdin.take());
        }
    }

    /// Waits for the command to end.
    #[track_caller]
    pub fn finish(mut self) -> Run {
        let child = self.child.take().expect("a running command");
        let run = Run::from(child.wait_with_output().expect("wait"));
        self.cmd.check(&run);
        run
    }
}

/// The running process, to poll or signal; what it prints is still
/// checked when it ends.
impl std::ops::Deref for Started<'_> {
    type Target = Child;

    fn deref(&self) -> &Child {
        self.child.as_ref().expect("a running command")
    }
}

impl std::ops::DerefMut for Started<'_> {
    fn deref_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("a running command")
    }
}

impl Drop for Started<'_> {
    /// A command the test did not wait for is stopped, and what it
    /// printed until then is checked all the same.
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = child.kill();
        if let Ok(output) = child.wait_with_output()
            && !std::thread::panicking()
        {
            self.cmd.check(&Run::from(output));
        }
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
