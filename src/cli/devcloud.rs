//! `stackform devcloud serve`: runs devcloud until Ctrl-C, logging a line
//! per request on stderr.

use super::args::ServeArgs;
use super::{CliError, Settings, display_path};
use crate::devcloud::{self, Options};
use crate::ui::Output;
use crate::ui::style::{self, paint};
use std::io::Write;
use std::sync::Arc;

pub async fn serve(
    settings: &Settings,
    a: &ServeArgs,
    output: &mut Output,
) -> Result<i32, CliError> {
    let data_dir = if a.data.is_absolute() {
        a.data.clone()
    } else {
        settings.dir.join(&a.data)
    };
    let log: Option<devcloud::server::LogSink> = if a.quiet {
        None
    } else {
        Some(Arc::new(|line: &str| {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{line}");
        }))
    };
    let options = Options {
        listen: a.listen,
        data_dir: data_dir.clone(),
        build_time: a.build_time,
        delete_time: a.delete_time,
        latency: a.latency_ms,
        token_ttl: a.token_ttl,
        auth_cost: a.auth_ms,
        token_first_use: a.token_first_use_ms,
        log,
    };
    let stop = stop_signal();
    let mut started = String::new();
    let result = devcloud::serve_until(options, stop, |cloud| {
        started = format!(
            "{} {}\n  Keystone  {}/identity/v3\n  Glance    {}/image\n  Nova      {}/compute/v2.1\n  Neutron   {}/network\n  control   {}/devcloud/\nclouds.yaml: {} (clouds {} and {})\nPress Ctrl-C to stop.\n",
            paint(style::SUCCESS, "devcloud is listening on"),
            cloud.url(),
            cloud.url(),
            cloud.url(),
            cloud.url(),
            cloud.url(),
            cloud.url(),
            display_path(&settings.dir, &cloud.clouds_yaml()),
            devcloud::ADMIN_CLOUD,
            devcloud::DEMO_CLOUD,
        );
        output.err(&started);
    })
    .await;
    result.map_err(|e| CliError::message("devcloud failed", super::error_chain(&e)))?;
    output.err("devcloud stopped; its data is saved.\n");
    Ok(0)
}

/// Ctrl-C, or a SIGTERM from a process manager or a test harness: either
/// stops devcloud after it has saved its data.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
