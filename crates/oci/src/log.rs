//! Where errors go: stderr always, and the `--log` file in the format the
//! caller asked for. containerd's shim reads the last
//! `{"level":"error","msg":...}` line of `--log` to tell the user why a
//! command failed.

use std::io::Write;
use std::path::Path;

use crate::cli::LogFormat;

/// Reports `msg` as an error: `corten-oci: msg` on stderr, and one line in
/// `log` (created if missing, appended to). Failing to write the log is
/// itself said on stderr; nothing else can be done about it.
pub fn error(log: Option<&Path>, format: LogFormat, msg: &str) {
    let _ = writeln!(std::io::stderr(), "corten-oci: {msg}");
    let Some(path) = log else {
        return;
    };
    let time = crate::time::now_rfc3339();
    let line = match format {
        LogFormat::Json => {
            serde_json::json!({"level": "error", "msg": msg, "time": time}).to_string()
        }
        LogFormat::Text => format!(
            "time={} level=error msg={}",
            serde_json::Value::String(time),
            serde_json::Value::String(msg.to_owned())
        ),
    };
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        let _ = writeln!(
            std::io::stderr(),
            "corten-oci: could not write the log {}: {e}",
            path.display()
        );
    }
}
