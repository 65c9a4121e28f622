//! Resolver and contract-rule tests over an in-memory source.

use std::collections::HashMap;

use super::builtin::Builtin;
use super::*;

struct Mem(HashMap<&'static str, String>);

impl ContractSource for Mem {
    fn read(&self, path: &str) -> Option<String> {
        self.0.get(path).cloned()
    }
}

fn mem(files: &[(&'static str, &str)]) -> Mem {
    Mem(files.iter().map(|(p, t)| (*p, (*t).to_owned())).collect())
}

/// The built-in contracts with some files replaced.
fn builtin_with(overrides: &[(&'static str, &str)]) -> Mem {
    let mut m: HashMap<&'static str, String> = Builtin::paths()
        .map(|p| (p, Builtin.read(p).unwrap()))
        .collect();
    for (p, t) in overrides {
        m.insert(p, (*t).to_owned());
    }
    Mem(m)
}

#[test]
fn builtin_contracts_load() {
    let c = load(&Builtin).unwrap();
    let names: Vec<_> = c
        .orchestrator
        .workflow
        .steps
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "validate_input",
            "onextree_intelligence",
            "hash_generation",
            "stamp_creation",
            "event_publishing"
        ]
    );
    assert!(c.orchestrator.workflow.steps[1].optional);
    assert_eq!(
        c.orchestrator
            .routing
            .services
            .onextree
            .circuit_breaker
            .failure_threshold,
        5
    );
    assert_eq!(c.reducer.aggregation.window_ms, 5000);
    assert_eq!(c.reducer.fsm.states, ["IDLE", "AGGREGATING", "PERSISTING"]);
    assert_eq!(c.registry.health.missed_heartbeats, 3);
}

#[test]
fn nested_refs_and_pointers_resolve() {
    let m = mem(&[
        ("root.yaml", "a:\n  $ref: sub/one.yaml\nb:\n  $ref: sub/one.yaml#/inner/list/1\nc: {$ref: '#/local'}\nlocal: 7\n"),
        ("sub/one.yaml", "inner:\n  list: [x, {$ref: ../two.yaml#/deep}]\n"),
        ("two.yaml", "deep: {value: 42}\n"),
    ]);
    let r = resolve(&m, "root.yaml").unwrap();
    assert_eq!(r.value["a"]["inner"]["list"][1]["value"], 42);
    assert_eq!(r.value["b"]["value"], 42);
    assert_eq!(r.value["c"], 7);
    assert_eq!(r.file_of("a.inner.list[0]"), "sub/one.yaml");
    assert_eq!(r.file_of("a.inner.list[1].value"), "two.yaml");
    assert_eq!(r.file_of("local"), "root.yaml");
}

#[test]
fn cycles_are_errors_naming_the_chain() {
    let m = mem(&[
        ("a.yaml", "x: {$ref: b.yaml}\n"),
        ("b.yaml", "y: {$ref: a.yaml}\n"),
    ]);
    match resolve(&m, "a.yaml").unwrap_err() {
        ContractError::Cycle { file, key, chain } => {
            assert_eq!(file, "b.yaml");
            assert_eq!(key, "x.y");
            assert!(
                chain.contains("a.yaml#") && chain.contains("b.yaml#"),
                "{chain}"
            );
        }
        other => panic!("{other:?}"),
    }
    let m = mem(&[("self.yaml", "loop: {$ref: '#/loop'}\n")]);
    assert!(matches!(
        resolve(&m, "self.yaml").unwrap_err(),
        ContractError::Cycle { .. }
    ));
}

#[test]
fn missing_files_and_bad_refs_name_file_and_key() {
    let m = mem(&[("root.yaml", "steps:\n  - {$ref: nope.yaml}\n")]);
    let e = resolve(&m, "root.yaml").unwrap_err();
    assert_eq!(
        e,
        ContractError::Missing {
            file: "nope.yaml".into(),
            referenced_from: Some(("root.yaml".into(), "steps[0]".into()))
        }
    );
    assert!(e
        .to_string()
        .contains("referenced from root.yaml at steps[0]"));
    let cases = [
        ("a: {$ref: x.yaml, extra: 1}\n", "only key"),
        ("a: {$ref: 5}\n", "must be a string"),
        (
            "a: {$ref: ../../etc/passwd}\n",
            "leaves the contracts directory",
        ),
        ("a: {$ref: '#/missing'}\n", "no value at"),
        ("a: {$ref: '#nope'}\n", "must start with '/'"),
    ];
    for (text, want) in cases {
        let m = mem(&[("root.yaml", text)]);
        let e = resolve(&m, "root.yaml").unwrap_err();
        assert!(
            matches!(&e, ContractError::Invalid { file, key, .. } if file == "root.yaml" && key == "a"),
            "{e}"
        );
        assert!(e.to_string().contains(want), "{e}");
    }
    let m = mem(&[("root.yaml", "a: [unclosed\n")]);
    assert!(matches!(
        resolve(&m, "root.yaml").unwrap_err(),
        ContractError::Yaml { .. }
    ));
}

#[test]
fn unknown_keys_are_rejected_naming_the_subcontract() {
    let workflow = Builtin.read("orchestrator/workflow.yaml").unwrap().replace(
        "    optional: true\n",
        "    optional: true\n    colour: blue\n",
    );
    let e = load(&builtin_with(&[("orchestrator/workflow.yaml", &workflow)])).unwrap_err();
    match e {
        ContractError::Invalid { file, key, message } => {
            assert_eq!(file, "orchestrator/workflow.yaml");
            assert_eq!(key, "workflow.steps[1].colour");
            assert!(message.contains("unknown field"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_step_names_and_broken_rules_fail_at_load() {
    let w = Builtin.read("orchestrator/workflow.yaml").unwrap();
    let cases = [
        (
            w.replace("name: hash_generation", "name: hash_everything"),
            "workflow.steps[2].name",
            "unknown variant",
        ),
        (
            w.replace(
                "timeout_ms: 5000\n    optional: false\n    retry: {attempts: 1",
                "timeout_ms: 0\n    optional: false\n    retry: {attempts: 1",
            ),
            "workflow.steps[2].timeout_ms",
            "1..=600000",
        ),
        (
            w.replace(
                "retry: {attempts: 3, backoff_ms: 50}",
                "retry: {attempts: 0, backoff_ms: 50}",
            ),
            "workflow.steps[4].retry.attempts",
            "1..=10",
        ),
        (
            w.replace(
                "  - name: stamp_creation\n    timeout_ms: 1000\n    optional: false",
                "  - name: stamp_creation\n    timeout_ms: 1000\n    optional: true",
            ),
            "workflow.steps[3].optional",
            "cannot be optional",
        ),
        (
            w.replace("name: validate_input", "name: event_publishing"),
            "workflow.steps[4].name",
            "appears twice",
        ),
    ];
    for (text, key, msg) in cases {
        let e = load(&builtin_with(&[("orchestrator/workflow.yaml", &text)])).unwrap_err();
        match &e {
            ContractError::Invalid {
                file,
                key: k,
                message,
            } => {
                assert_eq!(file, "orchestrator/workflow.yaml", "{e}");
                assert_eq!(k, key, "{e}");
                assert!(message.contains(msg), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }
    let fsm = Builtin.read("shared/fsm.yaml").unwrap().replace(
        "    - {from: PENDING, to: FAILED}        # input rejected before processing\n",
        "",
    );
    let e = load(&builtin_with(&[("shared/fsm.yaml", &fsm)])).unwrap_err();
    assert!(
        e.to_string().contains("PENDING -> FAILED is required"),
        "{e}"
    );
    let events = Builtin
        .read("orchestrator/events.yaml")
        .unwrap()
        .replace("  STAMP_CREATED:", "  STAMP_MADE:");
    let e = load(&builtin_with(&[("orchestrator/events.yaml", &events)])).unwrap_err();
    assert!(e.to_string().contains("no topic for STAMP_CREATED"), "{e}");
    // The reducer's cycle is the loader's rule too (the reducer would refuse to start).
    let fsm = Builtin
        .read("shared/fsm.yaml")
        .unwrap()
        .replace("    - {from: PERSISTING, to: IDLE}", "");
    let e = load(&builtin_with(&[("shared/fsm.yaml", &fsm)])).unwrap_err();
    assert!(
        e.to_string().contains("must allow PERSISTING -> IDLE"),
        "{e}"
    );
}

#[test]
fn normalize_paths() {
    assert_eq!(normalize("a/b.yaml", "c.yaml").as_deref(), Some("a/c.yaml"));
    assert_eq!(
        normalize("a/b.yaml", "./c/../d.yaml").as_deref(),
        Some("a/d.yaml")
    );
    assert_eq!(
        normalize("a/b.yaml", "../shared/f.yaml").as_deref(),
        Some("shared/f.yaml")
    );
    assert_eq!(normalize("a/b.yaml", "../../x.yaml"), None);
    assert_eq!(
        normalize("b.yaml", "/top.yaml").as_deref(),
        Some("top.yaml")
    );
}
