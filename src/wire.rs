//! The master/client wire formats of pbulk-scan and pbulk-build, byte for
//! byte as the original speaks them (c-programs.md §2.8, §4.10, §4.11).
//!
//! Scan:  master -> client `u16 BE len` + location (len 0: no more work);
//!        client -> master `u32 BE len` + `make pbulk-index` output
//!        (len 0: the scan failed).
//! Build: client -> master one command byte (`G`, `S`, `D`, `F`);
//!        master -> client `u32 BE len` + record (len 0: finished);
//!        after `S` the master answers with seven `u32 BE` counters.
//!
//! The readers distinguish a clean end of stream before a frame from one in
//! the middle, because the clients react differently to the two, and they
//! retry interrupted calls, which the original's helpers did not.

use std::io::{self, ErrorKind, Read, Write};

/// Largest location the scan master may send.
pub const MAX_LOCATION: usize = 0xffff;
/// Largest build record either side accepts.
pub const MAX_BUILD_INFO: usize = 0xff_ffff;
/// Smallest build record a build client accepts.
pub const MIN_BUILD_INFO: usize = 10;
/// The scan master's pseudo location asking a client for the tree's locations.
pub const FIND_FULL_TREE: &[u8] = b"find_full_tree";

/// How far a fixed-size read got.
#[derive(Debug, PartialEq, Eq)]
pub enum Fill {
    /// Every byte arrived.
    Full,
    /// The stream ended before the first byte.
    Eof,
    /// The stream ended after this many bytes.
    Short(usize),
}

/// Read exactly `buf.len()` bytes unless the stream ends first.
pub fn fill<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<Fill> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => {
                return Ok(if got == 0 {
                    Fill::Eof
                } else {
                    Fill::Short(got)
                })
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Fill::Full)
}

/// A scan job frame: the location to scan, or the end of the session.
pub fn encode_location(loc: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(loc.len()).ok()?;
    let mut out = Vec::with_capacity(2 + loc.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(loc);
    Some(out)
}

/// The frame that ends a scan client's session.
pub const END_OF_SCAN: [u8; 2] = [0, 0];

/// A length-prefixed payload with a 32-bit length (scan output, build record).
pub fn encode_u32_frame(payload: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(payload.len()).ok()?;
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Some(out)
}

/// Write a whole frame, retrying short and interrupted writes.
pub fn send<W: Write + ?Sized>(w: &mut W, frame: &[u8]) -> io::Result<()> {
    w.write_all(frame)?;
    w.flush()
}

/// Commands a build client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildCommand {
    /// `G`: give me a job.
    Get,
    /// `S`: send the statistics.
    Stats,
    /// `D`: the job I held was built.
    Done,
    /// `F`: the job I held failed.
    Failed,
}

impl BuildCommand {
    pub fn byte(self) -> u8 {
        match self {
            BuildCommand::Get => b'G',
            BuildCommand::Stats => b'S',
            BuildCommand::Done => b'D',
            BuildCommand::Failed => b'F',
        }
    }

    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'G' => BuildCommand::Get,
            b'S' => BuildCommand::Stats,
            b'D' => BuildCommand::Done,
            b'F' => BuildCommand::Failed,
            _ => return None,
        })
    }
}

/// The counters a build master reports to `pbulk-build -s`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildStats {
    pub open: u32,
    pub in_processing: u32,
    pub failed: u32,
    pub prefailed: u32,
    pub indirect_failed: u32,
    pub indirect_prefailed: u32,
    pub done: u32,
}

impl BuildStats {
    pub const WIRE_LEN: usize = 28;

