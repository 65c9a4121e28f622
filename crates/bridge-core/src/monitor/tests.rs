use std::collections::HashMap;

use chrono::TimeZone;
use tlog_tiles::{record_hash, Tile};

use super::*;
use crate::signature::{Keyring, StampSigner, TrustedKey};
use crate::statement::Statement;
use crate::tlog::{self, Appender, TILE_HEIGHT};
use crate::Blake3Hex;

/// A signed entry as the service writes it.
fn entry(signer: &StampSigner, ns: &str, n: u64) -> Vec<u8> {
    let hash = Blake3Hex::parse(&format!("{n:064x}")).unwrap();
    let statement = Statement {
        namespace: ns,
        stamp_id: uuid::Uuid::from_u128(u128::from(n) + 1),
        file_hash: &hash,
        file_size: n * 10,
        content_type: "text/x-python",
        file_path: (n % 2 == 0).then_some("src/app.py"),
        created_at: chrono::Utc.timestamp_millis_opt(1_765_000_000_123).unwrap(),
        key: signer.id().as_str(),
    }
    .render()
    .unwrap();
    let sig = signer.sign(&statement).unwrap();
    tlog::entry(&statement, &sig.signature)
}

#[test]
fn entries_read_back_into_their_stamps_and_signatures_are_checked() {
    let ours = StampSigner::generate();
    let theirs = StampSigner::generate();
    let trust = Keyring::new([TrustedKey::new(ours.public_key().clone(), "svc")]);
    let e = entry(&ours, "tenant", 4);
    let parsed = parse_entry(&e).unwrap();
    assert_eq!(parsed.namespace, "tenant");
    assert_eq!(parsed.file_size, 40);
    assert_eq!(parsed.file_path.as_deref(), Some("src/app.py"));
    assert_eq!(parsed.created_at, "2025-12-06T05:46:40.123Z");
    assert_eq!(check_entry(&parsed, &trust), EntryVerdict::Trusted);
    let odd = parse_entry(&entry(&ours, "tenant", 5)).unwrap();
    assert_eq!(odd.file_path, None);
    let foreign = parse_entry(&entry(&theirs, "tenant", 4)).unwrap();
    assert_eq!(check_entry(&foreign, &trust), EntryVerdict::UntrustedKey);
    // A changed field: the entry still parses, its signature fails.
    let text = String::from_utf8(e.clone()).unwrap();
    let changed = text.replace("namespace tenant", "namespace tenanu");
    let forged = parse_entry(changed.as_bytes()).unwrap();
    assert!(matches!(
        check_entry(&forged, &trust),
        EntryVerdict::SignatureInvalid(_)
    ));
    // Malformed: each refused with a reason.
    let cases = [
        text.replace("file_size 40", "file_size 040"),
        text.replace(".123Z", "Z"),
        text.replace("namespace tenant", "namespace  tenant"),
        text.replace("omninode-stamp/v1", "omninode-stamp/v2"),
        text.replacen('\n', "\nextra line\n", 1),
        text.trim_end().to_owned(),
        text.replace("signature ", "signatur "),
        text.replace("stamp_id 0", "stamp_id x"),
        String::new(),
    ];
    for c in cases {
        assert!(parse_entry(c.as_bytes()).is_err(), "{c:?}");
    }
    assert!(parse_entry(&[0xff, b'\n']).is_err());
}

/// A tree of `n` entries (`tag` makes another history), and the tile "server" over it.
fn tree(n: u64, tag: &str) -> (Appender, Vec<Vec<u8>>) {
    let mut a = Appender::new(0, []);
    let mut entries = Vec::new();
    for i in 0..n {
        let e = format!("{tag} {i}\n").into_bytes();
        a.append(&e).unwrap();
        entries.push(e);
    }
    (a, entries)
}

fn head(a: &Appender) -> TreeHead {
    TreeHead {
        size: a.size(),
        root: a.root().unwrap(),
    }
}

