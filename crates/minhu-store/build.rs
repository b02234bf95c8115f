//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds the files it
//! found at compile time, and cargo does not otherwise look at the folder, so a new
//! migration file would be missing from the binary until some source file changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
