//! What `import` refuses, and that a refusal writes nothing: a file changed by one byte, a
//! file under a master key that is not configured (named in the message), a non-empty
//! database without `--merge`. A master key kept as a previous key is accepted.

use crate::helpers::{read_json, stderr, Deployment, Secrets};

#[test]
fn tampered_files_unknown_master_keys_and_non_empty_databases_are_refused() {
    let secrets = Secrets::generate();
    let source = Deployment::sqlite(&secrets);
    source.admin_token();
    let file = source.path("backup.json");
    let output = source.export(&file);
    assert!(output.status.success(), "{}", stderr(&output));
    let master_key_id = read_json(&file)["master_key_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // One byte changed inside a table.
    let text = std::fs::read_to_string(&file).unwrap();
    let tampered = text.replacen("\"name\": \"admin\"", "\"name\": \"admiN\"", 1);
    assert_eq!(tampered.len(), text.len());
    assert_ne!(tampered, text);
    let tampered_file = source.path("tampered.json");
    std::fs::write(&tampered_file, tampered).unwrap();
    let target = Deployment::sqlite(&secrets);
    let output = target.import(&tampered_file, &[]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("integrity check failed"),
        "{}",
        stderr(&output)
    );

    // Another master key: refused, naming the key the file needs.
    let mut other = Secrets::generate();
    other.hkdf_salt.clone_from(&secrets.hkdf_salt);
    let output = Deployment::sqlite(&other).import(&file, &[]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&master_key_id),
        "{}",
        stderr(&output)
    );

    // The same key kept as a previous key after a rotation: accepted.
    other.previous_master_keys = Some(secrets.master_key.clone());
    let output = Deployment::sqlite(&other).import(&file, &[]);
    assert!(output.status.success(), "{}", stderr(&output));

    // The refused import wrote nothing: the same target takes the real file.
    let output = target.import(&file, &[]);
    assert!(output.status.success(), "{}", stderr(&output));

    // Now it holds rows: refused without --merge, and left as it was.
    let before = target.tables();
    let output = target.import(&file, &[]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(stderr(&output).contains("not empty"), "{}", stderr(&output));
    assert_eq!(target.tables(), before);

    // --merge with the same file: every row is already there.
    let output = target.import(&file, &["--merge"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("2 rows already present"),
        "{}",
        stderr(&output)
    );
}
