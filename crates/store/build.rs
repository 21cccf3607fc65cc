// sqlx::migrate! embeds the files it sees at compile time; a newly added migration must
// trigger a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
