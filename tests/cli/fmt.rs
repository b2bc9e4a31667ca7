//! `fmt` through the binary: which files it reads, what it writes, lists
//! and prints, and its exit statuses, as `terraform fmt` behaves.

use crate::{Workspace, normalize};

const MESSY: &str = "a=1\nbb = 2\n";
const TIDY: &str = "a  = 1\nbb = 2\n";

fn workspace() -> Workspace {
    let ws = Workspace::new();
    ws.file("main.tf", MESSY)
        .file("tidy.tf", TIDY)
        .file("vars.tfvars", "x=\"y\"\n")
        .file("notes.txt", "a=1\n")
        .file("sub/inner.tf", "c=3\n")
        .file(".terraform/modules/m/vendored.tf", "d=4\n")
        .file(".hidden.tf", "e=5\n");
    ws
}

fn text(ws: &Workspace, name: &str) -> String {
    String::from_utf8(ws.read(name).expect("the file")).expect("UTF-8")
}

#[test]
fn fmt_rewrites_the_files_of_the_directory_and_lists_them() {
    let ws = workspace();
    let run = ws.run(&["fmt"]);
    run.ok();
    assert_eq!(run.stdout, "main.tf\nvars.tfvars\n");
    assert_eq!(text(&ws, "main.tf"), TIDY);
    assert_eq!(text(&ws, "vars.tfvars"), "x = \"y\"\n");
    assert_eq!(
        text(&ws, "notes.txt"),
        "a=1\n",
        "only .tf and .tfvars files"
    );
    assert_eq!(
        text(&ws, "sub/inner.tf"),
        "c=3\n",
        "not recursive by default"
    );
    let again = ws.run(&["fmt"]);
    again.ok();
    assert_eq!(again.stdout, "", "nothing left to format");
}

#[test]
fn fmt_recursive_descends_in_name_order() {
    let ws = workspace();
    let run = ws.run(&["fmt", "-recursive", "-list=false"]);
    run.ok();
    assert_eq!(run.stdout, "");
    assert_eq!(text(&ws, "sub/inner.tf"), "c = 3\n");
    let ws = workspace();
    let run = ws.run(&["fmt", "-recursive", "-write=false"]);
    run.ok();
    assert_eq!(run.stdout, "main.tf\nsub/inner.tf\nvars.tfvars\n");
    assert_eq!(text(&ws, "main.tf"), MESSY, "-write=false writes nothing");
    assert_eq!(
        text(&ws, ".terraform/modules/m/vendored.tf"),
        "d=4\n",
        "hidden directories and files are left alone"
    );
}

#[test]
fn fmt_check_writes_nothing_and_exits_3_with_a_diff() {
    let ws = workspace();
    let run = ws.run(&["fmt", "-check", "-diff", "main.tf", "tidy.tf"]);
    run.code(3);
    insta::assert_snapshot!(run.stdout, @r"
    main.tf
    --- old/main.tf
    +++ new/main.tf
    @@ -1,2 +1,2 @@
    -a=1
    +a  = 1
     bb = 2
    ");
    assert_eq!(text(&ws, "main.tf"), MESSY);
    ws.run(&["fmt", "-check", "tidy.tf"]).ok();
}

#[test]
fn fmt_reads_standard_input_when_given_a_dash() {
    let ws = Workspace::new();
    let run = ws.run_with_input(&["fmt", "-"], MESSY);
    run.ok();
    assert_eq!(run.stdout, TIDY);
    let check = ws.run_with_input(&["fmt", "-check", "-"], MESSY);
    check.code(3);
    assert_eq!(check.stdout, "");
    ws.run_with_input(&["fmt", "-check", "-"], TIDY).ok();
    let diff = ws.run_with_input(&["fmt", "-diff", "-"], MESSY);
    diff.ok().stdout_has("--- old/<stdin>\n+++ new/<stdin>\n");
}

#[test]
fn fmt_refuses_a_syntax_error_naming_the_place_and_leaves_the_file() {
    let ws = Workspace::new();
    ws.file("bad.tf", "locals {\n  a =\n}\n")
        .file("good.tf", "b=1\n");
    let run = ws.run(&["fmt"]);
    run.code(1);
    insta::assert_snapshot!(normalize(&run.stderr), @r#"
    ╷
    │ Error: Invalid syntax
    │
    │   on bad.tf:2:6:
    │      2:   a =
    │              ^
    │
    │ Invalid expression; expected `"`, `[`, `{`, `-`, `!`, `(`, `_`, `<`, letter or digit.
    ╵
    "#);
    assert_eq!(text(&ws, "bad.tf"), "locals {\n  a =\n}\n");
    assert_eq!(
        text(&ws, "good.tf"),
        "b = 1\n",
        "the other files are formatted"
    );
}

#[test]
fn fmt_names_paths_it_cannot_format() {
    let ws = workspace();
    ws.run(&["fmt", "notes.txt"])
        .code(1)
        .stderr_has("Only .tf, .tfvars, and .tftest.hcl files can be processed with stackform fmt");
    ws.run(&["fmt", "missing"])
        .code(1)
        .stderr_has("No file or directory at missing");
    assert_eq!(text(&ws, "notes.txt"), "a=1\n");
}
