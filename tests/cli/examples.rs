//! Every directory under `examples/` validates, applies, re-plans to no
//! changes, and destroys. They run in one tree, as they sit in the
//! repository, in the order below: multi-tier looks up the image the
//! quickstart uploads to the embedded devcloud they share.

use super::Workspace;
use std::path::Path;

/// The examples in the order they are applied (destroyed in reverse).
const ORDER: &[&str] = &["hello", "quickstart", "multi-tier"];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            if entry.file_name() == "state" || entry.file_name() == ".stackform" {
                continue;
            }
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn every_example_applies_and_destroys_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut found: Vec<String> = std::fs::read_dir(&root)
        .expect("examples/")
        .filter_map(|e| {
            let e = e.expect("entry");
            e.path()
                .is_dir()
                .then(|| e.file_name().to_string_lossy().to_string())
        })
        .collect();
    found.sort();
    let mut listed: Vec<String> = ORDER.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed, "add new examples to ORDER");

    let ws = Workspace::new();
    for name in ORDER {
        copy_dir(&root.join(name), &ws.path().join(name));
    }
    let dir = |name: &str| format!("-chdir={name}");
    for name in ORDER {
        ws.run(&[&dir(name), "validate"])
            .ok()
            .stdout_has("Success!");
        ws.run(&[&dir(name), "apply", "-auto-approve", "-input=false"])
            .ok()
            .stdout_has("Apply complete!");
        let again = ws.run(&[&dir(name), "plan", "-detailed-exitcode", "-input=false"]);
        assert_eq!(
            again.code, 0,
            "{name}: a second plan should have no changes\n{}",
            again.stdout
        );
    }
    for name in ORDER.iter().rev() {
        ws.run(&[&dir(name), "destroy", "-auto-approve", "-input=false"])
            .ok()
            .stdout_has("Destroy complete!");
    }
}
