//! `calltrail.toml` and `calltrail config check`, as an operator uses them: the
//! binary, a file in its working directory, the environment on top.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");

/// The binary in `dir`, with none of the caller's CALLTRAIL_* settings.
fn calltrail(dir: &Path, envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args).env("RUST_BACKTRACE", "0");
    for (name, _) in std::env::vars() {
        if name.starts_with("CALLTRAIL_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(envs.iter().copied());
    cmd.output().expect("the binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The line `config check` prints for one setting, its spaces squeezed.
fn line_of(out: &str, env: &str) -> String {
    out.lines()
        .find(|l| l.starts_with(&format!("{env} ")))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| panic!("no line for {env} in:\n{out}"))
}

#[test]
fn the_file_sets_what_the_environment_and_flags_leave_and_secrets_stay_masked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("metrics-token"), "tok-5e3cr3t\n").unwrap();
    std::fs::write(
        dir.path().join("calltrail.toml"),
        "workers = 64\nlease_secs = 300\nexecutor = true\n\
         metrics_token = { file = \"metrics-token\" }\n\
         [retention]\ndetail_days = 7\n",
    )
    .unwrap();
    let out = calltrail(
        dir.path(),
        &[("CALLTRAIL_WORKERS", "8")],
        &["--retention-summary-days", "500", "config", "check"],
    );
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert_eq!(
        line_of(&shown, "CALLTRAIL_WORKERS"),
        "CALLTRAIL_WORKERS env 8"
    );
    assert_eq!(
        line_of(&shown, "CALLTRAIL_RETENTION_DETAIL_DAYS"),
        "CALLTRAIL_RETENTION_DETAIL_DAYS file 7"
    );
    assert_eq!(
        line_of(&shown, "CALLTRAIL_LEASE_SECS"),
        "CALLTRAIL_LEASE_SECS file 300"
    );
    assert_eq!(
        line_of(&shown, "CALLTRAIL_EXECUTOR"),
        "CALLTRAIL_EXECUTOR file on"
    );
    assert_eq!(
        line_of(&shown, "CALLTRAIL_RETENTION_SUMMARY_DAYS"),
        "CALLTRAIL_RETENTION_SUMMARY_DAYS flag 500"
    );
    assert_eq!(
        line_of(&shown, "CALLTRAIL_MAX_BODY_BYTES"),
        "CALLTRAIL_MAX_BODY_BYTES default 1048576"
    );
    assert!(
        line_of(&shown, "CALLTRAIL_METRICS_TOKEN").contains("file ******** (set)"),
        "{shown}"
    );
    assert!(!shown.contains("tok-5e3cr3t"), "the token leaked:\n{shown}");
    assert!(shown.contains("No problems found."), "{shown}");
    // The check created nothing.
    assert!(!dir.path().join("calltrail.db").exists());
    assert!(!dir.path().join("calltrail.key").exists());
}

#[test]
fn a_typo_in_the_file_stops_every_command_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prod.toml"), "wrkers = 3\n").unwrap();
    let out = calltrail(dir.path(), &[], &["--config", "prod.toml", "migrate"]);
    assert!(!out.status.success());
    let shown = text(&out);
    assert!(
        shown.contains("prod.toml") && shown.contains("`wrkers` is not a setting"),
        "{shown}"
    );
    assert!(!dir.path().join("calltrail.db").exists(), "nothing ran");

    let out = calltrail(
        dir.path(),
        &[("CALLTRAIL_CONFIG", "missing.toml")],
        &["migrate"],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("missing.toml"), "{}", text(&out));
}

#[test]
fn problems_are_listed_and_the_check_fails() {
    let dir = tempfile::tempdir().unwrap();
    // A database with plugins (the demo's), whose timeouts a 1 s lease cannot cover.
    let db = format!("sqlite://{}/ct.db?mode=rwc", dir.path().display());
    let env = [("CALLTRAIL_DATABASE_URL", db.as_str())];
    assert!(calltrail(dir.path(), &env, &["migrate"]).status.success());
    let demo = calltrail(dir.path(), &env, &["demo", "--triggers", "1"]);
    assert!(demo.status.success(), "{}", text(&demo));
    std::fs::write(dir.path().join("broken.key"), "not a key\n").unwrap();
    std::fs::write(
        dir.path().join("calltrail.toml"),
        "lease_secs = 1\nsecret_key_file = \"broken.key\"\n\
         public_url = \"calltrail.example.com\"\noutbound_proxy = \"ftp://proxy\"\n",
    )
    .unwrap();
    let out = calltrail(dir.path(), &env, &["config", "check"]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("CALLTRAIL_SECRET_KEY_FILE"), "{shown}");
    assert!(shown.contains("CALLTRAIL_PUBLIC_URL"), "{shown}");
    assert!(shown.contains("executor:"), "{shown}");
    assert!(
        shown.contains("executor lease (1000 ms): raise CALLTRAIL_LEASE_SECS"),
        "{shown}"
    );
}

#[test]
fn every_command_says_what_it_does_with_an_example() {
    let dir = tempfile::tempdir().unwrap();
    let commands: &[&[&str]] = &[
        &["serve"],
        &["prune"],
        &["migrate"],
        &["config", "check"],
        &["api-key", "create"],
        &["api-key", "list"],
        &["api-key", "revoke"],
        &["embed-token"],
        &["secrets", "rotate"],
        &["user", "add"],
        &["user", "list"],
        &["user", "disable"],
        &["demo"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let out = calltrail(dir.path(), &[], &args);
        let shown = text(&out);
        assert!(out.status.success(), "{command:?}: {shown}");
        let example = shown
            .lines()
            .find(|l| l.starts_with("Example: "))
            .unwrap_or_default();
        assert!(
            example.contains("calltrail ") && example.contains(command[0]),
            "`calltrail {} --help` shows no example:\n{shown}",
            command.join(" ")
        );
    }
}
