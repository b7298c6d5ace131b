//! `calltrail.toml`: every setting the command line and the `CALLTRAIL_*`
//! environment take, written down once in a file.
//!
//! The file sits under both: a flag beats the environment, the environment beats
//! the file, the file beats the built-in default. It does so by becoming the
//! defaults of the command line parser (no environment is changed), so clap still
//! checks every value and names the setting when one is wrong.
//!
//! A key is the setting's flag with `_` for `-` (`workers = 64` is `--workers`,
//! `CALLTRAIL_WORKERS`); a table joins its name to its keys (`[retention]
//! detail_days = 30` is `--retention-detail-days`). A secret
//! may come from a file: `metrics_token = { file = "/run/secrets/metrics" }`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::value::{Num, Value};
use figment::Figment;

/// The file used when neither `--config` nor `CALLTRAIL_CONFIG` names one: read
/// from the working directory if it is there.
pub const DEFAULT_FILE: &str = "calltrail.toml";

/// Settings read from a file, by key (`workers` → `"64"`).
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    pub path: Option<PathBuf>,
    pub values: BTreeMap<String, String>,
}

impl ConfigFile {
    /// The file the command line or the environment names, else `calltrail.toml`
    /// when it exists, else none. A named file that cannot be read is an error.
    pub fn locate_and_load(args: &[OsString]) -> anyhow::Result<ConfigFile> {
        let named = named_in_args(args).or_else(|| std::env::var_os("CALLTRAIL_CONFIG"));
        let path = match named {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ if Path::new(DEFAULT_FILE).is_file() => PathBuf::from(DEFAULT_FILE),
            _ => return Ok(ConfigFile::default()),
        };
        ConfigFile::load(&path)
    }

    pub fn load(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        let table: BTreeMap<String, Value> = Figment::from(Toml::string(&text))
            .extract()
            .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        let mut values = BTreeMap::new();
        for (key, value) in table {
            flatten(path, &key, value, &mut values)?;
        }
        Ok(ConfigFile {
            path: Some(path.to_path_buf()),
            values,
        })
    }

    /// Make the file's values the defaults of `cmd`'s settings. A key that names no
    /// setting is an error that lists the file's path, so a typo is not silently
    /// ignored.
    pub fn apply(&self, cmd: clap::Command) -> anyhow::Result<clap::Command> {
        if self.values.is_empty() {
            return Ok(cmd);
        }
        let known = setting_keys(&cmd);
        if let Some(unknown) = self.values.keys().find(|k| !known.contains(*k)) {
            anyhow::bail!(
                "config file {}: `{unknown}` is not a setting (see docs/configuration.md)",
                self.path_text(),
            );
        }
        Ok(with_defaults(cmd, &self.values))
    }

    pub fn path_text(&self) -> String {
        self.path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(none)".into())
    }
}

/// `--config PATH` or `--config=PATH`, before clap has parsed anything.
fn named_in_args(args: &[OsString]) -> Option<OsString> {
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return it.next().cloned();
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(path.into());
        }
    }
    None
}

fn flatten(
    path: &Path,
    key: &str,
    value: Value,
    out: &mut BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let name = key.to_lowercase().replace('-', "_");
    let bad = |why: &str| anyhow::anyhow!("config file {}: `{key}` {why}", path.display());
    let text = match value {
        Value::Dict(_, dict) if dict.len() == 1 && dict.contains_key("file") => {
            let Some(Value::String(_, file)) = dict.get("file") else {
                return Err(bad("must be { file = \"PATH\" }"));
            };
            let secret = std::fs::read_to_string(file)
                .map_err(|e| bad(&format!("names the file {file}, which cannot be read: {e}")))?;
            secret.trim().to_string()
        }
        Value::Dict(_, dict) => {
            for (inner, value) in dict {
                flatten(path, &format!("{key}_{inner}"), value, out)?;
            }
            return Ok(());
        }
        Value::Array(_, items) => items
            .into_iter()
            .map(scalar)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("must be a list of plain values"))?
            .join(","),
        other => scalar(other).ok_or_else(|| bad("has no value"))?,
    };
    out.insert(name, text);
    Ok(())
}

