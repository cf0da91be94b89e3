//! A minimal zip writer (stored entries, no compression): enough to hand a
//! patient their whole record as one file. PDFs and images are compressed
//! already; storing keeps the writer small and the CPU cost nil.
//!
//! Format: PKWARE APPNOTE 6.3.x, sections 4.3.7 (local file header), 4.3.12
//! (central directory header) and 4.3.16 (end of central directory).

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zip stores it.
pub fn crc32(bytes: &[u8]) -> u32 {
    const fn table() -> [u32; 256] {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    }
    static TABLE: [u32; 256] = table();
    !bytes.iter().fold(!0u32, |c, &b| {
        TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// Builds a zip archive in memory.
#[derive(Default)]
pub struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    entries: u16,
}

/// The largest archive this writer makes (zip without its 64-bit extension).
pub const MAX_ARCHIVE_BYTES: usize = u32::MAX as usize;

impl ZipWriter {
    /// Adds a file. `name` uses `/` between folders; `(date, time)` is the MS-DOS
    /// timestamp of [`dos_time`]. Fails when the archive would outgrow plain zip.
    pub fn add(
        &mut self,
        name: &str,
        bytes: &[u8],
        (date, time): (u16, u16),
    ) -> Result<(), &'static str> {
        if self.out.len() + bytes.len() + name.len() + 30 > MAX_ARCHIVE_BYTES
            || self.entries == u16::MAX
        {
            return Err("the record is too large for one archive");
        }
        let crc = crc32(bytes);
        let size = bytes.len() as u32;
        let offset = self.out.len() as u32;
        let name = name.as_bytes();
        // General purpose flag bit 11: the name is UTF-8.
        let flags: u16 = 1 << 11;
        let mut local = Vec::with_capacity(30 + name.len());
        local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        local.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        local.extend_from_slice(&flags.to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        local.extend_from_slice(&time.to_le_bytes());
        local.extend_from_slice(&date.to_le_bytes());
        local.extend_from_slice(&crc.to_le_bytes());
        local.extend_from_slice(&size.to_le_bytes()); // compressed
        local.extend_from_slice(&size.to_le_bytes()); // uncompressed
        local.extend_from_slice(&(name.len() as u16).to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        local.extend_from_slice(name);
        self.out.extend_from_slice(&local);
        self.out.extend_from_slice(bytes);

        let c = &mut self.central;
        c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        c.extend_from_slice(&20u16.to_le_bytes()); // version made by
        c.extend_from_slice(&20u16.to_le_bytes()); // version needed
        c.extend_from_slice(&flags.to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes());
        c.extend_from_slice(&time.to_le_bytes());
        c.extend_from_slice(&date.to_le_bytes());
        c.extend_from_slice(&crc.to_le_bytes());
        c.extend_from_slice(&size.to_le_bytes());
        c.extend_from_slice(&size.to_le_bytes());
        c.extend_from_slice(&(name.len() as u16).to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes()); // extra
        c.extend_from_slice(&0u16.to_le_bytes()); // comment
        c.extend_from_slice(&0u16.to_le_bytes()); // disk number
        c.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        c.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(name);
        self.entries += 1;
        Ok(())
    }

    /// The finished archive.
    pub fn finish(mut self) -> Vec<u8> {
        let offset = self.out.len() as u32;
        let size = self.central.len() as u32;
        self.out.extend_from_slice(&self.central);
        self.out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes()); // this disk
        self.out.extend_from_slice(&0u16.to_le_bytes()); // disk with the directory
        self.out.extend_from_slice(&self.entries.to_le_bytes());
        self.out.extend_from_slice(&self.entries.to_le_bytes());
        self.out.extend_from_slice(&size.to_le_bytes());
        self.out.extend_from_slice(&offset.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes()); // comment length
        self.out
    }
}

/// The MS-DOS (date, time) of `t`, as zip headers store it (two-second steps,
/// years 1980 to 2107).
pub fn dos_time(t: chrono::NaiveDateTime) -> (u16, u16) {
    use chrono::{Datelike, Timelike};
    let year = t.year().clamp(1980, 2107) as u16;
    let date = ((year - 1980) << 9) | ((t.month() as u16) << 5) | t.day() as u16;
    let time = ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | (t.second() as u16 / 2);
    (date, time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn an_archive_lists_its_files_in_its_central_directory() {
        let when = dos_time(
            chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
                .and_then(|d| d.and_hms_opt(13, 45, 31))
                .expect("time"),
        );
        assert_eq!(
            when,
            ((46 << 9) | (11 << 5) | 30, (13 << 11) | (45 << 5) | 15)
        );
        let mut z = ZipWriter::default();
        z.add("read-me.txt", b"hello", when).expect("add");
        z.add("docs/b.pdf", b"%PDF-1.4", when).expect("add");
        let bytes = z.finish();
        // End of central directory: two entries, and it ends the file.
        let eocd = &bytes[bytes.len() - 22..];
        assert_eq!(&eocd[..4], &0x0605_4b50u32.to_le_bytes());
        assert_eq!(u16::from_le_bytes([eocd[10], eocd[11]]), 2);
        assert!(bytes.starts_with(&0x0403_4b50u32.to_le_bytes()));
    }
}
