use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::*;
use crate::tlog::{self, split_note, Appender, Hash, LogSigner, VerifiedCheckpoint};

fn ed_cosigner(name: &str) -> Cosigner {
    let key = ed25519_dalek::SigningKey::from_bytes(&rand32());
    Cosigner::ed25519(name, key).unwrap()
}

fn rand32() -> [u8; 32] {
    use ssh_key::rand_core::RngCore;
    let mut b = [0u8; 32];
    ssh_key::rand_core::OsRng.fill_bytes(&mut b);
    b
}

/// A tree of `n` entries and its appender.
fn tree(n: u64) -> Appender {
    let mut a = Appender::new(0, []);
    for i in 0..n {
        a.append(format!("entry {i}\n").as_bytes()).unwrap();
    }
    a
}

fn cosign_line(c: &Cosigner, note: &str, time: u64) -> String {
    let (text, _) = split_note(note).unwrap();
    let (origin, cp) = tlog::parse_checkpoint(text).unwrap();
    c.cosign(text, origin, &cp, time).unwrap().line()
}

#[test]
fn ed25519_cosignature_verifies_and_a_changed_byte_fails() {
    let log = LogSigner::generate("example.com/log").unwrap();
    let a = tree(5);
    let note = log.checkpoint(5, &a.root().unwrap());
    let w = ed_cosigner("witness.example/w1");
    let key = CosignerKey::from_vkey(&w.key().vkey()).unwrap();
    assert_eq!(key.kind(), "Ed25519");
    let line = cosign_line(&w, &note, 1_700_000_000);
    let full = format!("{note}{line}");
    let (text, sigs) = split_note(&full).unwrap();
    assert_eq!(sigs.len(), 2);
    let cp = VerifiedCheckpoint {
        size: 5,
        root: a.root().unwrap(),
    };
    let s = sigs.iter().find(|s| key.claims(s)).unwrap();
    assert_eq!(
        key.verify(text, "example.com/log", &cp, &s.sig).unwrap(),
        1_700_000_000
    );
    // The signed message is cosignature/v1, the time, then the body: another time fails.
    let mut other = s.sig.clone();
    other[7] ^= 1;
    assert!(key.verify(text, "example.com/log", &cp, &other).is_err());
    let changed = text.replace('5', "6");
    assert!(key
        .verify(&changed, "example.com/log", &cp, &s.sig)
        .is_err());
    // The Ed25519 message is exactly what the spec shows.
    assert_eq!(s.sig.len(), 8 + 64);
}

#[test]
fn ml_dsa_44_cosignature_verifies_and_a_changed_byte_fails() {
    let log = LogSigner::generate("example.com/log").unwrap();
    let a = tree(3);
    let note = log.checkpoint(3, &a.root().unwrap());
    let w = Cosigner::ml_dsa_44("witness.example/pq", &rand32()).unwrap();
    let vkey = w.key().vkey();
    let key = CosignerKey::from_vkey(&vkey).unwrap();
    assert_eq!(key.kind(), "ML-DSA-44");
    assert_eq!(
        B64.decode(vkey.splitn(3, '+').nth(2).unwrap()).unwrap()[0],
        0x06
    );
    let line = cosign_line(&w, &note, 42);
    let full = format!("{note}{line}");
    let (text, sigs) = split_note(&full).unwrap();
    let s = sigs.iter().find(|s| key.claims(s)).unwrap();
    assert_eq!(s.sig.len(), 8 + 2420);
    let cp = VerifiedCheckpoint {
        size: 3,
        root: a.root().unwrap(),
    };
    assert_eq!(
        key.verify(text, "example.com/log", &cp, &s.sig).unwrap(),
        42
    );
    for at in [0usize, 9, 500, 2427] {
        let mut bad = s.sig.clone();
        bad[at] ^= 0x20;
        assert!(
            key.verify(text, "example.com/log", &cp, &bad).is_err(),
            "byte {at}"
        );
    }
    // The message commits to origin, size and root.
    assert!(key.verify(text, "example.com/other", &cp, &s.sig).is_err());
    let cp4 = VerifiedCheckpoint { size: 4, ..cp };
    assert!(key.verify(text, "example.com/log", &cp4, &s.sig).is_err());
}

#[test]
fn vkeys_are_checked() {
    let w = ed_cosigner("w.example/a");
    let vkey = w.key().vkey();
    assert!(CosignerKey::from_vkey(&vkey).is_ok());
    // A wrong id, a log key, a bad name, truncated key.
    let mut parts: Vec<&str> = vkey.split('+').collect();
    parts[1] = "00000000";
    assert!(CosignerKey::from_vkey(&parts.join("+")).is_err());
    let log = LogSigner::generate("log.example").unwrap();
    let e = CosignerKey::from_vkey(&log.vkey()).unwrap_err();
    assert!(e.0.contains("log key"), "{e}");
    assert!(CosignerKey::from_vkey("w+1234").is_err());
    assert!(CosignerKey::from_vkey("").is_err());
    let renamed = vkey.replacen("w.example/a", "w.example/b", 1);
    assert!(
        CosignerKey::from_vkey(&renamed).is_err(),
        "the id hashes the name"
    );
}

