//! `config`: any text as the TOML configuration file, through `Config::from_toml` (defaults,
//! then the file, then validation: what `Config::load` does without environment variables).
//!
//! Asserted: nothing panics; an accepted configuration prints (`portcullis config`'s
//! `to_redacted_toml`) as TOML that loads back; what loads back is the same configuration
//! when nothing was redacted, and prints the same text when something was (a secret prints
//! as `<redacted>`, which then loads as a secret of that text).

use portcullis_server::fuzzing::{Config, REDACTED};

/// Feeds `data`, as text, to the configuration loader.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::from_toml(text) {
        Ok(config) => config,
        Err(e) => {
            if crate::trace() {
                eprintln!("refused: {e}");
            }
            return;
        }
    };
    if crate::trace() {
        eprintln!("accepted");
    }
    let printed = config
        .to_redacted_toml()
        .unwrap_or_else(|e| panic!("an accepted configuration does not print: {e}"));
    let loaded = Config::from_toml(&printed).unwrap_or_else(|e| {
        panic!("the printed configuration does not load back: {e}\n--- printed ---\n{printed}")
    });
    if printed.contains(REDACTED) {
        let again = loaded
            .to_redacted_toml()
            .expect("a loaded configuration prints");
        assert_eq!(
            again, printed,
            "printing a reloaded configuration changed it"
        );
    } else {
        assert_eq!(
            loaded, config,
            "the printed configuration loads back different\n--- printed ---\n{printed}"
        );
    }
}
