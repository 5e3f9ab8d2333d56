//! One module per subcommand.

pub mod convert;
pub mod hunt;
pub mod incidents;
pub mod lint;
pub mod parse;
pub mod test;
