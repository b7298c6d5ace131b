//! SQLite's own page cache, without a scan of it at every commit.
//!
//! When SQLite splits a B-tree page it puts the new pages in ascending order, and
//! to swap two of them it gives one, for a moment, the number of the "pending
//! byte" page (page 262,145 with 4 KiB pages: the page at 1 GiB, which no table
//! ever uses; `balance_nonroot` in btree.c). The default cache (`pcache1`) notes
//! every number it has seen as its largest key and never lowers it but by a
//! truncation. At every commit the pager truncates the cache to the database's
//! size; in a database smaller than 1 GiB that largest key is above it, so each
//! commit that followed a page split walks the whole cache's hash table to drop
//! pages that are not there. A profile of `calltrail serve` ingesting and
//! delivering at once put that walk (`pcache1TruncateUnsafe`) at a fifth of the
//! write connection's thread, the busiest thread of the process (BENCHMARKS.md).
//!
//! `install` puts a thin layer in front of pcache1 (SQLite's documented
//! `SQLITE_CONFIG_PCACHE2` interface): every call goes to pcache1 unchanged, and
//! the layer keeps its own largest key, which leaves out a page's passing
//! renumbering to the pending-byte page (the page is renumbered again before
//! `balance_nonroot` returns, so no page has that number at a truncation). A
//! truncation that no cached page can reach is then skipped; any other goes to
//! pcache1 as before. Nothing else about caching changes.

use std::ffi::{c_int, c_uint, c_void};
use std::sync::OnceLock;

use libsqlite3_sys as ffi;

/// SQLite's default page cache, which every call ends up in.
static PCACHE1: OnceLock<Methods> = OnceLock::new();

/// A cache implementation's functions and their argument.
struct Methods(ffi::sqlite3_pcache_methods2);

// SAFETY: SQLite itself calls a cache implementation's functions from any thread
// (pcache1 guards its shared state with its own mutexes), and its `pArg` is only
// handed back to its `xInit` and `xShutdown`.
unsafe impl Send for Methods {}
unsafe impl Sync for Methods {}

/// What the layer did, counted for the tests.
#[cfg(test)]
mod seen {
    use std::sync::atomic::AtomicU64;
    /// Pages renumbered to the pending-byte page for a moment.
    pub static PENDING_RENUMBERINGS: AtomicU64 = AtomicU64::new(0);
    /// Truncations of a database's cache passed on to pcache1.
    pub static TRUNCATIONS: AtomicU64 = AtomicU64::new(0);
}

/// Offset of the pending byte: SQLite's `PENDING_BYTE` unless a test harness moved it.
const PENDING_BYTE: u32 = 0x4000_0000;

/// One cache, as SQLite holds it: pcache1's, with the largest key it can hold.
struct Cache {
    inner: *mut ffi::sqlite3_pcache,
    /// No page in the cache has a greater number (pending-byte renumberings aside).
    max_key: c_uint,
    /// The pending-byte page's number at this cache's page size.
    pending: c_uint,
    /// A database's cache (not a temporary table's), for the tests' counts.
    #[cfg(test)]
    purgeable: bool,
}

/// Put the layer in front of pcache1. Must run before SQLite's first use in the
/// process (SQLite refuses a new cache afterwards, and nothing changes); says
/// whether it took.
pub(super) fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        // SAFETY: sqlite3_config is called with the argument type each option
        // documents (a pointer to a sqlite3_pcache_methods2 to fill, then one to
        // copy); SQLite copies the struct it is given.
        unsafe {
            let mut default: ffi::sqlite3_pcache_methods2 = std::mem::zeroed();
            if ffi::sqlite3_config(
                ffi::SQLITE_CONFIG_GETPCACHE2,
                &mut default as *mut ffi::sqlite3_pcache_methods2,
            ) != ffi::SQLITE_OK
                || default.xCreate.is_none()
            {
                return false;
            }
            let _ = PCACHE1.set(Methods(default));
            let layer = ffi::sqlite3_pcache_methods2 {
                iVersion: 1,
                pArg: std::ptr::null_mut(),
                xInit: Some(init),
                xShutdown: Some(shutdown),
                xCreate: Some(create),
                xCachesize: Some(cachesize),
                xPagecount: Some(pagecount),
                xFetch: Some(fetch),
                xUnpin: Some(unpin),
                xRekey: Some(rekey),
                xTruncate: Some(truncate),
                xDestroy: Some(destroy),
                xShrink: Some(shrink),
            };
            ffi::sqlite3_config(
                ffi::SQLITE_CONFIG_PCACHE2,
                &layer as *const ffi::sqlite3_pcache_methods2,
            ) == ffi::SQLITE_OK
        }
    })
}

