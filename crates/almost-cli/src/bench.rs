//! `almost-simulate bench`: samples/s per built-in device, generator vs bare diffsol loop.

use anyhow::Result;

use almost_sim::GenerateConfig;
use almost_sim::bench::bench_job;
use almost_sim::devices::DeviceConfig;

/// (device kind, samples at scale 1) — sized for a few seconds per measurement on one core.
const DEVICES: [(&str, u64); 4] =
    [("analytic", 400_000), ("diode-node", 40_000), ("fhn-neuron", 8_000), ("duffing-mems", 1_000)];

/// Runs the benchmark and prints one row per device and thread count.
pub fn run(scale: f64, fan_in: usize, repeats: usize) -> Result<()> {
    println!(
        "{:<14} {:>7} {:>9} {:>14} {:>14} {:>10}",
        "device", "threads", "samples", "generator/s", "bare/s", "gen/bare"
    );
    for (kind, base) in DEVICES {
        let samples = ((base as f64 * scale).round() as u64).max(16);
        let cfg = GenerateConfig::sobol("bench", DeviceConfig::builtin(kind, fan_in)?, samples, 1);
        let job = cfg.resolve("bench")?;
        for threads in [1, 2] {
            let row = bench_job(&job, threads, repeats)?;
            println!(
                "{:<14} {:>7} {:>9} {:>14.0} {:>14.0} {:>10.3}",
                row.device,
                row.threads,
                row.samples,
                row.generator_per_s,
                row.bare_per_s,
                row.ratio()
            );
        }
    }
    Ok(())
}
