//! The log formats against independent references: a naive RFC 6962 written here from the
//! RFC's definitions (MTH, the audit path, the consistency proof), C2SP's own examples, and
//! the Go `sumdb/note` test vector.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::*;

/// RFC 6962 §2.1: MTH({}) = SHA-256(), leaves 0x00 || d, nodes 0x01 || left || right, the
/// split at the largest power of two below n.
fn mth(leaves: &[Vec<u8>]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => Sha256::new()
            .chain_update([0u8])
            .chain_update(&leaves[0])
            .finalize()
            .into(),
        n => {
            let k = split(n);
            Sha256::new()
                .chain_update([1u8])
                .chain_update(mth(&leaves[..k]))
                .chain_update(mth(&leaves[k..]))
                .finalize()
                .into()
        }
    }
}

/// The largest power of two smaller than n (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962 §2.1.1: PATH(m, D[n]).
fn path(m: usize, leaves: &[Vec<u8>]) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if n <= 1 {
        return vec![];
    }
    let k = split(n);
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// RFC 6962 §2.1.2: PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
fn subproof(m: usize, leaves: &[Vec<u8>], whole: bool) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if m == n {
        return if whole { vec![] } else { vec![mth(leaves)] };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], whole);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// Stored hashes in memory, as the store will keep them.
struct Memory(Vec<Hash>);

impl HashReader for Memory {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
    }
}

fn build(leaves: &[Vec<u8>]) -> Memory {
    let mut m = Memory(Vec::new());
    for (i, e) in leaves.iter().enumerate() {
        let new = stored_hashes(i as u64, e, &m).unwrap();
        m.0.extend(new);
    }
    assert_eq!(m.0.len() as u64, stored_hash_count(leaves.len() as u64));
    m
}

fn leaves(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| entry(&format!("omninode-stamp/v1\nnamespace n{i}\n"), "c2ln"))
        .collect()
}

#[test]
fn the_tree_math_agrees_with_rfc_6962_written_out() {
    assert_eq!(mth(&[]), tlog_tiles::EMPTY_HASH.0);
    let all = leaves(300);
    let m = build(&all);
    for n in (0..=300).filter(|n| *n < 20 || n % 37 == 0 || *n == 256 || *n == 257) {
        let root = tree_hash(n as u64, &m).unwrap();
        assert_eq!(root.0, mth(&all[..n]), "root of {n}");
        for i in (0..n).step_by(7) {
            let p = prove_record(n as u64, i as u64, &m).unwrap();
            let want: Vec<[u8; 32]> = path(i, &all[..n]);
            assert_eq!(
                p.iter().map(|h| h.0).collect::<Vec<_>>(),
                want,
                "path {i} in {n}"
            );
            check_record(&p, n as u64, root, i as u64, record_hash(&all[i])).unwrap();
            assert!(check_record(&p, n as u64, root, i as u64, record_hash(b"other")).is_err());
        }
        for old in (1..n).step_by(11) {
            let p = prove_tree(n as u64, old as u64, &m).unwrap();
            let want = subproof(old, &all[..n], true);
            assert_eq!(
                p.iter().map(|h| h.0).collect::<Vec<_>>(),
                want,
                "{old} -> {n}"
            );
            let old_root = tree_hash(old as u64, &m).unwrap();
            check_tree(&p, n as u64, root, old as u64, old_root).unwrap();
        }
    }
}

#[test]
fn tiles_hold_the_hashes_c2sp_says() {
    let all = leaves(600);
    let m = build(&all);
    // A full level-0 tile: the 256 leaf hashes; a partial one: the first W.
    let full = Tile::new(TILE_HEIGHT, 0, 1, 256, false)
        .read_data(&m)
        .unwrap();
    assert_eq!(full.len(), 8192);
    for i in [0usize, 17, 255] {
        assert_eq!(&full[i * 32..i * 32 + 32], &record_hash(&all[256 + i]).0);
    }
    // Level 1: each hash is the MTH of a full tile below.
    let l1 = Tile::new(TILE_HEIGHT, 1, 0, 2, false)
        .read_data(&m)
        .unwrap();
    assert_eq!(&l1[..32], &mth(&all[..256]));
    assert_eq!(&l1[32..], &mth(&all[256..512]));
}

#[test]
fn tile_paths_are_c2sps() {
    let p = TilePath::parse("0/x001/x234/067").unwrap();
    assert_eq!((p.level, p.index, p.partial), (Some(0), 1_234_067, None));
    assert_eq!(p.to_string(), "tile/0/x001/x234/067");
    let e = TilePath::parse("entries/000.p/17").unwrap();
    assert_eq!((e.level, e.index, e.partial), (None, 0, Some(17)));
    assert_eq!(e.width(), 17);
    assert_eq!(TilePath::parse("63/999").unwrap().level, Some(63));
    for bad in [
        "",
        "0",
        "64/000",
        "00/000",
        "0/1",
        "0/0000",
        "0/x000/001",
        "0/001/002",
        "0/x1/002",
        "0/000.p/0",
        "0/000.p/256",
        "0/000.p/01",
        "0/000.p/",
        "0/-01",
        "data/000",
        "0/000/",
        "0/x018/x446/x744/x073/x709/x551/616",
    ] {
        assert!(TilePath::parse(bad).is_err(), "{bad:?} accepted");
    }
    // u64::MAX itself still parses.
    let max = TilePath::parse("0/x018/x446/x744/x073/x709/x551/615").unwrap();
    assert_eq!(max.index, u64::MAX);
}

