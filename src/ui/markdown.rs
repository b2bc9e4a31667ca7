//! Plans as a pull-request comment, in GitHub-flavoured Markdown
//! (`plan -markdown`, `show -markdown FILE`): a heading, the summary
//! line, a warning alert when objects are destroyed or disrupted, a table
//! of the changed resources with the destructive ones first, then one
//! collapsed `<details>` section per resource holding its diff, the
//! drift and the output changes.
//!
//! The diffs are the terminal plan's blocks without colour, so both say
//! the same thing and mask sensitive values the same way. GitHub colours
//! a ```` ```diff ```` block by each line's first character, so each
//! line's change symbol is moved from its indentation to the first
//! column: `+` (added, green) and `-` (removed, red) stay as they are,
//! `~` (changed in place) becomes `!`, which GitHub does not colour but
//! which stands out in the margin; `-/+` and `+/-` (replacements) and
//! `<=` (reads) are left in their place, at the start of their line.

use super::plan::{
    disruption_warning, layout_of, reason_phrase, render_change, render_drift, render_outputs,
    summary_line,
};
use super::strip_styles;
use crate::lang::value::path_to_string;
use crate::plan::{Action, OutputChange, Plan, PlanMode, Reason, ResourceChange};

/// How a change ranks in the table: destructive changes first.
fn rank(c: &ResourceChange) -> u8 {
    match c.action {
        Action::Delete => 0,
        Action::DeleteThenCreate | Action::CreateThenDelete => 1,
        Action::Update if c.disruption.is_some() => 2,
        Action::Update => 3,
        Action::Create => 4,
        Action::Read => 5,
        Action::Forget => 6,
        Action::NoOp => 7,
    }
}

/// Whether the change destroys or disrupts an object: such rows are
/// flagged.
fn is_destructive(c: &ResourceChange) -> bool {
    rank(c) <= 2
}

/// The action as the table and the section titles name it, with its
/// colour dot.
fn action_label(c: &ResourceChange) -> &'static str {
    match c.action {
        Action::Delete => "🔴 destroy",
        Action::DeleteThenCreate => "🟠 replace",
        Action::CreateThenDelete => "🟠 replace (create first)",
        Action::Update if c.disruption.is_some() => "🟡 update in-place, disruptive",
        Action::Update => "🟡 update in-place",
        Action::Create => "🟢 create",
        Action::Read => "🔵 read",
        Action::Forget => "⚪ forget (stays in the cloud)",
        Action::NoOp => "no-op",
    }
}

/// Why the action was chosen, for the table's last column.
fn reason(c: &ResourceChange) -> String {
    match c.reason {
        Some(Reason::Tainted) => return "tainted".into(),
        Some(Reason::ReplaceByRequest) => return "requested with -replace".into(),
        Some(Reason::ReplaceByTriggers) => return "a change in replace_triggered_by".into(),
        _ => {}
    }
    if c.action.is_replace() && !c.replace_paths.is_empty() {
        let paths: Vec<String> = c
            .replace_paths
            .iter()
            .map(|p| path_to_string(p).trim_start_matches('.').to_string())
            .collect();
        return format!("forces replacement: {}", paths.join(", "));
    }
    if let Some(why) = &c.disruption {
        return why.clone();
    }
    reason_phrase(c).unwrap_or_default()
}

/// Text for a table cell: a `|` would end the cell and a newline the
/// row; backticks, `*`, `_`, `[`, `<` and `\` would start Markdown or HTML
/// that is not in the text.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\n' | '\r' => out.push(' '),
            '|' | '`' | '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            _ => out.push(ch),
        }
    }
    out
}

