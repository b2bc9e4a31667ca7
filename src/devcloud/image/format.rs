//! What Glance's format inspector finds in uploaded bytes. Since 2024.2
//! Glance checks that the data of a `bare` image is what its
//! `disk_format` says (a qcow2 image must start with the qcow2 magic, a
//! raw image must not be a qcow2, VMDK, VHD, VHDX, VDI or ISO file),
//! refuses unsafe qcow2 files, and reads the virtual size from the
//! format's header. Formats without an inspector (ami, ari, aki, ploop)
//! are taken as they come.
//!
//! Only the start of the data matters, so the inspector keeps the first
//! [`HEAD_LEN`] bytes and counts the rest.

/// Enough for every header looked at: the ISO 9660 primary volume
/// descriptor ends at 0x8800.
pub const HEAD_LEN: usize = 0x8800;

const SECTOR: u64 = 512;

/// Collects the start of an upload.
#[derive(Default)]
pub struct Inspector {
    head: Vec<u8>,
    total: u64,
}

/// Why uploaded data is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The data is not in the declared format.
    Mismatch {
        declared: String,
        found: &'static str,
    },
    /// The data is in the declared format but unsafe to use.
    Unsafe(String),
}

/// What the data turned out to be.
#[derive(Debug, PartialEq, Eq)]
struct Found {
    format: &'static str,
    virtual_size: Option<u64>,
    hazard: Option<String>,
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    let bytes: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(u16::from_le_bytes(bytes))
}

/// Whether Glance inspects data declared in this disk format.
pub fn is_inspected(disk_format: &str) -> bool {
    matches!(
        disk_format,
        "raw" | "qcow2" | "vmdk" | "vhd" | "vhdx" | "vdi" | "iso"
    )
}

impl Inspector {
    pub fn feed(&mut self, chunk: &[u8]) {
        let room = HEAD_LEN.saturating_sub(self.head.len());
        self.head.extend_from_slice(&chunk[..room.min(chunk.len())]);
        self.total += chunk.len() as u64;
    }

    /// The data's virtual size if it is acceptable as `disk_format`
    /// (`None` when the format has no size Glance reads, or when it is 0:
    /// Glance keeps no virtual size of 0).
    pub fn check(&self, disk_format: &str) -> Result<Option<u64>, Refusal> {
        if !is_inspected(disk_format) {
            return Ok(None);
        }
        let found = self.identify();
        if found.format != disk_format {
            return Err(Refusal::Mismatch {
                declared: disk_format.to_string(),
                found: found.format,
            });
        }
        if let Some(hazard) = found.hazard {
            return Err(Refusal::Unsafe(hazard));
        }
        Ok(found.virtual_size.filter(|size| *size > 0))
    }

