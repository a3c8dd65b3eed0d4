//! Histograms and the printed report.

use hdrhistogram::Histogram;

/// Latencies in microseconds plus counts.
pub struct Measured {
    pub latency_us: Histogram<u64>,
    pub ok: u64,
    pub errors: u64,
    pub missing: u64,
    pub seconds: f64,
}

impl Measured {
    pub fn new() -> Self {
        Self {
            // 1 µs to 10 min at 3 significant digits: constant, valid bounds.
            latency_us: Histogram::new_with_bounds(1, 600_000_000, 3)
                .expect("valid histogram bounds"),
            ok: 0,
            errors: 0,
            missing: 0,
            seconds: 0.0,
        }
    }

    pub fn record(&mut self, micros: u64) {
        self.latency_us.saturating_record(micros.max(1));
    }

    pub fn merge(&mut self, other: &Self) {
        let _ = self.latency_us.add(&other.latency_us);
        self.ok += other.ok;
        self.errors += other.errors;
        self.missing += other.missing;
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

pub fn print_throughput(what: &str, clients: usize, m: &Measured) {
    println!(
        "{what:<12} clients={clients:<4} {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ok {}  errors {}",
        m.ok as f64 / m.seconds,
        ms(m.latency_us.value_at_quantile(0.50)),
        ms(m.latency_us.value_at_quantile(0.99)),
        m.ok,
        m.errors
    );
}

pub fn print_latency(what: &str, m: &Measured) {
    println!(
        "{what}: n={} p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  missing {}  errors {}",
        m.latency_us.len(),
        ms(m.latency_us.value_at_quantile(0.50)),
        ms(m.latency_us.value_at_quantile(0.99)),
        ms(m.latency_us.max()),
        m.missing,
        m.errors
    );
}

/// Prints VmRSS of every process whose name is a taskfleet service (separate-process runs).
pub fn print_rss(moment: &str) {
    const NAMES: [&str; 7] = [
        "backend-api",
        "websocket",
        "notification",
        "audit",
        "recurring",
        "dev-sidecar",
        "fleet",
    ];
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        let comm = comm.trim().to_owned();
        if !NAMES.contains(&comm.as_str()) {
            continue;
        }
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        if let Some(kb) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        {
            found.push((comm, kb));
        }
    }
    found.sort();
    for (name, kb) in found {
        println!("rss ({moment})  {name:<13} {:>6.1} MB", kb as f64 / 1024.0);
    }
}
