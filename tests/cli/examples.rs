//! Every directory under `examples/` validates, applies, re-plans to no
//! changes, and destroys.

use super::Workspace;
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            if entry.file_name() == "state" {
                continue;
            }
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn every_example_applies_and_destroys_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).expect("examples/") {
        let dir = entry.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        seen += 1;
        let ws = Workspace::new();
        copy_dir(&dir, ws.path());
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        ws.run(&["validate"]).ok().stdout_has("Success!");
        ws.run(&["apply", "-auto-approve", "-input=false"])
            .ok()
            .stdout_has("Apply complete!");
        let again = ws.run(&["plan", "-detailed-exitcode", "-input=false"]);
        assert_eq!(
            again.code, 0,
            "{name}: a second plan should have no changes\n{}",
            again.stdout
        );
        ws.run(&["destroy", "-auto-approve", "-input=false"])
            .ok()
            .stdout_has("Destroy complete!");
    }
    assert!(seen > 0, "no examples found");
}