    fn identify(&self) -> Found {
        let h = &self.head;
        let found = |format, virtual_size| Found {
            format,
            virtual_size,
            hazard: None,
        };
        // qcow2: "QFI\xfb", version, backing file offset and size, then
        // the virtual size at 24 (all big-endian).
        if h.starts_with(b"QFI\xfb")
            && let Some(size) = be_u64(h, 24)
        {
            let mut f = found("qcow2", Some(size));
            if be_u64(h, 8).is_some_and(|offset| offset != 0) {
                f.hazard = Some("qcow2 image has a backing file".into());
            }
            // Version 3 headers carry incompatible feature bits at 72;
            // bit 2 is an external data file.
            if be_u32(h, 4).is_some_and(|v| v >= 3)
                && be_u64(h, 72).is_some_and(|bits| bits & 0x4 != 0)
            {
                f.hazard = Some("qcow2 image has a data file".into());
            }
            return f;
        }
        // VMDK sparse extent: "KDMV", capacity in sectors at 12.
        if h.starts_with(b"KDMV") {
            return found("vmdk", le_u64(h, 12).map(|s| s.saturating_mul(SECTOR)));
        }
        // VHD: the footer copy begins with "conectix"; current size at 48.
        if h.starts_with(b"conectix") {
            return found("vhd", be_u64(h, 48));
        }
        // VHDX: "vhdxfile"; its size lives in a metadata region Glance
        // reads further on, left out here.
        if h.starts_with(b"vhdxfile") {
            return found("vhdx", None);
        }
        // VDI: signature at 0x40, disk size at 0x170.
        if le_u32(h, 0x40) == Some(0xbeda_107f) {
            return found("vdi", le_u64(h, 0x170));
        }
        // ISO 9660: "CD001" in the primary volume descriptor at 0x8000;
        // volume space size (blocks) at 0x8050, block size at 0x8080.
        if h.get(0x8001..0x8006) == Some(b"CD001".as_slice()) {
            let blocks = le_u32(h, 0x8050).map(u64::from);
            let block_size = le_u16(h, 0x8080).map(u64::from);
            return found("iso", blocks.zip(block_size).map(|(n, s)| n * s));
        }
        found("raw", Some(self.total))
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Mismatch { declared, .. } => {
                write!(f, "Image disk_format {declared} does not match stream data")
            }
            Refusal::Unsafe(reason) => write!(f, "Image does not pass safety check: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspect(bytes: &[u8]) -> Inspector {
        let mut i = Inspector::default();
        // Fed in small pieces, as a request body arrives.
        for chunk in bytes.chunks(1000) {
            i.feed(chunk);
        }
        i
    }

    fn qcow2(version: u32, backing: u64, size: u64, features: u64) -> Vec<u8> {
        let mut b = vec![0u8; 1024];
        b[..4].copy_from_slice(b"QFI\xfb");
        b[4..8].copy_from_slice(&version.to_be_bytes());
        b[8..16].copy_from_slice(&backing.to_be_bytes());
        b[24..32].copy_from_slice(&size.to_be_bytes());
        b[72..80].copy_from_slice(&features.to_be_bytes());
        b
    }

    #[test]
    fn qcow2_gives_its_virtual_size_and_must_be_declared_as_such() {
        let i = inspect(&qcow2(3, 0, 64 << 20, 0));
        assert_eq!(i.check("qcow2"), Ok(Some(64 << 20)));
        assert!(matches!(
            i.check("raw"),
            Err(Refusal::Mismatch { found: "qcow2", .. })
        ));
        // No inspector for ami: anything goes.
        assert_eq!(i.check("ami"), Ok(None));
    }

    #[test]
    fn unsafe_qcow2_is_refused() {
        assert!(matches!(
            inspect(&qcow2(2, 4096, 1 << 20, 0)).check("qcow2"),
            Err(Refusal::Unsafe(_))
        ));
        assert!(matches!(
            inspect(&qcow2(3, 0, 1 << 20, 0x4)).check("qcow2"),
            Err(Refusal::Unsafe(_))
        ));
        // Version 2 headers have no feature bits: the bytes are something else.
        assert_eq!(
            inspect(&qcow2(2, 0, 1 << 20, 0x4)).check("qcow2"),
            Ok(Some(1 << 20))
        );
    }

    #[test]
    fn raw_is_whatever_else_and_its_size() {
        let i = inspect(&vec![7u8; 100_000]);
        assert_eq!(i.check("raw"), Ok(Some(100_000)));
        let refusal = i.check("qcow2").unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "Image disk_format qcow2 does not match stream data"
        );
        // Empty data is raw with no virtual size, as Glance keeps none of 0.
        assert_eq!(inspect(b"").check("raw"), Ok(None));
        // A truncated qcow2 header is not a qcow2.
        assert!(inspect(b"QFI\xfb\0\0\0\x03").check("qcow2").is_err());
    }

    #[test]
    fn other_magics() {
        let mut vmdk = vec![0u8; 512];
        vmdk[..4].copy_from_slice(b"KDMV");
        vmdk[12..20].copy_from_slice(&2048u64.to_le_bytes());
        assert_eq!(inspect(&vmdk).check("vmdk"), Ok(Some(2048 * 512)));

        let mut vhd = vec![0u8; 512];
        vhd[..8].copy_from_slice(b"conectix");
        vhd[48..56].copy_from_slice(&(1u64 << 30).to_be_bytes());
        assert_eq!(inspect(&vhd).check("vhd"), Ok(Some(1 << 30)));
        assert!(inspect(&vhd).check("raw").is_err());

        let mut vdi = vec![0u8; 512];
        vdi[0x40..0x44].copy_from_slice(&0xbeda_107fu32.to_le_bytes());
        vdi[0x170..0x178].copy_from_slice(&(5u64 << 20).to_le_bytes());
        assert_eq!(inspect(&vdi).check("vdi"), Ok(Some(5 << 20)));

        let mut iso = vec![0u8; 0x9000];
        iso[0x8001..0x8006].copy_from_slice(b"CD001");
        iso[0x8050..0x8054].copy_from_slice(&100u32.to_le_bytes());
        iso[0x8080..0x8082].copy_from_slice(&2048u16.to_le_bytes());
        assert_eq!(inspect(&iso).check("iso"), Ok(Some(204_800)));
        assert!(inspect(&iso).check("raw").is_err());
        assert!(inspect(&[0u8; 100]).check("iso").is_err());
    }
}
