//! `jsondecode` and `yamldecode` on deeply nested input: the time to
//! refuse `[[[...]]]` nested 1,000, 10,000 and 100,000 deep (the limit is
//! 50 levels), beside the time to decode a flat sequence of the same
//! size, to show that both stay linear in the size of their input (no
//! recursion per level, no rescanning). Run with `cargo bench --bench
//! decode`; figures are printed, nothing is asserted.

use stackform::lang::Value;
use stackform::lang::functions::{self, FuncContext};
use std::path::Path;
use std::time::{Duration, Instant};

const RUNS: usize = 7;

/// The median time of `RUNS` calls of `function` on `text`, and whether
/// it was refused.
fn time(function: &str, text: &str) -> (Duration, bool) {
    let spec = functions::lookup(function).expect("a built-in function");
    let ctx = FuncContext {
        base_dir: Path::new("."),
    };
    let arg = [Value::string(text)];
    let mut times = Vec::with_capacity(RUNS);
    let mut refused = false;
    for _ in 0..RUNS {
        let started = Instant::now();
        let result = functions::call(spec, &ctx, &arg);
        times.push(started.elapsed());
        refused = result.is_err();
    }
    times.sort();
    (times[RUNS / 2], refused)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    println!(
        "jsondecode and yamldecode, median of {RUNS} calls; nested input is refused at 50 levels"
    );
    println!(
        "{:<11} {:>8} {:>9}  {:>22}  {:>26}",
        "function", "depth", "bytes", "nested (refused)", "flat sequence, same size"
    );
    for function in ["jsondecode", "yamldecode"] {
        for depth in [1_000, 10_000, 100_000] {
            let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            // `[0,0,...,0]`: as many bytes, one level deep.
            let flat = format!("[{}0]", "0,".repeat(depth - 1));
            let (nested_time, refused) = time(function, &nested);
            let (flat_time, flat_refused) = time(function, &flat);
            println!(
                "{:<11} {:>8} {:>9}  {:>14} {:<7}  {:>18} {:<7}",
                function,
                depth,
                nested.len(),
                ms(nested_time),
                if refused { "(yes)" } else { "(no)" },
                ms(flat_time),
                if flat_refused { "refused" } else { "" },
            );
        }
    }
}
