//! Every environment variable stackform reads, in one place. Commands do
//! not read the environment: `Settings` does, once. (One more is read
//! elsewhere: the state lock records `$USER` as the holder's name, see
//! `state::lock::USER_ENV`.)

/// Disables colour when set to anything (https://no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";

/// `TF_VAR_name=value` sets input variable `name`, as in Terraform.
pub const TF_VAR_PREFIX: &str = "TF_VAR_";

/// `TF_INPUT=0` (or `false`) is `-input=false` for every command.
pub const TF_INPUT: &str = "TF_INPUT";
