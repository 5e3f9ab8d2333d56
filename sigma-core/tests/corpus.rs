//! The public SigmaHQ corpus must load without a single error, and the
//! legacy `unsupported/` folder must load or fail with located errors.

use std::path::PathBuf;

mod common;
use common::shared;

#[test]
fn whole_corpus_parses_without_errors() {
    let Some(shared) = shared() else { return };
    let root = shared.join("corpus/sigma");
    let folders = [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
        "rules-compliance",
        "deprecated",
    ];
    let paths: Vec<PathBuf> = folders.iter().map(|f| root.join(f)).collect();
    let set = sigma_core::load_paths(&paths);
    for e in &set.errors {
        eprintln!("{e}");
    }
    assert_eq!(set.files, 3952, "every corpus file is read");
    assert_eq!(set.errors.len(), 0);
    assert_eq!(set.rules().count(), 3952);
}

#[test]
fn unsupported_folder_loads_or_fails_with_located_errors() {
    let Some(shared) = shared() else { return };
    let set = sigma_core::load_paths(&[shared.join("corpus/sigma/unsupported")]);
    assert_eq!(set.files, 87);
    // Multi-document `action: global` files produce their rules.
    assert!(set.documents.len() >= 85, "{}", set.documents.len());
    for e in &set.errors {
        assert!(e.file.is_some(), "{e}");
        assert!(e.location.line > 0, "{e}");
        assert!(!e.message.is_empty());
    }
    // The four free-form pseudo-conditions are the only failures.
    assert_eq!(set.errors.len(), 4, "{:#?}", set.errors);
}
