//! A deliberately plain second implementation of pkg_install's matching,
//! written from the specification (c-programs.md §5) and not from the
//! library: whole strings, vectors, recursion. The tests compare the
//! library against it.
#![allow(dead_code)]

/// Version vector and `nb` of a version string.
pub fn parse_version(v: &[u8]) -> (Vec<i32>, i32) {
    let mut out = Vec::new();
    let mut nb = 0i32;
    let mut i = 0;
    let lower: Vec<u8> = v.to_ascii_lowercase();
    while i < v.len() {
        let c = lower[i];
        if c.is_ascii_digit() {
            let mut n = 0i32;
            while i < v.len() && lower[i].is_ascii_digit() {
                n = n.wrapping_mul(10).wrapping_add((lower[i] - b'0') as i32);
                i += 1;
            }
            out.push(n);
            continue;
        }
        let rest = &lower[i..];
        let mut token = None;
        for (t, val) in [
            ("alpha", -3),
            ("beta", -2),
            ("pre", -1),
            ("rc", -1),
            ("pl", 0),
            ("_", 0),
            (".", 0),
        ] {
            if rest.starts_with(t.as_bytes()) {
                token = Some((t.len(), val));
                break;
            }
        }
        if let Some((len, val)) = token {
            out.push(val);
            i += len;
        } else if rest.starts_with(b"nb") {
            i += 2;
            let mut n = 0i32;
            while i < v.len() && lower[i].is_ascii_digit() {
                n = n.wrapping_mul(10).wrapping_add((lower[i] - b'0') as i32);
                i += 1;
            }
            nb = n;
        } else if c.is_ascii_lowercase() {
            out.push(0);
            out.push((c - b'a' + 1) as i32);
            i += 1;
        } else {
            i += 1;
        }
    }
    (out, nb)
}

/// The reference's comparison value (C int arithmetic).
pub fn compare(a: &[u8], b: &[u8]) -> i32 {
    let (va, na) = parse_version(a);
    let (vb, nb) = parse_version(b);
    let n = va.len().max(vb.len());
    for i in 0..n {
        let x = *va.get(i).unwrap_or(&0);
        let y = *vb.get(i).unwrap_or(&0);
        let d = x.wrapping_sub(y);
        if d != 0 {
            return d;
        }
    }
    na.wrapping_sub(nb)
}

fn op_holds(op: &str, d: i32) -> bool {
    match op {
        "<" => d < 0,
        "<=" => d <= 0,
        ">" => d > 0,
        ">=" => d >= 0,
        "==" => d == 0,
        "!=" => d != 0,
        _ => unreachable!(),
    }
}

fn read_op(s: &[u8]) -> (&'static str, usize) {
    for op in ["<=", "<", ">=", ">", "==", "!="] {
        if s.starts_with(op.as_bytes()) {
            return (op, op.len());
        }
    }
    unreachable!("no operator at {:?}", String::from_utf8_lossy(s))
}

fn dewey(p: &[u8], name: &[u8]) -> bool {
    let Some(dash) = name.iter().rposition(|&c| c == b'-') else {
        return false;
    };
    let sep = p.iter().position(|&c| c == b'<' || c == b'>').unwrap();
    if p[..sep] != name[..dash] {
        return false;
    }
    let ver = &name[dash + 1..];
    let (op, n) = read_op(&p[sep..]);
    let rest = &p[sep + n..];
    if op == ">" || op == ">=" {
        if let Some(lt) = rest.iter().position(|&c| c == b'<') {
            let (op2, n2) = read_op(&rest[lt..]);
            let upper = &rest[lt + n2..];
            let lower = &rest[..lt.min(1023)];
            return op_holds(op2, compare(ver, upper)) && op_holds(op, compare(ver, lower));
        }
    }
    op_holds(op, compare(ver, rest))
}