fn pcache1() -> &'static ffi::sqlite3_pcache_methods2 {
    &PCACHE1
        .get()
        .expect("the layer is installed only after pcache1 is saved")
        .0
}

/// The layer's cache behind SQLite's handle.
///
/// # Safety
/// `p` must be a handle `create` returned and `destroy` has not freed. SQLite
/// calls a cache's methods from one connection at a time.
unsafe fn cache<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    &mut *(p as *mut Cache)
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    let m = pcache1();
    m.xInit.map_or(ffi::SQLITE_OK, |f| f(m.pArg))
}

unsafe extern "C" fn shutdown(_: *mut c_void) {
    let m = pcache1();
    if let Some(f) = m.xShutdown {
        f(m.pArg)
    }
}

unsafe extern "C" fn create(
    page_size: c_int,
    extra: c_int,
    purgeable: c_int,
) -> *mut ffi::sqlite3_pcache {
    let inner = (pcache1().xCreate.expect("pcache1 creates"))(page_size, extra, purgeable);
    if inner.is_null() {
        return inner;
    }
    let pending = PENDING_BYTE / (page_size.max(1) as u32) + 1;
    Box::into_raw(Box::new(Cache {
        inner,
        max_key: 0,
        pending,
        #[cfg(test)]
        purgeable: purgeable != 0,
    })) as *mut ffi::sqlite3_pcache
}

unsafe extern "C" fn cachesize(p: *mut ffi::sqlite3_pcache, n: c_int) {
    (pcache1().xCachesize.expect("pcache1 sizes"))(cache(p).inner, n)
}

unsafe extern "C" fn pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    (pcache1().xPagecount.expect("pcache1 counts"))(cache(p).inner)
}

unsafe extern "C" fn fetch(
    p: *mut ffi::sqlite3_pcache,
    key: c_uint,
    create: c_int,
) -> *mut ffi::sqlite3_pcache_page {
    let c = cache(p);
    let page = (pcache1().xFetch.expect("pcache1 fetches"))(c.inner, key, create);
    if !page.is_null() {
        c.max_key = c.max_key.max(key);
    }
    page
}

unsafe extern "C" fn unpin(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    discard: c_int,
) {
    (pcache1().xUnpin.expect("pcache1 unpins"))(cache(p).inner, page, discard)
}

