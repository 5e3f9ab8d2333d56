//! One module per subcommand, plus what they share.

use std::path::PathBuf;

pub mod convert;
pub mod hunt;
pub mod incidents;
pub mod lint;
pub mod parse;
pub mod test;

/// The exit status of a usage error, the same in every command: bad
/// arguments (reported by clap), an unknown target, format, pipeline or
/// check, and an input path that does not exist.
pub const EXIT_USAGE: u8 = 2;

/// Checks that every input path exists before a command reads anything.
/// Each missing path is reported on stderr as
/// `sigil COMMAND: PATH: no such file or directory`; the error is the exit
/// status ([`EXIT_USAGE`]).
pub fn require_inputs<'a>(
    command: &str,
    paths: impl IntoIterator<Item = &'a PathBuf>,
) -> Result<(), u8> {
    let mut missing = false;
    for p in paths {
        if !p.exists() {
            eprintln!(
                "sigil {command}: {}: no such file or directory",
                p.display()
            );
            missing = true;
        }
    }
    if missing {
        Err(EXIT_USAGE)
    } else {
        Ok(())
    }
}
