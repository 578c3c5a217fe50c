//! The Prometheus text format (version 0.0.4) of a [`Snapshot`], with the processes'
//! memory read from `/proc`.

use std::fmt::Write as _;

use super::{BACKENDS, Count, LOGIN_RESULTS, STATES, Snapshot};

/// The upper bounds of the session memory histogram's buckets, in bytes.
pub const MEMORY_BUCKETS: [u64; 7] = [
    1 << 20,
    2 << 20,
    4 << 20,
    8 << 20,
    16 << 20,
    32 << 20,
    64 << 20,
];

/// Peak memory (resident set) of the server's processes, in bytes.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    pub master: Option<u64>,
    pub endpoint: Option<u64>,
    /// One for each session process that has written its figure.
    pub sessions: Vec<u64>,
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                // Label values are our own constants: nothing to escape.
                let _ = write!(self.0, "{key}=\"{val}\"");
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// The page `GET /metrics` answers.
#[must_use]
pub fn render(snapshot: &Snapshot, memory: &Memory) -> String {
    let mut out = Out(String::with_capacity(8192));
    let counts = |c: Count| snapshot.counts.get(c as usize).copied().unwrap_or(0);

    out.family(
        "pureftpd_build_info",
        "gauge",
        "The server's version, and the Pure-FTPd release it follows.",
    );
    out.sample(
        "pureftpd_build_info",
        &[
            ("version", crate::VERSION),
            ("follows", pureftpd_cli::PURE_FTPD_RELEASE),
        ],
        1,
    );
    out.family(
        "pureftpd_start_time_seconds",
        "gauge",
        "When the master started, in seconds since the epoch.",
    );
    out.sample("pureftpd_start_time_seconds", &[], snapshot.started);
    out.family(
        "pureftpd_max_sessions",
        "gauge",
        "Sessions the server admits at once (-c, capped by the passive ports).",
    );
    out.sample("pureftpd_max_sessions", &[], snapshot.capacity as u64);

    out.family(
        "pureftpd_sessions",
        "gauge",
        "Sessions now, by state: before login, idle, downloading, uploading.",
    );
    for (state, n) in STATES.iter().zip(snapshot.sessions) {
        out.sample("pureftpd_sessions", &[("state", state)], n);
    }

    out.family(
        "pureftpd_connections_total",
        "counter",
        "Connections accepted, and refused by -c (max_clients) or -C (per_ip).",
    );
    for (result, c) in [
        ("accepted", Count::ConnectionsAccepted),
        ("refused_max_clients", Count::RefusedMaxClients),
        ("refused_per_ip", Count::RefusedPerIp),
    ] {
        out.sample(
            "pureftpd_connections_total",
            &[("result", result)],
            counts(c),
        );
    }

    out.family(
        "pureftpd_logins_total",
        "counter",
        "Logins checked, by the backend that answered (none: no backend knew the login) and its answer.",
    );
    for (backend, results) in BACKENDS.iter().zip(&snapshot.logins) {
        for (result, n) in LOGIN_RESULTS.iter().zip(results) {
            out.sample(
                "pureftpd_logins_total",
                &[("backend", backend), ("result", result)],
                *n,
            );
        }
    }

    let both_ways = [
        (
            "pureftpd_transferred_bytes_total",
            "counter",
            "Bytes of files moved, complete transfers or not.",
            Count::BytesUploaded,
            Count::BytesDownloaded,
        ),
        (
            "pureftpd_transferred_files_total",
            "counter",
            "Files transferred completely.",
            Count::FilesUploaded,
            Count::FilesDownloaded,
        ),
        (
            "pureftpd_transfer_errors_total",
            "counter",
            "File transfers that failed: data connection not opened, broken or timed out, disk errors.",
            Count::UploadErrors,
            Count::DownloadErrors,
        ),
        (
            "pureftpd_transfers_aborted_total",
            "counter",
            "File transfers the client aborted (ABOR).",
            Count::UploadsAborted,
            Count::DownloadsAborted,
        ),
    ];
    for (name, kind, help, up, down) in both_ways {
        out.family(name, kind, help);
        out.sample(name, &[("direction", "upload")], counts(up));
        out.sample(name, &[("direction", "download")], counts(down));
    }

    out.family(
        "pureftpd_quota_refusals_total",
        "counter",
        "Uploads refused or discarded by a quota (552).",
    );
    out.sample(
        "pureftpd_quota_refusals_total",
        &[],
        counts(Count::QuotaRefusals),
    );

    out.family(
        "pureftpd_tls_handshakes_total",
        "counter",
        "TLS handshakes finished or failed, on control and data connections.",
    );
    for (connection, result, c) in [
        ("control", "ok", Count::TlsControlOk),
        ("control", "failed", Count::TlsControlFailed),
        ("data", "ok", Count::TlsDataOk),
        ("data", "failed", Count::TlsDataFailed),
    ] {
        out.sample(
            "pureftpd_tls_handshakes_total",
            &[("connection", connection), ("result", result)],
            counts(c),
        );
    }

    out.family(
        "pureftpd_process_max_resident_bytes",
        "gauge",
        "Peak resident memory of the master and of the metrics process.",
    );
    for (process, bytes) in [("master", memory.master), ("metrics", memory.endpoint)] {
        if let Some(bytes) = bytes {
            out.sample(
                "pureftpd_process_max_resident_bytes",
                &[("process", process)],
                bytes,
            );
        }
    }
    session_memory(&mut out, &memory.sessions);
    out.0
}

/// A histogram of the session processes' peak memory.
fn session_memory(out: &mut Out, sessions: &[u64]) {
    let name = "pureftpd_session_max_resident_bytes";
    out.family(
        name,
        "histogram",
        "Peak resident memory of each session process, as of its last change of state.",
    );
    let bucket = format!("{name}_bucket");
    for bound in MEMORY_BUCKETS {
        let n = sessions.iter().filter(|&&b| b <= bound).count();
        out.sample(&bucket, &[("le", &bound.to_string())], n as u64);
    }
    out.sample(&bucket, &[("le", "+Inf")], sessions.len() as u64);
    out.sample(&format!("{name}_sum"), &[], sessions.iter().sum());
    out.sample(&format!("{name}_count"), &[], sessions.len() as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_declared_once_before_its_samples() {
        let snapshot = Snapshot {
            counts: vec![3; super::super::COUNTS],
            logins: vec![[1, 2, 0]; BACKENDS.len()],
            sessions: [1, 2, 3, 4],
            session_memory: vec![],
            started: 1_700_000_000,
            capacity: 50,
        };
        let memory = Memory {
            master: Some(4 << 20),
            endpoint: None,
            sessions: vec![3 << 20, 5 << 20, 100 << 20],
        };
        let page = render(&snapshot, &memory);
        let mut declared = std::collections::HashSet::new();
        for line in page.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap();
                assert!(declared.insert(name.to_string()), "{name} declared twice");
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|f| declared.contains(*f)))
                    .unwrap_or(name);
                assert!(declared.contains(family), "{name} before its TYPE");
            }
        }
        assert!(page.contains("pureftpd_sessions{state=\"upload\"} 4\n"));
        assert!(page.contains("pureftpd_session_max_resident_bytes_bucket{le=\"4194304\"} 1\n"));
        assert!(page.contains("pureftpd_session_max_resident_bytes_bucket{le=\"67108864\"} 2\n"));
        assert!(page.contains("pureftpd_session_max_resident_bytes_bucket{le=\"+Inf\"} 3\n"));
        assert!(page.contains("pureftpd_session_max_resident_bytes_count 3\n"));
        assert!(!page.contains("process=\"metrics\""));
    }
}