fn example_policy(log: &LogSigner, ws: &[Cosigner]) -> String {
    format!(
        "# a comment\n\tlog {} https://log.example\n\n\
         witness X1 {} http://127.0.0.1:1/x1\n\
         witness X2 {}\nwitness X3 {}\n  group X 2 X1 X2 X3  \n\
         witness Y1 {}\ngroup Y any Y1\n\
         group XY all X Y\nquorum XY\n",
        log.vkey(),
        ws[0].key().vkey(),
        ws[1].key().vkey(),
        ws[2].key().vkey(),
        ws[3].key().vkey(),
    )
}

#[test]
fn policy_groups_and_quorum() {
    let log = LogSigner::generate("example.com/log").unwrap();
    let ws: Vec<Cosigner> = (0..4)
        .map(|i| ed_cosigner(&format!("w{i}.example")))
        .collect();
    let p = Policy::parse(&example_policy(&log, &ws)).unwrap();
    assert_eq!(p.logs().len(), 1);
    assert_eq!(p.logs()[0].url.as_deref(), Some("https://log.example"));
    assert_eq!(p.witnesses().len(), 4);
    assert_eq!(
        p.witnesses()[0].url.as_deref(),
        Some("http://127.0.0.1:1/x1")
    );
    assert_eq!(p.quorum_name(), "XY");
    let met = |v: [bool; 4]| p.quorum_met(&v);
    assert!(met([true, true, false, true]));
    assert!(met([false, true, true, true]));
    assert!(!met([true, false, false, true]), "X needs 2");
    assert!(!met([true, true, true, false]), "Y needs 1");
    assert!(!met([false; 4]));

    // Verifying a note: two X and the Y: met; one X: not met.
    let a = tree(9);
    let note = log.checkpoint(9, &a.root().unwrap());
    let full = format!(
        "{note}{}{}{}",
        cosign_line(&ws[0], &note, 1),
        cosign_line(&ws[2], &note, 2),
        cosign_line(&ws[3], &note, 3)
    );
    let v = p.verify(&full, None).unwrap();
    assert!(v.quorum_met);
    assert_eq!(v.checkpoint.size, 9);
    assert_eq!(v.cosigned.len(), 3);
    let partial = format!(
        "{note}{}{}",
        cosign_line(&ws[0], &note, 1),
        cosign_line(&ws[3], &note, 3)
    );
    assert!(!p.verify(&partial, None).unwrap().quorum_met);
    // An unknown witness's line is ignored; a known one that fails rejects the note.
    let stranger = ed_cosigner("stranger.example");
    let with_stranger = format!("{partial}{}", cosign_line(&stranger, &note, 9));
    assert_eq!(p.verify(&with_stranger, None).unwrap().cosigned.len(), 2);
    let forged = full.replacen(
        &cosign_line(&ws[2], &note, 2),
        &cosign_line(&ws[2], &note, 2).replacen('A', "B", 1),
        1,
    );
    if forged != full {
        assert!(p.verify(&forged, None).is_err());
    }
    // Another log's checkpoint is refused.
    let other = LogSigner::generate("example.com/log").unwrap();
    assert!(p
        .verify(&other.checkpoint(9, &a.root().unwrap()), None)
        .is_err());
}

