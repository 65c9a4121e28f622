//! The transparency log through the API: every new signed stamp is an entry with its proof in
//! the 201, the checkpoint verifies with `/log/key`, and the root recomputed from the served
//! tiles and entry bundles with RFC 6962 written out here (not the service's code) is the
//! checkpoint's.

use bridge_core::tlog::{LogVerifier, TlogProof};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{stamp_body, TestApp};

/// RFC 6962 §2.1 Merkle Tree Hash over leaf hashes (the split at the largest power of two
/// below n).
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            Sha256::new()
                .chain_update([1u8])
                .chain_update(mth(&leaves[..k]))
                .chain_update(mth(&leaves[k..]))
                .finalize()
                .into()
        }
    }
}

fn leaf(entry: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update([0u8])
        .chain_update(entry)
        .finalize()
        .into()
}

/// Splits an entry bundle into its entries.
fn unbundle(mut b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let n = usize::from(u16::from_be_bytes([b[0], b[1]]));
        out.push(b[2..2 + n].to_vec());
        b = &b[2 + n..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stamps_are_logged_with_a_proof_that_the_tiles_confirm() {
    let app = TestApp::new().await;
    let vkey = app.get("/log/key").await;
    assert_eq!(vkey.status, 200);
    let log = LogVerifier::from_vkey(vkey.text.trim()).unwrap();
    app.get("/log/checkpoint")
        .await
        .assert_error(404, "LOG_EMPTY");

    let mut answers = Vec::new();
    for i in 0..5 {
        let r = app
            .post("/stamp", &stamp_body(&format!("entry {i}\n"), "logged"))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        answers.push(r.data().clone());
    }
    // A deduplicated request adds nothing and answers the first stamp's place.
    let again = app.post("/stamp", &stamp_body("entry 0\n", "logged")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.data()["log"]["index"], 0);
    let batch = app
        .post(
            "/stamp/batch",
            &json!({"items": [{"content": "b1\n", "namespace": "logged"}, {"content": "b2\n", "namespace": "other"}]}),
        )
        .await;
    assert_eq!(batch.status, 200, "{}", batch.body);
    for item in batch.data()["results"].as_array().unwrap() {
        answers.push(item["data"].clone());
    }
    assert_eq!(answers.len(), 7);

    // Every 201 has its own index once, and a proof that verifies against its checkpoint.
    let mut indexes: Vec<u64> = answers
        .iter()
        .map(|d| d["log"]["index"].as_u64().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..7).collect::<Vec<_>>());
    let cp = app.get("/log/checkpoint").await;
    assert_eq!(cp.status, 200);
    assert!(cp.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let head = log.verify(&cp.text).unwrap();
    assert_eq!(head.size, 7);

    // The tree from the served resources alone: the entry bundle, the level-0 tile.
    let bundle = app.get("/log/tile/entries/000.p/7").await;
    assert_eq!(bundle.status, 200);
    assert_eq!(bundle.headers["content-type"], "application/octet-stream");
    assert!(bundle.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let bundle_bytes = app.get_bytes("/log/tile/entries/000.p/7").await;
    let entries = unbundle(&bundle_bytes);
    assert_eq!(entries.len(), 7);
    let tile = app.get_bytes("/log/tile/0/000.p/7").await;
    assert_eq!(tile.len(), 7 * 32);
    let leaves: Vec<[u8; 32]> = entries.iter().map(|e| leaf(e)).collect();
    for (i, l) in leaves.iter().enumerate() {
        assert_eq!(&tile[i * 32..i * 32 + 32], l, "tile hash {i}");
    }
    assert_eq!(mth(&leaves), head.root.0, "root from the tiles");

    for d in &answers {
        let index = d["log"]["index"].as_u64().unwrap() as usize;
        let entry = &entries[index];
        // The entry is the stamp's statement and signature line.
        let text = String::from_utf8(entry.clone()).unwrap();
        assert!(text.contains(&format!("stamp_id {}\n", d["stamp_id"].as_str().unwrap())));
        assert!(text.ends_with(&format!("signature {}\n", d["signature"].as_str().unwrap())));
        let proof = TlogProof::parse(d["log"]["proof"].as_str().unwrap()).unwrap();
        assert_eq!(proof.index as usize, index);
        assert_eq!(proof.checkpoint, d["log"]["checkpoint"].as_str().unwrap());
        proof.verify(&log, entry).unwrap();
        // And from the proof route, against the newest checkpoint.
        let p = app
            .get(&format!(
                "/stamps/{}/proof",
                d["stamp_id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(p.status, 200);
        let newest = TlogProof::parse(&p.text).unwrap();
        assert_eq!(newest.verify(&log, entry).unwrap().size, 7);
        assert!(newest.verify(&log, b"another entry").is_err());
    }

    let metrics = app.get("/metrics").await.text;
    assert!(metrics.contains("\nlog_tree_size 7\n"), "{metrics}");
    assert!(
        metrics.contains("\nlog_checkpoint_age_seconds "),
        "{metrics}"
    );
    // The stored stamp knows its index.
    let hash = answers[2]["file_hash"].as_str().unwrap();
    let stored = app.get(&format!("/stamp/{hash}?namespace=logged")).await;
    assert_eq!(stored.data()["log_index"], answers[2]["log"]["index"]);
    app.run_pending_outbox().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tile_paths_are_checked_and_tiles_beyond_the_tree_are_404() {
    let app = TestApp::new().await;
    for i in 0..3 {
        assert_eq!(
            app.post("/stamp", &stamp_body(&format!("t{i}\n"), "tiles"))
                .await
                .status,
            201
        );
    }
    for bad in [
        "/log/tile/0/1",
        "/log/tile/64/000",
        "/log/tile/0/000.p/0",
        "/log/tile/0/000.p/256",
        "/log/tile/0/x000/001",
        "/log/tile/entries/00a",
        "/log/tile/x",
    ] {
        app.get(bad).await.assert_error(400, "INVALID_TILE_PATH");
    }
    for beyond in [
        "/log/tile/0/000",
        "/log/tile/0/000.p/4",
        "/log/tile/1/000.p/1",
        "/log/tile/entries/001.p/1",
        "/log/tile/0/x018/x446/x744/x073/x709/x551/615",
        "/log/tile/63/001",
    ] {
        app.get(beyond).await.assert_error(404, "TILE_NOT_FOUND");
    }
    // A partial tile of any width up to the tree's is served (old checkpoints need them).
    assert_eq!(app.get_bytes("/log/tile/0/000.p/2").await.len(), 64);
    app.get("/stamps/not-a-uuid/proof")
        .await
        .assert_error(400, "INVALID_STAMP_ID");
    app.get("/stamps/01939aa4-0000-7000-8000-000000000000/proof")
        .await
        .assert_error(404, "STAMP_NOT_LOGGED");
    app.run_pending_outbox().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_pages_through_ten_thousand_stamps_each_once_in_log_order() {
    let app = TestApp::new().await;
    for round in 0..10 {
        let items: Vec<_> = (0..1000)
            .map(|i| json!({"content": format!("r{round} i{i}\n"), "namespace": "many"}))
            .collect();
        let r = app.post("/stamp/batch", &json!({"items": items})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.data()["succeeded"], 1000);
        // Another namespace interleaved: not in the listing.
        let r = app
            .post("/stamp", &stamp_body(&format!("other {round}\n"), "other"))
            .await;
        assert_eq!(r.status, 201);
    }
    let mut seen = std::collections::HashSet::new();
    let mut listed = Vec::new();
    let mut last: Option<u64> = None;
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(a) => format!("/namespaces/many/stamps?limit=1000&after={a}"),
            None => "/namespaces/many/stamps?limit=1000".to_owned(),
        };
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        pages += 1;
        for s in page.data()["stamps"].as_array().unwrap() {
            let index = s["index"].as_u64().unwrap();
            assert!(last.is_none_or(|l| index > l), "out of log order");
            last = Some(index);
            listed.push(index);
            assert!(
                seen.insert(s["stamp_id"].as_str().unwrap().to_owned()),
                "twice"
            );
        }
        match page.data()["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 10_000);
    assert!(pages <= 11, "{pages} pages");

    // The README's completeness check, as a tenant would run it: the entry bundles up to a
    // verified checkpoint hash to its root, so they are the whole log; the entries whose
    // statement names the namespace are exactly the listing, index for index.
    let log = LogVerifier::from_vkey(app.get("/log/key").await.text.trim()).unwrap();
    let cp = log.verify(&app.get("/log/checkpoint").await.text).unwrap();
    assert_eq!(cp.size, 10_010);
    let mut entries = Vec::new();
    for n in 0..cp.size / 256 {
        entries.extend(unbundle(
            &app.get_bytes(&format!("/log/tile/entries/{n:03}")).await,
        ));
    }
    let rest = cp.size % 256;
    entries.extend(unbundle(
        &app.get_bytes(&format!("/log/tile/entries/{:03}.p/{rest}", cp.size / 256))
            .await,
    ));
    let leaves: Vec<[u8; 32]> = entries.iter().map(|e| leaf(e)).collect();
    assert_eq!(
        mth(&leaves),
        cp.root.0,
        "the bundles are not the checkpoint's tree"
    );
    let expected: Vec<u64> = (0u64..)
        .zip(&entries)
        .filter(|(_, e)| e.split(|b| *b == b'\n').nth(1) == Some(&b"namespace many"[..]))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(listed, expected);
    let other = app.get("/namespaces/other/stamps").await;
    assert_eq!(other.data()["stamps"].as_array().unwrap().len(), 10);
    for bad in [
        "/namespaces/many/stamps?limit=0",
        "/namespaces/many/stamps?limit=1001",
        "/namespaces/many/stamps?limit=x",
        "/namespaces/many/stamps?after=-1",
        "/namespaces/many/stamps?after=01",
        "/namespaces/many/stamps?after=99999999999999999999",
        "/namespaces/many/stamps?cursor=1",
    ] {
        let r = app.get(bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    app.get("/namespaces/bad%20ns/stamps")
        .await
        .assert_error(400, "INVALID_NAMESPACE");
    app.run_pending_outbox().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_checkpoint_is_a_prefix_of_a_newer_one_from_the_tiles_alone() {
    let app = TestApp::new().await;
    let log = LogVerifier::from_vkey(app.get("/log/key").await.text.trim()).unwrap();
    let items = |tag: &str, n: usize| {
        let items: Vec<_> = (0..n)
            .map(|i| json!({"content": format!("{tag} {i}\n"), "namespace": "grow"}))
            .collect();
        json!({"items": items})
    };
    assert_eq!(
        app.post("/stamp/batch", &items("first", 5)).await.status,
        200
    );
    let old = log.verify(&app.get("/log/checkpoint").await.text).unwrap();
    assert_eq!(old.size, 5);
    assert_eq!(
        app.post("/stamp/batch", &items("then", 300)).await.status,
        200
    );
    let new = log.verify(&app.get("/log/checkpoint").await.text).unwrap();
    assert_eq!(new.size, 305);

    // A full bundle and tile, then the partial ones; a level-1 tile over the full one.
    let mut entries = unbundle(&app.get_bytes("/log/tile/entries/000").await);
    entries.extend(unbundle(&app.get_bytes("/log/tile/entries/001.p/49").await));
    assert_eq!(entries.len(), 305);
    let leaves: Vec<[u8; 32]> = entries.iter().map(|e| leaf(e)).collect();
    let full = app.get_bytes("/log/tile/0/000").await;
    assert_eq!(full.len(), 8192);
    for (i, l) in leaves[..256].iter().enumerate() {
        assert_eq!(&full[i * 32..i * 32 + 32], l);
    }
    let partial = app.get_bytes("/log/tile/0/001.p/49").await;
    assert_eq!(&partial[48 * 32..], &leaves[304]);
    assert_eq!(
        app.get_bytes("/log/tile/1/000.p/1").await,
        mth(&leaves[..256])
    );
    // The old root is the root of the new tree's first five entries: history kept.
    assert_eq!(mth(&leaves[..5]), old.root.0);
    assert_eq!(mth(&leaves), new.root.0);
    app.run_pending_outbox().await;
}

/// `?wait=witnessed` without a witness policy answers at once with the log-signed proof; a
/// wait for anything else is a 400 naming the query; `/log/policy` says there is none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_witnesses_without_a_policy() {
    let app = TestApp::new().await;
    let r = app
        .post("/stamp?wait=witnessed", &stamp_body("no witnesses\n", "w"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.data()["log"]["witnessed"], false);
    let r = app
        .post(
            "/stamp/batch?wait=witnessed",
            &json!({"items": [{"content": "batch, no witnesses\n", "namespace": "w"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.data()["results"][0]["data"]["log"]["witnessed"], false);
    for bad in ["/stamp?wait=logged", "/stamp?wait=", "/stamp?witnessed=1"] {
        app.post(bad, &stamp_body("never stamped\n", "w"))
            .await
            .assert_error(400, "INVALID_QUERY");
    }
    app.get("/log/policy")
        .await
        .assert_error(404, "LOG_NO_POLICY");
    app.run_pending_outbox().await;
}