fn scalar(value: Value) -> Option<String> {
    Some(match value {
        Value::String(_, s) => s,
        Value::Char(_, c) => c.to_string(),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, n) => match n {
            Num::F32(f) => f.to_string(),
            Num::F64(f) => f.to_string(),
            n => n.to_i128()?.to_string(),
        },
        Value::Empty(..) | Value::Dict(..) | Value::Array(..) => return None,
    })
}

/// The key a setting has in the file: its flag with `_` for `-`. Only settings
/// (arguments that also have an environment name) have one, and not the file's
/// own name.
pub fn file_key(arg: &clap::Arg) -> Option<String> {
    arg.get_env()?;
    let long = arg.get_long()?;
    (long != "config").then(|| long.replace('-', "_"))
}

/// Every setting's key in the command tree.
fn setting_keys(cmd: &clap::Command) -> std::collections::BTreeSet<String> {
    let mut out: std::collections::BTreeSet<String> =
        cmd.get_arguments().filter_map(file_key).collect();
    for sub in cmd.get_subcommands() {
        out.extend(setting_keys(sub));
    }
    out
}

fn with_defaults(mut cmd: clap::Command, values: &BTreeMap<String, String>) -> clap::Command {
    let ids: Vec<(clap::Id, String)> = cmd
        .get_arguments()
        .filter_map(|arg| {
            let value = values.get(&file_key(arg)?)?;
            // Switches written `on`/`off` take TOML's true/false too.
            let on_off = arg
                .get_possible_values()
                .iter()
                .any(|v| v.get_name() == "on");
            let value = match (on_off, value.as_str()) {
                (true, "true") => "on".to_string(),
                (true, "false") => "off".to_string(),
                _ => value.clone(),
            };
            Some((arg.get_id().clone(), value))
        })
        .collect();
    for (id, value) in ids {
        cmd = cmd.mut_arg(id, |arg| arg.default_value(value));
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in subs {
        cmd = cmd.mut_subcommand(name, |sub| with_defaults(sub, values));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> anyhow::Result<ConfigFile> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("calltrail.toml");
        std::fs::write(&path, text)?;
        ConfigFile::load(&path)
    }

    #[test]
    fn keys_and_tables_become_environment_names() {
        let file = load(
            "workers = 64\nexecutor = false\noutbound_allow = [\"10.0.0.0/8\", \"api.local\"]\n\
             [retention]\ndetail_days = 7\n",
        )
        .unwrap();
        assert_eq!(file.values["workers"], "64");
        assert_eq!(file.values["executor"], "false");
        assert_eq!(file.values["outbound_allow"], "10.0.0.0/8,api.local");
        assert_eq!(file.values["retention_detail_days"], "7");
    }

    #[test]
    fn a_secret_comes_from_its_file_and_an_unreadable_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("token");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let file = load(&format!(
            "metrics_token = {{ file = \"{}\" }}",
            secret.display()
        ))
        .unwrap();
        assert_eq!(file.values["metrics_token"], "s3cret");

        let err = load("metrics_token = { file = \"/nonexistent/token\" }").unwrap_err();
        assert!(err.to_string().contains("metrics_token"), "{err}");
        assert!(err.to_string().contains("/nonexistent/token"), "{err}");
    }

    #[test]
    fn a_broken_file_says_where() {
        let err = load("workers = \n").unwrap_err().to_string();
        assert!(err.contains("calltrail.toml"), "{err}");
    }

    #[test]
    fn args_name_the_file_either_way() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            named_in_args(&args(&["calltrail", "--config", "a.toml", "serve"])),
            Some("a.toml".into())
        );
        assert_eq!(
            named_in_args(&args(&["calltrail", "serve", "--config=b.toml"])),
            Some("b.toml".into())
        );
        assert_eq!(named_in_args(&args(&["calltrail", "serve"])), None);
    }
}
