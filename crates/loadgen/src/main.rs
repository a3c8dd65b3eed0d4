//! loadgen: drives a running taskfleet (fleet, or the services as separate processes) and
//! reports what docs/contract.md and issue 3 promise, measured rather than asserted:
//!
//! * create-task throughput and latency (p50/p99, errors) at each client count of `--clients`;
//! * the same read through REST and through `/mcp` (`reads` phase), at each client count, as
//!   the `read-user-N` users whose tasks `bench/run.sh` seeds;
//! * event end-to-end latency: API write → the push arriving on a user's WebSocket, while
//!   `--listeners` users hold sockets and tasks are created, updated and completed for them;
//! * reminder lateness: `reminder.due` pushes against their `reminder_at`;
//! * resident memory of the service processes (or of `fleet`), idle, after load, and during a
//!   soak (`soak`): create-task load until `--events` events went through, RSS after each step;
//! * one websocket replica under `--sockets` open connections: its memory, a push to one user's
//!   connections and a burst fanned out to many (`sockets`, see its module);
//! * the CPU each process uses over `--duration` while something else drives the load (`cpu`):
//!   what a pgbench ceiling costs, to set against what the system spends per request.
//!
//! Every loop is bounded in count and time and talks only to the given loopback addresses.

mod e2e;
mod report;
mod sockets;
mod throughput;

use std::time::Duration;

use anyhow::Context;

/// Where and how hard to drive.
#[derive(Debug, Clone)]
pub struct Options {
    pub api: String,
    pub ws: String,
    pub secret: String,
    pub users: usize,
    pub clients: Vec<usize>,
    pub duration: Duration,
    pub listeners: usize,
    pub reminders: usize,
    pub e2e_rate: u64,
    pub phases: Vec<String>,
    /// The audience of `/mcp` tokens (backend-api's `MCP_URL`).
    pub mcp_url: String,
    /// How many events the `soak` phase puts through.
    pub events: u64,
    /// Open connections of the `sockets` phase.
    pub sockets: usize,
    /// Events of the `sockets` phase pushed to one user at a time.
    pub targeted: usize,
    /// Events of the `sockets` phase's burst, and the users they go to.
    pub burst: usize,
    pub burst_users: usize,
    /// The websocket service's sidecar, through which the `sockets` phase publishes.
    pub sidecar: String,
    /// The token that sidecar expects (`DAPR_API_TOKEN`), if it expects one.
    pub dapr_api_token: Option<String>,
    /// What the `cpu` phase's line names (what ran meanwhile).
    pub label: String,
}

const USAGE: &str = "usage: loadgen [--api URL] [--ws URL] [--secret JWT_SECRET] [--users N] [--clients 8,32,256] \
[--duration SECS] [--listeners N] [--reminders N] [--e2e-rate WRITES_PER_SEC (0 = as fast as possible)] [--phases rss-idle,e2e,reminders,throughput,reads,soak,sockets,rss-after,cpu] [--label TEXT (cpu)] [--mcp-url AUDIENCE] [--events N (soak)] [--sockets N] [--targeted N] [--burst N] [--burst-users N] [--sidecar URL (websocket's)]";

