//! The site's own files (the wasm, its loader, the stylesheet) are served as
//! files whatever page the server rendered just before: a browser that opened a
//! "no such trigger" page still gets a working page, not a 404 for its wasm.

mod common;

use common::{Db, TestApp};

on_both_databases!(the_site_files_load_after_a_not_found_page);

async fn the_site_files_load_after_a_not_found_page(db: Db) {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    let css = "body { color: #1d2733 }\n";
    std::fs::write(site.path().join("pkg/calltrail.css"), css).unwrap();
    let app = TestApp::spawn_with_site(db, site.path().to_str().unwrap()).await;
    let browser = app.browser().await;

    // A page the app renders as "not found", then the files that page asks for,
    // as a browser does: many times over, so whichever worker renders the page
    // also serves some of the files after it.
    for round in 0..40 {
        let address = if round % 2 == 0 {
            "/triggers/0193d6a8-0000-7000-8000-000000000000"
        } else {
            "/triggers/not-a-trigger-id"
        };
        let page = browser.get(address).await;
        assert_eq!(page.status().as_u16(), 404, "round {round}: the page");
        if round % 4 < 2 {
            let _ = page.text().await;
        }
        let (a, b, c) = tokio::join!(
            browser.get("/pkg/calltrail.css"),
            browser.get("/pkg/calltrail.css"),
            browser.get("/pkg/calltrail.css")
        );
        for file in [a, b, c] {
            assert_eq!(file.status().as_u16(), 200, "round {round}: the stylesheet");
            assert_eq!(file.text().await.unwrap(), css);
        }
    }

    // A file that is not there is still the app's own 404 page.
    let missing = browser.get("/pkg/nothing-here.js").await;
    assert_eq!(missing.status().as_u16(), 404);
    assert!(missing.text().await.unwrap().contains("<html"));
}
