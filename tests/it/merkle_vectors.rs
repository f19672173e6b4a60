//! The transparency-dev/merkle proof vectors, run through `ikrar::tlog::merkle`'s verifiers: every
//! file's outcome must equal `!wantErr`. A hash that is not 32 bytes fails verification,
//! except that equal tree sizes compare roots byte for byte (one vector, with equal
//! 12-byte roots, must pass), so the wire-level verifiers take raw bytes.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ikrar::tlog::merkle::{
    Hash, hash_from_slice, verify_consistency, verify_consistency_bytes, verify_inclusion,
    verify_inclusion_bytes,
};
use serde_json::Value;

/// Files shipped in tests/vectors/merkle; a smaller count means a directory went unread.
const INCLUSION_FILES: usize = 98;
const CONSISTENCY_FILES: usize = 98;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/merkle")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn bytes(v: &Value) -> Vec<u8> {
    let text = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("not base64: {text}: {e}"))
}

fn proof(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(bytes).collect(),
        _ => panic!("proof is neither null nor an array: {v}"),
    }
}

/// `None` when some field is not 32 bytes: then the typed API cannot even be called.
fn hashes(fields: &[&[u8]]) -> Option<Vec<Hash>> {
    fields.iter().map(|f| hash_from_slice(f).ok()).collect()
}

fn size(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not a u64: {}", v[field]))
}

/// Runs the wire-level verifier and, when every hash is 32 bytes, checks that the typed
/// verifier agrees with it.
fn inclusion_verifies(v: &Value) -> bool {
    let (leaf, root, proof) = (bytes(&v["leafHash"]), bytes(&v["root"]), proof(&v["proof"]));
    let (index, tree_size) = (size(v, "leafIdx"), size(v, "treeSize"));
    let ok = verify_inclusion_bytes(&leaf, index, tree_size, &proof, &root).is_ok();
    let proof_refs: Vec<&[u8]> = proof.iter().map(Vec::as_slice).collect();
    if let (Some(ends), Some(proof)) = (hashes(&[&leaf, &root]), hashes(&proof_refs)) {
        let typed = verify_inclusion(&ends[0], index, tree_size, &proof, &ends[1]).is_ok();
        assert_eq!(
            typed, ok,
            "typed and wire-level inclusion verifiers disagree"
        );
    }
    ok
}

fn consistency_verifies(v: &Value) -> bool {
    let (root1, root2, proof) = (bytes(&v["root1"]), bytes(&v["root2"]), proof(&v["proof"]));
    let (size1, size2) = (size(v, "size1"), size(v, "size2"));
    let ok = verify_consistency_bytes(size1, size2, &proof, &root1, &root2).is_ok();
    let proof_refs: Vec<&[u8]> = proof.iter().map(Vec::as_slice).collect();
    if let (Some(roots), Some(proof)) = (hashes(&[&root1, &root2]), hashes(&proof_refs)) {
        let typed = verify_consistency(size1, size2, &proof, &roots[0], &roots[1]).is_ok();
        assert_eq!(
            typed, ok,
            "typed and wire-level consistency verifiers disagree"
        );
    }
    ok
}

fn check_all(kind: &str, verifies: fn(&Value) -> bool) -> usize {
    let files = json_files(&vectors_dir().join(kind));
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", file.display()));
        let want_ok = !v["wantErr"]
            .as_bool()
            .unwrap_or_else(|| panic!("{}: wantErr missing", file.display()));
        if verifies(&v) != want_ok {
            failures.push(format!(
                "{} (want {})",
                file.display(),
                if want_ok { "ok" } else { "error" }
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{kind} vectors disagree:\n{}",
        failures.join("\n")
    );
    files.len()
}

#[test]
fn inclusion_vectors_agree() {
    assert_eq!(check_all("inclusion", inclusion_verifies), INCLUSION_FILES);
}

#[test]
fn consistency_vectors_agree() {
    assert_eq!(
        check_all("consistency", consistency_verifies),
        CONSISTENCY_FILES
    );
}
