//! One module per subcommand.

pub mod convert;
pub mod lint;
pub mod hunt;
pub mod incidents;
pub mod parse;
pub mod test;