/// A code span: delimited by more backticks than the text has in a row.
/// In a table (`in_table`) `|` is escaped, as GitHub's tables require
/// even inside code (and only there: elsewhere the backslash would show).
fn code_span(text: &str, in_table: bool) -> String {
    let fence = "`".repeat(longest_backtick_run(text) + 1);
    let mut body = text.replace('\n', " ");
    if in_table {
        body = body.replace('|', "\\|");
    }
    // A space on each side keeps a backtick at either end apart from
    // the delimiters; Markdown strips one of each.
    if body.starts_with('`') || body.ends_with('`') {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

fn longest_backtick_run(text: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for ch in text.chars() {
        if ch == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// Text inside HTML (`<summary>`).
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A block of the terminal plan, without colour, as a `diff` code block:
/// each line's change symbol moved to the first column (see the module
/// documentation). The fence is longer than any backtick run in the
/// values, so none closes it early.
fn diff_block(terminal: &str) -> String {
    let text = strip_styles(terminal);
    let mut lines = Vec::new();
    for line in text.trim_end_matches('\n').lines() {
        lines.push(margin_symbol(line));
    }
    let body = lines.join("\n");
    let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
    format!("{fence}diff\n{body}\n{fence}\n")
}

/// `      ~ name = ...` becomes `!      name = ...`: the line keeps its
/// width and GitHub colours it by its first character.
fn margin_symbol(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    for (symbol, shown) in [("+ ", "+"), ("- ", "-"), ("~ ", "!")] {
        if indent > 0 && trimmed.starts_with(symbol) {
            return format!("{shown}{}{}", " ".repeat(indent), &trimmed[1..]);
        }
    }
    line.to_string()
}

/// The alert naming what is destroyed and what is disrupted, when
/// anything is.
fn warning(plan: &Plan, changes: &[&ResourceChange]) -> String {
    let destroyed: Vec<&&ResourceChange> = changes.iter().filter(|c| c.action.destroys()).collect();
    let disrupted: Vec<&&ResourceChange> = changes
        .iter()
        .filter(|c| c.action == Action::Update && c.disruption.is_some())
        .collect();
    if destroyed.is_empty() && disrupted.is_empty() {
        return String::new();
    }
    let mut out = String::from("> [!WARNING]\n");
    if !destroyed.is_empty() {
        let n = plan.counts().destroy;
        let noun = if n == 1 { "object" } else { "objects" };
        out.push_str(&format!(
            "> **{n} {noun} will be destroyed** (deleted, or replaced by a new one):\n"
        ));
        for c in &destroyed {
            let how = if c.action.is_replace() {
                "replaced"
            } else {
                "destroyed"
            };
            out.push_str(&format!(
                "> - {} ({how})\n",
                code_span(&c.addr.to_string(), false)
            ));
        }
    }
    if let Some(line) = disruption_warning(plan) {
        if !destroyed.is_empty() {
            out.push_str(">\n");
        }
        let line = line.trim_start_matches("Warning: ");
        out.push_str(&format!("> **{}**\n", line.trim_end_matches('.')));
        for c in &disrupted {
            out.push_str(&format!(
                "> - {}: {}\n",
                code_span(&c.addr.to_string(), false),
                cell(c.disruption.as_deref().unwrap_or_default())
            ));
        }
    }
    out.push('\n');
    out
}

fn table(changes: &[&ResourceChange]) -> String {
    let mut out = String::from("| Action | Resource | Reason |\n|---|---|---|\n");
    for c in changes {
        let label = if is_destructive(c) {
            format!("⚠️ **{}**", action_label(c))
        } else {
            action_label(c).to_string()
        };
        out.push_str(&format!(
            "| {label} | {} | {} |\n",
            code_span(&c.addr.to_string(), true),
            cell(&reason(c))
        ));
    }
    out.push('\n');
    out
}

/// A collapsed section titled `title` holding `body`.
fn details(title: &str, body: &str) -> String {
    format!(
        "<details><summary>{}</summary>\n\n{body}\n</details>\n\n",
        html(title)
    )
}

/// A plan as Markdown for a pull-request comment.
pub fn render(plan: &Plan) -> String {
    let mut out = match plan.mode {
        PlanMode::Normal => String::from("### stackform plan\n\n"),
        PlanMode::Destroy => String::from("### stackform destroy plan\n\n"),
        PlanMode::RefreshOnly => String::from("### stackform refresh-only plan\n\n"),
    };
    let mut changes: Vec<&ResourceChange> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    // Stable: within a rank, the plan's address order.
    changes.sort_by_key(|c| rank(c));
    let summary = summary_line(plan);
    match summary.strip_prefix("Plan: ") {
        Some(counts) => out.push_str(&format!("**Plan:** {counts}\n\n")),
        None => out.push_str(&format!("**{summary}**\n\n")),
    }
    out.push_str(&warning(plan, &changes));
    if !changes.is_empty() {
        out.push_str(&table(&changes));
        for c in &changes {
            let flag = if is_destructive(c) { "⚠️ " } else { "" };
            let title = format!(
                "{flag}{} — {}",
                c.addr,
                action_label(c).split_once(' ').map_or("", |(_, a)| a)
            );
            out.push_str(&details(
                &title,
                &diff_block(&render_change(c, &layout_of(plan, &c.addr))),
            ));
        }
    }
    let outputs: Vec<&OutputChange> = plan
        .outputs
        .iter()
        .filter(|o| o.action != Action::NoOp)
        .collect();
    if !outputs.is_empty() {
        out.push_str("#### Changes to Outputs\n\n");
        out.push_str(&diff_block(&render_outputs(&outputs)));
        out.push('\n');
    }
    if !plan.strays.is_empty() {
        out.push_str("#### Objects stackform created that the state does not record\n\n");
        out.push_str("A run stopped before recording them. They carry this state's marker.\n\n");
        for stray in &plan.strays {
            let name = stray
                .name
                .as_ref()
                .map(|n| format!(" ({})", code_span(n, false)))
                .unwrap_or_default();
            let what = format!(
                "{} {}{name}",
                code_span(&stray.type_name, false),
                code_span(&stray.id, false)
            );
            match (&stray.addr, stray.adopted) {
                (Some(addr), true) => out.push_str(&format!(
                    "- {what}: adopted as {}\n",
                    code_span(&addr.to_string(), false)
                )),
                _ => {
                    let reason = stray.reason.as_deref().unwrap_or("its address is unknown");
                    let delete = stray
                        .delete_command
                        .as_ref()
                        .map(|c| format!("; delete it with {}", code_span(c, false)))
                        .unwrap_or_default();
                    out.push_str(&format!(
                        "- ⚠️ {what}: not adopted, {}{delete}\n",
                        html(reason)
                    ));
                }
            }
        }
        out.push('\n');
    }
    if !plan.drift.is_empty() {
        out.push_str("#### Objects changed outside stackform\n\n");
        out.push_str("These changes were made outside stackform since the last apply; the plan above may undo or respond to them.\n\n");
        for d in &plan.drift {
            let what = if d.after.is_some() {
                "changed"
            } else {
                "deleted"
            };
            out.push_str(&details(
                &format!("{} — {what}", d.addr),
                &diff_block(&render_drift(d, &layout_of(plan, &d.addr))),
            ));
        }
    }
    out.trim_end_matches('\n').to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::value::{PathStep, Type, Value};
    use crate::plan::{OutputChange, ResourceDrift};

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn change(
        addr: &str,
        action: Action,
        before: Option<Value>,
        after: Option<Value>,
    ) -> ResourceChange {
        ResourceChange {
            before,
            after,
            ..ResourceChange::new(addr.parse().unwrap(), "openstack", action)
        }
    }

    fn plan(changes: Vec<ResourceChange>) -> Plan {
        let mut changes = changes;
        changes.sort_by(|a, b| a.addr.cmp(&b.addr));
        Plan::with_changes(PlanMode::Normal, changes)
    }

    fn server(image: &str, flavor: &str, password: Value) -> Value {
        obj(&[
            ("admin_pass", password),
            ("flavor_name", flavor.into()),
            ("id", "s1".into()),
            ("image_id", image.into()),
            ("name", "web".into()),
        ])
    }

    /// Every kind of change at once, with a password that must not show.
    fn everything() -> Plan {
        let secret = || Value::from("hunter2").mark_sensitive();
        let create = change(
            "openstack_networking_network_v2.net",
            Action::Create,
            None,
            Some(obj(&[
                ("id", Value::Unknown(Type::String)),
                ("name", "a|b `net`".into()),
            ])),
        );
        let update = change(
            "openstack_networking_network_v2.old",
            Action::Update,
            Some(obj(&[("id", "n1".into()), ("name", "old".into())])),
            Some(obj(&[("id", "n1".into()), ("name", "new".into())])),
        );
        let mut replace = change(
            "openstack_compute_instance_v2.db",
            Action::DeleteThenCreate,
            Some(server("img-1", "m1.tiny", secret())),
            Some(server("img-2", "m1.tiny", secret())),
        );
        replace.replace_paths = vec![vec![PathStep::Attr("image_id".into())]];
        let mut delete = change(
            "openstack_networking_network_v2.gone[1]",
            Action::Delete,
            Some(obj(&[("id", "n2".into()), ("name", "gone".into())])),
            None,
        );
        delete.reason = Some(Reason::CountIndex);
        let mut resize = change(
            "openstack_compute_instance_v2.web",
            Action::Update,
            Some(server("img-1", "m1.tiny", secret())),
            Some(server("img-1", "m1.small", secret())),
        );
        resize.disruption = Some(
            "the server is resized: Nova stops it, moves it to the new flavor and restarts it"
                .into(),
        );
        let mut p = plan(vec![create, update, replace, delete, resize]);
        p.drift = vec![ResourceDrift {
            addr: "openstack_networking_network_v2.old".parse().unwrap(),
            before: obj(&[("id", "n1".into()), ("name", "older".into())]),
            after: Some(obj(&[("id", "n1".into()), ("name", "old".into())])),
        }];
        p.outputs = vec![
            OutputChange {
                name: "address".into(),
                action: Action::Update,
                before: Some("10.0.0.1".into()),
                after: Some(Value::Unknown(Type::String)),
                sensitive: false,
            },
            OutputChange {
                name: "password".into(),
                action: Action::Create,
                before: None,
                after: Some("hunter2".into()),
                sensitive: true,
            },
        ];
        p
    }

    #[test]
    fn a_plan_with_every_kind_of_change() {
        let text = render(&everything());
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains('\u{1b}'), "no ANSI styles: {text}");
        insta::assert_snapshot!(text, @r#"
        ### stackform plan

        **Plan:** 2 to add, 2 to change, 2 to destroy.

        > [!WARNING]
        > **2 objects will be destroyed** (deleted, or replaced by a new one):
        > - `openstack_networking_network_v2.gone[1]` (destroyed)
        > - `openstack_compute_instance_v2.db` (replaced)
        >
        > **1 in-place update disrupts its object**
        > - `openstack_compute_instance_v2.web`: the server is resized: Nova stops it, moves it to the new flavor and restarts it

        | Action | Resource | Reason |
        |---|---|---|
        | ⚠️ **🔴 destroy** | `openstack_networking_network_v2.gone[1]` | because index \[1\] is out of range for count |
        | ⚠️ **🟠 replace** | `openstack_compute_instance_v2.db` | forces replacement: image\_id |
        | ⚠️ **🟡 update in-place, disruptive** | `openstack_compute_instance_v2.web` | the server is resized: Nova stops it, moves it to the new flavor and restarts it |
        | 🟡 update in-place | `openstack_networking_network_v2.old` |  |
        | 🟢 create | `openstack_networking_network_v2.net` |  |

        <details><summary>⚠️ openstack_networking_network_v2.gone[1] — destroy</summary>

        ```diff
          # openstack_networking_network_v2.gone[1] will be destroyed
          # (because index [1] is out of range for count)
        -   resource "openstack_networking_network_v2" "gone" {
        -       id   = "n2" -> null
        -       name = "gone" -> null
            }
        ```

        </details>

        <details><summary>⚠️ openstack_compute_instance_v2.db — replace</summary>

        ```diff
          # openstack_compute_instance_v2.db must be replaced
        -/+ resource "openstack_compute_instance_v2" "db" {
                id          = "s1"
        !       image_id    = "img-1" -> "img-2" # forces replacement
                name        = "web"
                # (2 unchanged attributes hidden)
            }
        ```

        </details>

        <details><summary>⚠️ openstack_compute_instance_v2.web — update in-place, disruptive</summary>

        ```diff
          # openstack_compute_instance_v2.web will be updated in-place, disruptively: the server is resized: Nova stops it, moves it to the new flavor and restarts it
        !   resource "openstack_compute_instance_v2" "web" {
        !       flavor_name = "m1.tiny" -> "m1.small"
                id          = "s1"
                name        = "web"
                # (2 unchanged attributes hidden)
            }
        ```

        </details>

        <details><summary>openstack_networking_network_v2.old — update in-place</summary>

        ```diff
          # openstack_networking_network_v2.old will be updated in-place
        !   resource "openstack_networking_network_v2" "old" {
                id   = "n1"
        !       name = "old" -> "new"
            }
        ```

        </details>

        <details><summary>openstack_networking_network_v2.net — create</summary>

        ```diff
          # openstack_networking_network_v2.net will be created
        +   resource "openstack_networking_network_v2" "net" {
        +       id   = (known after apply)
        +       name = "a|b `net`"
            }
        ```

        </details>

        #### Changes to Outputs

        ```diff
        !   address  = "10.0.0.1" -> (known after apply)
        +   password = (sensitive value)
        ```

        #### Objects changed outside stackform

        These changes were made outside stackform since the last apply; the plan above may undo or respond to them.

        <details><summary>openstack_networking_network_v2.old — changed</summary>

        ```diff
          # openstack_networking_network_v2.old has changed
        !   resource "openstack_networking_network_v2" "old" {
                id   = "n1"
        !       name = "older" -> "old"
            }
        ```

        </details>
        "#);
    }

    #[test]
    fn objects_the_state_does_not_record_have_their_section() {
        let mut p = plan(vec![]);
        p.strays = crate::plan::StrayObject::samples();
        insta::assert_snapshot!(render(&p), @r#"
        ### stackform plan

        **Plan:** 0 to add, 0 to change, 0 to destroy.

        #### Objects stackform created that the state does not record

        A run stopped before recording them. They carry this state's marker.

        - `openstack_compute_instance_v2` `5d8e0c1a` (`web-3`): adopted as `openstack_compute_instance_v2.web[3]`
        - ⚠️ `openstack_networking_network_v2` `77aa0b2c` (`old-net`): not adopted, the configuration does not declare openstack_networking_network_v2.old["a"]; delete it with `openstack network delete 77aa0b2c`
        "#);
    }

    #[test]
    fn no_changes_says_so() {
        insta::assert_snapshot!(render(&plan(vec![])), @r#"
        ### stackform plan

        **No changes.**
        "#);
    }

    #[test]
    fn cells_escape_what_would_break_the_table() {
        assert_eq!(cell("a|b `c` <d>"), "a\\|b \\`c\\` &lt;d&gt;");
        assert_eq!(code_span("x[\"a|b\"]", true), "`x[\"a\\|b\"]`");
        assert_eq!(code_span("x[\"a|b\"]", false), "`x[\"a|b\"]`");
        assert_eq!(code_span("x[\"`\"]", false), "``x[\"`\"]``");
        assert_eq!(code_span("`", false), "`` ` ``");
    }

    #[test]
    fn change_symbols_move_to_the_margin() {
        assert_eq!(margin_symbol("      ~ name = 1"), "!       name = 1");
        assert_eq!(margin_symbol("      + id   = 2"), "+       id   = 2");
        assert_eq!(
            margin_symbol("  - resource \"a\" \"b\" {"),
            "-   resource \"a\" \"b\" {"
        );
        assert_eq!(margin_symbol("-/+ resource"), "-/+ resource");
        assert_eq!(
            margin_symbol("        # (1 unchanged attribute hidden)"),
            "        # (1 unchanged attribute hidden)"
        );
    }

    #[test]
    fn a_diff_fence_outlasts_backticks_in_values() {
        let block = diff_block("  + x = \"```\"\n");
        assert!(block.starts_with("````diff\n"), "{block}");
        assert!(block.ends_with("\n````\n"), "{block}");
    }
}
