//! README's "How it is built" promises downward layers: no import cycle among
//! the top-level modules of `store/src`, except `Store` ↔ `StoreBuilder`.
//! This test reads the sources and checks it, so the promise cannot rot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules each module's code (comments and tests left out)
/// refers to through `crate::<module>` or a name the crate root re-exports.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let root_names = root_reexports(&lib);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let rel = file.strip_prefix(&src).unwrap();
        let module = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let deps = graph.entry(module.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let ident: String = code[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let target = if ident.starts_with(|c: char| c.is_ascii_uppercase()) {
                root_names.get(&ident).cloned()
            } else {
                Some(ident)
            };
            if let Some(target) = target
                && target != module
                && !target.is_empty()
                && target != "__private"
            {
                deps.insert(target);
            }
        }
    }
    graph
}

/// Every name `lib.rs` re-exports from one of the crate's modules, with it.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let (path, items) = match rest.split_once("::{") {
            Some((path, items)) => (path, items.trim_end_matches('}')),
            None => match rest.rsplit_once("::") {
                Some((path, item)) => (path, item),
                None => continue,
            },
        };
        let module = path.split("::").next().unwrap().to_owned();
        for item in items.split(',') {
            let item = item.trim();
            if !item.is_empty() {
                names.insert(item.to_owned(), module.clone());
            }
        }
    }
    names
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.found
}

#[test]
fn no_import_cycle_but_store_and_builder() {
    let graph = graph();
    assert!(graph.len() > 15, "the modules were read: {graph:?}");
    assert!(
        graph["kv"].contains("engine"),
        "the reader sees `crate::` paths"
    );
    let allowed: BTreeSet<String> = ["builder".to_owned(), "store".to_owned()].into();
    let cycles: Vec<_> = cycles(&graph)
        .into_iter()
        .filter(|c| *c != allowed)
        .collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:?}\n{graph:#?}");
}

#[test]
fn the_lower_layers_know_nothing_of_the_upper_ones() {
    let graph = graph();
    let namespaces = [
        "kv", "counter", "claim", "batch", "dev", "events", "streams",
    ];
    for lower in [
        "engine", "adapter", "key", "scope", "channel", "error", "glob",
    ] {
        for upper in namespaces.iter().chain(&["store", "builder"]) {
            assert!(
                !graph[lower].contains(*upper),
                "{lower} uses {upper}: {:?}",
                graph[lower]
            );
        }
    }
    for leaf in ["key", "error", "glob", "channel"] {
        assert!(
            !graph[leaf].contains("engine") && !graph[leaf].contains("adapter"),
            "{leaf} is a leaf: {:?}",
            graph[leaf]
        );
    }
}
