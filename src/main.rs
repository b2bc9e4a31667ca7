//! The `stackform` binary: all of it is in the library; this maps the
//! result to the process exit status.

fn main() -> std::process::ExitCode {
    let code = stackform::cli::run(std::env::args_os().collect());
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