#[test]
fn policy_errors_name_the_line() {
    let log = LogSigner::generate("example.com/log").unwrap();
    let w = ed_cosigner("w.example");
    let wv = w.key().vkey();
    let lv = log.vkey();
    let cases: Vec<(String, usize, &str)> = vec![
        (format!("log {lv}\nquorum W\n"), 2, "not defined"),
        (
            format!("witness W {wv}\nwitness V {wv}\nquorum W\n"),
            2,
            "duplicate",
        ),
        (
            format!("witness W {wv}\ngroup G 2 W\nquorum G\n"),
            2,
            "threshold",
        ),
        (
            format!("witness W {wv}\ngroup G 0 W\nquorum G\n"),
            2,
            "threshold",
        ),
        (
            format!("witness W {wv}\ngroup G any W W\nquorum G\n"),
            2,
            "twice",
        ),
        (
            format!("witness W {wv}\ngroup G any\nquorum G\n"),
            2,
            "no members",
        ),
        (
            format!("witness W {wv}\nquorum W\nquorum none\n"),
            3,
            "exactly one",
        ),
        (format!("witness none {wv}\nquorum none\n"), 1, "reserved"),
        (format!("witness W {lv}\nquorum W\n"), 1, "log key"),
        (format!("log {wv}\nquorum none\n"), 1, "log key"),
        ("frobnicate x\nquorum none\n".into(), 1, "unknown keyword"),
        ("quorum none\r\n".into(), 1, "control character"),
        ("quorum\n".into(), 1, "expected 'quorum <name>'"),
        (
            format!("witness W {wv} url extra\nquorum W\n"),
            1,
            "expected",
        ),
    ];
    for (text, line, want) in cases {
        let e = Policy::parse(&text).unwrap_err();
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.to_string().contains(want), "{text:?}: {e}");
        assert!(e.to_string().starts_with(&format!("line {line}: ")));
    }
    let e = Policy::parse(&format!("log {lv}\n")).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(e.to_string().contains("no quorum"));
    // Published without URLs, it reads back as the same policy.
    let p = Policy::parse(&example_policy(
        &log,
        &[
            ed_cosigner("a"),
            ed_cosigner("b"),
            ed_cosigner("c"),
            ed_cosigner("d"),
        ],
    ))
    .unwrap();
    let public = p.public_text();
    assert!(!public.contains("http"), "{public}");
    let again = Policy::parse(&public).unwrap();
    assert_eq!(again.public_text(), public);
    assert!(again.quorum_met(&[true, true, false, true]));
    assert!(!again.quorum_met(&[true, false, false, true]));
    // quorum none needs nothing.
    let p = Policy::parse(&format!("log {lv}\nquorum none\n")).unwrap();
    assert!(p.needs_no_cosignature());
    assert!(p.quorum_met(&[]));
}

#[test]
fn add_checkpoint_body_round_trips() {
    let log = LogSigner::generate("example.com/log").unwrap();
    let a = tree(20);
    let proof = tlog::prove_tree(20, 7, &a).unwrap();
    let req = AddCheckpoint {
        old: 7,
        proof: proof.clone(),
        checkpoint: log.checkpoint(20, &a.root().unwrap()),
    };
    let body = req.to_string();
    assert!(body.starts_with("old 7\n"));
    assert_eq!(AddCheckpoint::parse(&body).unwrap(), req);
    for bad in [
        "old 07\n\nx".to_string(),
        "old -1\n\nx".into(),
        "olds 1\n\nx".into(),
        "old 1\nnot base64!\n\nx".into(),
        "old 1".into(),
        format!("old 1\n{}\n\nx", vec![B64.encode([0u8; 32]); 64].join("\n")),
    ] {
        assert!(AddCheckpoint::parse(&bad).is_err(), "{bad:?}");
    }
    assert_eq!(parse_size("12\n"), Some(12));
    assert_eq!(parse_size("012\n"), None);
    assert_eq!(parse_size("12"), None);
}

