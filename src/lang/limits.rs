//! How large the values the language builds may grow. Past these sizes an
//! expression is refused with an error at its place in the file instead
//! of running the machine out of memory; each limit is far beyond what a
//! real configuration needs (README: "Limits").

/// The most bytes a string may hold: 64 MiB. `user_data` is capped at
/// 64 KiB by Nova and a rendered template is rarely a MiB; a string this
/// size copied into a thousand instances is already tens of GiB.
pub const MAX_STRING_BYTES: usize = 64 * 1024 * 1024;

/// The largest file `file()` and `templatefile()` read, the size of the
/// string they return.
pub const MAX_FILE_BYTES: u64 = MAX_STRING_BYTES as u64;

/// The largest file `filebase64()` reads: three quarters of a string, so
/// that its Base64 text (four bytes for every three) still fits one.
pub const MAX_BASE64_FILE_BYTES: u64 = MAX_FILE_BYTES / 4 * 3;

/// `64 MiB`, `1 MiB`: a byte count as messages say it.
pub fn bytes_text(bytes: usize) -> String {
    crate::regular_file::size_text(bytes as u64)
}
