//! What the `calltrail` subcommands do, beyond serving (clap's definitions are in
//! `config`). Each runs as Calltrail itself, audited under the actor `cli`.

pub mod api_key;