#[test]
fn notes_match_the_go_reference_vector() {
    // golang.org/x/mod/sumdb/note's example: its public key and the note it signed. Our key id
    // rule and signature format must accept it exactly.
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let text = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n";
    let note = format!(
        "{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    );
    let v = LogVerifier::from_vkey(vkey).unwrap();
    assert_eq!(v.open(&note).unwrap(), text);
    assert!(v
        .open(&note.replace("cryptography", "cryptographY"))
        .is_err());
    for bad in [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+!!!!",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ] {
        assert!(LogVerifier::from_vkey(bad).is_err(), "{bad}");
    }
    // Our own notes, with a key made now: the same shape, and they verify with our vkey.
    let key =
        ssh_key::PrivateKey::random(&mut ssh_key::rand_core::OsRng, ssh_key::Algorithm::Ed25519)
            .unwrap();
    let signer = LogSigner::new("PeterNeumann", &key).unwrap();
    let ours = signer.sign_note(text);
    assert!(
        ours.starts_with(&format!("{text}\n\u{2014} PeterNeumann ")),
        "{ours}"
    );
    let mine = LogVerifier::from_vkey(&signer.vkey()).unwrap();
    assert_eq!(mine.open(&ours).unwrap(), text);
    assert!(mine.open(&note).is_err(), "Peter's signature is not ours");
    assert!(v.open(&ours).is_err(), "ours is not Peter's");
}

#[test]
fn checkpoints_and_proofs_verify_and_refuse_what_they_must() {
    let signer = LogSigner::generate("bridge.example/log").unwrap();
    let verifier = LogVerifier::from_vkey(&signer.vkey()).unwrap();
    let all = leaves(40);
    let m = build(&all);
    let root = tree_hash(40, &m).unwrap();
    let cp = signer.checkpoint(40, &root);
    assert!(cp.starts_with(&format!(
        "bridge.example/log\n40\n{}\n\n\u{2014} bridge.example/log ",
        B64.encode(root.0)
    )));
    let got = verifier.verify(&cp).unwrap();
    assert_eq!((got.size, got.root), (40, root));
    // Another log's key is ignored, so nothing verifies; a changed size is refused.
    let other = LogSigner::generate("bridge.example/log").unwrap();
    assert!(verifier.verify(&other.checkpoint(40, &root)).is_err());
    assert!(verifier
        .verify(&cp.replacen("\n40\n", "\n41\n", 1))
        .is_err());

    let proof = TlogProof {
        index: 13,
        path: prove_record(40, 13, &m).unwrap(),
        checkpoint: cp.clone(),
    };
    let text = proof.to_string();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 13\n"));
    let back = TlogProof::parse(&text).unwrap();
    assert_eq!(back, proof);
    assert_eq!(back.verify(&verifier, &all[13]).unwrap().size, 40);
    assert!(back.verify(&verifier, &all[14]).is_err(), "wrong entry");
    let moved = TlogProof {
        index: 14,
        ..back.clone()
    };
    assert!(moved.verify(&verifier, &all[13]).is_err(), "wrong index");
    // The C2SP example's shape (with an extra line) parses.
    let extra = text.replacen("index", "extra YWJj\nindex", 1);
    assert_eq!(TlogProof::parse(&extra).unwrap(), proof);
    for bad in [
        "",
        "c2sp.org/tlog-proof@v1\nindex 01\n\nx",
        "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx",
    ] {
        assert!(TlogProof::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn entries_and_bundles() {
    let e = entry("omninode-stamp/v1\nkey SHA256:x\n", "U1NIU0lH");
    assert_eq!(e, b"omninode-stamp/v1\nkey SHA256:x\nsignature U1NIU0lH\n");
    let b = bundle([&b"ab"[..], &b""[..], &b"xyz"[..]]).unwrap();
    assert_eq!(b, b"\x00\x02ab\x00\x00\x00\x03xyz");
    assert!(bundle([&vec![0u8; 70_000][..]]).is_none());
}

#[test]
fn an_appender_grows_a_tree_from_its_frontier_alone() {
    let all = leaves(700);
    let full = build(&all);
    // Commits of assorted sizes, each starting from nothing but the frontier it reads.
    let mut stored: Vec<Hash> = Vec::new();
    let mut size = 0usize;
    for batch in [1usize, 1, 2, 5, 8, 100, 139, 256, 1, 187] {
        let frontier: Vec<(u64, Hash)> = Appender::frontier(size as u64)
            .into_iter()
            .map(|i| (i, stored[i as usize]))
            .collect();
        assert!(frontier.len() <= 64);
        let mut a = Appender::new(size as u64, frontier);
        for e in &all[size..size + batch] {
            assert_eq!(a.append(e).unwrap(), a.size() - 1);
        }
        assert_eq!(a.added().first().map(|x| x.0), Some(stored.len() as u64));
        stored.extend(a.added().iter().map(|x| x.1));
        size += batch;
        assert_eq!(a.root().unwrap().0, mth(&all[..size]), "root after {size}");
    }
    assert_eq!(&stored[..], &full.0[..stored.len()]);
    assert_eq!(Appender::new(0, []).root().unwrap(), tlog_tiles::EMPTY_HASH);
}

#[test]
fn recording_then_fetching_gives_the_same_proofs_and_tiles() {
    let all = leaves(300);
    let m = build(&all);
    let rec = Recorder::default();
    let _ = prove_record(300, 123, &rec).unwrap();
    let tile = Tile::new(TILE_HEIGHT, 0, 1, 44, false);
    let _ = tile.read_data(&rec).unwrap();
    let fetched = Fetched(
        rec.into_indexes()
            .into_iter()
            .map(|i| (i, m.0[i as usize]))
            .collect(),
    );
    assert_eq!(
        prove_record(300, 123, &fetched).unwrap(),
        prove_record(300, 123, &m).unwrap()
    );
    assert_eq!(
        tile.read_data(&fetched).unwrap(),
        tile.read_data(&m).unwrap()
    );
}