/// Recursive glob with BSD fnmatch semantics (FNM_PERIOD, escapes,
/// brackets with `!`/`^`, unterminated `[` literal).
fn glob(p: &[u8], s: &[u8], at_start: bool) -> bool {
    let Some(&c) = p.first() else {
        return s.is_empty();
    };
    let leading_dot = at_start && s.first() == Some(&b'.');
    match c {
        b'*' => {
            let mut q = p;
            while q.first() == Some(&b'*') {
                q = &q[1..];
            }
            if leading_dot {
                return false;
            }
            if q.is_empty() {
                return true;
            }
            (0..s.len()).any(|k| glob(q, &s[k..], false))
        }
        b'?' => !s.is_empty() && !leading_dot && glob(&p[1..], &s[1..], false),
        b'[' => {
            let Some(&t) = s.first() else { return false };
            match bracket(&p[1..], t) {
                None => t == b'[' && glob(&p[1..], &s[1..], false),
                Some(_) if leading_dot => false,
                Some((ok, used)) => ok && glob(&p[1 + used..], &s[1..], false),
            }
        }
        b'\\' if p.len() >= 2 => s.first() == Some(&p[1]) && glob(&p[2..], &s[1..], false),
        _ => s.first() == Some(&c) && glob(&p[1..], &s[1..], false),
    }
}

/// Bracket body `b` (after `[`) tested on `t`: (matched, bytes used
/// including the closing `]`), or `None` if unterminated.
fn bracket(b: &[u8], t: u8) -> Option<(bool, usize)> {
    let mut i = 0;
    let negate = matches!(b.first(), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut items: Vec<(u8, u8)> = Vec::new();
    let mut first = true;
    loop {
        let mut c = *b.get(i)?;
        if c == b']' && !first {
            i += 1;
            break;
        }
        first = false;
        i += 1;
        if c == b'\\' {
            c = *b.get(i)?;
            i += 1;
        }
        if b.get(i) == Some(&b'-') && b.get(i + 1).is_some_and(|&x| x != b']') {
            let mut hi = b[i + 1];
            i += 2;
            if hi == b'\\' {
                hi = *b.get(i)?;
                i += 1;
            }
            items.push((c, hi));
        } else {
            items.push((c, c));
        }
    }
    let hit = items.iter().any(|&(lo, hi)| lo <= t && t <= hi);
    Some((hit != negate, i))
}

/// Expand the first brace group; `None` if unbalanced.
fn expand(p: &[u8]) -> Option<Vec<Vec<u8>>> {
    let open = p.iter().position(|&c| c == b'{').unwrap();
    let mut depth = 0;
    let mut parts = Vec::new();
    let mut cur = Vec::new();
    for (i, &c) in p.iter().enumerate().skip(open + 1) {
        match c {
            b'{' => {
                depth += 1;
                cur.push(c);
            }
            b'}' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                let suffix = &p[i + 1..];
                return Some(
                    parts
                        .into_iter()
                        .map(|a| {
                            let mut v = p[..open].to_vec();
                            v.extend(a);
                            v.extend_from_slice(suffix);
                            v.truncate(1023);
                            v
                        })
                        .collect(),
                );
            }
            b'}' => {
                depth -= 1;
                cur.push(c);
            }
            b',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    None
}

/// pkg_match; `Err(subpattern)` for a malformed alternate.
pub fn pkg_match(p: &[u8], name: &[u8]) -> Result<bool, Vec<u8>> {
    let plain = |c: u8| c.is_ascii_alphanumeric() || c == b'-';
    let p0 = p.first().copied().unwrap_or(0);
    let p1 = p.get(1).copied().unwrap_or(0);
    if plain(p0) {
        if name.first() != Some(&p0) {
            return Ok(false);
        }
        if plain(p1) && name.get(1) != Some(&p1) {
            return Ok(false);
        }
    }
    if p.contains(&b'{') {
        let alts = expand(p).ok_or_else(|| p.to_vec())?;
        let mut any = false;
        for a in alts {
            any |= pkg_match(&a, name)?;
        }
        return Ok(any);
    }
    if p.iter().any(|&c| c == b'<' || c == b'>') {
        return Ok(dewey(p, name));
    }
    if p.iter().any(|&c| b"*?[]".contains(&c)) {
        return Ok(glob(p, name, true));
    }
    Ok(p == name)
}

/// A small deterministic generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
