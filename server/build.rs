//! `sqlx::migrate!` embeds the files of `migrations/` at compile time; without this,
//! a new migration file alone would not rebuild the binary, which would then start
//! without it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