unsafe extern "C" fn rekey(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    let c = cache(p);
    (pcache1().xRekey.expect("pcache1 renumbers"))(c.inner, page, old, new);
    // The pending-byte page is only a page's number while two are swapped.
    if new != c.pending {
        c.max_key = c.max_key.max(new);
    } else {
        #[cfg(test)]
        seen::PENDING_RENUMBERINGS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

unsafe extern "C" fn truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    let c = cache(p);
    if limit > c.max_key {
        // No page numbered `limit` or above is cached: nothing to drop.
        return;
    }
    #[cfg(test)]
    if c.purgeable {
        seen::TRUNCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    (pcache1().xTruncate.expect("pcache1 truncates"))(c.inner, limit);
    c.max_key = limit.saturating_sub(1);
}

unsafe extern "C" fn destroy(p: *mut ffi::sqlite3_pcache) {
    let c = Box::from_raw(p as *mut Cache);
    (pcache1().xDestroy.expect("pcache1 destroys"))(c.inner)
}

unsafe extern "C" fn shrink(p: *mut ffi::sqlite3_pcache) {
    (pcache1().xShrink.expect("pcache1 shrinks"))(cache(p).inner)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;

    use sqlx::{Connection, Row, SqliteConnection};

    use super::seen;

    /// A WAL database like the server's, with a table whose index splits pages in
    /// scattered order (each split may renumber a page to the pending-byte page).
    async fn database(dir: &tempfile::TempDir) -> SqliteConnection {
        assert!(
            super::install(),
            "SQLite was used before the layer (run under nextest: one process per test)"
        );
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let mut conn = SqliteConnection::connect(&url).await.unwrap();
        for statement in [
            "PRAGMA journal_mode = WAL",
            "PRAGMA cache_size = -8192",
            "PRAGMA temp_store = memory",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v BLOB NOT NULL)",
            "CREATE INDEX t_k ON t (k)",
        ] {
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
        conn
    }

    /// Rows `from..=to`, with random index keys.
    fn insert(from: i64, to: i64) -> String {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {to}) \
             INSERT INTO t (id, k, v) SELECT i, hex(randomblob(12)), randomblob(300) FROM n"
        )
    }

    async fn number(conn: &mut SqliteConnection, sql: &str) -> i64 {
        sqlx::query(sql).fetch_one(conn).await.unwrap().get(0)
    }

    /// What the layer is for: commits that follow page splits no longer hand
    /// pcache1 a truncation, which walked the whole cache each time.
    #[tokio::test]
    async fn commits_after_page_splits_leave_the_cache_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = database(&dir).await;
        let (renumbered, truncated) = (
            seen::PENDING_RENUMBERINGS.load(Relaxed),
            seen::TRUNCATIONS.load(Relaxed),
        );
        for round in 0..200i64 {
            sqlx::query(&insert(round * 100 + 1, round * 100 + 100))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        assert!(
            seen::PENDING_RENUMBERINGS.load(Relaxed) > renumbered,
            "the inserts split pages out of order (otherwise this test shows nothing)"
        );
        assert_eq!(
            seen::TRUNCATIONS.load(Relaxed),
            truncated,
            "no commit walked the cache"
        );
        assert_eq!(number(&mut conn, "SELECT count(*) FROM t").await, 20_000);
    }

    /// Truncations that can reach a cached page still happen: the file shrinks
    /// (VACUUM), grows again, and a rolled-back growth in between leaves nothing.
    #[tokio::test]
    async fn a_file_that_shrinks_and_grows_again_stays_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = database(&dir).await;
        let mut kept = 0i64;
        for round in 0..6i64 {
            let base = round * 100_000;
            sqlx::query(&insert(base, base + 3_999))
                .execute(&mut conn)
                .await
                .unwrap();
            kept += 4_000;
            let mut tx = conn.begin().await.unwrap();
            sqlx::query(&insert(base + 50_000, base + 53_999))
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            // Half of what this round wrote goes, and the file shrinks to fit.
            sqlx::query(&format!("DELETE FROM t WHERE id >= {base} AND id % 2 = 1"))
                .execute(&mut conn)
                .await
                .unwrap();
            kept -= 2_000;
            let truncated = seen::TRUNCATIONS.load(Relaxed);
            sqlx::query("VACUUM").execute(&mut conn).await.unwrap();
            assert!(
                seen::TRUNCATIONS.load(Relaxed) > truncated,
                "the shrunk file's truncation reached pcache1"
            );
        }
        let check: String = sqlx::query("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0);
        assert_eq!(check, "ok");
        let through_index = "SELECT count(*) FROM t INDEXED BY t_k WHERE k > ''";
        assert_eq!(number(&mut conn, through_index).await, kept);
        let stray = "SELECT count(*) FROM t WHERE id % 100000 >= 50000 OR id % 2 = 1";
        assert_eq!(
            number(&mut conn, stray).await,
            0,
            "nothing rolled back or deleted is read"
        );
    }
}
