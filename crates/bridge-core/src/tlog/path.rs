//! C2SP tile paths: `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, with `<N>` in
//! zero-padded groups of three digits, all but the last prefixed with `x`
//! (`1234067` → `x001/x234/067`). Parsing is strict: exactly one spelling per tile.

use std::fmt;

/// A tile or entry bundle named by a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilePath {
    /// Hash level 0–63; `None` for an entry bundle.
    pub level: Option<u8>,
    /// Index of the tile within its level.
    pub index: u64,
    /// Width of a partial tile (1–255); `None` for a full one.
    pub partial: Option<u8>,
}

/// Why a path names no tile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a tile path: {0}")]
pub struct TilePathError(pub &'static str);

fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

impl TilePath {
    /// Parses the part after `tile/`: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`.
    pub fn parse(path: &str) -> Result<Self, TilePathError> {
        // u64::MAX is 7 groups; anything much longer is not a tile.
        if path.len() > 64 {
            return Err(TilePathError("too long"));
        }
        let (head, rest) = path
            .split_once('/')
            .ok_or(TilePathError("expected <L>/<N> or entries/<N>"))?;
        let level = match head {
            "entries" => None,
            l => {
                let l = decimal(l).ok_or(TilePathError("level must be a decimal 0-63"))?;
                Some(
                    u8::try_from(l)
                        .ok()
                        .filter(|l| *l <= 63)
                        .ok_or(TilePathError("level must be a decimal 0-63"))?,
                )
            }
        };
        let (n, partial) = match rest.split_once(".p/") {
            Some((n, w)) => {
                let w = decimal(w)
                    .and_then(|w| u8::try_from(w).ok())
                    .filter(|w| *w >= 1)
                    .ok_or(TilePathError("partial width must be a decimal 1-255"))?;
                (n, Some(w))
            }
            None => (rest, None),
        };
        let groups: Vec<&str> = n.split('/').collect();
        let mut index: u64 = 0;
        for (i, g) in groups.iter().enumerate() {
            let last = i + 1 == groups.len();
            let digits = if last {
                *g
            } else {
                g.strip_prefix('x')
                    .ok_or(TilePathError("index groups but the last start with x"))?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TilePathError("index groups are three digits"));
            }
            let d: u64 = digits.parse().expect("three digits");
            index = index
                .checked_mul(1000)
                .and_then(|x| x.checked_add(d))
                .ok_or(TilePathError("index out of range"))?;
        }
        let parsed = Self {
            level,
            index,
            partial,
        };
        // A leading `x000/` group is a second spelling of the same index.
        if parsed.to_string() != format!("tile/{path}") {
            return Err(TilePathError("index is not in its canonical form"));
        }
        Ok(parsed)
    }

    /// The width in hashes (or entries).
    pub fn width(&self) -> u64 {
        self.partial.map_or(super::TILE_WIDTH, u64::from)
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tile/")?;
        match self.level {
            Some(l) => write!(f, "{l}/")?,
            None => f.write_str("entries/")?,
        }
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        for (i, g) in groups.iter().rev().enumerate() {
            if i + 1 < groups.len() {
                write!(f, "x{g:03}/")?;
            } else {
                write!(f, "{g:03}")?;
            }
        }
        if let Some(w) = self.partial {
            write!(f, ".p/{w}")?;
        }
        Ok(())
    }
}
