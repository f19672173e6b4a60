//! The architecture as the file tree shows it: no module imports a module that imports it
//! back (at the top level, and between the parts of `http`, `service` and `tlog`), no
//! leftover `*.orig` files, and the README's code tour names every top-level module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file belongs to at `depth` (1: `http`, 2: `http::api`).
fn module_of(rel: &Path, depth: usize) -> String {
    let parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    parts[..parts.len().min(depth)].join("::")
}

/// Edges `from -> to` between modules at `depth`, from every `crate::a::b` path in the code.
fn edges(depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        let from = module_of(rel, depth);
        let text = std::fs::read_to_string(&file).expect("read file");
        for (i, _) in text.match_indices("crate::") {
            let path: Vec<&str> = text[i + "crate::".len()..]
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or_default()
                .split("::")
                .filter(|s| !s.is_empty())
                .collect();
            if path.len() < depth {
                continue;
            }
            let to = path[..depth].join("::");
            // Only modules (lowercase names), and only between different modules.
            if to != from
                && to.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && (depth == 1 || from.split("::").next() == to.split("::").next())
            {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<(String, String)> {
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(m) = stack.pop() {
            if m == to {
                return true;
            }
            if seen.insert(m.clone()) {
                stack.extend(graph.get(&m).into_iter().flatten().cloned());
            }
        }
        false
    };
    let mut found = Vec::new();
    for (from, tos) in graph {
        for to in tos {
            if reaches(to, from) {
                found.push((from.clone(), to.clone()));
            }
        }
    }
    found
}

#[test]
fn no_top_level_module_imports_one_that_imports_it_back() {
    let graph = edges(1);
    assert!(graph.contains_key("http"), "the scan found the way in");
    assert_eq!(cycles(&graph), vec![], "module cycles: {graph:#?}");
}

#[test]
fn the_parts_of_http_service_and_tlog_form_no_cycle() {
    let graph = edges(2);
    assert!(
        graph.contains_key("http::pages"),
        "the scan found the pages"
    );
    assert_eq!(cycles(&graph), vec![], "module cycles: {graph:#?}");
}

#[test]
fn the_domain_and_the_engines_import_no_way_in_no_use_case_and_no_store() {
    // The domain and the pure engines know nothing of the web or the database.
    let graph = edges(1);
    for pure in ["domain", "tlog", "render", "formats"] {
        let deps = graph.get(pure).cloned().unwrap_or_default();
        for forbidden in ["http", "cli", "service", "store", "startup"] {
            assert!(
                !deps.contains(forbidden),
                "{pure} must not import {forbidden}: {deps:?}"
            );
        }
    }
}

#[test]
fn no_orig_files_are_left_in_the_tree() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "target" || name == ".git" {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "orig") {
                out.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new(env!("CARGO_MANIFEST_DIR")), &mut found);
    assert_eq!(found, Vec::<PathBuf>::new());
}

#[test]
fn the_readme_code_tour_names_every_top_level_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let tour = readme
        .split("## Code tour")
        .nth(1)
        .expect("README has a '## Code tour' section");
    let tour = tour.split("\n## ").next().unwrap_or(tour);
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("src")).expect("src").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let module = name.trim_end_matches(".rs");
        if matches!(module, "lib" | "main") || module.contains('.') {
            continue;
        }
        if !tour.contains(&format!("`{module}`")) && !tour.contains(&format!("`{module}/`")) {
            missing.push(module.to_string());
        }
    }
    missing.sort();
    missing.dedup();
    assert_eq!(missing, Vec::<String>::new(), "not named in the code tour");
}

/// Every audit event a use case writes with a literal code reads in Indonesian on the audit
/// page: `domain::audit::action_text` knows it.
#[test]
fn every_audit_code_written_has_an_indonesian_text() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut codes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for (at, _) in text.match_indices("audit::record(") {
            // The fourth argument, when it is a string literal.
            let args = &text[at + "audit::record(".len()..];
            let mut depth = 0;
            let mut commas = 0;
            let mut start = None;
            for (i, ch) in args.char_indices() {
                match ch {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' if depth == 0 => break,
                    ')' | ']' | '}' => depth -= 1,
                    ',' if depth == 0 => {
                        commas += 1;
                        if commas == 3 {
                            start = Some(i + 1);
                        }
                        if commas == 4 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if let Some(start) = start {
                let arg = args[start..].trim_start();
                if let Some(rest) = arg.strip_prefix('"') {
                    codes.insert(rest[..rest.find('"').expect("closing quote")].to_string());
                }
            }
        }
    }
    assert!(codes.len() >= 10, "found the audit calls: {codes:?}");
    let unknown: Vec<&String> = codes
        .iter()
        .filter(|c| ikrar::domain::audit::action_text(c) == "Tindakan lain")
        .collect();
    assert!(
        unknown.is_empty(),
        "codes without Indonesian text: {unknown:?}"
    );
}