fn parse() -> anyhow::Result<Options> {
    let mut options = Options {
        api: "http://127.0.0.1:8000".into(),
        ws: "ws://127.0.0.1:8001".into(),
        secret: std::env::var("JWT_SECRET")
            .unwrap_or_else(|_| "taskfleet-dev-secret-do-not-use-in-production".into()),
        users: 100,
        clients: vec![8, 32, 256],
        duration: Duration::from_secs(15),
        listeners: 20,
        reminders: 200,
        e2e_rate: 0,
        phases: vec![
            "rss".into(),
            "throughput".into(),
            "e2e".into(),
            "reminders".into(),
        ],
        mcp_url: "http://localhost:8000/mcp".into(),
        events: 200_000,
        sockets: 10_000,
        targeted: 200,
        burst: 10_000,
        burst_users: 1_000,
        sidecar: "http://127.0.0.1:3501".into(),
        dapr_api_token: std::env::var("DAPR_API_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
        label: "idle".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--api" => options.api = value()?,
            "--ws" => options.ws = value()?,
            "--secret" => options.secret = value()?,
            "--users" => options.users = value()?.parse()?,
            "--clients" => {
                options.clients = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--duration" => options.duration = Duration::from_secs(value()?.parse()?),
            "--listeners" => options.listeners = value()?.parse()?,
            "--reminders" => options.reminders = value()?.parse()?,
            "--events" => options.events = value()?.parse()?,
            "--e2e-rate" => options.e2e_rate = value()?.parse()?,
            "--phases" => options.phases = value()?.split(',').map(str::to_owned).collect(),
            "--mcp-url" => options.mcp_url = value()?,
            "--sockets" => options.sockets = value()?.parse()?,
            "--targeted" => options.targeted = value()?.parse()?,
            "--burst" => options.burst = value()?.parse()?,
            "--burst-users" => options.burst_users = value()?.parse()?,
            "--sidecar" => options.sidecar = value()?,
            "--label" => options.label = value()?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    anyhow::ensure!(
        options.users > 0
            && options.listeners > 0
            && options.sockets > 0
            && options.burst_users > 0,
        "--users, --listeners, --sockets and --burst-users must be positive"
    );
    Ok(options)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = parse()?;
    // Phases run in the order given: measuring latency before the throughput phase keeps its
    // backlog (every consumer catching up on tens of thousands of events) out of the figures.
    for phase in &options.phases {
        match phase.as_str() {
            "rss-idle" => report::print_rss("idle"),
            "rss-after" => report::print_rss("after load"),
            // The CPU every process uses over `--duration`, while something else drives the
            // load: bench/run.sh measures the pgbench ceilings with it.
            "cpu" => {
                let cpu = report::CpuSnapshot::take();
                tokio::time::sleep(options.duration).await;
                cpu.print_since(&options.label);
            }
            "throughput" => {
                for &clients in &options.clients {
                    let cpu = report::CpuSnapshot::take();
                    let result = throughput::create_tasks(&options, clients).await?;
                    report::print_throughput("create-task", clients, &result);
                    cpu.print_since(&format!("create-task, {clients} clients"));
                }
            }
            "reads" => {
                for &clients in &options.clients {
                    let cpu = report::CpuSnapshot::take();
                    let rest = throughput::list_rest(&options, clients).await?;
                    report::print_throughput("list-rest", clients, &rest);
                    cpu.print_since(&format!("list-rest, {clients} clients"));
                    let mcp = throughput::list_mcp(&options, clients).await?;
                    report::print_throughput("list-mcp", clients, &mcp);
                }
            }
            "e2e" => {
                let result = e2e::end_to_end(&options).await?;
                let load = match options.e2e_rate {
                    0 => "writers saturating".to_owned(),
                    rate => format!("{rate} writes/s"),
                };
                report::print_latency(
                    &format!("event end-to-end (API write → WebSocket, {load})"),
                    &result.from_request,
                );
                report::print_latency(
                    &format!("  of which after the write's timestamp ({load})"),
                    &result.from_stamp,
                );
            }
            "soak" => soak(&options).await?,
            "sockets" => sockets::run(&options).await?,
            "reminders" => {
                let result = e2e::reminder_lateness(&options).await?;
                report::print_latency(
                    "reminder lateness (reminder_at → reminder.due push)",
                    &result,
                );
            }
            other => anyhow::bail!("unknown phase {other}\n{USAGE}"),
        }
    }
    Ok(())
}

/// Create-task load at the first client count, in 20-second steps, until `--events` tasks were
/// created (each one event through the outbox, the sidecar and every consumer), with the
/// resident memory after each step: memory must level off, not grow with the events.
async fn soak(options: &Options) -> anyhow::Result<()> {
    let clients = options.clients.first().copied().unwrap_or(32);
    let step = Options {
        duration: Duration::from_secs(20),
        ..options.clone()
    };
    let mut events = 0u64;
    while events < options.events {
        let result = throughput::create_tasks(&step, clients).await?;
        anyhow::ensure!(result.ok > 0, "no task was created in a soak step");
        events += result.ok;
        report::print_throughput("soak create-task", clients, &result);
        report::print_rss(&format!("after {events} events"));
    }
    Ok(())
}