    pub fn to_wire(&self) -> [u8; Self::WIRE_LEN] {
        let mut out = [0u8; Self::WIRE_LEN];
        for (i, v) in self.fields().iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
        }
        out
    }

    pub fn from_wire(b: &[u8; Self::WIRE_LEN]) -> Self {
        let f = |i: usize| u32::from_be_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        BuildStats {
            open: f(0),
            in_processing: f(1),
            failed: f(2),
            prefailed: f(3),
            indirect_failed: f(4),
            indirect_prefailed: f(5),
            done: f(6),
        }
    }

    fn fields(&self) -> [u32; 7] {
        [
            self.open,
            self.in_processing,
            self.failed,
            self.prefailed,
            self.indirect_failed,
            self.indirect_prefailed,
            self.done,
        ]
    }

    /// The text `pbulk-build -s` prints.
    pub fn render(&self) -> String {
        let failing = u64::from(self.failed)
            + u64::from(self.prefailed)
            + u64::from(self.indirect_failed)
            + u64::from(self.indirect_prefailed);
        format!(
            "Jobs not yet processed: {}\nJobs currently in processing: {}\nSuccessful builds: {}\n\
             Failing builds: {}\n  Directly broken: {}\n  Broken due to a broken dependency: {}\n  \
             Not build as explicitly marked broken: {}\n  Broken due to an explicitly broken dependency: {}\n",
            self.open,
            self.in_processing,
            self.done,
            failing,
            self.failed,
            self.indirect_failed,
            self.prefailed,
            self.indirect_prefailed
        )
    }
}

/// Read a big-endian length prefix of `N` bytes.
pub fn read_len<R: Read + ?Sized, const N: usize>(r: &mut R) -> io::Result<(Fill, usize)> {
    let mut buf = [0u8; N];
    let f = fill(r, &mut buf)?;
    let len = buf
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Ok((f, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_job_frame_matches_the_worked_example() {
        let f = encode_location(b"devel/gmake").unwrap();
        assert_eq!(f[..2], [0x00, 0x0b]);
        assert_eq!(&f[2..], b"devel/gmake");
        assert!(encode_location(&vec![b'a'; MAX_LOCATION + 1]).is_none());
    }

    #[test]
    fn scan_output_frame_has_a_u32_length() {
        let f = encode_u32_frame(&vec![b'x'; 1234]).unwrap();
        assert_eq!(f[..4], [0x00, 0x00, 0x04, 0xd2]);
        let mut r = &f[..];
        assert_eq!(read_len::<_, 4>(&mut r).unwrap(), (Fill::Full, 1234));
    }

    #[test]
    fn stats_block_matches_the_worked_example() {
        let s = BuildStats {
            open: 20000,
            in_processing: 4,
            failed: 10,
            prefailed: 200,
            indirect_failed: 300,
            indirect_prefailed: 100,
            done: 15000,
        };
        let wire = s.to_wire();
        let expect = [
            0x00, 0x00, 0x4e, 0x20, 0, 0, 0, 4, 0, 0, 0, 0x0a, 0, 0, 0, 0xc8, 0, 0, 0x01, 0x2c, 0,
            0, 0, 0x64, 0, 0, 0x3a, 0x98,
        ];
        assert_eq!(wire, expect);
        assert_eq!(BuildStats::from_wire(&wire), s);
        assert!(s.render().contains("Failing builds: 610\n"));
    }

    #[test]
    fn fill_tells_clean_end_from_short_frame() {
        let mut empty: &[u8] = b"";
        assert_eq!(fill(&mut empty, &mut [0u8; 2]).unwrap(), Fill::Eof);
        let mut one: &[u8] = b"\x00";
        assert_eq!(fill(&mut one, &mut [0u8; 2]).unwrap(), Fill::Short(1));
    }

    #[test]
    fn command_bytes_round_trip() {
        for c in [
            BuildCommand::Get,
            BuildCommand::Stats,
            BuildCommand::Done,
            BuildCommand::Failed,
        ] {
            assert_eq!(BuildCommand::from_byte(c.byte()), Some(c));
        }
        assert_eq!(BuildCommand::from_byte(b'X'), None);
    }
}
