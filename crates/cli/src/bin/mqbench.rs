//! `mqbench produce|consume [--options]`: a load generator like RocketMQ's benchmark tools,
//! printing TPS every second and latency percentiles at the end, with a JSON report.

use bytes::Bytes;
use ferrocket_cli::bench::{BenchArgs, Latencies, Percentiles};
use ferrocket_client::{
    ClientOptions, ConsumeConcurrentlyStatus, ConsumeFromWhere, Message, MessageExt, Producer,
    PushConsumer,
};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USAGE: &str = "usage:
  mqbench produce [--namesrv ADDR] [--topic T] [--size BYTES] [--concurrency N]
                  [--mode sync|async|oneway|batch] [--batch-size N] [--inflight N]
                  [--rate MSGS_PER_S] [--duration SECS | --count N] [--report FILE]
  mqbench consume [--namesrv ADDR] [--topic T] [--group G] [--from first|last]
                  [--threads N] [--duration SECS | --count N] [--report FILE]
defaults: namesrv $NAMESRV_ADDR or 127.0.0.1:9876, topic BenchmarkTest, size 1024,
concurrency 16, mode sync, batch-size 32, inflight 1024, duration 10 s, group benchmark_consumer";

const PRODUCE_KEYS: &[&str] = &[
    "namesrv",
    "topic",
    "size",
    "concurrency",
    "mode",
    "batch-size",
    "inflight",
    "rate",
    "duration",
    "count",
    "report",
    "group",
];
const CONSUME_KEYS: &[&str] = &[
    "namesrv", "topic", "group", "from", "threads", "duration", "count", "report",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((c, rest)) if c == "produce" || c == "consume" => (c.clone(), rest.to_vec()),
        Some((c, _)) if c == "-h" || c == "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let keys = if command == "produce" {
        PRODUCE_KEYS
    } else {
        CONSUME_KEYS
    };
    let parsed = match BenchArgs::parse(&rest, keys) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mqbench {command}: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    ferrocket_cli::init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mqbench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        if command == "produce" {
            produce(&parsed).await
        } else {
            consume(&parsed).await
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqbench {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn client_options(args: &BenchArgs, name: &str) -> ClientOptions {
    let namesrv = args
        .opt("namesrv")
        .map(str::to_owned)
        .or_else(|| std::env::var("NAMESRV_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:9876".to_owned());
    ClientOptions {
        namesrv_addr: Some(namesrv),
        instance_name: Some(format!("{name}-{}", std::process::id())),
        ..Default::default()
    }
}

/// When the run ends: after a duration or a message count.
#[derive(Debug, Clone, Copy)]
struct Limit {
    until: Option<Instant>,
    count: Option<u64>,
}

impl Limit {
    fn from(args: &BenchArgs) -> Result<Limit, String> {
        let count: u64 = args.number("count", 0)?;
        let secs: f64 = args.number("duration", if count > 0 { 0.0 } else { 10.0 })?;
        Ok(Limit {
            until: (secs > 0.0).then(|| Instant::now() + Duration::from_secs_f64(secs)),
            count: (count > 0).then_some(count),
        })
    }

    fn done(&self, so_far: u64) -> bool {
        self.until.is_some_and(|t| Instant::now() >= t) || self.count.is_some_and(|c| so_far >= c)
    }
}

/// Counters shared by the workers and the once-a-second printer.
#[derive(Default)]
struct Progress {
    ok: AtomicU64,
    failed: AtomicU64,
    stop: AtomicBool,
}

async fn print_every_second(label: &'static str, progress: Arc<Progress>, started: Instant) {
    let mut last = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    while !progress.stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let ok = progress.ok.load(Ordering::Relaxed);
        println!(
            "[{:>4}s] {label} tps {:>9} | total {:>10} | failed {}",
            started.elapsed().as_secs(),
            ok - last,
            ok,
            progress.failed.load(Ordering::Relaxed)
        );
        last = ok;
    }
}

/// A token bucket over all workers: `rate` messages per second, 0 = unlimited.
struct RateLimit {
    per_msg: Option<Duration>,
    next: Mutex<Instant>,
}

impl RateLimit {
    fn new(rate: f64) -> RateLimit {
        RateLimit {
            per_msg: (rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate)),
            next: Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self, messages: u64) {
        let Some(per) = self.per_msg else { return };
        let at = {
            let mut next = self.next.lock().expect("rate lock");
            let now = Instant::now();
            // Keep up to 10 ms of credit so timer overshoot does not lower the rate.
            if *next + Duration::from_millis(10) < now {
                *next = now - Duration::from_millis(10);
            }
            let at = *next;
            *next += per * messages as u32;
            at
        };
        // Timers tick in milliseconds: sleep only when more than one tick ahead, so the
        // average rate holds even at tens of thousands of messages per second.
        if at > Instant::now() + Duration::from_millis(1) {
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

async fn produce(args: &BenchArgs) -> Result<(), String> {
    let topic = args.text("topic", "BenchmarkTest");
    let size: usize = args.number("size", 1024)?;
    let concurrency: usize = args.number("concurrency", 16)?;
    let mode = args.text("mode", "sync");
    let batch_size: usize = args.number("batch-size", 32)?;
    let inflight: usize = args.number("inflight", 1024)?;
    let rate: f64 = args.number("rate", 0.0)?;
    if !["sync", "async", "oneway", "batch"].contains(&mode.as_str()) {
        return Err(format!("unknown --mode {mode}"));
    }
    let limit = Limit::from(args)?;
    let producer = Producer::builder(args.text("group", "benchmark_producer"))
        .client_options(client_options(args, "mqbench-produce"))
        .start()
        .await
        .map_err(|e| e.to_string())?;
    // Warm the route so the first second measures sending, not discovery.
    producer
        .send(Message::new(topic.clone(), vec![b'w'; size.max(1)]))
        .await
        .map_err(|e| format!("cannot send to {topic}: {e}"))?;
    let body = Bytes::from(vec![b'x'; size.max(1)]);
    let progress = Arc::new(Progress::default());
    let limiter = Arc::new(RateLimit::new(rate));
    let started = Instant::now();
    println!("mqbench produce: topic {topic}, {size} B, mode {mode}, concurrency {concurrency}");
    let printer = tokio::spawn(print_every_second("send", progress.clone(), started));
    let permits = Arc::new(tokio::sync::Semaphore::new(inflight.max(1)));
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (producer, progress, limiter, permits) = (
            producer.clone(),
            progress.clone(),
            limiter.clone(),
            permits.clone(),
        );
        let (topic, body, mode) = (topic.clone(), body.clone(), mode.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Latencies::default();
            let shared_lat = Arc::new(Mutex::new(Latencies::default()));
            while !limit.done(progress.ok.load(Ordering::Relaxed)) {
                let per_call = if mode == "batch" {
                    batch_size as u64
                } else {
                    1
                };
                limiter.wait(per_call).await;
                let t0 = Instant::now();
                let msg = || Message::new(topic.clone(), body.clone());
                match mode.as_str() {
                    "async" => {
                        let permit = permits.clone().acquire_owned().await.expect("semaphore");
                        let (progress, sink) = (progress.clone(), shared_lat.clone());
                        producer.send_with_callback(msg(), move |r| {
                            match r {
                                Ok(_) => {
                                    progress.ok.fetch_add(1, Ordering::Relaxed);
                                    sink.lock().expect("lat lock").record(t0.elapsed());
                                }
                                Err(_) => {
                                    progress.failed.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            drop(permit);
                        });
                        continue;
                    }
                    "oneway" => match producer.send_oneway(msg()).await {
                        Ok(()) => progress.ok.fetch_add(1, Ordering::Relaxed),
                        Err(_) => progress.failed.fetch_add(1, Ordering::Relaxed),
                    },
                    "batch" => {
                        let batch: Vec<Message> = (0..batch_size).map(|_| msg()).collect();
                        match producer.send_batch(batch).await {
                            Ok(_) => progress.ok.fetch_add(batch_size as u64, Ordering::Relaxed),
                            Err(_) => progress
                                .failed
                                .fetch_add(batch_size as u64, Ordering::Relaxed),
                        }
                    }
                    _ => match producer.send(msg()).await {
                        Ok(_) => progress.ok.fetch_add(1, Ordering::Relaxed),
                        Err(_) => progress.failed.fetch_add(1, Ordering::Relaxed),
                    },
                };
                lat.record(t0.elapsed());
            }
            // Wait for this worker's async sends to land.
            let _all = permits.acquire_many(inflight.max(1) as u32).await;
            drop(_all);
            let async_lat = std::mem::take(&mut *shared_lat.lock().expect("lat lock"));
            lat.merge(async_lat);
            lat
        }));
    }
    let mut latencies = Latencies::default();
    for w in workers {
        latencies.merge(w.await.map_err(|e| e.to_string())?);
    }
    let elapsed = started.elapsed();
    progress.stop.store(true, Ordering::Relaxed);
    let _ = printer.await;
    producer.shutdown().await;
    let ok = progress.ok.load(Ordering::Relaxed);
    let failed = progress.failed.load(Ordering::Relaxed);
    let tps = ok as f64 / elapsed.as_secs_f64();
    let p = latencies.percentiles();
    println!(
        "produce done: {ok} ok, {failed} failed in {:.1} s = {tps:.0} msgs/s ({:.1} MB/s)",
        elapsed.as_secs_f64(),
        tps * size as f64 / 1e6
    );
    if mode != "oneway" {
        println!(
            "send latency ({}): {}",
            if mode == "batch" {
                "per batch"
            } else {
                "per message"
            },
            p.line()
        );
    }
    if let Some(path) = args.opt("report") {
        let report = format!(
            "{{\"command\":\"produce\",\"topic\":\"{topic}\",\"mode\":\"{mode}\",\"size\":{size},\
             \"concurrency\":{concurrency},\"batch_size\":{batch_size},\"elapsed_s\":{:.3},\
             \"ok\":{ok},\"failed\":{failed},\"tps\":{tps:.1},\"send_latency\":{}}}\n",
            elapsed.as_secs_f64(),
            p.to_json()
        );
        std::fs::write(path, report).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    if ok == 0 {
        return Err("no message was sent".into());
    }
    Ok(())
}

async fn consume(args: &BenchArgs) -> Result<(), String> {
    let topic = args.text("topic", "BenchmarkTest");
    let group = args.text("group", "benchmark_consumer");
    let threads: usize = args.number("threads", 20)?;
    let from = match args.text("from", "last").as_str() {
        "first" => ConsumeFromWhere::ConsumeFromFirstOffset,
        "last" => ConsumeFromWhere::ConsumeFromLastOffset,
        other => return Err(format!("--from is first or last, not {other}")),
    };
    let limit = Limit::from(args)?;
    let progress = Arc::new(Progress::default());
    let e2e = Arc::new(Mutex::new(Latencies::default()));
    let started = Instant::now();
    let (p, sink) = (progress.clone(), e2e.clone());
    let consumer = PushConsumer::builder(group.clone())
        .client_options(client_options(args, "mqbench-consume"))
        .subscribe(topic.clone(), "*")
        .consume_from(from)
        .consume_threads(threads)
        .start_concurrently(move |msgs: Vec<MessageExt>| {
            let (p, sink) = (p.clone(), sink.clone());
            async move {
                let now = ferrocket_common::time::now_ms();
                let mut l = sink.lock().expect("lat lock");
                for m in &msgs {
                    l.record_us(
                        ((now - m.born_timestamp).max(0) * 1000).min(u32::MAX as i64) as u32,
                    );
                }
                p.ok.fetch_add(msgs.len() as u64, Ordering::Relaxed);
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        })
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "mqbench consume: topic {topic}, group {group}, from {:?}",
        from
    );
    let printer = tokio::spawn(print_every_second("consume", progress.clone(), started));
    while !limit.done(progress.ok.load(Ordering::Relaxed)) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    progress.stop.store(true, Ordering::Relaxed);
    let _ = printer.await;
    consumer.shutdown().await;
    let ok = progress.ok.load(Ordering::Relaxed);
    let tps = ok as f64 / elapsed.as_secs_f64();
    let p: Percentiles = e2e.lock().expect("lat lock").percentiles();
    println!(
        "consume done: {ok} messages in {:.1} s = {tps:.0} msgs/s",
        elapsed.as_secs_f64()
    );
    println!(
        "end-to-end latency (store clock ms resolution): {}",
        p.line()
    );
    if let Some(path) = args.opt("report") {
        let report = format!(
            "{{\"command\":\"consume\",\"topic\":\"{topic}\",\"group\":\"{group}\",\"elapsed_s\":{:.3},\
             \"consumed\":{ok},\"tps\":{tps:.1},\"e2e_latency\":{}}}\n",
            elapsed.as_secs_f64(),
            p.to_json()
        );
        std::fs::write(path, report).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    Ok(())
}