/// Each refusal of tlog-witness, in its order.
#[test]
fn witness_checks_follow_the_spec() {
    let log = LogSigner::generate("example.com/log").unwrap();
    let keys = [log.verifier()];
    let lookup = |o: &str| (o == "example.com/log").then_some(&keys[..]);
    let a10 = tree(10);
    let mut a = tree(10);
    let root10 = a10.root().unwrap();
    for i in 10..30 {
        a.append(format!("entry {i}\n").as_bytes()).unwrap();
    }
    let root30 = a.root().unwrap();
    let at10 = WitnessedState {
        size: 10,
        root: root10,
    };
    let req = |old: u64, proof: Vec<Hash>, cp: String| AddCheckpoint {
        old,
        proof,
        checkpoint: cp,
    };
    let cp30 = log.checkpoint(30, &root30);
    let good = tlog::prove_tree(30, 10, &a).unwrap();

    // First contact: old 0, no proof.
    let ok = check(&req(0, vec![], cp30.clone()), lookup, None).unwrap();
    assert_eq!(ok.state.size, 30);
    assert_eq!(ok.origin, "example.com/log");
    // Growth from 10 with a good proof.
    assert!(check(&req(10, good.clone(), cp30.clone()), lookup, Some(&at10)).is_ok());
    // 404 unknown origin.
    let other = LogSigner::generate("other.example/log").unwrap();
    let r = check(&req(0, vec![], other.checkpoint(1, &root10)), lookup, None).unwrap_err();
    assert_eq!(r.status(), 404);
    // 403: the origin's name, another key.
    let imposter = LogSigner::generate("example.com/log").unwrap();
    let r = check(
        &req(0, vec![], imposter.checkpoint(30, &root30)),
        lookup,
        None,
    )
    .unwrap_err();
    assert_eq!(r.status(), 403);
    // 400: old above the size.
    let r = check(&req(31, vec![], cp30.clone()), lookup, None).unwrap_err();
    assert_eq!(r, Refusal::OldTooLarge { old: 31, size: 30 });
    assert_eq!(r.status(), 400);
    // 409 with the latest size.
    let r = check(&req(0, vec![], cp30.clone()), lookup, Some(&at10)).unwrap_err();
    assert_eq!(r, Refusal::SizeMismatch { old: 0, latest: 10 });
    assert_eq!(r.status(), 409);
    // 422: a proof that does not verify, a proof from 0, an empty tree with a wrong root.
    let mut bad = good.clone();
    bad[0].0[0] ^= 1;
    let r = check(&req(10, bad, cp30.clone()), lookup, Some(&at10)).unwrap_err();
    assert_eq!(r.status(), 422);
    assert!(r.is_evidence());
    let r = check(&req(0, good.clone(), cp30.clone()), lookup, None).unwrap_err();
    assert_eq!(r.status(), 422);
    let r = check(&req(0, vec![], log.checkpoint(0, &root10)), lookup, None).unwrap_err();
    assert_eq!(r.status(), 422);
    assert!(check(
        &req(0, vec![], log.checkpoint(0, &empty_root())),
        lookup,
        None
    )
    .is_ok());
    // Another continuation of the same 10 entries is consistent with 10; a proof of one
    // continuation against the root of the other is not.
    let mut forked = tree(10);
    for i in 10..30 {
        forked.append(format!("forked {i}\n").as_bytes()).unwrap();
    }
    let fproof = tlog::prove_tree(30, 10, &forked).unwrap();
    let fcp = log.checkpoint(30, &forked.root().unwrap());
    assert!(check(&req(10, fproof, fcp), lookup, Some(&at10)).is_ok());
    let r = check(
        &req(
            10,
            good.clone(),
            log.checkpoint(30, &forked.root().unwrap()),
        ),
        lookup,
        Some(&at10),
    )
    .unwrap_err();
    assert_eq!(r.status(), 422);
    // 409: same size, another root.
    let r = check(
        &req(10, vec![], log.checkpoint(10, &root30)),
        lookup,
        Some(&at10),
    )
    .unwrap_err();
    assert_eq!(r, Refusal::RootMismatch(10));
    assert_eq!(r.status(), 409);
    // Same size, same root: accepted (a re-request).
    assert!(check(
        &req(10, vec![], log.checkpoint(10, &root10)),
        lookup,
        Some(&at10)
    )
    .is_ok());
    // 400: not a note.
    let r = check(&req(0, vec![], "example.com/log\n1\n".into()), lookup, None).unwrap_err();
    assert_eq!(r.status(), 400);
}

#[test]
fn a_cosigner_never_prints_its_key() {
    let seed = rand32();
    let ed = Cosigner::ed25519("w.example", ed25519_dalek::SigningKey::from_bytes(&seed)).unwrap();
    let pq = Cosigner::ml_dsa_44("w.example", &seed).unwrap();
    for c in [ed, pq] {
        let shown = format!("{c:?}");
        assert!(shown.contains("w.example"), "{shown}");
        for secret in [B64.encode(seed), format!("{seed:?}"), hex(&seed)] {
            assert!(!shown.contains(&secret), "{shown}");
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A cosigned checkpoint as another implementation reads it (cloudflare/azul's signed_note):
/// the log's signature verifies with our vkey, and each cosignature line parses with the name
/// and key id our witness keys claim.
#[test]
fn an_independent_note_parser_reads_cosigned_checkpoints() {
    use signed_note::{Note, StandardVerifier, VerifierList};
    let log = LogSigner::generate("example.com/log").unwrap();
    let a = tree(7);
    let note = log.checkpoint(7, &a.root().unwrap());
    let ed = ed_cosigner("w1.example");
    let pq = Cosigner::ml_dsa_44("w2.example", &rand32()).unwrap();
    let full = format!(
        "{note}{}{}",
        cosign_line(&ed, &note, 1_700_000_001),
        cosign_line(&pq, &note, 1_700_000_002)
    );
    let parsed = Note::from_bytes(full.as_bytes()).unwrap();
    let known = VerifierList::new(vec![Box::new(StandardVerifier::new(&log.vkey()).unwrap())]);
    let (verified, unverified) = parsed.verify(&known).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].name(), "example.com/log");
    let others: Vec<(String, u32)> = unverified
        .iter()
        .map(|s| (s.name().to_owned(), s.id()))
        .collect();
    assert_eq!(
        others,
        vec![
            ("w1.example".to_owned(), ed.key().id()),
            ("w2.example".to_owned(), pq.key().id())
        ]
    );
    // Our parser agrees on the text both signed.
    assert_eq!(parsed.text(), split_note(&full).unwrap().0.as_bytes());
}