/// What a tile server over `a` answers for `paths`.
fn serve(a: &Appender, paths: &[crate::tlog::TilePath]) -> TileData {
    paths
        .iter()
        .map(|p| {
            let t = Tile::new(
                TILE_HEIGHT,
                p.level.unwrap(),
                p.index,
                u32::try_from(p.width()).unwrap(),
                false,
            );
            (p.to_string(), t.read_data(a).unwrap())
        })
        .collect::<HashMap<_, _>>()
}

#[test]
fn a_tree_that_extends_the_kept_one_is_proven_from_its_tiles() {
    for (kept_n, seen_n) in [(0, 1), (5, 700), (256, 257), (1, 70_000), (700, 700)] {
        let (a, entries) = tree(seen_n, "e");
        let (k, _) = tree(kept_n, "e");
        let (kept, seen) = (head(&k), head(&a));
        let leaves = kept_n..seen_n;
        let paths = tiles_for(&kept, &seen, leaves.clone()).unwrap();
        assert!(paths.iter().all(|p| p.level.is_some()));
        let got = verify_from_tiles(&kept, &seen, leaves.clone(), &serve(&a, &paths)).unwrap();
        let want: Vec<_> = entries[leaves.start as usize..]
            .iter()
            .map(|e| record_hash(e))
            .collect();
        assert_eq!(got, want, "{kept_n} -> {seen_n}");
    }
}

#[test]
fn a_fork_a_rewrite_and_a_shrunk_tree_are_inconsistent() {
    // Kept: 300 entries of history A. Seen: 900 entries whose index 3 differs (history B).
    let (a, _) = tree(300, "A");
    let (mut b, _) = tree(3, "A");
    b.append(b"B 3\n").unwrap();
    for i in 4..900 {
        b.append(format!("A {i}\n").as_bytes()).unwrap();
    }
    let (kept, seen) = (head(&a), head(&b));
    let paths = tiles_for(&kept, &seen, 300..900).unwrap();
    let e = verify_from_tiles(&kept, &seen, 300..900, &serve(&b, &paths)).unwrap_err();
    assert_eq!(
        e,
        Inconsistency::Rewritten {
            kept: 300,
            seen: 900
        }
    );
    assert!(e.is_fork());
    // Shrunk, and same size with another root: no tiles needed to know.
    let (small, _) = tree(200, "A");
    let e = tiles_for(&kept, &head(&small), 200..200).unwrap_err();
    assert_eq!(
        e,
        Inconsistency::Shrunk {
            kept: 300,
            seen: 200
        }
    );
    let (other, _) = tree(300, "C");
    let e = tiles_for(&kept, &head(&other), 300..300).unwrap_err();
    assert_eq!(e, Inconsistency::RootChanged(300));
    assert!(e.is_fork());
}

#[test]
fn garbage_tiles_are_refused_not_believed() {
    let (a, _) = tree(600, "e");
    let (k, _) = tree(10, "e");
    let (kept, seen) = (head(&k), head(&a));
    let paths = tiles_for(&kept, &seen, 10..600).unwrap();
    let good = serve(&a, &paths);
    for p in &paths {
        // One flipped byte, a short tile, a missing tile.
        let mut flipped = good.clone();
        flipped.get_mut(&p.to_string()).unwrap()[0] ^= 1;
        let mut short = good.clone();
        short.get_mut(&p.to_string()).unwrap().pop();
        let mut missing = good.clone();
        missing.remove(&p.to_string());
        for data in [flipped, short, missing] {
            let e = verify_from_tiles(&kept, &seen, 10..600, &data).unwrap_err();
            assert!(!e.is_fork(), "{p}: {e}");
            assert!(matches!(e, Inconsistency::BadTiles(_)), "{p}: {e}");
        }
    }
    // A checkpoint of an absurd size is refused before any arithmetic.
    let huge = TreeHead {
        size: u64::MAX,
        root: seen.root,
    };
    assert_eq!(
        tiles_for(&kept, &huge, 10..11).unwrap_err(),
        Inconsistency::TooLarge(u64::MAX)
    );
    assert!(tiles_for(&kept, &seen, 10..601).is_err());
}
