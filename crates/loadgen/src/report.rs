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

/// The taskfleet processes of a separate-process run (or `fleet`).
const NAMES: [&str; 7] = [
    "backend-api",
    "websocket",
    "notification",
    "audit",
    "recurring",
    "dev-sidecar",
    "fleet",
];

/// CPU time (user + system, in clock ticks) per process: the taskfleet processes, Postgres
/// (every backend), Redis, pgbench (the ceiling's client) and the load generator itself.
pub struct CpuSnapshot {
    /// (name, pid) → ticks used so far.
    ticks: std::collections::BTreeMap<(String, u32), u64>,
    at: std::time::Instant,
}

impl CpuSnapshot {
    pub fn take() -> Self {
        let mut ticks = std::collections::BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|p| p.parse::<u32>().ok())
                else {
                    continue;
                };
                let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                    continue;
                };
                // `pid (comm) state ...`: comm may hold spaces; the fields follow the last ')'.
                let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                    continue;
                };
                let name = match &stat[open + 1..close] {
                    c if NAMES.contains(&c) || c == "loadgen" || c == "pgbench" => c.to_owned(),
                    c if c.starts_with("postgres") => "postgres".to_owned(),
                    c if c.starts_with("redis-server") => "redis".to_owned(),
                    _ => continue,
                };
                let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
                // After the comm: state is field 3 of stat(5), utime 14 and stime 15.
                let (Some(utime), Some(stime)) = (fields.get(11), fields.get(12)) else {
                    continue;
                };
                let used = utime.parse::<u64>().unwrap_or(0) + stime.parse::<u64>().unwrap_or(0);
                ticks.insert((name, pid), used);
            }
        }
        Self {
            ticks,
            at: std::time::Instant::now(),
        }
    }

    /// Prints each process name's share of one core since `self` (100 % = one core busy the
    /// whole time), and of all the machine's cores: per process, what it used since the first
    /// snapshot (all of it for one started since); a process that ended meanwhile is not
    /// counted.
    pub fn print_since(&self, what: &str) {
        let now = Self::take();
        let seconds = self.at.elapsed().as_secs_f64();
        // Linux reports CPU times in USER_HZ, 100 per second on every common platform.
        let per_second = 100.0;
        let mut by_name: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for ((name, pid), after) in &now.ticks {
            let before = self.ticks.get(&(name.clone(), *pid)).copied().unwrap_or(0);
            *by_name.entry(name).or_insert(0) += after.saturating_sub(before);
        }
        let mut line = format!("cpu ({what})");
        let mut total = 0.0;
        for (name, used) in by_name {
            let share = used as f64 / per_second / seconds * 100.0;
            total += share;
            line.push_str(&format!("  {name} {share:.0}%"));
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        println!("{line}  (total {total:.0}% of {}%)", cores * 100);
    }
}

/// Prints VmRSS of every process whose name is a taskfleet service (separate-process runs).
pub fn print_rss(moment: &str) {
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
