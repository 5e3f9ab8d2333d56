//! One module per subcommand.

pub mod convert;
pub mod lint;
pub mod parse;
