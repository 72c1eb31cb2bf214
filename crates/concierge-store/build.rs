fn main() {
    // sqlx::migrate! embeds ../../migrations; rebuild when it changes.
    println!("cargo:rerun-if-changed=../../migrations");
}
