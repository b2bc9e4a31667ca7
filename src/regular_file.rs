//! Opening and reading files that must be regular files: the state and
//! its journal, plan files, configuration and variable files,
//! `clouds.yaml`, the files `file()` reads and image files.
//!
//! A path that names a directory, a FIFO, a socket or a device is refused
//! with the kind of thing it is, before anything is read from it: `show
//! /dev/zero` would otherwise read for ever, and a FIFO would wait for a
//! writer. Opening never blocks (on Unix the file is opened with
//! `O_NONBLOCK`, which a FIFO honours and a regular file ignores), and the
//! kind is checked on the opened file itself, so the path cannot be
//! swapped for something else in between. A file read whole into memory
//! is refused past the limit its caller gives.
//!
//! Every caller names the file in its own message; this module says only
//! what is wrong with it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("it is {kind}, not a regular file")]
    NotRegular {
        /// `a directory`, `a FIFO`, `a character device`, ...
        kind: &'static str,
    },
    #[error("it is larger than {}, the most stackform reads of such a file", size_text(*limit))]
    TooLarge { limit: u64 },
    #[error("it is not UTF-8 text: the byte 0x{byte:02x} at line {line}, column {column} is not")]
    NotUtf8 {
        /// Where the first byte that is not UTF-8 is: 1-based, the column
        /// in characters, and its offset from the start.
        line: usize,
        column: usize,
        offset: usize,
        byte: u8,
        /// That line, with what is not UTF-8 replaced (U+FFFD), to show.
        line_text: String,
    },
}

impl FileError {
    /// Whether the file does not exist at all.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

/// `16 MiB`, `256 MiB`, `1 GiB`: limits as people say them.
pub fn size_text(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const UNITS: [(u64, &str); 3] = [(KIB * KIB * KIB, "GiB"), (KIB * KIB, "MiB"), (KIB, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}

/// Options that open for reading without blocking on a FIFO.
fn reading() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true);
    non_blocking(&mut options);
    options
}

/// Adds `O_NONBLOCK`: opening a FIFO returns at once instead of waiting
/// for the other end. Regular files ignore the flag.
pub fn non_blocking(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, libc::O_NONBLOCK);
    options
}

/// Refuses an opened file that is not a regular file, naming what it is.
pub fn check_regular(file: &File) -> Result<(), FileError> {
    let kind = kind_of(&file.metadata()?.file_type());
    match kind {
        None => Ok(()),
        Some(kind) => Err(FileError::NotRegular { kind }),
    }
}

/// What a non-regular file is, in words; `None` for a regular file.
fn kind_of(t: &std::fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
    }
    Some("a special file")
}

/// Refuses `path` when it exists and is not a regular file (following
/// symbolic links, as opening would). For paths about to be written: the
/// check names what is in the way, which a failed open would not.
pub fn check_if_exists(path: &Path) -> Result<(), FileError> {
    match std::fs::metadata(path) {
        Ok(m) => match kind_of(&m.file_type()) {
            None => Ok(()),
            Some(kind) => Err(FileError::NotRegular { kind }),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FileError::Io(e)),
    }
}

/// Opens `path` for reading, refusing anything but a regular file.
pub fn open(path: &Path) -> Result<File, FileError> {
    let file = reading().open(path)?;
    check_regular(&file)?;
    Ok(file)
}

/// Reads all of `path`, a regular file of at most `limit` bytes.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let file = open(path)?;
    read_open(file, limit)
}

/// Reads all of `path`, a regular file of at most `limit` bytes of UTF-8
/// text.
pub fn read_text(path: &Path, limit: u64) -> Result<String, FileError> {
    text(read(path, limit)?)
}

/// `bytes` as text, or where the first byte that is not UTF-8 is.
pub fn text(bytes: Vec<u8>) -> Result<String, FileError> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let bad = e.utf8_error().valid_up_to();
        // Everything before the bad byte is UTF-8: count lines and the
        // characters of the last one there.
        let (valid, rest) = bytes.split_at(bad.min(bytes.len()));
        let before = std::str::from_utf8(valid).unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_rest = rest.split(|&b| b == b'\n').next().unwrap_or_default();
        let line_text = format!(
            "{}{}",
            before.get(line_start..).unwrap_or_default(),
            String::from_utf8_lossy(line_rest)
        );
        FileError::NotUtf8 {
            line: before.matches('\n').count() + 1,
            column: before.get(line_start..).unwrap_or_default().chars().count() + 1,
            offset: valid.len(),
            byte: rest.first().copied().unwrap_or_default(),
            line_text: line_text.trim_end_matches('\r').to_string(),
        }
    })
}

/// Reads all of an opened regular file of at most `limit` bytes. The size
/// is checked before reading and again while reading, as the file may
/// grow in between.
pub fn read_open(file: File, limit: u64) -> Result<Vec<u8>, FileError> {
    let size = file.metadata()?.len();
    if size > limit {
        return Err(FileError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge { limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_read_within_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read(&path, 10).unwrap(), b"0123456789");
        let err = read(&path, 9).unwrap_err();
        assert!(matches!(err, FileError::TooLarge { limit: 9 }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "it is larger than 9 bytes, the most stackform reads of such a file"
        );
        assert!(
            read(&dir.path().join("missing"), 10)
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read(dir.path(), 10).unwrap_err().to_string(),
            "it is a directory, not a regular file"
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_without_waiting_or_reading() {
        assert_eq!(
            read(Path::new("/dev/zero"), u64::MAX)
                .unwrap_err()
                .to_string(),
            "it is a character device, not a regular file"
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        // No writer ever opens the FIFO: a blocking open would hang here.
        assert_eq!(
            read(&fifo, 10).unwrap_err().to_string(),
            "it is a FIFO, not a regular file"
        );
    }

    #[test]
    fn text_that_is_not_utf8_names_the_place_of_the_first_bad_byte() {
        assert_eq!(text(b"a\nb".to_vec()).unwrap(), "a\nb");
        let err = text(b"x = 1\ny = \"\xc3\xa9\xff\"\r\nz".to_vec()).unwrap_err();
        assert!(
            matches!(
                &err,
                FileError::NotUtf8 { line: 2, column: 7, offset: 13, byte: 0xff, line_text }
                    if line_text == "y = \"\u{e9}\u{fffd}\""
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "it is not UTF-8 text: the byte 0xff at line 2, column 7 is not"
        );
        let err = text(vec![0xfe]).unwrap_err();
        assert!(
            matches!(
                err,
                FileError::NotUtf8 {
                    line: 1,
                    column: 1,
                    byte: 0xfe,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size_text(256 * 1024 * 1024), "256 MiB");
        assert_eq!(size_text(1024 * 1024 * 1024), "1 GiB");
        assert_eq!(size_text(64 * 1024), "64 KiB");
        assert_eq!(size_text(1000), "1000 bytes");
    }
}
