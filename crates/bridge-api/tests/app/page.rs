//! The verification page (`GET /`, `GET /assets/{file}`): served without an API key, from the
//! binary, under a policy that lets it talk to this origin only. What it does in a browser is
//! tested in Chromium by `scripts/page-tests`.

use bridge_api::{ApiConfig, ApiKey};

use crate::helpers::TestApp;

async fn keyed() -> TestApp {
    TestApp::with_config(ApiConfig {
        api_keys: vec!["secret-key".parse::<ApiKey>().unwrap()],
        ..ApiConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_files_are_public_and_only_talk_to_this_origin() {
    let app = keyed().await;
    let page = app.get("/").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    for rule in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(rule), "{csp}");
    }
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    // Everything the page loads is one of our files, by a relative link; nothing remote.
    for src in ["assets/app.mjs", "assets/page.css"] {
        assert!(page.text.contains(&format!("\"{src}\"")), "{src}");
    }
    for remote in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(!page.text.contains(remote), "{remote}");
    }
    assert!(
        page.text.contains("<noscript>"),
        "without JavaScript it says what to do"
    );

    for (file, kind) in [
        ("app.mjs", "text/javascript"),
        ("stamp.mjs", "text/javascript"),
        ("proof.mjs", "text/javascript"),
        ("blake3.mjs", "text/javascript"),
        ("page.css", "text/css"),
    ] {
        let r = app.get(&format!("/assets/{file}")).await;
        assert_eq!(r.status, 200, "{file}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind),
            "{file}"
        );
        assert!(r.text.len() > 500, "{file} is the real file");
        // The scripts import each other relatively and fetch nothing absolute.
        assert!(
            !r.text.contains("http://") && !r.text.contains("https://"),
            "{file}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_page_file_is_a_404_in_the_envelope() {
    let app = keyed().await;
    for path in [
        "/assets/nope.js",
        "/assets/..%2Fsrc%2Flib.rs",
        "/assets/app.mjs.map",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body["error"]["code"], "NOT_FOUND", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served_at_the_root_only() {
    // Its links are relative to `/`; under the legacy API prefix they would point elsewhere.
    let app = keyed().await;
    let r = app.get("/api/v1/metadata-stamping/").await;
    assert_ne!(r.status, 200);
    let r = app.get("/api/v1/metadata-stamping/assets/app.mjs").await;
    assert_ne!(r.status, 200);
}
