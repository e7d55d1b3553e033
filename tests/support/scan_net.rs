//! Helpers for the master/client scan tests: free ports, processes that are
//! killed when a test fails, raw protocol frames, bounded waits.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;

use super::net as net_util;
pub use net_util::*;

/// Read a master's job frame: `Some(location)`, `None` for `00 00`.
pub fn read_job(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let n = u16::from_be_bytes(len) as usize;
    if n == 0 {
        return None;
    }
    let mut loc = vec![0u8; n];
    s.read_exact(&mut loc).unwrap();
    Some(loc)
}

/// Read a client's reply: u32 BE length and that many bytes.
pub fn read_reply(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut out = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut out).unwrap();
    out
}

pub fn send_reply(s: &mut TcpStream, payload: &[u8]) {
    let mut f = (payload.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    s.write_all(&f).unwrap();
}

pub fn send_job(s: &mut TcpStream, loc: &[u8]) {
    let mut f = (loc.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(loc);
    s.write_all(&f).unwrap();
}
